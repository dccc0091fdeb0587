//! The digest email: for every user who chose one (`users.digest`, see
//! [`DigestFrequency`]) and confirmed their address, once per period (the previous UTC
//! day, or the previous ISO week), a summary of their workspace's trackers: each
//! tracker's main metrics at the period's end, their change over it, and the alerts that
//! fired in it.
//!
//! [`send_due`] is what the server's `send_digests` job runs (every 15 minutes), with the
//! clock passed in. Reading is batched: one statement for the users who are due, one for
//! the trackers and their metrics' values, one for the alerts, whatever their number.
//! Then each user's digest is claimed and queued in one transaction: a row of
//! `digest_sent_for` (user, frequency, period start: the primary key) and the outbox's
//! dedupe key (`digest:<user>:<period>`) both make a second run — later, or at the same
//! time in another process — queue nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{queue, templates};
use crate::domain::{DigestFrequency, TrackerId, UserId, WorkspaceId, digest::Period};

/// Metrics of a tracker a digest shows at most: the provider's first ones.
pub const METRICS_PER_TRACKER: i64 = 3;
/// Users one batch reads at most.
const BATCH: i64 = 200;

/// One user's digest, ready for its template.
#[derive(Clone, Debug, PartialEq)]
pub struct Digest {
    pub period: Period,
    pub workspace: String,
    pub trackers: Vec<DigestTracker>,
}

impl Digest {
    /// The alerts of all its trackers.
    pub fn alert_count(&self) -> usize {
        self.trackers
            .iter()
            .map(|tracker| tracker.alerts.len())
            .sum()
    }
}

/// A tracker in a digest.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestTracker {
    pub id: TrackerId,
    pub label: String,
    pub metrics: Vec<DigestMetric>,
    /// The alerts of the period, oldest first.
    pub alerts: Vec<DigestAlert>,
}

/// A metric's value at the end of the period and its change over it.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestMetric {
    pub name: String,
    /// The last value recorded before the period's end.
    pub value: Option<f64>,
    /// `value` minus the last value recorded before the period's start, and that in
    /// percent (none from zero); `None` when either is missing.
    pub change: Option<(f64, Option<f64>)>,
}

/// An alert that fired in the period.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestAlert {
    pub reason: String,
    pub fired_at: DateTime<Utc>,
}

/// What one run of [`send_due`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// Digests queued.
    pub queued: usize,
    /// Users due but with no tracker, or whose digest another run took first.
    pub skipped: usize,
}

/// A user whose digest is due.
struct DueUser {
    id: UserId,
    email: String,
    workspace_id: WorkspaceId,
    workspace_name: String,
    period: Period,
}

/// Queues the digest of every opted-in, confirmed user whose last period before `now`
/// has none yet; links point at `origin`. Safe to run any number of times, at once too.
#[tracing::instrument(skip_all)]
pub async fn send_due(
    pool: &PgPool,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<Sent, sqlx::Error> {
    let (Some(day), Some(week)) = (
        DigestFrequency::Daily.period_before(now),
        DigestFrequency::Weekly.period_before(now),
    ) else {
        return Ok(Sent::default());
    };
    let mut sent = Sent::default();
    let mut after = Uuid::nil();
    loop {
        let users = due_users(pool, &day, &week, after).await?;
        let Some(last) = users.last() else {
            break;
        };
        after = last.id.uuid();
        let full = users.len() as i64 >= BATCH;
        let mut digests = build(pool, &users).await?;
        for user in &users {
            let digest =
                digests.remove(&(user.workspace_id, user.period.start, user.period.frequency));
            let Some(digest) = digest.filter(|digest| !digest.trackers.is_empty()) else {
                sent.skipped += 1;
                continue;
            };
            if claim_and_queue(pool, origin, user, &digest).await? {
                tracing::info!(user.id = %user.id, period = %user.period.key(), trackers = digest.trackers.len(), "digest queued");
                sent.queued += 1;
            } else {
                sent.skipped += 1;
            }
        }
        if !full {
            break;
        }
    }
    Ok(sent)
}

/// Up to [`BATCH`] users after `after` (by id) whose digest of `day` or `week` is not sent.
async fn due_users(
    pool: &PgPool,
    day: &Period,
    week: &Period,
    after: Uuid,
) -> Result<Vec<DueUser>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT u.id AS "id: UserId", u.email, u.digest AS "digest: DigestFrequency",
                  w.id AS "workspace_id: WorkspaceId", w.name AS workspace_name
           FROM users u
           CROSS JOIN LATERAL (
               SELECT w.id, w.name, w.suspended_at
               FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id
               WHERE m.user_id = u.id
               ORDER BY m.created_at, w.id
               LIMIT 1) w
           WHERE u.digest <> 'off' AND u.email_verified_at IS NOT NULL
             AND u.suspended_at IS NULL AND w.suspended_at IS NULL
             AND u.id > $3
             AND NOT EXISTS (
                 SELECT 1 FROM digest_sent_for d
                 WHERE d.user_id = u.id AND d.frequency = u.digest
                   AND d.period_start = CASE u.digest WHEN 'daily' THEN $1::timestamptz ELSE $2::timestamptz END)
           ORDER BY u.id
           LIMIT $4"#,
        day.start,
        week.start,
        after,
        BATCH,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let period = match row.digest {
                DigestFrequency::Daily => *day,
                DigestFrequency::Weekly => *week,
                DigestFrequency::Off => return None,
            };
            Some(DueUser {
                id: row.id,
                email: row.email,
                workspace_id: row.workspace_id,
                workspace_name: row.workspace_name,
                period,
            })
        })
        .collect())
}

/// Which digest: a workspace's, over the period starting then, of that frequency.
type DigestKey = (WorkspaceId, DateTime<Utc>, DigestFrequency);

/// The digests of `users`, by workspace and period: two statements for them all. A
/// tracker added after the period's end is not in it.
async fn build(
    pool: &PgPool,
    users: &[DueUser],
) -> Result<HashMap<DigestKey, Digest>, sqlx::Error> {
    let mut digests: HashMap<DigestKey, Digest> = HashMap::new();
    for user in users {
        digests
            .entry((user.workspace_id, user.period.start, user.period.frequency))
            .or_insert_with(|| Digest {
                period: user.period,
                workspace: user.workspace_name.clone(),
                trackers: Vec::new(),
            });
    }
    let mut workspaces = Vec::with_capacity(digests.len());
    let mut starts = Vec::with_capacity(digests.len());
    let mut ends = Vec::with_capacity(digests.len());
    let mut frequencies = Vec::with_capacity(digests.len());
    for (&(workspace_id, start, frequency), digest) in &digests {
        workspaces.push(workspace_id.uuid());
        starts.push(start);
        ends.push(digest.period.end);
        frequencies.push(frequency.as_str().to_string());
    }
    // Each tracker's first metrics, with the last value recorded before the period's end
    // and before its start (the hourly rollups: a bucket before an instant on the hour
    // holds only samples before it).
    let rows = sqlx::query!(
        r#"SELECT p.workspace_id AS "workspace_id!: WorkspaceId", p.start_at AS "start_at!",
                  p.frequency AS "frequency!: DigestFrequency",
                  t.id AS "tracker_id: TrackerId", t.label,
                  m.name AS "metric?",
                  (SELECT h.last FROM samples_hourly h
                   WHERE h.metric_id = m.id AND h.bucket < p.end_at
                   ORDER BY h.bucket DESC LIMIT 1) AS end_value,
                  (SELECT h.last FROM samples_hourly h
                   WHERE h.metric_id = m.id AND h.bucket < p.start_at
                   ORDER BY h.bucket DESC LIMIT 1) AS start_value
           FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::text[])
                AS p(workspace_id, start_at, end_at, frequency)
           JOIN trackers t ON t.workspace_id = p.workspace_id AND t.created_at < p.end_at
           LEFT JOIN LATERAL (
               SELECT sm.id, sm.name, sm.position FROM source_metrics sm
               WHERE sm.source_id = t.source_id
               ORDER BY sm.position, sm.id
               LIMIT $5) m ON true
           ORDER BY t.created_at, t.id, m.position, m.id"#,
        &workspaces,
        &starts,
        &ends,
        &frequencies,
        METRICS_PER_TRACKER,
    )
    .fetch_all(pool)
    .await?;
    for row in rows {
        let Some(digest) = digests.get_mut(&(row.workspace_id, row.start_at, row.frequency)) else {
            continue;
        };
        if digest
            .trackers
            .last()
            .is_none_or(|tracker| tracker.id != row.tracker_id)
        {
            digest.trackers.push(DigestTracker {
                id: row.tracker_id,
                label: row.label,
                metrics: Vec::new(),
                alerts: Vec::new(),
            });
        }
        let (Some(tracker), Some(name)) = (digest.trackers.last_mut(), row.metric) else {
            continue;
        };
        tracker.metrics.push(DigestMetric {
            name,
            value: row.end_value,
            change: change(row.start_value, row.end_value),
        });
    }
    let alerts = sqlx::query!(
        r#"SELECT p.workspace_id AS "workspace_id!: WorkspaceId", p.start_at AS "start_at!",
                  p.frequency AS "frequency!: DigestFrequency",
                  e.tracker_id AS "tracker_id!: TrackerId", e.reason, e.fired_at
           FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::text[])
                AS p(workspace_id, start_at, end_at, frequency)
           JOIN alert_events e ON e.workspace_id = p.workspace_id
                AND e.fired_at >= p.start_at AND e.fired_at < p.end_at
                AND e.tracker_id IS NOT NULL
           ORDER BY e.fired_at, e.id"#,
        &workspaces,
        &starts,
        &ends,
        &frequencies,
    )
    .fetch_all(pool)
    .await?;
    for alert in alerts {
        let tracker = digests
            .get_mut(&(alert.workspace_id, alert.start_at, alert.frequency))
            .and_then(|digest| {
                digest
                    .trackers
                    .iter_mut()
                    .find(|tracker| tracker.id == alert.tracker_id)
            });
        if let Some(tracker) = tracker {
            tracker.alerts.push(DigestAlert {
                reason: alert.reason,
                fired_at: alert.fired_at,
            });
        }
    }
    Ok(digests)
}

/// `end` minus `start`, and in percent of `start` (none from zero).
pub fn change(start: Option<f64>, end: Option<f64>) -> Option<(f64, Option<f64>)> {
    let (start, end) = (start?, end?);
    let absolute = end - start;
    let percent = (start != 0.0).then(|| absolute / start.abs() * 100.0);
    Some((absolute, percent))
}

/// Claims the user's period and queues its message, in one transaction: `false` when
/// another run claimed it first.
async fn claim_and_queue(
    pool: &PgPool,
    origin: &str,
    user: &DueUser,
    digest: &Digest,
) -> Result<bool, sqlx::Error> {
    let message = templates::digest(&user.email, digest, origin);
    let mut tx = pool.begin().await?;
    // A run at the same time waits here for this one's commit, then finds the row.
    let claimed = sqlx::query_scalar!(
        r#"INSERT INTO digest_sent_for (user_id, frequency, period_start) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING
           RETURNING true AS "claimed!""#,
        user.id as UserId,
        user.period.frequency as DigestFrequency,
        user.period.start,
    )
    .fetch_optional(&mut *tx)
    .await?
    .is_some();
    if !claimed {
        return Ok(false);
    }
    let key = format!("digest:{}:{}", user.id, user.period.key());
    let queued = queue(&mut *tx, &message, &key).await?.is_some();
    tx.commit().await?;
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::change;

    #[test]
    fn changes_need_both_ends_and_no_percent_from_zero() {
        assert_eq!(change(Some(100.0), Some(150.0)), Some((50.0, Some(50.0))));
        assert_eq!(change(Some(-4.0), Some(-2.0)), Some((2.0, Some(50.0))));
        assert_eq!(change(Some(0.0), Some(5.0)), Some((5.0, None)));
        assert_eq!(change(None, Some(5.0)), None);
        assert_eq!(change(Some(5.0), None), None);
    }
}
