//! `send_digests` (every 15 minutes): queues the daily and weekly digest emails that are
//! due (see `app::server::email::digests`), one per user and period however often it
//! runs; the `send_email` job sends them like any other message.

use std::time::Duration;

use app::server::email::digests;

use super::PollContext;

periodic_job! {
    /// Queues the digests that are due, every 15 minutes.
    pub struct SendDigests = "send_digests", every Duration::from_secs(15 * 60);
    /// Reports the digests queued.
    async fn run(context: &PollContext) -> Result<u64, BoxDynError> {
        let sent = digests::send_due(&context.pool, &context.public_origin, chrono::Utc::now()).await?;
        if sent.queued > 0 {
            metrics::counter!("upcount_digests_queued_total").increment(sent.queued as u64);
            tracing::info!(queued = sent.queued, skipped = sent.skipped, "digests queued");
        }
        Ok(sent.queued as u64)
    }
}
