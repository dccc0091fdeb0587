//! Deliveries: one per event and channel, claimed with a lease like polls and backfills,
//! retried with backoff for 24 hours, each outcome recorded. A channel whose deliveries
//! keep failing for good is marked failing (and its workspace's owner told once, by the
//! caller); one that delivers again is no longer failing.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};

use super::{
    channels::Channel,
    deliver::{AlertMessage, TrackerRef},
};
use crate::domain::{AlertEventId, AlertRuleId, ChannelId, ChannelKind, TrackerId, WorkspaceId};

/// Deliveries are tried for this long after their event, then given up.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);

/// Failed deliveries in a row after which a channel is marked failing.
pub const FAILING_AFTER: i32 = 3;

/// A claimed delivery: its id and the lease that proves the claim is still ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryClaim {
    pub id: i64,
    pub lease: DateTime<Utc>,
}

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub claim: DeliveryClaim,
    pub channel: Channel,
    pub message: AlertMessage,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// What became of a channel after a delivery's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelHealth {
    Fine,
    /// Failing, and nobody was told yet: tell the owner now (once per failing spell).
    NewlyFailing,
    Failing,
}

/// Queues one delivery of `event` per channel (again: nothing).
pub async fn queue_deliveries(
    connection: &mut PgConnection,
    event: AlertEventId,
    channels: &[ChannelId],
) -> Result<u64, sqlx::Error> {
    let channels: Vec<uuid::Uuid> = channels.iter().map(|id| id.uuid()).collect();
    let queued = sqlx::query!(
        "INSERT INTO alert_deliveries (event_id, channel_id)
         SELECT $1, unnest($2::uuid[])
         ON CONFLICT (event_id, channel_id) DO NOTHING",
        event as AlertEventId,
        &channels,
    )
    .execute(connection)
    .await?;
    Ok(queued.rows_affected())
}

/// Claims up to `limit` deliveries that are due, for `lease`.
pub async fn claim_deliveries(
    pool: &PgPool,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<DeliveryClaim>, sqlx::Error> {
    sqlx::query_as!(
        DeliveryClaim,
        r#"UPDATE alert_deliveries d SET leased_until = now() + make_interval(secs => $2)
           WHERE d.id IN (
               SELECT id FROM alert_deliveries
               WHERE state IN ('queued', 'retrying') AND next_attempt_at <= now()
                 AND (leased_until IS NULL OR leased_until < now())
               ORDER BY next_attempt_at LIMIT $1
               FOR UPDATE SKIP LOCKED)
           RETURNING d.id, d.leased_until AS "lease!""#,
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(pool)
    .await
}

/// The claimed delivery with its channel and event; `None` when the claim was lost or
/// the delivery is gone.
pub async fn load_delivery(
    pool: &PgPool,
    claim: DeliveryClaim,
) -> Result<Option<Delivery>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT d.attempts, d.created_at,
                  c.id AS "channel_id: ChannelId", c.workspace_id AS "workspace_id: WorkspaceId",
                  c.kind AS "kind: ChannelKind", c.target, c.secret,
                  e.id AS "event_id: AlertEventId", e.rule_id AS "rule_id: AlertRuleId",
                  e.tracker_id AS "tracker_id: TrackerId", e.metric, e.condition, e.value,
                  e.previous, e.reason, e.fired_at,
                  coalesce(t.label, 'a deleted tracker') AS "label!",
                  coalesce(s.url, '') AS "url!"
           FROM alert_deliveries d
           JOIN alert_channels c ON c.id = d.channel_id
           JOIN alert_events e ON e.id = d.event_id
           LEFT JOIN trackers t ON t.id = e.tracker_id
           LEFT JOIN sources s ON s.id = t.source_id
           WHERE d.id = $1 AND d.leased_until = $2
             AND d.state IN ('queued', 'retrying')"#,
        claim.id,
        claim.lease,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| Delivery {
        claim,
        channel: Channel {
            id: row.channel_id,
            workspace_id: row.workspace_id,
            kind: row.kind,
            target: row.target,
            secret: row.secret,
        },
        message: AlertMessage {
            event: row.event_id,
            tracker: TrackerRef {
                id: row.tracker_id,
                label: row.label,
                url: row.url,
            },
            metric: row.metric,
            value: row.value,
            previous: row.previous,
            condition: row.condition,
            rule: row.rule_id,
            fired_at: row.fired_at,
            reason: row.reason,
        },
        attempts: row.attempts,
        created_at: row.created_at,
    }))
}

/// How long after `attempts` failed tries the next one comes: 1, 2, 4… minutes, at most
/// 2 hours apart.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(0, 7) as u32;
    Duration::minutes(2_i64.pow(exponent)).min(Duration::hours(2))
}

/// The delivery went out: recorded, and its channel is fine again.
pub async fn delivered(pool: &PgPool, delivery: &Delivery) -> Result<bool, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let done = sqlx::query!(
        "UPDATE alert_deliveries SET state = 'sent', attempts = attempts + 1, sent_at = now(),
                last_error = NULL, leased_until = NULL
         WHERE id = $1 AND leased_until = $2",
        delivery.claim.id,
        delivery.claim.lease,
    )
    .execute(&mut *transaction)
    .await?
    .rows_affected()
        == 1;
    if done {
        sqlx::query!(
            "UPDATE alert_channels SET failures = 0, failing_since = NULL, last_error = NULL,
                    owner_told_at = NULL
             WHERE id = $1",
            delivery.channel.id as ChannelId,
        )
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(done)
}

/// The delivery failed with `error`: tried again after [`backoff`] while `retry` and
/// within [`GIVE_UP_AFTER`] of its event, given up otherwise (which counts against the
/// channel). What became of the channel.
pub async fn failed(
    pool: &PgPool,
    delivery: &Delivery,
    error: &str,
    retry: bool,
    now: DateTime<Utc>,
) -> Result<ChannelHealth, sqlx::Error> {
    let next = now + backoff(delivery.attempts);
    let retry = retry && next < delivery.created_at + GIVE_UP_AFTER;
    let mut transaction = pool.begin().await?;
    let updated = sqlx::query!(
        "UPDATE alert_deliveries SET
             state = CASE WHEN $3 THEN 'retrying' ELSE 'failed' END,
             attempts = attempts + 1, last_error = $4, next_attempt_at = $5, leased_until = NULL
         WHERE id = $1 AND leased_until = $2",
        delivery.claim.id,
        delivery.claim.lease,
        retry,
        error,
        next,
    )
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    if updated == 0 || retry {
        transaction.commit().await?;
        return Ok(ChannelHealth::Fine);
    }
    let channel = sqlx::query!(
        r#"UPDATE alert_channels SET failures = failures + 1, last_error = $2,
                  failing_since = CASE WHEN failures + 1 >= $3
                                       THEN coalesce(failing_since, now()) END
           WHERE id = $1
           RETURNING failing_since IS NOT NULL AS "failing!", owner_told_at IS NULL AS "untold!""#,
        delivery.channel.id as ChannelId,
        error,
        FAILING_AFTER,
    )
    .fetch_optional(&mut *transaction)
    .await?;
    let health = match channel {
        Some(channel) if channel.failing && channel.untold => {
            sqlx::query!(
                "UPDATE alert_channels SET owner_told_at = now() WHERE id = $1",
                delivery.channel.id as ChannelId,
            )
            .execute(&mut *transaction)
            .await?;
            ChannelHealth::NewlyFailing
        }
        Some(channel) if channel.failing => ChannelHealth::Failing,
        _ => ChannelHealth::Fine,
    };
    transaction.commit().await?;
    Ok(health)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_up_to_two_hours() {
        let minutes: Vec<i64> = (0..10).map(|n| backoff(n).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 120, 120, 120]);
    }
}
