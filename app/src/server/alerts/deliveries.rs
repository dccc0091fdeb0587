//! Deliveries: one per event and channel, claimed with a lease like polls and backfills,
//! retried with backoff for 24 hours, each outcome recorded. An email delivery waits in
//! the outbox (`mailing`) until the mail server's answer is recorded. A channel that keeps
//! failing (deliveries given up in a row, or failed attempts for an hour) is marked
//! failing (and its workspace's owner told once, by the caller); one that delivers again
//! is no longer failing.

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
        channel_works(&mut transaction, delivery.channel.id).await?;
    }
    transaction.commit().await?;
    Ok(done)
}

/// The delivery failed with `error`: tried again after [`backoff`] while `retry` and
/// within [`GIVE_UP_AFTER`] of its event, given up otherwise. Every failed attempt counts
/// against the channel (see [`channel_failed`]). What became of the channel.
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
    if updated == 0 {
        transaction.commit().await?;
        return Ok(ChannelHealth::Fine);
    }
    let health = channel_failed(&mut transaction, delivery.channel.id, error, !retry).await?;
    transaction.commit().await?;
    Ok(health)
}

/// An email delivery goes to the outbox: queued there (once: the key is the delivery's)
/// and linked to it, the delivery waiting as `mailing` until the `send_email` job
/// records what the mail server answered ([`mail_outcome`]). False when the claim was
/// lost.
pub async fn hand_to_mail(
    pool: &PgPool,
    delivery: &Delivery,
    message: &crate::server::email::Message,
) -> Result<bool, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let taken = sqlx::query!(
        "UPDATE alert_deliveries SET state = 'mailing', attempts = attempts + 1,
                last_error = NULL, leased_until = NULL
         WHERE id = $1 AND leased_until = $2",
        delivery.claim.id,
        delivery.claim.lease,
    )
    .execute(&mut *transaction)
    .await?
    .rows_affected()
        == 1;
    if !taken {
        return Ok(false);
    }
    let key = format!("alert-delivery:{}", delivery.claim.id);
    crate::server::email::queue(&mut *transaction, message, &key).await?;
    sqlx::query!(
        "UPDATE email_outbox SET alert_delivery_id = $1 WHERE dedupe_key = $2",
        delivery.claim.id,
        key,
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(true)
}

/// What the mail server made of an alert's email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailOutcome<'a> {
    /// Taken (or, with no mail server configured, written to the log).
    Sent,
    /// Refused for now; the outbox tries again.
    Retrying(&'a str),
    /// Given up: refused for good, or still refused after a day.
    Failed(&'a str),
}

/// A channel given up on by a mail outcome, when it became failing with it.
#[derive(Debug, Clone)]
pub struct NewlyFailing {
    pub channel: Channel,
    pub delivery: i64,
}

/// Records on the alert delivery of outbox message `email` (if it is one) what became of
/// it, in the outbox's transaction: sent, still trying (with the error), or failed, which
/// counts against its channel like any delivery given up. The channel when it became
/// failing with this, for its owner to be told.
pub async fn mail_outcome(
    connection: &mut PgConnection,
    email: crate::domain::EmailId,
    outcome: MailOutcome<'_>,
) -> Result<Option<NewlyFailing>, sqlx::Error> {
    let (state, error) = match outcome {
        MailOutcome::Sent => ("sent", None),
        MailOutcome::Retrying(error) => ("mailing", Some(error)),
        MailOutcome::Failed(error) => ("failed", Some(error)),
    };
    let row = sqlx::query!(
        r#"UPDATE alert_deliveries d SET state = $2, last_error = $3,
                  sent_at = CASE WHEN $2 = 'sent' THEN now() END
           FROM email_outbox o
           WHERE o.id = $1 AND d.id = o.alert_delivery_id AND d.state = 'mailing'
           RETURNING d.id, d.channel_id AS "channel_id: ChannelId""#,
        email as crate::domain::EmailId,
        state,
        error,
    )
    .fetch_optional(&mut *connection)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    match outcome {
        MailOutcome::Sent => {
            channel_works(&mut *connection, row.channel_id).await?;
            Ok(None)
        }
        MailOutcome::Retrying(_) => Ok(None),
        MailOutcome::Failed(error) => {
            if channel_failed(&mut *connection, row.channel_id, error, true).await?
                != ChannelHealth::NewlyFailing
            {
                return Ok(None);
            }
            let channel = sqlx::query!(
                r#"SELECT workspace_id AS "workspace_id: WorkspaceId", kind AS "kind: ChannelKind",
                          target, secret
                   FROM alert_channels WHERE id = $1"#,
                row.channel_id as ChannelId,
            )
            .fetch_one(&mut *connection)
            .await?;
            Ok(Some(NewlyFailing {
                channel: Channel {
                    id: row.channel_id,
                    workspace_id: channel.workspace_id,
                    kind: channel.kind,
                    target: channel.target,
                    secret: channel.secret,
                },
                delivery: row.id,
            }))
        }
    }
}

/// A failing spell of failed attempts in a row after which a channel is marked failing,
/// even before any delivery is given up (a webhook answering 500 is retried for a day).
pub const FAILING_FOR: Duration = Duration::hours(1);

/// The channel delivered: no longer failing.
async fn channel_works(
    connection: &mut PgConnection,
    channel: ChannelId,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE alert_channels SET failures = 0, failing_since = NULL, last_error = NULL,
                owner_told_at = NULL, failing_attempts_since = NULL
         WHERE id = $1",
        channel as ChannelId,
    )
    .execute(connection)
    .await?;
    Ok(())
}

/// A delivery attempt to the channel failed with `error` (`gave_up`: for good). The
/// channel is marked failing after [`FAILING_AFTER`] deliveries in a row given up, or
/// once its failed attempts in a row have gone on for [`FAILING_FOR`]; the first time in
/// a spell it says so, for the owner to be told once.
async fn channel_failed(
    connection: &mut PgConnection,
    channel: ChannelId,
    error: &str,
    gave_up: bool,
) -> Result<ChannelHealth, sqlx::Error> {
    let row = sqlx::query!(
        r#"UPDATE alert_channels SET failures = failures + $4::integer, last_error = $2,
                  failing_attempts_since = coalesce(failing_attempts_since, now()),
                  failing_since = CASE
                      WHEN failures + $4::integer >= $3
                           OR failing_attempts_since <= now() - make_interval(secs => $5)
                      THEN coalesce(failing_since, now())
                      ELSE failing_since END
           WHERE id = $1
           RETURNING failing_since IS NOT NULL AS "failing!", owner_told_at IS NULL AS "untold!""#,
        channel as ChannelId,
        error,
        FAILING_AFTER,
        i32::from(gave_up),
        FAILING_FOR.num_seconds() as f64,
    )
    .fetch_optional(&mut *connection)
    .await?;
    Ok(match row {
        Some(row) if row.failing && row.untold => {
            sqlx::query!(
                "UPDATE alert_channels SET owner_told_at = now() WHERE id = $1",
                channel as ChannelId,
            )
            .execute(&mut *connection)
            .await?;
            ChannelHealth::NewlyFailing
        }
        Some(row) if row.failing => ChannelHealth::Failing,
        _ => ChannelHealth::Fine,
    })
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
