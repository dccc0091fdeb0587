//! Watches: the poll dispatcher also claims the watched containers that are due
//! ([`dispatch`]) and enqueues one `read_container` job each; the job reads the container
//! once for every workspace watching it and makes trackers of the new items (see
//! `app::server::watches::read`). A worker that dies mid-way leaves the lease to run out,
//! and the container is claimed again; items already dealt with are never dealt with
//! twice.

use anyhow::Context;
use apalis::prelude::*;
use app::server::watches::{
    read::{self, LEASE, ReadReport},
    store::{self, ContainerClaim},
};
use futures::stream;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{BackgroundJob, Job, PollContext, storage};

/// A read of one watched container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadContainer {
    pub claim: ContainerClaim,
}

impl BackgroundJob for ReadContainer {
    const JOB_NAME: &'static str = "read_container";
}

impl Job for ReadContainer {
    type Context = PollContext;
    type Output = ReadReport;

    #[tracing::instrument(name = "read_container", skip_all, fields(container = self.claim.id.0))]
    async fn run(self, context: &PollContext) -> Result<ReadReport, BoxDynError> {
        let report = read::read_container(&context.pool, &context.engine, self.claim, None)
            .await
            .context("could not read a watched container")?;
        if report.tracked + report.skipped > 0 {
            metrics::counter!("upcount_watch_items_total", "outcome" => "tracked")
                .increment(report.tracked as u64);
            metrics::counter!("upcount_watch_items_total", "outcome" => "skipped")
                .increment(report.skipped as u64);
            tracing::info!(
                watches = report.watches,
                tracked = report.tracked,
                skipped = report.skipped,
                "watched container read"
            );
        }
        Ok(report)
    }
}

/// Containers one dispatch claims at most.
const CLAIMS: i64 = 20;

/// Claims the due containers and enqueues their reads. Returns how many.
pub async fn dispatch(pool: &PgPool) -> anyhow::Result<usize> {
    let claims = store::claim_due(pool, CLAIMS, LEASE)
        .await
        .context("could not claim watched containers")?;
    if claims.is_empty() {
        return Ok(0);
    }
    let tasks: Vec<_> = claims
        .iter()
        .map(|&claim| TaskBuilder::new(ReadContainer { claim }).build())
        .collect();
    storage::<ReadContainer>(pool)
        .push_all(stream::iter(tasks))
        .await
        .context("could not enqueue container reads")?;
    Ok(claims.len())
}
