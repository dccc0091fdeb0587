//! Polling: the dispatcher claims due sources and enqueues one `poll_sources` job per
//! provider batch; the job fetches, writes every sample of the batch in one statement and
//! reschedules its sources.
//!
//! Every worker process runs a dispatcher. Claims lease sources with `FOR UPDATE SKIP
//! LOCKED`, so two dispatchers never claim one source for one due time. Leases are short
//! (`UPCOUNT_POLL_LEASE_SECS`, 30 s) and renewed every third of that by the process that
//! holds them ([`HeldClaims`], [`run_renewals`]): the dispatcher's until a job takes them
//! (a new claim, so a job runs each claim once), then the job's while it runs. A process
//! that dies stops renewing, and its sources are claimed again within one lease.
//! Recording a poll only reschedules a source still due at the time the job was for, and
//! writes samples (stamped with the time the upstream answered) only for the sources it
//! rescheduled: the claim, not the timestamp, keeps a repeated job from duplicating a
//! point.

use std::{
    collections::{BTreeMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use anyhow::Context;
use apalis::prelude::*;
use app::domain::{ProviderKind, SourceId};
use app::server::tracking::{
    Engine, FetchError, SourceRef,
    store::{self, Claim, PollResult},
};
use chrono::{DateTime, Utc};
use futures::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{BackgroundJob, Job, storage};
use crate::config::Settings;

/// Sources of one provider kind fetched by one job (one request for batching providers;
/// several requests, a few at a time, for the others).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollSources {
    pub kind: ProviderKind,
    /// Each source with the due time and lease it was claimed with.
    pub sources: Vec<Claim>,
}

impl BackgroundJob for PollSources {
    const JOB_NAME: &'static str = "poll_sources";
}

impl Job for PollSources {
    type Context = PollContext;
    type Output = PollReport;

    /// `UPCOUNT_POLL_CONCURRENCY` at once: most of a poll is waiting for the upstream.
    fn concurrency(settings: &Settings) -> Option<usize> {
        Some(settings.tracking.concurrency)
    }

    #[tracing::instrument(name = "poll_sources", skip_all, fields(kind = %self.kind, sources = self.sources.len()))]
    async fn run(self, context: &PollContext) -> Result<PollReport, BoxDynError> {
        let report = poll(context, &self).await?;
        tracing::debug!(
            polled = report.polled,
            failed = report.failed,
            samples = report.samples,
            "polled"
        );
        Ok(report)
    }
}

/// Sources per job for providers that fetch one at a time.
const UNBATCHED_PER_JOB: usize = 20;
/// Requests a job has in flight at once for such providers.
const REQUESTS_PER_JOB: usize = 4;
/// A job's attempts: upstream failures are recorded on the source, so only a database
/// failure fails a job, and then a few retries are plenty.
const JOB_ATTEMPTS: usize = 3;

/// What a poll job needs.
#[derive(Clone, Debug)]
pub struct PollContext {
    pub pool: PgPool,
    pub engine: Arc<Engine>,
    /// `scheme://host[:port]` of the site, for links in alerts.
    pub public_origin: Arc<str>,
    /// The claims this process holds, renewed by [`run_renewals`].
    pub held: HeldClaims,
    /// `UPCOUNT_POLL_LEASE_SECS`.
    pub lease: Duration,
}

/// The poll claims one process holds: each renewed every third of the lease while held,
/// dropped once a renewal finds it no longer holds (polled, or taken by a job).
#[derive(Clone, Debug, Default)]
pub struct HeldClaims(Arc<Mutex<HashSet<Claim>>>);

impl HeldClaims {
    fn with<T>(&self, change: impl FnOnce(&mut HashSet<Claim>) -> T) -> T {
        // A panic elsewhere while holding the lock leaves a set still worth using.
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut held)
    }

    pub fn hold(&self, claims: impl IntoIterator<Item = Claim>) {
        self.with(|held| held.extend(claims));
    }

    pub fn release(&self, claims: &[Claim]) {
        self.with(|held| {
            for claim in claims {
                held.remove(claim);
            }
        });
    }

    pub fn len(&self) -> usize {
        self.with(|held| held.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn snapshot(&self) -> Vec<Claim> {
        self.with(|held| held.iter().copied().collect())
    }
}

/// A job's claims, released however the job ends (a panic or an error included).
struct Holding<'a> {
    held: &'a HeldClaims,
    claims: Vec<Claim>,
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        self.held.release(&self.claims);
    }
}

/// Renews the leases of the claims in `held` every third of `lease` until `stop`; drops
/// the claims that no longer hold.
pub async fn run_renewals(
    pool: PgPool,
    held: HeldClaims,
    lease: Duration,
    stop: CancellationToken,
) {
    let mut ticker = tokio::time::interval(lease / 3);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let claims = held.snapshot();
        if claims.is_empty() {
            continue;
        }
        match store::renew_claims(&pool, &claims, lease).await {
            Ok(renewed) => {
                let renewed: HashSet<Claim> = renewed.into_iter().collect();
                let lost: Vec<Claim> = claims
                    .into_iter()
                    .filter(|claim| !renewed.contains(claim))
                    .collect();
                held.release(&lost);
                metrics::gauge!("upcount_poll_claims_held").set(held.len() as f64);
            }
            // The next tick tries again; the leases last three ticks.
            Err(error) => {
                metrics::counter!("upcount_poll_lease_renewal_failures_total").increment(1);
                tracing::warn!(error = %error, claims = claims.len(), "could not renew poll leases");
            }
        }
    }
}

/// What one job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollReport {
    pub polled: usize,
    pub failed: usize,
    pub samples: u64,
}

/// Takes the job's sources that are still due (holding their new claims while it runs)
/// and records the outcome.
pub async fn poll(context: &PollContext, job: &PollSources) -> anyhow::Result<PollReport> {
    let (pool, engine) = (&context.pool, context.engine.as_ref());
    let due = store::take_claims(pool, &job.sources, context.lease)
        .await
        .context("could not take the sources to poll")?;
    if due.is_empty() {
        return Ok(PollReport::default());
    }
    let claims: Vec<Claim> = due.iter().map(|source| source.claim).collect();
    context.held.hold(claims.iter().copied());
    let _holding = Holding {
        held: &context.held,
        claims,
    };
    let mut results = Vec::with_capacity(due.len());
    let Some(provider) = engine.provider(&job.kind) else {
        for source in &due {
            results.push(PollResult {
                source_id: source.id,
                due: source.due,
                observed_at: Utc::now(),
                outcome: Err(FetchError::Invalid(format!(
                    "no provider knows the kind `{}`",
                    job.kind
                ))),
            });
        }
        let samples = store::record_polls(pool, &results).await?;
        return Ok(PollReport {
            polled: 0,
            failed: results.len(),
            samples,
        });
    };

    // Sources whose config cannot be used (a secret that no longer decrypts) fail alone.
    let mut ready: Vec<(SourceId, DateTime<Utc>, SourceRef)> = Vec::new();
    for source in &due {
        match engine.source_ref(&source.key, &source.config) {
            Ok(mut reference) => {
                // What the last answer's validator was, for a conditional request.
                reference.validator = source.validator.clone();
                ready.push((source.id, source.due, reference));
            }
            Err(error) => results.push(PollResult {
                source_id: source.id,
                due: source.due,
                observed_at: Utc::now(),
                outcome: Err(error),
            }),
        }
    }
    let batch_size = provider.batch_size().max(1);
    let chunks: Vec<Vec<(SourceId, DateTime<Utc>, SourceRef)>> =
        ready.chunks(batch_size).map(<[_]>::to_vec).collect();
    let fetched: Vec<Vec<PollResult>> = stream::iter(chunks)
        .map(|chunk| {
            let provider = provider.clone();
            async move {
                let references: Vec<SourceRef> = chunk
                    .iter()
                    .map(|(_, _, reference)| reference.clone())
                    .collect();
                let answer = engine.fetch(provider.as_ref(), &references).await;
                // The samples' time: when the upstream answered, not when they were due.
                let observed_at = Utc::now();
                let outcomes = match answer {
                    Ok(outcomes) if outcomes.len() == chunk.len() => outcomes,
                    Ok(outcomes) => {
                        let error = FetchError::Invalid(format!(
                            "the provider answered {} results for {} sources",
                            outcomes.len(),
                            chunk.len()
                        ));
                        vec![Err(error); chunk.len()]
                    }
                    // A whole request failing says nothing about each thing: a 404 of a
                    // list endpoint is a misconfiguration or an outage, never "gone".
                    Err(FetchError::Gone(message)) => {
                        let error = FetchError::Unavailable(format!(
                            "the upstream answered \"not found\" for the whole request: {message}"
                        ));
                        vec![Err(error); chunk.len()]
                    }
                    Err(error) => vec![Err(error); chunk.len()],
                };
                chunk
                    .iter()
                    .zip(outcomes)
                    .map(|((id, due, _), outcome)| PollResult {
                        source_id: *id,
                        due: *due,
                        observed_at,
                        outcome,
                    })
                    .collect()
            }
        })
        .buffer_unordered(REQUESTS_PER_JOB)
        .collect()
        .await;
    results.extend(fetched.into_iter().flatten());

    let failed = results
        .iter()
        .filter(|result| result.outcome.is_err())
        .count();
    for result in &results {
        if let Err(error) = &result.outcome {
            tracing::info!(
                kind = %job.kind,
                source = result.source_id.0,
                outcome = error.code(),
                error = %error,
                "poll failed"
            );
        }
    }
    let samples = store::record_polls(pool, &results)
        .await
        .context("could not record the polls")?;
    evaluate_alerts(pool, &results).await;
    // For the admin console: by provider, the first part of the kind (`github`).
    let kind = provider.kind();
    let name = kind.split('.').next().unwrap_or(kind);
    engine.http().tally_polls(name, results.len(), failed);
    Ok(PollReport {
        polled: results.len() - failed,
        failed,
        samples,
    })
}

/// Evaluates the alert rules of the sources that got new samples. The samples are saved
/// whatever happens here: a failure is logged and counted, not retried with the poll.
async fn evaluate_alerts(pool: &PgPool, results: &[PollResult]) {
    let polled: Vec<SourceId> = results
        .iter()
        .filter(|result| result.outcome.is_ok())
        .map(|result| result.source_id)
        .collect();
    match app::server::alerts::evaluate::after_polls(pool, &polled).await {
        Ok(evaluated) => {
            metrics::counter!("upcount_alert_rules_evaluated_total")
                .increment(evaluated.judged as u64);
            if evaluated.fired > 0 {
                metrics::counter!("upcount_alerts_fired_total").increment(evaluated.fired as u64);
            }
        }
        Err(error) => {
            metrics::counter!("upcount_alert_evaluation_failures_total").increment(1);
            tracing::error!(error = %error, "could not evaluate alert rules after a poll");
        }
    }
}

/// Claims due sources and enqueues their jobs, holding the claims (renewed) until the
/// jobs take them. Returns how many sources were claimed.
pub async fn dispatch(
    pool: &PgPool,
    engine: &Engine,
    batch: i64,
    lease: Duration,
    held: &HeldClaims,
) -> anyhow::Result<usize> {
    store::end_idle_sources(pool)
        .await
        .context("could not stop sources without active trackers")?;
    let claimed = store::claim_due(pool, batch, lease)
        .await
        .context("could not claim due sources")?;
    if claimed.is_empty() {
        return Ok(0);
    }
    held.hold(claimed.iter().map(|claimed| claimed.claim));
    let mut by_kind: BTreeMap<ProviderKind, Vec<Claim>> = BTreeMap::new();
    for claimed in &claimed {
        by_kind
            .entry(claimed.kind.clone())
            .or_default()
            .push(claimed.claim);
    }
    let mut tasks = Vec::new();
    for (kind, sources) in by_kind {
        let per_job = match engine.provider(&kind) {
            Some(provider) if provider.batch_size() > 1 => provider.batch_size(),
            _ => UNBATCHED_PER_JOB,
        };
        for chunk in sources.chunks(per_job) {
            let job = PollSources {
                kind: kind.clone(),
                sources: chunk.to_vec(),
            };
            tasks.push(TaskBuilder::new(job).max_attempts(JOB_ATTEMPTS).build());
        }
    }
    let jobs = tasks.len();
    storage::<PollSources>(pool)
        .push_all(stream::iter(tasks))
        .await
        .context("could not enqueue poll jobs")?;
    tracing::debug!(sources = claimed.len(), jobs, "dispatched");
    Ok(claimed.len())
}

/// Dispatches every `interval` until `shutdown`; also exports the due backlog.
pub async fn run_dispatcher(
    pool: PgPool,
    engine: Arc<Engine>,
    interval: Duration,
    batch: i64,
    lease: Duration,
    held: HeldClaims,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut flushed = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                flush_tallies(&pool, &engine).await;
                break;
            }
            _ = ticker.tick() => {}
        }
        // This process's upstream requests, for the admin console, every ten seconds.
        if flushed.elapsed() >= Duration::from_secs(10) {
            flush_tallies(&pool, &engine).await;
            flushed = tokio::time::Instant::now();
        }
        match store::due_backlog(&pool).await {
            Ok((due, age)) => {
                metrics::gauge!("upcount_sources_due").set(due as f64);
                metrics::gauge!("upcount_sources_due_age_seconds").set(age);
            }
            Err(error) => tracing::debug!(error = %error, "could not measure the due backlog"),
        }
        if let Err(error) = super::backfill::dispatch(&pool).await {
            tracing::warn!(error = %format!("{error:#}"), "backfill dispatch failed");
        }
        if let Err(error) = super::deliver_alert::dispatch(&pool).await {
            tracing::warn!(error = %format!("{error:#}"), "alert delivery dispatch failed");
        }
        if let Err(error) = super::forward::dispatch(&pool).await {
            tracing::warn!(error = %format!("{error:#}"), "forwarding dispatch failed");
        }
        if let Err(error) = super::read_container::dispatch(&pool).await {
            tracing::warn!(error = %format!("{error:#}"), "watch dispatch failed");
        }
        // A full batch means more may be due: go again at once.
        loop {
            match dispatch(&pool, &engine, batch, lease, &held).await {
                Ok(claimed) if claimed as i64 >= batch && !shutdown.is_cancelled() => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "dispatch failed");
                    break;
                }
            }
        }
    }
}

/// Writes the upstream requests made since the last flush to `provider_minutes`.
pub async fn flush_tallies(pool: &PgPool, engine: &Engine) {
    let tallies = engine.http().take_tallies();
    if tallies.is_empty() {
        return;
    }
    if let Err(error) =
        app::server::admin::record_provider_tallies(pool, chrono::Utc::now(), &tallies).await
    {
        tracing::warn!(error = %error, "could not record upstream request figures");
    }
}
