//! Background jobs: apalis workers on PostgreSQL (`apalis.jobs`).
//!
//! Each job is a small serializable struct in its own file implementing [`Job`] (its
//! context and what it does) and, when the scheduler enqueues it, [`Periodic`] (how
//! often; such a job is declared with `periodic_job!`). Adding a job is that file and one
//! line in [`registry`], which both [`run`] (a supervised worker per job) and the
//! [`scheduler`] go through. Jobs are safe to run more than once. Any number of worker
//! processes may run against one database: apalis hands each job to one worker (`FOR
//! UPDATE SKIP LOCKED`), and the [`scheduler`] enqueues each periodic job once per period
//! however many processes tick.

/// Declares a periodic job in one place: its struct (empty, serialized as `{}`), its name,
/// how often the [`scheduler`] enqueues it ([`Periodic::EVERY`]) and its [`Job::run`],
/// traced under the job's name. Registering it stays one line in [`registry`].
///
/// ```ignore
/// periodic_job! {
///     /// Deletes what expired.
///     pub struct CleanUp = "clean_up", every Duration::from_secs(3_600);
///     async fn run(context: &JobContext) -> Result<u64, BoxDynError> { … }
/// }
/// ```
macro_rules! periodic_job {
    (
        $(#[$attr:meta])*
        pub struct $job:ident = $name:literal, every $every:expr;
        $(#[$run_attr:meta])*
        async fn run($context:ident: &$ctx:ty) -> Result<$output:ty, BoxDynError> $body:block
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $job {}

        impl $crate::jobs::BackgroundJob for $job {
            const JOB_NAME: &'static str = $name;
        }

        impl $crate::jobs::Job for $job {
            type Context = $ctx;
            type Output = $output;

            $(#[$run_attr])*
            #[tracing::instrument(name = $name, skip_all)]
            async fn run(
                self,
                $context: &$ctx,
            ) -> Result<$output, apalis::prelude::BoxDynError> $body
        }

        impl $crate::jobs::Periodic for $job {
            const EVERY: std::time::Duration = $every;
        }
    };
}

pub mod backfill;
pub mod billing;
pub mod check_silence;
pub mod clean_up_sessions;
pub mod deliver_alert;
pub mod email;
pub mod forward;
pub mod poll;
pub mod prune_jobs;
pub mod prune_samples;
pub mod queue;
pub mod read_container;
pub mod scheduler;
pub mod send_digests;
pub mod snapshot;

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use apalis::{layers::limit::ConcurrencyLimitLayer, prelude::*};
use apalis_postgres::{Config, PostgresStorage, Pubsub};
use app::server::tracking::Engine;
use futures::future::BoxFuture;
use serde::{Serialize, de::DeserializeOwned};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
pub use backfill::BackfillSource;
pub use billing::{BillingContext, BillingSweep, ProcessStripeEvent, enqueue_stripe_event};
pub use check_silence::CheckSilence;
pub use clean_up_sessions::CleanUpSessions;
pub use deliver_alert::DeliverAlert;
pub use email::{EmailContext, SendEmail};
pub use forward::{ForwardContext, ForwardSamples};
pub use poll::{PollContext, PollSources};
pub use prune_jobs::PruneJobs;
pub use prune_samples::PruneSamples;
pub use queue::ApalisQueue;
pub use read_container::ReadContainer;
pub use send_digests::SendDigests;
pub use snapshot::ServiceSnapshot;

/// Every job this server runs, one line each: [`run`] starts a worker for each, and the
/// [`scheduler`] enqueues the periodic ones.
pub fn registry() -> [Registration; 14] {
    [
        Registration::periodic::<PruneJobs>(),
        Registration::periodic::<PruneSamples>(),
        Registration::periodic::<ServiceSnapshot>(),
        Registration::periodic::<CleanUpSessions>(),
        Registration::on_demand::<PollSources>(),
        Registration::on_demand::<BackfillSource>(),
        Registration::on_demand::<DeliverAlert>(),
        Registration::periodic::<CheckSilence>(),
        Registration::on_demand::<ProcessStripeEvent>(),
        Registration::periodic::<BillingSweep>(),
        Registration::on_demand::<SendEmail>(),
        Registration::periodic::<SendDigests>(),
        Registration::on_demand::<ForwardSamples>(),
        Registration::on_demand::<ReadContainer>(),
    ]
}

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

/// A job apalis can store: what enqueuing needs.
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// The job's name; also its queue (`apalis.jobs.job_type`). Never rename a job that
    /// may still be queued.
    const JOB_NAME: &'static str;
}

/// A job a worker runs: what it needs, what it reports, and what it does.
pub trait Job: BackgroundJob {
    /// What the job needs from the rest of the server, taken from the [`Contexts`] that
    /// [`run`] builds once.
    type Context: for<'a> From<&'a Contexts> + Clone + Send + Sync + 'static;
    /// What a run reports; apalis keeps it with the job (`last_result`).
    type Output: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// How many jobs of this queue a worker runs at once; `None`: as many as apalis hands
    /// it.
    fn concurrency(_settings: &Settings) -> Option<usize> {
        None
    }

    /// Does the job. An error fails the attempt; apalis tries again while attempts are
    /// left.
    fn run(
        self,
        context: &Self::Context,
    ) -> impl Future<Output = Result<Self::Output, BoxDynError>> + Send;
}

/// A job the [`scheduler`] enqueues once per period, declared next to the job.
pub trait Periodic: Job + Default {
    /// How often.
    const EVERY: Duration;
}

/// What most jobs need: the pool, and how long finished jobs are kept.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub pool: PgPool,
    pub retention: Duration,
}

/// Every job's context, built once by [`run`]; a job takes its own through `From`.
#[derive(Clone, Debug)]
pub struct Contexts {
    pub jobs: JobContext,
    pub poll: PollContext,
    pub billing: BillingContext,
    pub email: EmailContext,
    pub forward: ForwardContext,
}

/// Each job context is its field of [`Contexts`].
macro_rules! context_from {
    ($($context:ty => $field:ident),* $(,)?) => {
        $(impl From<&Contexts> for $context {
            fn from(contexts: &Contexts) -> Self {
                contexts.$field.clone()
            }
        })*
    };
}

context_from!(JobContext => jobs, PollContext => poll, BillingContext => billing, EmailContext => email, ForwardContext => forward);

impl Contexts {
    pub fn new(pool: PgPool, settings: &Settings, engine: Arc<Engine>) -> anyhow::Result<Self> {
        let public_origin = crate::startup::public_origin(settings);
        let billing = crate::startup::billing(settings, &public_origin)?;
        let mailer = email::Mailer::from_settings(&settings.email)?.map(Arc::new);
        Ok(Self {
            email: EmailContext {
                pool: pool.clone(),
                mailer,
                sweep: settings.jobs.poll_interval,
                public_origin: public_origin.clone().into(),
            },
            jobs: JobContext {
                pool: pool.clone(),
                retention: settings.jobs.retention,
            },
            forward: ForwardContext {
                pool: pool.clone(),
                engine: engine.clone(),
                batch: settings.jobs.sink_batch,
                bound: settings.jobs.sink_backlog_limit,
            },
            poll: PollContext {
                pool: pool.clone(),
                engine,
                public_origin: public_origin.into(),
                held: poll::HeldClaims::default(),
                lease: settings.tracking.lease,
            },
            billing: BillingContext { pool, billing },
        })
    }
}

/// A job of the [`registry`], its type erased: how to start its worker and, when it is
/// periodic, how to enqueue it.
pub struct Registration {
    /// The job's name, which is its queue.
    pub name: &'static str,
    start: for<'a> fn(&'a Workers, &'a CancellationToken) -> BoxFuture<'a, ()>,
    schedule: Option<Schedule>,
}

/// How the scheduler enqueues a periodic job.
struct Schedule {
    every: Duration,
    enqueue: for<'a> fn(&'a PgPool, &'a str) -> BoxFuture<'a, anyhow::Result<Enqueued>>,
}

impl Registration {
    /// A job that runs when something enqueues it.
    pub fn on_demand<J: Job>() -> Self {
        Self {
            name: J::JOB_NAME,
            start: |workers, shutdown| Box::pin(workers.run::<J>(shutdown)),
            schedule: None,
        }
    }

    /// A job the scheduler also enqueues once every [`Periodic::EVERY`].
    pub fn periodic<J: Periodic>() -> Self {
        Self {
            schedule: Some(Schedule {
                every: J::EVERY,
                enqueue: |pool, key| Box::pin(enqueue_once(pool, J::default(), key)),
            }),
            ..Self::on_demand::<J>()
        }
    }
}

/// The task function of every worker: runs one job with its context, timed.
async fn run_job<J: Job>(job: J, context: Data<J::Context>) -> Result<J::Output, BoxDynError> {
    let _timer = JobTimer::start(J::JOB_NAME);
    job.run(&context).await
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

/// Runs a worker for every job of the [`registry`], and the scheduler, until `shutdown` is
/// cancelled. Then no new job is taken; running jobs get `UPCOUNT_SHUTDOWN_TIMEOUT_SECS` to
/// finish.
pub async fn run(
    pool: PgPool,
    settings: &Settings,
    engine: Arc<Engine>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let contexts = Contexts::new(pool.clone(), settings, engine.clone())?;
    let scheduler = tokio::spawn(scheduler::run(
        pool.clone(),
        settings.jobs.scheduler_tick,
        shutdown.clone(),
    ));
    // Leases are renewed until every worker of this process has stopped, its last jobs
    // included.
    let stop_renewals = CancellationToken::new();
    let renewals = tokio::spawn(poll::run_renewals(
        pool.clone(),
        contexts.poll.held.clone(),
        settings.tracking.lease,
        stop_renewals.clone(),
    ));
    let dispatcher = tokio::spawn(poll::run_dispatcher(
        pool,
        engine,
        settings.tracking.dispatch_interval,
        settings.tracking.dispatch_batch,
        settings.tracking.lease,
        contexts.poll.held.clone(),
        shutdown.clone(),
    ));
    let mail_dispatcher = tokio::spawn(email::run_dispatcher(
        contexts.email.clone(),
        shutdown.clone(),
    ));
    let workers = Workers {
        contexts,
        settings: settings.clone(),
        // Worker names are unique per process: apalis records each in `apalis.workers`.
        instance: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
    };

    let registry = registry();
    futures::future::join_all(
        registry
            .iter()
            .map(|registration| (registration.start)(&workers, &shutdown)),
    )
    .await;

    shutdown.cancel();
    scheduler.await.context("the job scheduler panicked")?;
    dispatcher.await.context("the poll dispatcher panicked")?;
    mail_dispatcher
        .await
        .context("the email dispatcher panicked")?;
    stop_renewals.cancel();
    renewals.await.context("the poll lease renewals panicked")?;
    Ok(())
}

/// What every worker of this process shares.
struct Workers {
    contexts: Contexts,
    settings: Settings,
    instance: String,
}

impl Workers {
    /// Runs the supervised worker of job type `J` until `shutdown`.
    async fn run<J: Job>(&self, shutdown: &CancellationToken) {
        let context = J::Context::from(&self.contexts);
        let concurrency = J::concurrency(&self.settings).map(ConcurrencyLimitLayer::new);
        self.supervise(J::JOB_NAME, shutdown, move |name, workers| {
            let context = context.clone();
            let concurrency = concurrency.clone();
            let backend = storage::<J>(workers.pool()).poll_with_strategy(workers.polling::<J>());
            Monitor::new().register(move |_| {
                WorkerBuilder::new(name.as_str())
                    .backend(backend.clone())
                    .option_layer(concurrency.clone())
                    .data(context.clone())
                    .build(run_job::<J>)
            })
        })
        .await
    }

    fn pool(&self) -> &PgPool {
        &self.contexts.jobs.pool
    }

    /// How an idle worker looks for jobs of queue `J`: at once when PostgreSQL notifies an
    /// insert (LISTEN/NOTIFY), and every `UPCOUNT_JOB_POLL_INTERVAL_MS` in case a
    /// notification is missed. Each worker gets its own strategy (a strategy's timer must
    /// not be shared).
    fn polling<J: BackgroundJob>(&self) -> Strategy {
        Strategy::new()
            .interval(self.settings.jobs.poll_interval)
            .stream(Pubsub::new(self.pool().clone(), J::JOB_NAME.to_string()))
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
                    match tokio::time::timeout(self.settings.shutdown_timeout, &mut run).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => {
                            tracing::warn!(worker = %name, error = %error, "worker stopped with an error during shutdown");
                        }
                        Err(_) => {
                            tracing::warn!(worker = %name, grace_secs = self.settings.shutdown_timeout.as_secs(), "jobs still running after the shutdown timeout; stopping anyway");
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
