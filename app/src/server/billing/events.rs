//! Stripe's webhook events: the signature check, storing each event once, and processing
//! it by reading the subscription's current state from Stripe, so that events in any
//! order, and replays, end in the same state.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::{Billing, BillingError, store};
use crate::domain::WorkspaceId;

pub use crate::server::signature::{SignatureError, TOLERANCE_SECS, sign, verify_signature};

/// The parts of an event every type has.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    pub data: EnvelopeData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnvelopeData {
    pub object: Value,
}

/// The event types Upcount acts on; others are stored and ignored.
pub const HANDLED: [&str; 6] = [
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
];

/// What storing an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// New, and to be processed.
    Pending,
    /// New, of a type Upcount does not act on.
    Ignored,
    /// Stored before: a repeated delivery, without effect.
    Duplicate,
}

/// Stores a verified event once.
pub async fn store_event(
    pool: &PgPool,
    envelope: &Envelope,
    payload: &Value,
) -> Result<Stored, sqlx::Error> {
    let created = DateTime::from_timestamp(envelope.created, 0).unwrap_or_else(Utc::now);
    let status = if HANDLED.contains(&envelope.kind.as_str()) {
        "pending"
    } else {
        "ignored"
    };
    let inserted = sqlx::query_scalar!(
        "INSERT INTO stripe_events (id, type, created, livemode, payload, status)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING RETURNING id",
        envelope.id,
        envelope.kind,
        created,
        envelope.livemode,
        payload,
        status,
    )
    .fetch_optional(pool)
    .await?;
    Ok(match (inserted, status) {
        (None, _) => Stored::Duplicate,
        (Some(_), "pending") => Stored::Pending,
        (Some(_), _) => Stored::Ignored,
    })
}

/// Forgets an event whose processing could not be queued, so that Stripe's next delivery
/// stores it again.
pub async fn forget_event(pool: &PgPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM stripe_events WHERE id = $1 AND status = 'pending' AND attempts = 0",
        id,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// What processing an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Processed before: nothing done.
    AlreadyDone,
    /// Nothing to do, and why.
    Ignored(String),
    /// The workspace's subscription state was read from Stripe and its plan applied.
    Applied {
        workspace_id: WorkspaceId,
        plan: String,
    },
}

/// An id field that may be a string or an expanded object.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(id) => Some(id.clone()),
        Value::Object(object) => object.get("id")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// (subscription, customer, workspace named by the event) of an event's object.
fn subject(kind: &str, object: &Value) -> (Option<String>, Option<String>, Option<Uuid>) {
    let customer = object.get("customer").and_then(id_of);
    let metadata_workspace = |value: Option<&Value>| {
        value
            .and_then(|metadata| metadata.get("workspace_id"))
            .and_then(Value::as_str)
            .and_then(|id| Uuid::parse_str(id).ok())
    };
    match kind {
        "checkout.session.completed" => {
            let workspace = object
                .get("client_reference_id")
                .and_then(Value::as_str)
                .and_then(|id| Uuid::parse_str(id).ok())
                .or_else(|| metadata_workspace(object.get("metadata")));
            (
                object.get("subscription").and_then(id_of),
                customer,
                workspace,
            )
        }
        kind if kind.starts_with("customer.subscription.") => (
            object.get("id").and_then(id_of),
            customer,
            metadata_workspace(object.get("metadata")),
        ),
        kind if kind.starts_with("invoice.") => {
            // Older API versions name the subscription on the invoice; newer ones under
            // `parent.subscription_details`.
            let details = object
                .get("parent")
                .and_then(|parent| parent.get("subscription_details"));
            let subscription = object
                .get("subscription")
                .and_then(id_of)
                .or_else(|| details.and_then(|d| d.get("subscription")).and_then(id_of));
            let workspace =
                metadata_workspace(details.and_then(|d| d.get("metadata"))).or_else(|| {
                    metadata_workspace(
                        object
                            .get("subscription_details")
                            .and_then(|d| d.get("metadata")),
                    )
                });
            (subscription, customer, workspace)
        }
        _ => (None, customer, None),
    }
}

/// Processes stored event `id` once: finds its workspace and subscription, reads the
/// subscription's current state from Stripe (never trusting the event's copy, which may
/// be out of date or out of order), records it and applies the plan it gives. An error
/// (Stripe unreachable) is recorded on the event and returned, for a retry.
pub async fn process(
    pool: &PgPool,
    billing: &Billing,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, BillingError> {
    // The event's row stays locked while it is processed: a second job for the same event
    // (a sweep's retry while the first still runs) skips it instead of doing it twice.
    let mut claim = pool.begin().await?;
    let row = sqlx::query!(
        "SELECT type AS kind, payload, status FROM stripe_events WHERE id = $1 FOR UPDATE SKIP LOCKED",
        id,
    )
    .fetch_optional(&mut *claim)
    .await?;
    let Some(row) = row else {
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM stripe_events WHERE id = $1) AS "exists!""#,
            id,
        )
        .fetch_one(pool)
        .await?;
        return Ok(if exists {
            Outcome::AlreadyDone
        } else {
            Outcome::Ignored(format!("no stored event {id}"))
        });
    };
    let (kind, payload, status) = (row.kind, row.payload, row.status);
    if status == "processed" || status == "ignored" {
        return Ok(Outcome::AlreadyDone);
    }
    let outcome = handle(pool, billing, &kind, &payload, now).await;
    let (status, error, workspace) = match &outcome {
        Ok(Outcome::Applied { workspace_id, .. }) => ("processed", None, Some(*workspace_id)),
        Ok(Outcome::Ignored(why)) => ("ignored", Some(why.clone()), None),
        Ok(Outcome::AlreadyDone) => ("processed", None, None),
        Err(error) => ("failed", Some(error.to_string()), None),
    };
    sqlx::query!(
        "UPDATE stripe_events SET status = $2, error = $3, attempts = attempts + 1,
                attempted_at = $5, workspace_id = coalesce($4, workspace_id),
                processed_at = CASE WHEN $2 = 'failed' THEN processed_at ELSE $5 END
         WHERE id = $1",
        id,
        status,
        error.as_deref(),
        workspace as Option<WorkspaceId>,
        now,
    )
    .execute(&mut *claim)
    .await?;
    claim.commit().await?;
    outcome
}

async fn handle(
    pool: &PgPool,
    billing: &Billing,
    kind: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Outcome, BillingError> {
    let object = &payload["data"]["object"];
    if kind == "checkout.session.completed"
        && object.get("mode").and_then(Value::as_str) != Some("subscription")
    {
        return Ok(Outcome::Ignored("not a subscription checkout".into()));
    }
    let (subscription_id, customer, named_workspace) = subject(kind, object);
    let Some(subscription_id) = subscription_id else {
        return Ok(Outcome::Ignored("the event names no subscription".into()));
    };
    let Some(subscription) = billing.subscription(&subscription_id).await? else {
        return Ok(Outcome::Ignored(format!(
            "Stripe does not know subscription {subscription_id}"
        )));
    };
    // The customer decides the workspace, through the mapping Upcount recorded when it
    // created the customer; what an event's metadata names never moves a plan alone.
    let customer = Some(subscription.customer.clone()).or(customer);
    let by_customer = match &customer {
        Some(customer) => store::workspace_of_customer(pool, customer).await?,
        None => None,
    };
    let Some(workspace_id) = by_customer else {
        return Ok(Outcome::Ignored(format!(
            "no workspace has Stripe customer {}",
            customer.as_deref().unwrap_or("(none)")
        )));
    };
    if let Some(named) = named_workspace
        && named != workspace_id.uuid()
    {
        tracing::warn!(
            %workspace_id, named_workspace = %named, subscription = %subscription.id,
            "a Stripe event names another workspace than its customer's: the customer decides"
        );
    }
    let mut transaction = pool.begin().await?;
    let recorded =
        store::record_subscription(&mut transaction, workspace_id, &subscription, now).await?;
    transaction.commit().await?;
    if !recorded {
        tracing::info!(%workspace_id, subscription = %subscription.id, "kept the workspace's live subscription over an ended one");
    }
    let applied = store::apply_plan(pool, workspace_id, now, billing.grace()).await?;
    Ok(Outcome::Applied {
        workspace_id,
        plan: applied.plan,
    })
}

/// Events to try again: pending ones whose job may have been lost, and failed ones whose
/// pause (doubling with each attempt, up to an hour) is over. At most 100, oldest first.
pub async fn due_for_retry(pool: &PgPool, now: DateTime<Utc>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM stripe_events
         WHERE (status = 'pending' AND received_at < $1::timestamptz - interval '2 minutes'
                AND (attempted_at IS NULL OR attempted_at < $1::timestamptz - interval '2 minutes'))
            OR (status = 'failed' AND attempts < 20
                AND attempted_at < $1::timestamptz - least(interval '1 minute' * power(2, attempts), interval '1 hour'))
         ORDER BY received_at LIMIT 100",
        now,
    )
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_come_from_each_event_type() {
        let workspace = Uuid::new_v4();
        let checkout = serde_json::json!({
            "mode": "subscription", "subscription": "sub_1", "customer": "cus_1",
            "client_reference_id": workspace.to_string()
        });
        assert_eq!(
            subject("checkout.session.completed", &checkout),
            (Some("sub_1".into()), Some("cus_1".into()), Some(workspace))
        );
        let subscription = serde_json::json!({
            "id": "sub_2", "customer": {"id": "cus_2"}, "metadata": {"workspace_id": workspace.to_string()}
        });
        assert_eq!(
            subject("customer.subscription.updated", &subscription),
            (Some("sub_2".into()), Some("cus_2".into()), Some(workspace))
        );
        let new_invoice = serde_json::json!({
            "customer": "cus_3",
            "parent": {"subscription_details": {"subscription": "sub_3", "metadata": {}}}
        });
        assert_eq!(
            subject("invoice.paid", &new_invoice),
            (Some("sub_3".into()), Some("cus_3".into()), None)
        );
        let old_invoice = serde_json::json!({"customer": "cus_4", "subscription": "sub_4"});
        assert_eq!(
            subject("invoice.payment_failed", &old_invoice).0,
            Some("sub_4".into())
        );
    }
}
