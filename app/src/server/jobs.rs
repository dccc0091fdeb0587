//! The job queue as the app sees it: the console's figures and an administrator's retry or
//! discard. The server crate implements it over apalis's tables, so the app never depends
//! on how a queue stores its jobs.

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::domain::console::ConsoleJob;

/// What a retry or a discard found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobChange {
    /// The job was changed.
    Changed,
    /// The job was already so (waiting to run, or discarded): a repeated request, such as
    /// a double click.
    AlreadyDone,
    /// No such job, or not in a state for that.
    Refused,
}

/// The job queue, held in `AppState`. Retry and discard run on the caller's connection, so
/// the caller's audit record commits with them.
#[async_trait]
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    /// Jobs by queue and status: (queue, status, jobs), ordered by queue and status.
    async fn counts(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error>;

    /// The newest 100 jobs that failed for good or were discarded, as the console shows
    /// them.
    async fn failed(&self) -> Result<Vec<ConsoleJob>, sqlx::Error>;

    /// Jobs waiting to run, by queue: (queue, jobs), ordered by queue.
    async fn waiting(&self) -> Result<Vec<(String, i64)>, sqlx::Error>;

    /// Runs a failed or discarded job again from its first attempt, waking idle workers
    /// when `connection`'s transaction commits.
    async fn retry(
        &self,
        connection: &mut PgConnection,
        id: &str,
    ) -> Result<JobChange, sqlx::Error>;

    /// Gives up a failed or waiting job for good (kept as discarded until pruned).
    async fn discard(
        &self,
        connection: &mut PgConnection,
        id: &str,
    ) -> Result<JobChange, sqlx::Error>;
}
