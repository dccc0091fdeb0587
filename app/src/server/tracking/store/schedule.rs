//! When sources are polled: recomputing a source's schedule from its trackers, and the
//! schedule dump and load of `upcount admin`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};

use crate::domain::{ProviderKind, SourceId, SourceState};

/// Recomputes a source's interval, state and next poll from its trackers: the shortest
/// interval among the active ones (not paused, not past their end date), never shorter
/// than the tracker's workspace's plan allows; no active
/// tracker → not scheduled. A source that is gone stays gone; one backing off keeps its
/// pause. When the next poll moves, a lease on the old one is dropped (the job holding it
/// will find the source no longer due at that time and leave it alone).
pub async fn refresh_schedule(
    executor: impl PgExecutor<'_>,
    source_id: SourceId,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH t AS (
             SELECT count(*) FILTER (WHERE active) AS active,
                    count(*) FILTER (WHERE paused) AS paused,
                    min(interval_secs) FILTER (WHERE active) AS interval_secs
             FROM (SELECT greatest(tr.interval_secs, p.min_interval_secs) AS interval_secs,
                          tr.paused OR w.suspended_at IS NOT NULL AS paused,
                          NOT tr.paused AND (tr.ends_at IS NULL OR tr.ends_at > now())
                              AND w.suspended_at IS NULL AS active
                   FROM trackers tr
                   JOIN workspaces w ON w.id = tr.workspace_id
                   JOIN plans p ON p.id = w.plan_id
                   WHERE tr.source_id = $1) AS x
         ),
         planned AS (
             SELECT s.id,
                    CASE
                        WHEN s.state = 'gone' OR t.active = 0 OR s.paused_by_admin THEN NULL
                        WHEN s.next_poll_at IS NULL THEN now()
                        WHEN s.state = 'backing_off' THEN s.next_poll_at
                        ELSE least(s.next_poll_at, now() + make_interval(secs => t.interval_secs))
                    END AS next_poll_at
             FROM sources s, t WHERE s.id = $1
         )
         UPDATE sources s SET
             interval_secs = coalesce(t.interval_secs, s.interval_secs),
             state = CASE
                 WHEN s.state = 'gone' THEN 'gone'
                 WHEN s.paused_by_admin THEN 'paused'
                 WHEN t.active = 0 AND t.paused > 0 THEN 'paused'
                 WHEN t.active = 0 THEN 'ended'
                 WHEN s.state IN ('paused', 'ended') THEN 'ok'
                 ELSE s.state END,
             next_poll_at = p.next_poll_at,
             leased_until = CASE WHEN p.next_poll_at IS DISTINCT FROM s.next_poll_at THEN NULL
                                 ELSE s.leased_until END
         FROM t, planned p
         WHERE s.id = $1 AND p.id = s.id",
        source_id as SourceId,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// A row of `upcount admin schedule-dump` (and of `schedule-load`, which reads the
/// fields it restores and ignores the rest).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ScheduleEntry {
    pub id: SourceId,
    pub kind: ProviderKind,
    pub key: String,
    pub state: SourceState,
    pub interval_secs: i32,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub leased_until: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub trackers: i64,
    pub active_trackers: i64,
    #[serde(default)]
    pub paused_by_admin: bool,
}

pub async fn schedule(pool: &PgPool) -> Result<Vec<ScheduleEntry>, sqlx::Error> {
    sqlx::query_as!(
        ScheduleEntry,
        r#"SELECT s.id AS "id: SourceId", s.kind AS "kind: ProviderKind", s.key, s.state AS "state: SourceState", s.interval_secs,
                  s.next_poll_at, s.leased_until, s.consecutive_failures, s.last_success_at,
                  s.last_error, s.paused_by_admin,
                  count(t.id) AS "trackers!",
                  count(t.id) FILTER (WHERE NOT t.paused AND (t.ends_at IS NULL OR t.ends_at > now()))
                      AS "active_trackers!"
           FROM sources s LEFT JOIN trackers t ON t.source_id = s.id
           GROUP BY s.id ORDER BY s.next_poll_at NULLS LAST, s.id"#
    )
    .fetch_all(pool)
    .await
}

/// Restores a schedule dump: each source found by (kind, key) gets back its state,
/// interval, next poll, failure count and admin pause, without a lease. Sources the dump
/// names that do not exist are counted and skipped. All or nothing. Returns (restored,
/// unknown).
pub async fn load_schedule(
    pool: &PgPool,
    entries: &[ScheduleEntry],
) -> Result<(u64, u64), sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let (mut restored, mut unknown) = (0, 0);
    for entry in entries {
        let changed = sqlx::query!(
            "UPDATE sources SET state = $3, interval_secs = $4, next_poll_at = $5,
                    consecutive_failures = $6, paused_by_admin = $7, leased_until = NULL
             WHERE kind = $1 AND key = $2",
            entry.kind.as_str(),
            entry.key,
            entry.state as SourceState,
            entry.interval_secs,
            entry.next_poll_at,
            entry.consecutive_failures,
            entry.paused_by_admin,
        )
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if changed == 0 {
            unknown += 1;
        } else {
            restored += 1;
        }
    }
    transaction.commit().await?;
    Ok((restored, unknown))
}

/// How many sources are due now and how late the oldest is, for metrics.
pub async fn due_backlog(pool: &PgPool) -> Result<(i64, f64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "due!",
                  coalesce(extract(epoch FROM now() - min(next_poll_at))::float8, 0) AS "age!"
           FROM sources WHERE next_poll_at <= now()"#
    )
    .fetch_one(pool)
    .await?;
    Ok((row.due, row.age))
}
