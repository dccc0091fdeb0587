//! `prune_jobs` (hourly): deletes finished jobs, and workers that stopped reporting, once
//! they are older than `UPCOUNT_JOB_RETENTION_DAYS`; finished `poll_sources` jobs after an
//! hour already (there are thousands an hour, and each poll's outcome is kept on its
//! sources). Apalis itself keeps them forever.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{BackgroundJob, JobContext};

periodic_job! {
    /// Prunes finished jobs every hour (poll jobs are kept for an hour).
    pub struct PruneJobs = "prune_jobs", every Duration::from_secs(3_600);
    async fn run(context: &JobContext) -> Result<PruneReport, BoxDynError> {
        let report = prune(context).await?;
        tracing::info!(
            jobs = report.jobs,
            workers = report.workers,
            "pruned finished jobs"
        );
        Ok(report)
    }
}

/// What one run deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    pub jobs: u64,
    pub workers: u64,
}

/// Deletes what is older than the retention period. Running it twice deletes nothing more.
pub async fn prune(context: &JobContext) -> Result<PruneReport, sqlx::Error> {
    let retention_secs = i64::try_from(context.retention.as_secs()).unwrap_or(i64::MAX);
    let jobs = sqlx::query!(
        "DELETE FROM apalis.jobs
         WHERE (done_at < now() - make_interval(secs => $1)
                OR (job_type = $2 AND done_at < now() - interval '1 hour'))
           AND (status IN ('Done', 'Killed') OR (status = 'Failed' AND attempts >= max_attempts))",
        retention_secs as f64,
        super::PollSources::JOB_NAME,
    )
    .execute(&context.pool)
    .await?
    .rows_affected();
    let workers = sqlx::query!(
        "DELETE FROM apalis.workers AS w
         WHERE w.last_seen < now() - make_interval(secs => $1)
           AND NOT EXISTS (SELECT 1 FROM apalis.jobs AS j WHERE j.lock_by = w.id)",
        retention_secs as f64,
    )
    .execute(&context.pool)
    .await?
    .rows_affected();
    Ok(PruneReport { jobs, workers })
}
