//! Enqueues periodic jobs. Every worker process runs this loop; an idempotency key per
//! period (`apalis.jobs` has a unique index on job type and key) makes sure each period's
//! job is enqueued once, however many processes tick.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{Enqueued, registry};

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

/// Enqueues each periodic job of the [`registry`] whose period `now` falls in, unless that
/// period's job is already queued.
pub async fn enqueue_due(pool: &PgPool, now: SystemTime) {
    for job in registry() {
        let Some(schedule) = job.schedule else {
            continue;
        };
        let key = period_key(now, schedule.every);
        match (schedule.enqueue)(pool, &key).await {
            Ok(Enqueued::Added) => tracing::info!(job = job.name, period = %key, "scheduled"),
            Ok(Enqueued::AlreadyQueued) => {}
            Err(error) => {
                tracing::warn!(job = job.name, error = %format!("{error:#}"), "could not schedule")
            }
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
