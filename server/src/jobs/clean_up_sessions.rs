//! `clean_up_sessions` (hourly): deletes expired sessions, sign-in rate-limit entries
//! whose window has passed, and sign-in records older than a year.

use apalis::prelude::BoxDynError;
use app::server::{db, rate_limit, session_store::PgSessionStore};
use serde::{Deserialize, Serialize};

use super::{BackgroundJob, Job, JobContext, Periodic};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanUpSessions {}

impl BackgroundJob for CleanUpSessions {
    const JOB_NAME: &'static str = "clean_up_sessions";
}

impl Job for CleanUpSessions {
    type Context = JobContext;
    type Output = CleanUpReport;

    #[tracing::instrument(name = "clean_up_sessions", skip_all)]
    async fn run(self, context: &JobContext) -> Result<CleanUpReport, BoxDynError> {
        let report = clean_up(context).await?;
        tracing::info!(
            sessions = report.sessions,
            rate_limits = report.rate_limits,
            sign_ins = report.sign_ins,
            "deleted expired sessions"
        );
        Ok(report)
    }
}

impl Periodic for CleanUpSessions {
    /// Delete expired sessions every hour.
    const EVERY: std::time::Duration = std::time::Duration::from_secs(3_600);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanUpReport {
    pub sessions: u64,
    pub rate_limits: u64,
    pub sign_ins: u64,
}

pub async fn clean_up(context: &JobContext) -> Result<CleanUpReport, sqlx::Error> {
    Ok(CleanUpReport {
        sessions: PgSessionStore::new(context.pool.clone())
            .delete_expired()
            .await?,
        rate_limits: rate_limit::delete_expired(&context.pool).await?,
        sign_ins: db::users::delete_old_sign_ins(&context.pool).await?,
    })
}
