//! The background workers and their scheduler.

use std::time::Duration;

use super::{ConfigError, Env, Lookup};

/// Settings of the background workers.
#[derive(Clone, Debug)]
pub struct JobSettings {
    /// `UPCOUNT_JOB_RETENTION_DAYS`: finished jobs and dead workers older than this are
    /// deleted by the daily `prune_jobs` job.
    pub retention: Duration,
    /// `UPCOUNT_SCHEDULER_TICK_SECS`: how often a worker process checks whether a periodic
    /// job is due.
    pub scheduler_tick: Duration,
    /// `UPCOUNT_JOB_POLL_INTERVAL_MS`: how often an idle worker looks for new jobs.
    pub poll_interval: Duration,
    /// `UPCOUNT_SINK_BATCH`: points a forwarding request carries at most.
    pub sink_batch: i64,
    /// `UPCOUNT_SINK_BACKLOG_LIMIT`: points a sink's backlog keeps at most while it fails;
    /// past it the oldest are dropped (and counted).
    pub sink_backlog_limit: i64,
}

impl JobSettings {
    pub(super) fn from_env<F: Lookup>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(JobSettings {
            retention: Duration::from_secs(
                86_400 * env.bounded::<u64>("UPCOUNT_JOB_RETENTION_DAYS", 14, 1..=3_650)?,
            ),
            scheduler_tick: env.seconds("UPCOUNT_SCHEDULER_TICK_SECS", 60, 1..=3_600)?,
            poll_interval: Duration::from_millis(env.bounded(
                "UPCOUNT_JOB_POLL_INTERVAL_MS",
                1_000,
                50..=60_000,
            )?),
            sink_batch: env.bounded("UPCOUNT_SINK_BATCH", 5_000, 1..=5_000)?,
            sink_backlog_limit: env.bounded(
                "UPCOUNT_SINK_BACKLOG_LIMIT",
                100_000,
                1..=10_000_000,
            )?,
        })
    }
}
