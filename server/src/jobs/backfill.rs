//! Backfill: loads the history an upstream keeps of a source (see
//! `app::server::tracking::backfill`). The poll dispatcher also claims backfills that may
//! run ([`dispatch`]) and enqueues one `backfill_source` job each; the job asks the
//! provider for page after page and saves each with its cursor, so a worker that dies
//! mid-way leaves the lease to run out and the next claim resumes after the last page
//! saved. A rate limit or an outage gives the claim back until the upstream is ready.

use std::time::Duration;

use anyhow::Context;
use apalis::prelude::*;
use app::server::tracking::{
    Engine, FetchError,
    store::{self, BackfillClaim},
};
use futures::stream;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{BackgroundJob, Job, PollContext, storage};

/// The backfill of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackfillSource {
    pub claim: BackfillClaim,
}

impl BackgroundJob for BackfillSource {
    const JOB_NAME: &'static str = "backfill_source";
}

impl Job for BackfillSource {
    type Context = PollContext;
    type Output = BackfillReport;

    #[tracing::instrument(name = "backfill_source", skip_all, fields(source = self.claim.source_id.0))]
    async fn run(self, context: &PollContext) -> Result<BackfillReport, BoxDynError> {
        let report = backfill(&context.pool, &context.engine, self.claim).await?;
        tracing::debug!(pages = report.pages, points = report.points, "backfilled");
        Ok(report)
    }
}

/// How long a claim holds between two pages (a page may wait on the upstream's budget).
pub const LEASE: Duration = Duration::from_secs(300);
/// Backfills one dispatch claims at most.
const CLAIMS: i64 = 20;
/// Failed attempts in a row (outages, not rate limits) before a backfill gives up.
const MAX_FAILURES: i32 = 8;
/// The wait after a rate limit that does not say how long.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// What one job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillReport {
    pub pages: usize,
    pub points: usize,
    pub finished: bool,
}

/// Loads the history of the backfill `claim` holds, page by page, while it holds it.
pub async fn backfill(
    pool: &PgPool,
    engine: &Engine,
    claim: BackfillClaim,
) -> anyhow::Result<BackfillReport> {
    let mut report = BackfillReport::default();
    let Some(backfill) = store::load_backfill(pool, claim)
        .await
        .context("could not load the backfill")?
    else {
        return Ok(report);
    };
    let Some(provider) = engine.provider(&backfill.kind) else {
        let error = format!("no provider knows the kind `{}`", backfill.kind);
        store::fail_backfill(pool, claim, &error).await?;
        return Ok(report);
    };
    let source = match engine.source_ref(&backfill.key, &backfill.config) {
        Ok(source) => source,
        Err(error) => {
            store::fail_backfill(pool, claim, &error.to_string()).await?;
            return Ok(report);
        }
    };
    let (mut claim, mut cursor) = (claim, backfill.cursor.clone());
    loop {
        let page = match engine
            .history(provider.as_ref(), &source, cursor.as_ref())
            .await
        {
            Ok(page) => page,
            Err(error) => {
                give_back(pool, claim, backfill.failures, &error).await?;
                return Ok(report);
            }
        };
        let saved = store::save_backfill_page(pool, claim, &backfill, &page, LEASE)
            .await
            .context("could not save a page of history")?;
        let Some(renewed) = saved else {
            tracing::info!(
                source = backfill.source_id.0,
                "another job took the backfill over"
            );
            return Ok(report);
        };
        report.pages += 1;
        report.points += page.points.len();
        match page.next {
            Some(next) => (claim, cursor) = (renewed, Some(next)),
            None => {
                report.finished = true;
                return Ok(report);
            }
        }
    }
}

/// Gives the claim back after `error`: until the upstream's limit resets, after a pause
/// that grows with each failure in a row, or for good when the upstream refused.
async fn give_back(
    pool: &PgPool,
    claim: BackfillClaim,
    failures: i32,
    error: &FetchError,
) -> anyhow::Result<()> {
    tracing::info!(
        source = claim.source_id.0,
        outcome = error.code(),
        error = %error,
        "a page of history failed"
    );
    let (wait, counts) = match error {
        FetchError::RateLimited { retry_after, .. } => {
            (retry_after.unwrap_or(RATE_LIMIT_WAIT), false)
        }
        FetchError::Throttled { retry_after, .. } => (*retry_after, false),
        error if error.is_transient() => {
            let exponent = u32::try_from(failures.clamp(0, 6)).unwrap_or(6);
            (Duration::from_secs(30 * 2u64.pow(exponent)), true)
        }
        error => {
            store::fail_backfill(pool, claim, &error.to_string()).await?;
            return Ok(());
        }
    };
    let retry_at = chrono::Utc::now()
        + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::minutes(1));
    store::backfill_waits(
        pool,
        claim,
        retry_at,
        &error.to_string(),
        counts,
        MAX_FAILURES,
    )
    .await?;
    Ok(())
}

/// Claims the backfills that may run and enqueues their jobs. Returns how many.
pub async fn dispatch(pool: &PgPool) -> anyhow::Result<usize> {
    let claims = store::claim_backfills(pool, CLAIMS, LEASE)
        .await
        .context("could not claim backfills")?;
    if claims.is_empty() {
        return Ok(0);
    }
    let tasks: Vec<_> = claims
        .iter()
        .map(|&claim| TaskBuilder::new(BackfillSource { claim }).build())
        .collect();
    storage::<BackfillSource>(pool)
        .push_all(stream::iter(tasks))
        .await
        .context("could not enqueue backfill jobs")?;
    Ok(claims.len())
}
