//! `clean_up_sessions` (hourly): deletes expired sessions and sign-in rate-limit entries
//! whose window has passed.

use apalis::prelude::{BoxDynError, Data};
use app::server::{rate_limit, session_store::PgSessionStore};
use serde::{Deserialize, Serialize};

use super::{BackgroundJob, JobContext};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanUpSessions {}

impl BackgroundJob for CleanUpSessions {
    const JOB_NAME: &'static str = "clean_up_sessions";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanUpReport {
    pub sessions: u64,
    pub rate_limits: u64,
}

#[tracing::instrument(name = "clean_up_sessions", skip_all)]
pub async fn run(
    _job: CleanUpSessions,
    context: Data<JobContext>,
) -> Result<CleanUpReport, BoxDynError> {
    let _timer = super::JobTimer::start(CleanUpSessions::JOB_NAME);
    let report = clean_up(&context).await?;
    tracing::info!(
        sessions = report.sessions,
        rate_limits = report.rate_limits,
        "deleted expired sessions"
    );
    Ok(report)
}

pub async fn clean_up(context: &JobContext) -> Result<CleanUpReport, sqlx::Error> {
    Ok(CleanUpReport {
        sessions: PgSessionStore::new(context.pool.clone())
            .delete_expired()
            .await?,
        rate_limits: rate_limit::delete_expired(&context.pool).await?,
    })
}
