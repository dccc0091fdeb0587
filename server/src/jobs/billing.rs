//! Billing jobs: `stripe_event` processes one stored Stripe event (queued by the webhook),
//! and `billing_sweep` (every five minutes) applies plans whose state changed with time —
//! a grace period or a cancelled period that ended — and queues events again whose
//! processing failed or was lost.

use std::{sync::Arc, time::Duration};

use apalis::prelude::{BoxDynError, TaskBuilder, TaskSink};
use app::server::billing::{
    Billing,
    events::{self, Outcome},
    store,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{BackgroundJob, Job, storage};

/// Attempts of one `stripe_event` job; the sweep queues a failed event again later, with
/// a growing pause, up to 20 attempts in all.
pub const STRIPE_EVENT_ATTEMPTS: usize = 3;

/// What billing jobs need.
#[derive(Clone, Debug)]
pub struct BillingContext {
    pub pool: PgPool,
    pub billing: Arc<Billing>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessStripeEvent {
    pub event_id: String,
}

impl BackgroundJob for ProcessStripeEvent {
    const JOB_NAME: &'static str = "stripe_event";
}

impl Job for ProcessStripeEvent {
    type Context = BillingContext;
    type Output = ();

    #[tracing::instrument(name = "stripe_event", skip_all, fields(event = %self.event_id))]
    async fn run(self, context: &BillingContext) -> Result<(), BoxDynError> {
        let outcome = events::process(&context.pool, &context.billing, &self.event_id, Utc::now())
            .await
            .map_err(|error| {
                tracing::warn!(error = %error, "could not process a Stripe event; it will be tried again");
                Box::new(error) as BoxDynError
            })?;
        match outcome {
            Outcome::Applied { workspace_id, plan } => {
                tracing::info!(%workspace_id, %plan, "processed a Stripe event")
            }
            Outcome::Ignored(why) => tracing::info!(%why, "ignored a Stripe event"),
            Outcome::AlreadyDone => tracing::info!("a Stripe event processed before"),
        }
        Ok(())
    }
}

/// Queues the processing of a stored event.
pub async fn enqueue_stripe_event(pool: &PgPool, job: ProcessStripeEvent) -> anyhow::Result<()> {
    let task = TaskBuilder::new(job)
        .max_attempts(STRIPE_EVENT_ATTEMPTS)
        .build();
    storage::<ProcessStripeEvent>(pool)
        .push_task(task)
        .await
        .map_err(|error| anyhow::anyhow!("could not enqueue stripe_event: {error}"))
}

periodic_job! {
    /// Applies plans that changed with time, and retries Stripe events, every five minutes.
    pub struct BillingSweep = "billing_sweep", every Duration::from_secs(300);
    async fn run(context: &BillingContext) -> Result<SweepReport, BoxDynError> {
        let report = run_sweep(context).await?;
        if report != SweepReport::default() {
            tracing::info!(
                plans_applied = report.plans_applied,
                events_queued = report.events_queued,
                "billing sweep"
            );
        }
        Ok(report)
    }
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    pub plans_applied: usize,
    pub events_queued: usize,
}

pub async fn run_sweep(context: &BillingContext) -> anyhow::Result<SweepReport> {
    let now = Utc::now();
    let grace = context.billing.grace();
    let mut report = SweepReport::default();
    for workspace_id in store::workspaces_to_apply(&context.pool, now, grace).await? {
        store::apply_plan(&context.pool, workspace_id, now, grace).await?;
        report.plans_applied += 1;
    }
    for event_id in events::due_for_retry(&context.pool, now).await? {
        enqueue_stripe_event(&context.pool, ProcessStripeEvent { event_id }).await?;
        report.events_queued += 1;
    }
    Ok(report)
}
