//! Alert deliveries (see `app::server::alerts::deliveries`): the poll dispatcher claims
//! the due ones ([`dispatch`]) and enqueues one `deliver_alert` job each; the job sends
//! the alert to its channel and records the outcome: sent, retried with backoff for 24
//! hours, or failed, which counts against the channel.

use std::time::Duration;

use anyhow::Context;
use apalis::prelude::*;
use app::server::alerts::{
    channels::Channel,
    deliver::{self, DeliveryError},
    deliveries::{self, ChannelHealth, Delivery, DeliveryClaim},
};
use app::{
    domain::ChannelKind,
    server::{
        email::{self, templates},
        tracking::Engine,
    },
};
use futures::stream;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{BackgroundJob, Job, PollContext, storage};

/// One delivery of one alert event to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliverAlert {
    pub claim: DeliveryClaim,
}

impl BackgroundJob for DeliverAlert {
    const JOB_NAME: &'static str = "deliver_alert";
}

impl Job for DeliverAlert {
    type Context = PollContext;
    type Output = Option<String>;

    #[tracing::instrument(name = "deliver_alert", skip_all, fields(delivery = self.claim.id))]
    async fn run(self, context: &PollContext) -> Result<Option<String>, BoxDynError> {
        Ok(deliver(
            &context.pool,
            &context.engine,
            &context.public_origin,
            self.claim,
        )
        .await?)
    }
}

/// How long a claim holds: longer than a request may take.
pub const LEASE: Duration = Duration::from_secs(120);
/// Deliveries one dispatch claims at most.
const CLAIMS: i64 = 100;

/// Sends the delivery `claim` holds; the error it failed with, if it did.
pub async fn deliver(
    pool: &PgPool,
    engine: &Engine,
    public_origin: &str,
    claim: DeliveryClaim,
) -> anyhow::Result<Option<String>> {
    let Some(delivery) = deliveries::load_delivery(pool, claim)
        .await
        .context("could not load the delivery")?
    else {
        return Ok(None);
    };
    let outcome = send(pool, engine, public_origin, &delivery).await;
    match outcome {
        Ok(Sent::Mailing) => {
            metrics::counter!("upcount_alert_deliveries_total", "outcome" => "mailing")
                .increment(1);
            Ok(None)
        }
        Ok(Sent::Posted) => {
            deliveries::delivered(pool, &delivery)
                .await
                .context("could not record a delivery")?;
            metrics::counter!("upcount_alert_deliveries_total", "outcome" => "sent").increment(1);
            Ok(None)
        }
        Err(error) => {
            let retry = matches!(error, DeliveryError::Retry(_));
            let text = error.to_string();
            tracing::info!(
                channel = %delivery.channel.id,
                retry,
                error = %text,
                "an alert delivery failed"
            );
            let health = deliveries::failed(pool, &delivery, &text, retry, chrono::Utc::now())
                .await
                .context("could not record a failed delivery")?;
            metrics::counter!("upcount_alert_deliveries_total", "outcome" => if retry { "retrying" } else { "failed" })
                .increment(1);
            if health == ChannelHealth::NewlyFailing {
                tracing::warn!(channel = %delivery.channel.id, "an alert channel keeps failing");
                tell_owner(
                    pool,
                    public_origin,
                    &delivery.channel,
                    delivery.claim.id,
                    &text,
                )
                .await
                .context("could not tell the owner about a failing channel")?;
            }
            Ok(Some(text))
        }
    }
}

/// How a delivery went: posted (or handed to the outbox, for email), or why not.
enum Sent {
    Posted,
    Mailing,
}

/// Sends one delivery to its channel: posted to a webhook, Slack or Discord; for an
/// email channel, handed to the outbox (once per delivery), which the `send_email` job
/// sends with its own retries and whose outcome it records on the delivery.
async fn send(
    pool: &PgPool,
    engine: &Engine,
    public_origin: &str,
    delivery: &Delivery,
) -> Result<Sent, DeliveryError> {
    match delivery.channel.kind {
        ChannelKind::Email => {
            let page = match delivery.message.tracker.id {
                Some(id) => format!("{public_origin}/trackers/{id}"),
                None => format!("{public_origin}/alerts"),
            };
            let message = templates::alert(
                &delivery.channel.target,
                &delivery.message.tracker.label,
                &delivery.message.reason,
                &page,
            );
            deliveries::hand_to_mail(pool, delivery, &message)
                .await
                .map(|_| Sent::Mailing)
                .map_err(|error| {
                    DeliveryError::Retry(format!("could not queue the email: {error}"))
                })
        }
        _ => deliver::post(
            engine.http(),
            &delivery.channel,
            &delivery.message,
            chrono::Utc::now(),
        )
        .await
        .map(|()| Sent::Posted),
    }
}

/// Emails the workspace's owners, once per failing spell, that `channel` keeps failing
/// (`delivery`: the delivery that made it so, which keeps the message to one).
pub async fn tell_owner(
    pool: &PgPool,
    public_origin: &str,
    channel: &Channel,
    delivery: i64,
    error: &str,
) -> anyhow::Result<()> {
    let owners: Vec<String> = sqlx::query_scalar(
        "SELECT u.email FROM workspace_members m JOIN users u ON u.id = m.user_id
         WHERE m.workspace_id = $1 AND m.role = 'owner'",
    )
    .bind(channel.workspace_id.uuid())
    .fetch_all(pool)
    .await?;
    let shown = format!(
        "{} {}",
        channel.kind.label(),
        app::domain::alert_channel::shown_target(channel.kind, &channel.target)
    );
    for owner in owners {
        let message =
            templates::channel_failing(&owner, &shown, error, &format!("{public_origin}/alerts"));
        email::queue(
            pool,
            &message,
            &format!("channel-failing:{}:{delivery}:{owner}", channel.id),
        )
        .await?;
    }
    Ok(())
}

/// Claims the deliveries that are due and enqueues a job for each.
pub async fn dispatch(pool: &PgPool) -> anyhow::Result<usize> {
    let claims = deliveries::claim_deliveries(pool, CLAIMS, LEASE)
        .await
        .context("could not claim alert deliveries")?;
    if claims.is_empty() {
        return Ok(0);
    }
    let tasks: Vec<_> = claims
        .iter()
        .map(|&claim| TaskBuilder::new(DeliverAlert { claim }).build())
        .collect();
    storage::<DeliverAlert>(pool)
        .push_all(stream::iter(tasks))
        .await
        .context("could not enqueue alert deliveries")?;
    Ok(claims.len())
}
