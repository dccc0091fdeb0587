//! Stripe's webhook events: the signature check, storing each event once, and processing
//! it by reading the subscription's current state from Stripe, so that events in any
//! order, and replays, end in the same state.

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::{Billing, BillingError, store};
use crate::domain::WorkspaceId;

/// How old (or how far in the future) a signature's timestamp may be.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature's timestamp is {0} s away from now (at most {TOLERANCE_SECS} s)")]
    Stale(i64),
    #[error("no v1 signature matches the body")]
    Mismatch,
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Checks a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`) against the raw body: one of
/// the `v1` values must be the HMAC-SHA256 of `{t}.{body}` under `secret`, and `t` within
/// [`TOLERANCE_SECS`] of `now`. Compared in constant time.
pub fn verify_signature(
    body: &[u8],
    header: Option<&str>,
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => signatures.push(value),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err(SignatureError::Malformed);
    };
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Mismatch)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let matches = signatures.iter().any(|signature| {
        hex::decode(signature).is_ok_and(|bytes| mac.clone().verify_slice(&bytes).is_ok())
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    let age = (now - timestamp).abs();
    if age > TOLERANCE_SECS {
        return Err(SignatureError::Stale(age));
    }
    Ok(())
}

/// The `Stripe-Signature` header Stripe would send for `body` at `timestamp`.
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return format!("t={timestamp}"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

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

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;
    const NOW: i64 = 1_790_000_000;

    #[test]
    fn a_valid_signature_passes() {
        let header = sign(BODY, SECRET, NOW);
        assert_eq!(verify_signature(BODY, Some(&header), SECRET, NOW), Ok(()));
        // Within the tolerance either way.
        assert_eq!(
            verify_signature(BODY, Some(&header), SECRET, NOW + 299),
            Ok(())
        );
        assert_eq!(
            verify_signature(BODY, Some(&header), SECRET, NOW - 299),
            Ok(())
        );
    }

    #[test]
    fn a_wrong_secret_fails() {
        let header = sign(BODY, "whsec_other", NOW);
        assert_eq!(
            verify_signature(BODY, Some(&header), SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_stale_timestamp_fails() {
        let header = sign(BODY, SECRET, NOW - 301);
        assert_eq!(
            verify_signature(BODY, Some(&header), SECRET, NOW),
            Err(SignatureError::Stale(301))
        );
        let future = sign(BODY, SECRET, NOW + 600);
        assert_eq!(
            verify_signature(BODY, Some(&future), SECRET, NOW),
            Err(SignatureError::Stale(600))
        );
    }

    #[test]
    fn a_tampered_body_fails() {
        let header = sign(BODY, SECRET, NOW);
        let tampered = br#"{"id":"evt_1","type":"invoice.paid" }"#;
        assert_eq!(
            verify_signature(tampered, Some(&header), SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn one_valid_signature_among_several_is_enough() {
        let valid = sign(BODY, SECRET, NOW);
        let valid_v1 = valid.split(",v1=").nth(1).expect("a v1");
        let header = format!("t={NOW},v1={},v0=abc,v1={valid_v1}", "00".repeat(32));
        assert_eq!(verify_signature(BODY, Some(&header), SECRET, NOW), Ok(()));
        let none_valid = format!("t={NOW},v1={},v1=zz", "00".repeat(32));
        assert_eq!(
            verify_signature(BODY, Some(&none_valid), SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_missing_or_malformed_header_fails() {
        assert_eq!(
            verify_signature(BODY, None, SECRET, NOW),
            Err(SignatureError::Missing)
        );
        for header in ["", "garbage", "v1=abcd", &format!("t={NOW}")] {
            assert_eq!(
                verify_signature(BODY, Some(header), SECRET, NOW),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

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
