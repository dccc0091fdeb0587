//! Forwarding (see `app::server::sinks`): the poll dispatcher claims the sinks that have
//! a backlog and are not waiting out a backoff ([`dispatch`]) and enqueues one
//! `forward_samples` job each; the job drops what the backlog holds past its bound, then
//! sends it oldest first in batches, deleting each batch once the sink took it, until it
//! is empty or a minute has passed. A failure keeps the backlog and pauses the sink
//! (15 s, doubling, at most 30 minutes); three in a row mark it failing.

use std::time::{Duration, Instant};

use anyhow::Context;
use apalis::prelude::*;
use app::server::{
    sinks::{
        self,
        store::{self, SinkClaim},
    },
    tracking::Engine,
};
use futures::stream;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{BackgroundJob, Job, storage};

/// Sending one sink's backlog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardSamples {
    pub claim: SinkClaim,
}

impl BackgroundJob for ForwardSamples {
    const JOB_NAME: &'static str = "forward_samples";
}

/// What the job needs.
#[derive(Clone, Debug)]
pub struct ForwardContext {
    pub pool: PgPool,
    pub engine: std::sync::Arc<Engine>,
    /// `UPCOUNT_SINK_BATCH`: points per request.
    pub batch: i64,
    /// `UPCOUNT_SINK_BACKLOG_LIMIT`: points a sink's backlog keeps at most.
    pub bound: i64,
}

/// What one job did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardReport {
    pub sent: u64,
    pub dropped: u64,
    /// Why the sink did not take a batch, when it did not.
    pub error: Option<String>,
}

impl Job for ForwardSamples {
    type Context = ForwardContext;
    type Output = ForwardReport;

    #[tracing::instrument(name = "forward_samples", skip_all, fields(sink.id = %self.claim.id))]
    async fn run(self, context: &ForwardContext) -> Result<ForwardReport, BoxDynError> {
        Ok(forward(
            &context.pool,
            &context.engine,
            self.claim,
            context.batch,
            context.bound,
        )
        .await?)
    }
}

/// How long a claim holds: longer than a run (a minute) plus its last request.
pub const LEASE: Duration = Duration::from_secs(180);
/// How long one run keeps sending before it gives the sink back.
const RUN_BUDGET: Duration = Duration::from_secs(60);
/// Sinks one dispatch claims at most.
const CLAIMS: i64 = 100;

/// Sends the backlog of the sink `claim` holds.
pub async fn forward(
    pool: &PgPool,
    engine: &Engine,
    claim: SinkClaim,
    batch: i64,
    bound: i64,
) -> anyhow::Result<ForwardReport> {
    let key = engine.config().secret_key;
    let Some(sink) = store::load_claimed(pool, key.as_ref(), claim)
        .await
        .context("could not load the sink")?
    else {
        return Ok(ForwardReport::default());
    };
    let mut report = ForwardReport::default();
    let dropped = store::trim(pool, claim, bound)
        .await
        .context("could not bound the sink's backlog")?;
    if dropped > 0 {
        report.dropped = dropped as u64;
        metrics::counter!("upcount_sink_points_total", "outcome" => "dropped")
            .increment(dropped as u64);
        tracing::warn!(
            dropped,
            "a sink's backlog was full: its oldest points were dropped"
        );
    }
    let sink = match sink {
        Ok(sink) => sink,
        Err(reason) => {
            record_failure(pool, claim, &reason).await?;
            report.error = Some(reason);
            return Ok(report);
        }
    };
    let started = Instant::now();
    loop {
        let (points, orphans) = store::next_batch(pool, sink.id, batch)
            .await
            .context("could not read the sink's backlog")?;
        let read = (points.len() + orphans.len()) as i64;
        if read == 0 {
            break;
        }
        if !points.is_empty()
            && let Err(error) =
                sinks::send::send(engine.http(), &sink, &points, chrono::Utc::now()).await
        {
            record_failure(pool, claim, &error).await?;
            report.error = Some(error);
            return Ok(report);
        }
        let mut ids: Vec<i64> = points.iter().map(|point| point.backlog_id).collect();
        ids.extend(orphans);
        store::sent(pool, claim, &ids, points.len() as i64)
            .await
            .context("could not record a batch sent")?;
        metrics::counter!("upcount_sink_points_total", "outcome" => "sent")
            .increment(points.len() as u64);
        report.sent += points.len() as u64;
        if read < batch || started.elapsed() >= RUN_BUDGET {
            break;
        }
    }
    store::release(pool, claim)
        .await
        .context("could not give the sink back")?;
    if report.sent > 0 {
        tracing::debug!(sent = report.sent, "forwarded");
    }
    Ok(report)
}

async fn record_failure(pool: &PgPool, claim: SinkClaim, error: &str) -> anyhow::Result<()> {
    metrics::counter!("upcount_sink_send_failures_total").increment(1);
    tracing::info!(error = %error, "a sink did not take a batch");
    let became_failing = store::failed(pool, claim, error)
        .await
        .context("could not record a failed send")?;
    if became_failing {
        tracing::warn!(error = %error, "a sink keeps failing; its backlog is kept");
    }
    Ok(())
}

/// Claims the sinks that are due and enqueues a job for each.
pub async fn dispatch(pool: &PgPool) -> anyhow::Result<usize> {
    let claims = store::claim_due(pool, CLAIMS, LEASE)
        .await
        .context("could not claim sinks")?;
    if claims.is_empty() {
        return Ok(0);
    }
    let tasks: Vec<_> = claims
        .iter()
        .map(|&claim| TaskBuilder::new(ForwardSamples { claim }).build())
        .collect();
    storage::<ForwardSamples>(pool)
        .push_all(stream::iter(tasks))
        .await
        .context("could not enqueue forwarding jobs")?;
    Ok(claims.len())
}
