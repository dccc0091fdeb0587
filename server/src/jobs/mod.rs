//! Background jobs: apalis workers on PostgreSQL (`apalis.jobs`).
//!
//! Each job is a small serializable struct in its own file, registered in [`run`] with one
//! line; a periodic one declares its period there too ([`Periodic`]). Jobs
//! are safe to run more than once. Any number of worker processes may run against one
//! database: apalis hands each job to one worker (`FOR UPDATE SKIP LOCKED`), and the
//! [`scheduler`] enqueues each periodic job once per period however many processes tick.

pub mod billing;
pub mod clean_up_sessions;
pub mod poll;
pub mod prune_jobs;
pub mod prune_samples;
pub mod scheduler;
pub mod snapshot;

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage, Pubsub};
use app::server::tracking::Engine;
use serde::{Serialize, de::DeserializeOwned};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
pub use billing::{BillingContext, BillingSweep, ProcessStripeEvent, enqueue_stripe_event};
pub use clean_up_sessions::CleanUpSessions;
pub use poll::{PollContext, PollSources};
pub use prune_jobs::PruneJobs;
pub use prune_samples::PruneSamples;
pub use snapshot::ServiceSnapshot;

/// Records how long a job ran (`upcount_job_duration_seconds{job}`) when dropped, so
/// every way out of a job's function counts.
pub struct JobTimer {
    job: &'static str,
    started: std::time::Instant,
}

impl JobTimer {
    pub fn start(job: &'static str) -> Self {
        Self {
            job,
            started: std::time::Instant::now(),
        }
    }
}

impl Drop for JobTimer {
    fn drop(&mut self) {
        metrics::histogram!("upcount_job_duration_seconds", "job" => self.job)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// A job apalis can store and run.
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// The job's name; also its queue (`apalis.jobs.job_type`). Never rename a job that
    /// may still be queued.
    const JOB_NAME: &'static str;
}

/// A job the [`scheduler`] enqueues once per period, declared next to the job.
pub trait Periodic: BackgroundJob + Default {
    /// How often.
    const EVERY: Duration;
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

/// The supervised worker of job type `$job`: `$context` (a value with a `pool`) is its
/// data, `$run` its function, and `concurrency` how many it runs at once (default one).
macro_rules! worker {
    ($workers:expr, $shutdown:expr, $job:ty, $context:expr, $run:path $(, $concurrency:expr)?) => {{
        let context = $context.clone();
        $workers.supervise(<$job>::JOB_NAME, $shutdown, move |name, workers| {
            let context = context.clone();
            let backend =
                storage::<$job>(&context.pool).poll_with_strategy(workers.polling::<$job>());
            Monitor::new().register(move |_| {
                WorkerBuilder::new(name.as_str())
                    .backend(backend.clone())
                    $(.concurrency($concurrency))?
                    .data(context.clone())
                    .build($run)
            })
        })
    }};
}

/// Runs every worker, and the scheduler, until `shutdown` is cancelled. Then no new job is
/// taken; running jobs get `UPCOUNT_SHUTDOWN_TIMEOUT_SECS` to finish.
pub async fn run(
    pool: PgPool,
    settings: &Settings,
    engine: Arc<Engine>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let context = JobContext {
        pool: pool.clone(),
        retention: settings.jobs.retention,
    };
    let poll_context = PollContext {
        pool: pool.clone(),
        engine: engine.clone(),
    };
    let billing_context = BillingContext {
        pool: pool.clone(),
        billing: crate::startup::billing(settings, &crate::startup::public_origin(settings))?,
    };
    let scheduler = tokio::spawn(scheduler::run(
        pool.clone(),
        settings.jobs.scheduler_tick,
        shutdown.clone(),
    ));
    let dispatcher = tokio::spawn(poll::run_dispatcher(
        pool.clone(),
        engine,
        settings.tracking.dispatch_interval,
        settings.tracking.dispatch_batch,
        settings.tracking.lease,
        shutdown.clone(),
    ));
    let concurrency = settings.tracking.concurrency;
    let workers = Workers {
        context,
        poll_interval: settings.jobs.poll_interval,
        grace: settings.shutdown_timeout,
        // Worker names are unique per process: apalis records each in `apalis.workers`.
        instance: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
    };

    // One line per job: its type, its context, its function.
    tokio::join!(
        worker!(
            workers,
            &shutdown,
            PruneJobs,
            workers.context,
            prune_jobs::run
        ),
        worker!(
            workers,
            &shutdown,
            PruneSamples,
            workers.context,
            prune_samples::run
        ),
        worker!(
            workers,
            &shutdown,
            ServiceSnapshot,
            workers.context,
            snapshot::run
        ),
        worker!(
            workers,
            &shutdown,
            CleanUpSessions,
            workers.context,
            clean_up_sessions::run
        ),
        worker!(
            workers,
            &shutdown,
            PollSources,
            poll_context,
            poll::run,
            concurrency
        ),
        worker!(
            workers,
            &shutdown,
            ProcessStripeEvent,
            billing_context,
            billing::process_stripe_event
        ),
        worker!(
            workers,
            &shutdown,
            BillingSweep,
            billing_context,
            billing::sweep
        ),
    );

    shutdown.cancel();
    scheduler.await.context("the job scheduler panicked")?;
    dispatcher.await.context("the poll dispatcher panicked")?;
    Ok(())
}

/// What every worker of this process shares.
struct Workers {
    context: JobContext,
    poll_interval: Duration,
    grace: Duration,
    instance: String,
}

impl Workers {
    /// How an idle worker looks for jobs of queue `J`: at once when PostgreSQL notifies an
    /// insert (LISTEN/NOTIFY), and every `UPCOUNT_JOB_POLL_INTERVAL_MS` in case a
    /// notification is missed. Each worker gets its own strategy (a strategy's timer must
    /// not be shared).
    fn polling<J: BackgroundJob>(&self) -> Strategy {
        Strategy::new()
            .interval(self.poll_interval)
            .stream(Pubsub::new(
                self.context.pool.clone(),
                J::JOB_NAME.to_string(),
            ))
    }

    /// Runs the monitor `build` makes until `shutdown`, then gives running jobs the grace
    /// period to finish. When its worker fails — the database went away, typically — a new
    /// one is started after a pause that doubles up to a minute, so an outage costs neither
    /// a busy loop nor the process.
    async fn supervise<F>(&self, job: &'static str, shutdown: &CancellationToken, build: F)
    where
        F: Fn(String, &Self) -> Monitor,
    {
        let mut pause = Duration::from_secs(1);
        for generation in 0u64.. {
            let name = format!("{job}-{}-{generation}", self.instance);
            let monitor = build(name.clone(), self).on_event(log_event);
            let control = monitor.context();
            let started = tokio::time::Instant::now();
            let run = monitor.run();
            tokio::pin!(run);
            let outcome = tokio::select! {
                outcome = &mut run => outcome,
                () = shutdown.cancelled() => {
                    // Stop taking jobs; let the running ones finish within the grace period.
                    let _ = control.shutdown();
                    match tokio::time::timeout(self.grace, &mut run).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => {
                            tracing::warn!(worker = %name, error = %error, "worker stopped with an error during shutdown");
                        }
                        Err(_) => {
                            tracing::warn!(worker = %name, grace_secs = self.grace.as_secs(), "jobs still running after the shutdown timeout; stopping anyway");
                        }
                    }
                    return;
                }
            };
            if started.elapsed() > Duration::from_secs(60) {
                pause = Duration::from_secs(1);
            }
            let error = match outcome {
                Ok(()) => "the worker stopped by itself".to_string(),
                // apalis spreads its report over several lines; keep the log line whole.
                Err(error) => error
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            tracing::warn!(
                worker = %name,
                error = %error,
                retry_in_secs = pause.as_secs(),
                "worker failed; starting it again"
            );
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(60));
        }
    }
}

fn log_event(worker: &WorkerContext, event: &Event) {
    match event {
        Event::Start => tracing::info!(worker = worker.name(), "worker started"),
        Event::Error(error) => {
            tracing::error!(worker = worker.name(), error = %error, "job failed")
        }
        Event::Exit => tracing::info!(worker = worker.name(), "worker stopped"),
        _ => {}
    }
}
