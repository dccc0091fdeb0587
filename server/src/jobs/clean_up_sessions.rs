//! `clean_up_sessions` (hourly): deletes expired sessions, sign-in rate-limit entries
//! whose window has passed, sign-in records older than a year, and email links expired
//! for a day.

use std::time::Duration;

use app::server::{db, email, rate_limit, session_store::PgSessionStore};
use serde::{Deserialize, Serialize};

use super::JobContext;

periodic_job! {
    /// Deletes expired sessions every hour.
    pub struct CleanUpSessions = "clean_up_sessions", every Duration::from_secs(3_600);
    async fn run(context: &JobContext) -> Result<CleanUpReport, BoxDynError> {
        let report = clean_up(context).await?;
        tracing::info!(
            sessions = report.sessions,
            rate_limits = report.rate_limits,
            sign_ins = report.sign_ins,
            email_links = report.email_links,
            "deleted expired sessions"
        );
        Ok(report)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanUpReport {
    pub sessions: u64,
    pub rate_limits: u64,
    pub sign_ins: u64,
    #[serde(default)]
    pub email_links: u64,
}

pub async fn clean_up(context: &JobContext) -> Result<CleanUpReport, sqlx::Error> {
    Ok(CleanUpReport {
        sessions: PgSessionStore::new(context.pool.clone())
            .delete_expired()
            .await?,
        rate_limits: rate_limit::delete_expired(&context.pool).await?,
        sign_ins: db::users::delete_old_sign_ins(&context.pool).await?,
        email_links: email::links::delete_expired(&context.pool).await?,
    })
}
