//! Background jobs: apalis workers on PostgreSQL (`apalis.jobs`).
//!
//! Each job is a small serializable struct in its own file, registered in [`run`]. Jobs
//! are safe to run more than once. Any number of worker processes may run against one
//! database: apalis hands each job to one worker (`FOR UPDATE SKIP LOCKED`), and the
//! [`scheduler`] enqueues each periodic job once per period however many processes tick.

pub mod prune_jobs;
pub mod scheduler;

use std::time::Duration;

use anyhow::Context;
use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage};
use serde::{Serialize, de::DeserializeOwned};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
pub use prune_jobs::PruneJobs;

/// A job apalis can store and run.
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// The job's name; also its queue (`apalis.jobs.job_type`). Never rename a job that
    /// may still be queued.
    const JOB_NAME: &'static str;
}

/// What a job needs from the rest of the server.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub pool: PgPool,
    pub retention: Duration,
}

/// The storage (queue) of job type `J`.
pub fn storage<J: BackgroundJob>(pool: &PgPool) -> PostgresStorage<J> {
    PostgresStorage::new(pool).with_config(Config::default().queue(J::JOB_NAME))
}

/// Whether [`enqueue_once`] added the job or found it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Added,
    AlreadyQueued,
}

/// Adds `job` to its queue.
pub async fn enqueue<J: BackgroundJob>(pool: &PgPool, job: J) -> anyhow::Result<()> {
    storage::<J>(pool)
        .push(job)
        .await
        .with_context(|| format!("could not enqueue {}", J::JOB_NAME))
}

/// Adds `job` unless a job of the same type with the same `key` was ever added (and not
/// yet pruned): how several worker processes agree to enqueue a periodic job once.
pub async fn enqueue_once<J: BackgroundJob>(
    pool: &PgPool,
    job: J,
    key: &str,
) -> anyhow::Result<Enqueued> {
    let task = TaskBuilder::new(job).idempotency_key(key).build();
    match storage::<J>(pool).push_task(task).await {
        Ok(()) => Ok(Enqueued::Added),
        Err(TaskSinkError::PushError(apalis_postgres::Error::Database(sqlx::Error::Database(
            error,
        )))) if error.is_unique_violation() => Ok(Enqueued::AlreadyQueued),
        Err(error) => {
            Err(anyhow::Error::new(error).context(format!("could not enqueue {}", J::JOB_NAME)))
        }
    }
}

/// Runs every worker, and the scheduler, until `shutdown` is cancelled. Then no new job is
/// taken; running jobs get `UPCOUNT_SHUTDOWN_TIMEOUT_SECS` to finish.
pub async fn run(
    pool: PgPool,
    settings: &Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let context = JobContext {
        pool: pool.clone(),
        retention: settings.jobs.retention,
    };
    // Worker names are unique per process: apalis records each worker in `apalis.workers`.
    let instance = uuid::Uuid::new_v4().simple().to_string();

    let scheduler = tokio::spawn(scheduler::run(
        pool.clone(),
        settings.jobs.scheduler_tick,
        shutdown.clone(),
    ));

    let monitor = Monitor::new()
        .register({
            let context = context.clone();
            let name = format!("{}-{}", PruneJobs::JOB_NAME, &instance[..12]);
            move |_restarts| {
                WorkerBuilder::new(name.as_str())
                    .backend(storage::<PruneJobs>(&context.pool))
                    .data(context.clone())
                    .build(prune_jobs::run)
            }
        })
        .on_event(|worker, event| match event {
            Event::Start => tracing::info!(worker = worker.name(), "worker started"),
            Event::Error(error) => tracing::error!(worker = worker.name(), error = %error, "job failed"),
            Event::Exit => tracing::info!(worker = worker.name(), "worker stopped"),
            _ => {}
        })
        .should_restart(|worker, error| {
            // Typically the database went away; the worker polls again once it is back.
            tracing::warn!(worker = worker.name(), %error, "worker stopped unexpectedly; restarting");
            true
        })
        .shutdown_timeout(settings.shutdown_timeout);

    let signal = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            Ok::<(), std::io::Error>(())
        }
    };
    let result = monitor
        .run_with_signal(signal)
        .await
        .context("the background workers failed");
    shutdown.cancel();
    scheduler.await.context("the job scheduler panicked")?;
    result
}
