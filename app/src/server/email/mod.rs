//! Email: the outbox every message goes through, the single-use links messages carry
//! ([`links`]), the messages themselves ([`templates`]) and the digest email
//! ([`digests`]).
//!
//! Code that wants a message sent calls [`queue`], inside its own transaction if it likes:
//! the row commits with the event that caused it, and its dedupe key makes one event one
//! message however often the code runs. The server's `send_email` job does the sending:
//! its dispatcher claims due rows ([`claim_due`]), the job takes the row
//! ([`take_for_sending`], a row lock held while the SMTP server answers) and records what
//! happened ([`Sending`]). Without an SMTP server the job writes the message to the log
//! and marks it `logged`; the admin console's outbox lists every message either way.

pub mod accounts;
pub mod digests;
pub mod links;
pub mod templates;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};

use crate::domain::{
    EmailId, EmailKind, OutboxState,
    outbox::{OutboxMessage, SuppressedAddress},
};

/// A message to queue: who to, what about, and its two parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub kind: EmailKind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Message {
    pub fn new(
        kind: EmailKind,
        to: impl Into<String>,
        subject: String,
        text: String,
        html: String,
    ) -> Self {
        Self {
            kind,
            to: to.into(),
            subject,
            text,
            html,
        }
    }
}

/// Queues `message` unless a message with `dedupe_key` was ever queued (one event, one
/// message): its id, or `None` when the key was taken. The `send_email` dispatcher picks
/// it up within a second of the commit.
#[tracing::instrument(skip_all, fields(email.kind = message.kind.key()))]
pub async fn queue<'e, E: PgExecutor<'e>>(
    executor: E,
    message: &Message,
    dedupe_key: &str,
) -> Result<Option<EmailId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO email_outbox (kind, to_address, subject, text_body, html_body, dedupe_key)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (dedupe_key) DO NOTHING
           RETURNING id AS "id: EmailId""#,
        message.kind as EmailKind,
        message.to,
        message.subject,
        message.text,
        message.html,
        dedupe_key,
    )
    .fetch_optional(executor)
    .await
}

/// Claims up to `limit` queued messages that are due and not held by a job, each for
/// `lease`: their ids, for one `send_email` job each. A claim whose job never ran (the
/// process died) runs out and the message is claimed again.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease: Duration,
) -> Result<Vec<EmailId>, sqlx::Error> {
    let lease_secs = lease.as_secs_f64();
    sqlx::query_scalar!(
        r#"UPDATE email_outbox o
           SET leased_until = now() + make_interval(secs => $2)
           FROM (SELECT id FROM email_outbox
                 WHERE state = 'queued' AND next_attempt_at <= now()
                   AND (leased_until IS NULL OR leased_until < now())
                 ORDER BY next_attempt_at
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED) due
           WHERE o.id = due.id
           RETURNING o.id AS "id: EmailId""#,
        limit,
        lease_secs,
    )
    .fetch_all(pool)
    .await
}

/// A queued message being sent: its row stays locked until [`Sending::finish`].
pub struct Sending {
    pub id: EmailId,
    pub kind: EmailKind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    /// Why nothing may be sent to this address, when it refused mail for good before.
    pub suppressed: Option<String>,
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
}

/// What became of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Logged,
    /// A temporary failure: try again at `retry_at`.
    Retry {
        error: String,
        retry_at: DateTime<Utc>,
    },
    /// Given up; with `suppress`, the address refused for good and gets nothing more.
    Failed {
        error: String,
        suppress: bool,
    },
}

/// Takes the message `id` if it is still queued and no other job holds it (its row is
/// locked until the outcome is recorded): `None` when it was sent, logged or failed
/// already, or is being sent right now.
pub async fn take_for_sending(pool: &PgPool, id: EmailId) -> Result<Option<Sending>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        r#"SELECT o.kind AS "kind: EmailKind", o.to_address, o.subject, o.text_body,
                  o.html_body, o.attempts, o.created_at,
                  (SELECT s.reason FROM email_suppressions s
                   WHERE s.address = lower(o.to_address)) AS suppressed
           FROM email_outbox o
           WHERE o.id = $1 AND o.state = 'queued'
           FOR UPDATE OF o SKIP LOCKED"#,
        id as EmailId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(|row| Sending {
        id,
        kind: row.kind,
        to: row.to_address,
        subject: row.subject,
        text: row.text_body,
        html: row.html_body,
        attempts: row.attempts,
        created_at: row.created_at,
        suppressed: row.suppressed,
        tx,
    }))
}

impl Sending {
    /// Records `outcome` and lets the row go; for an alert's email, on its delivery too
    /// (in the same transaction). The alert channel when this made it failing.
    pub async fn finish(
        mut self,
        outcome: &Outcome,
    ) -> Result<Option<crate::server::alerts::deliveries::NewlyFailing>, sqlx::Error> {
        use crate::server::alerts::deliveries::{MailOutcome, mail_outcome};
        let (state, error, retry_at) = match outcome {
            Outcome::Sent => (OutboxState::Sent, None, None),
            Outcome::Logged => (OutboxState::Logged, None, None),
            Outcome::Retry { error, retry_at } => {
                (OutboxState::Queued, Some(error.as_str()), Some(*retry_at))
            }
            Outcome::Failed { error, suppress } => {
                if *suppress {
                    suppress_address(&mut self.tx, &self.to, error).await?;
                }
                (OutboxState::Failed, Some(error.as_str()), None)
            }
        };
        sqlx::query!(
            r#"UPDATE email_outbox
               SET state = $2, attempts = attempts + 1, last_error = $3,
                   next_attempt_at = coalesce($4, next_attempt_at), leased_until = NULL,
                   sent_at = CASE WHEN $2 IN ('sent', 'logged') THEN now() END
               WHERE id = $1"#,
            self.id as EmailId,
            state as OutboxState,
            error,
            retry_at,
        )
        .execute(&mut *self.tx)
        .await?;
        let delivery = match outcome {
            Outcome::Sent | Outcome::Logged => MailOutcome::Sent,
            Outcome::Retry { error, .. } => MailOutcome::Retrying(error),
            Outcome::Failed { error, .. } => MailOutcome::Failed(error),
        };
        let failing = mail_outcome(&mut self.tx, self.id, delivery).await?;
        self.tx.commit().await?;
        Ok(failing)
    }
}

/// Marks `address` as refusing mail for good.
async fn suppress_address(
    tx: &mut PgConnection,
    address: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO email_suppressions (address, reason) VALUES (lower($1), $2)
         ON CONFLICT (address) DO NOTHING",
        address,
        reason,
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// When a message that failed for the `attempts`-th time is tried again: 1 minute, 5,
/// 30, then every 2 hours; `None` once it has been trying for a day (it fails then).
pub fn next_attempt(
    attempts: i32,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let wait = match attempts {
        ..=1 => chrono::Duration::minutes(1),
        2 => chrono::Duration::minutes(5),
        3 => chrono::Duration::minutes(30),
        _ => chrono::Duration::hours(2),
    };
    let at = now + wait;
    (at < created_at + chrono::Duration::hours(24)).then_some(at)
}

/// The most recent messages, newest first, for the admin console.
pub async fn recent(pool: &PgPool, limit: i64) -> Result<Vec<OutboxMessage>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id: EmailId", kind AS "kind: EmailKind", to_address, subject,
                  state AS "state: OutboxState", attempts, last_error, created_at, sent_at,
                  text_body
           FROM email_outbox ORDER BY created_at DESC, id LIMIT $1"#,
        limit,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| OutboxMessage {
            id: row.id.to_string(),
            kind: row.kind,
            to: row.to_address,
            subject: row.subject,
            state: row.state,
            attempts: row.attempts,
            last_error: row.last_error,
            created_at: stamp(row.created_at),
            sent_at: row.sent_at.map(stamp),
            text_body: row.text_body,
        })
        .collect())
}

/// The addresses that refused mail for good, newest first.
pub async fn suppressed(pool: &PgPool) -> Result<Vec<SuppressedAddress>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT address, reason, created_at FROM email_suppressions ORDER BY created_at DESC LIMIT 500"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| SuppressedAddress {
            address: row.address,
            reason: row.reason,
            created_at: stamp(row.created_at),
        })
        .collect())
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stop_after_a_day() {
        let created = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        let after = |attempts, now: DateTime<Utc>| {
            next_attempt(attempts, created, now).map(|at| (at - now).num_minutes())
        };
        assert_eq!(after(1, created), Some(1));
        assert_eq!(after(2, created), Some(5));
        assert_eq!(after(3, created), Some(30));
        assert_eq!(after(7, created), Some(120));
        assert_eq!(after(9, created + chrono::Duration::hours(23)), None);
    }
}
