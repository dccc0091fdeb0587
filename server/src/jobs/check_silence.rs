//! `check_silence` (every minute): judges the `no_data` and `gone` alert rules on the
//! clock (see `app::server::alerts::silence`), since a source that stopped answering
//! writes no samples to evaluate rules on. Their events go out like any other.

use std::time::Duration;

use app::server::alerts::silence;

use super::JobContext;

periodic_job! {
    /// Fires the `no_data` and `gone` rules whose source went quiet, every minute.
    pub struct CheckSilence = "check_silence", every Duration::from_secs(60);
    /// Reports the events fired.
    async fn run(context: &JobContext) -> Result<u64, BoxDynError> {
        let evaluated = silence::check(&context.pool, chrono::Utc::now()).await?;
        if evaluated.fired > 0 {
            metrics::counter!("upcount_alerts_fired_total").increment(evaluated.fired as u64);
            tracing::info!(fired = evaluated.fired, "silent sources fired alert rules");
        }
        Ok(evaluated.fired as u64)
    }
}
