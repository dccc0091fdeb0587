//! Enqueues periodic jobs. Every worker process runs this loop; an idempotency key per
//! period (`apalis.jobs` has a unique index on job type and key) makes sure each period's
//! job is enqueued once, however many processes tick.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{
    BackgroundJob, BillingSweep, CleanUpSessions, Enqueued, PruneJobs, PruneSamples,
    ServiceSnapshot, enqueue_once,
};

/// Prune finished jobs every hour (poll jobs are kept for an hour).
const PRUNE_EVERY: Duration = Duration::from_secs(3_600);
/// Delete expired sessions every hour.
const CLEAN_UP_SESSIONS_EVERY: Duration = Duration::from_secs(3_600);
/// Record the admin console's figures every five minutes.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(300);
/// Apply plans that changed with time, and retry Stripe events, every five minutes.
const BILLING_SWEEP_EVERY: Duration = Duration::from_secs(300);

/// Ticks every `tick` until `shutdown` is cancelled, enqueuing what is due.
pub async fn run(pool: PgPool, tick: Duration, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = interval.tick() => enqueue_due(&pool, SystemTime::now()).await,
        }
    }
}

/// Enqueues each periodic job whose period `now` falls in, unless that period's job is
/// already queued.
pub async fn enqueue_due(pool: &PgPool, now: SystemTime) {
    report::<PruneJobs>(
        enqueue_once(pool, PruneJobs::default(), &period_key(now, PRUNE_EVERY)).await,
        now,
        PRUNE_EVERY,
    );
    report::<CleanUpSessions>(
        enqueue_once(
            pool,
            CleanUpSessions::default(),
            &period_key(now, CLEAN_UP_SESSIONS_EVERY),
        )
        .await,
        now,
        CLEAN_UP_SESSIONS_EVERY,
    );
    report::<PruneSamples>(
        enqueue_once(pool, PruneSamples::default(), &period_key(now, PRUNE_EVERY)).await,
        now,
        PRUNE_EVERY,
    );
    report::<ServiceSnapshot>(
        enqueue_once(
            pool,
            ServiceSnapshot::default(),
            &period_key(now, SNAPSHOT_EVERY),
        )
        .await,
        now,
        SNAPSHOT_EVERY,
    );
    report::<BillingSweep>(
        enqueue_once(
            pool,
            BillingSweep::default(),
            &period_key(now, BILLING_SWEEP_EVERY),
        )
        .await,
        now,
        BILLING_SWEEP_EVERY,
    );
}

fn report<J: BackgroundJob>(outcome: anyhow::Result<Enqueued>, now: SystemTime, every: Duration) {
    match outcome {
        Ok(Enqueued::Added) => {
            tracing::info!(job = J::JOB_NAME, period = %period_key(now, every), "scheduled")
        }
        Ok(Enqueued::AlreadyQueued) => {}
        Err(error) => {
            tracing::warn!(job = J::JOB_NAME, error = %format!("{error:#}"), "could not schedule")
        }
    }
}

/// The key of the period of length `every` that `now` falls in: periods are counted
/// from the Unix epoch, so every process computes the same key.
pub fn period_key(now: SystemTime, every: Duration) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let every = every.as_secs().max(1);
    format!("every-{every}s-{}", since_epoch / every)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_per_period() {
        let day = Duration::from_secs(86_400);
        let start = UNIX_EPOCH + Duration::from_secs(20_000 * 86_400);
        assert_eq!(
            period_key(start, day),
            period_key(start + Duration::from_secs(86_399), day)
        );
        assert_ne!(period_key(start, day), period_key(start + day, day));
        assert_eq!(period_key(start, day), "every-86400s-20000");
    }
}
