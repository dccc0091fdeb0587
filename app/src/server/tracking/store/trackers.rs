//! Trackers: a workspace's subscriptions to sources, their changes and public sharing.
//! Every query is scoped to a workspace (or, for a shared tracker, to its token).

use super::{MetricView, SOURCE_COLUMNS, SourceView, refresh_schedule, source_from_row};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::domain::{SourceState, TrackerId};

/// A workspace's tracker, with its source and metrics.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrackerView {
    pub id: TrackerId,
    pub label: String,
    /// `ok`, `backing_off`, `gone`, `paused` or `ended`: the tracker's own pause and end
    /// date first, then its source's state.
    pub state: SourceState,
    pub interval_secs: i32,
    pub paused: bool,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set when the tracker is shared publicly (`/s/{token}`, `/badge/{token}.svg`).
    pub share_token: Option<String>,
    pub source: SourceView,
    pub metrics: Vec<MetricView>,
}

/// What adding a tracker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Created(TrackerId),
    /// The workspace already tracks this source.
    AlreadyTracked(TrackerId),
}

pub async fn add_tracker(
    connection: &mut PgConnection,
    workspace_id: Uuid,
    source_id: i64,
    label: &str,
    interval_secs: i32,
    ends_at: Option<DateTime<Utc>>,
) -> Result<Added, sqlx::Error> {
    let created: Option<TrackerId> = sqlx::query_scalar(
        "INSERT INTO trackers (workspace_id, source_id, label, interval_secs, ends_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (workspace_id, source_id) DO NOTHING
         RETURNING id",
    )
    .bind(workspace_id)
    .bind(source_id)
    .bind(label)
    .bind(interval_secs)
    .bind(ends_at)
    .fetch_optional(&mut *connection)
    .await?;
    // Also when the tracker existed: a source that was gone and exists again is scheduled.
    refresh_schedule(&mut *connection, source_id).await?;
    if let Some(id) = created {
        sqlx::query("INSERT INTO tracker_events (tracker_id, kind) VALUES ($1, 'added')")
            .bind(id)
            .execute(&mut *connection)
            .await?;
        return Ok(Added::Created(id));
    }
    let existing: TrackerId =
        sqlx::query_scalar("SELECT id FROM trackers WHERE workspace_id = $1 AND source_id = $2")
            .bind(workspace_id)
            .bind(source_id)
            .fetch_one(&mut *connection)
            .await?;
    Ok(Added::AlreadyTracked(existing))
}

/// The trackers of a workspace, newest first, with their sources and latest values.
pub async fn list_trackers(
    pool: &PgPool,
    workspace_id: Uuid,
) -> Result<Vec<TrackerView>, sqlx::Error> {
    trackers_where(pool, workspace_id, None).await
}

/// One tracker of the workspace; `None` when it does not exist or belongs to another.
pub async fn get_tracker(
    pool: &PgPool,
    workspace_id: Uuid,
    id: TrackerId,
) -> Result<Option<TrackerView>, sqlx::Error> {
    Ok(trackers_where(pool, workspace_id, Some(id)).await?.pop())
}

/// Which trackers a query reads.
enum Filter<'a> {
    /// The workspace's, or one of them.
    Workspace(Uuid, Option<TrackerId>),
    /// The one shared under this token.
    Shared(&'a str),
}

async fn trackers_where(
    pool: &PgPool,
    workspace_id: Uuid,
    id: Option<TrackerId>,
) -> Result<Vec<TrackerView>, sqlx::Error> {
    trackers_matching(pool, Filter::Workspace(workspace_id, id)).await
}

/// The tracker shared under `token`, if it is shared.
pub async fn shared_tracker(
    pool: &PgPool,
    token: &str,
) -> Result<Option<TrackerView>, sqlx::Error> {
    Ok(trackers_matching(pool, Filter::Shared(token)).await?.pop())
}

async fn trackers_matching(
    pool: &PgPool,
    filter: Filter<'_>,
) -> Result<Vec<TrackerView>, sqlx::Error> {
    let (filter_sql, workspace_id, id, token) = match filter {
        Filter::Workspace(workspace_id, id) => (
            "t.workspace_id = $1 AND ($2::uuid IS NULL OR t.id = $2)",
            Some(workspace_id),
            id,
            None,
        ),
        Filter::Shared(token) => ("t.share_token = $3", None, None, Some(token)),
    };
    let filter = filter_sql;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT t.id, t.label, t.interval_secs, t.paused, t.ends_at, t.created_at, t.share_token,
                t.ends_at IS NOT NULL AND t.ends_at <= now() AS ended, {SOURCE_COLUMNS}
         FROM trackers t JOIN sources s ON s.id = t.source_id
         WHERE {filter}
         ORDER BY t.created_at DESC, t.id"
    )))
    .bind(workspace_id)
    .bind(id)
    .bind(token)
    .fetch_all(pool)
    .await?;
    let mut trackers = Vec::with_capacity(rows.len());
    for row in &rows {
        let source = source_from_row(row)?;
        let paused: bool = row.try_get("paused")?;
        let ended: bool = row.try_get("ended")?;
        let state = if paused {
            SourceState::Paused
        } else if ended {
            SourceState::Ended
        } else {
            source.state
        };
        trackers.push(TrackerView {
            id: row.try_get("id")?,
            label: row.try_get("label")?,
            state,
            interval_secs: row.try_get("interval_secs")?,
            paused,
            ends_at: row.try_get("ends_at")?,
            created_at: row.try_get("created_at")?,
            share_token: row.try_get("share_token")?,
            source,
            metrics: Vec::new(),
        });
    }
    let source_ids: Vec<i64> = trackers.iter().map(|tracker| tracker.source.id).collect();
    let metrics = sqlx::query(
        "SELECT id, source_id, name, kind, unit, last_value, last_at
         FROM source_metrics WHERE source_id = ANY($1) ORDER BY source_id, position, id",
    )
    .bind(&source_ids)
    .fetch_all(pool)
    .await?;
    for row in &metrics {
        let source_id: i64 = row.try_get("source_id")?;
        let metric = MetricView {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: row.try_get("kind")?,
            unit: row.try_get("unit")?,
            latest: row.try_get("last_value")?,
            latest_at: row.try_get("last_at")?,
        };
        for tracker in trackers
            .iter_mut()
            .filter(|tracker| tracker.source.id == source_id)
        {
            tracker.metrics.push(metric.clone());
        }
    }
    Ok(trackers)
}

/// Shares a tracker publicly (keeping its token when it is already shared). `None` when
/// there is no such tracker in the workspace.
pub async fn share_tracker(
    pool: &PgPool,
    workspace_id: Uuid,
    id: TrackerId,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE trackers SET share_token = coalesce(share_token, $3)
         WHERE workspace_id = $1 AND id = $2
         RETURNING share_token",
    )
    .bind(workspace_id)
    .bind(id)
    .bind(crate::server::tokens::random_base62(22))
    .fetch_optional(pool)
    .await
}

/// Stops sharing a tracker: its page and badge answer 404 from now on. `false` when there
/// is no such tracker in the workspace.
pub async fn unshare_tracker(
    pool: &PgPool,
    workspace_id: Uuid,
    id: TrackerId,
) -> Result<bool, sqlx::Error> {
    let updated =
        sqlx::query("UPDATE trackers SET share_token = NULL WHERE workspace_id = $1 AND id = $2")
            .bind(workspace_id)
            .bind(id)
            .execute(pool)
            .await?;
    Ok(updated.rows_affected() == 1)
}

/// Changes to a tracker; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TrackerChanges {
    pub label: Option<String>,
    pub paused: Option<bool>,
    /// `Some(None)` removes the end date.
    pub ends_at: Option<Option<DateTime<Utc>>>,
    pub interval_secs: Option<i32>,
}

/// Applies `changes` and reschedules the source. `false` when there is no such tracker in
/// the workspace.
pub async fn update_tracker(
    transaction: &mut PgConnection,
    workspace_id: Uuid,
    id: TrackerId,
    changes: &TrackerChanges,
) -> Result<bool, sqlx::Error> {
    // The old values come from the statement's snapshot, so the events name real changes.
    let source_id: Option<i64> = sqlx::query_scalar(
        "WITH old AS (
             SELECT id, paused, interval_secs FROM trackers WHERE workspace_id = $1 AND id = $2
         ),
         changed AS (
             UPDATE trackers t SET
                 label = coalesce($3, t.label),
                 paused = coalesce($4, t.paused),
                 ends_at = CASE WHEN $5 THEN $6 ELSE t.ends_at END,
                 interval_secs = coalesce($7, t.interval_secs),
                 -- The customer's own choice replaces what the plan did.
                 paused_by_plan = CASE WHEN $4 IS NULL THEN t.paused_by_plan ELSE false END,
                 interval_before_plan = CASE WHEN $7 IS NULL THEN t.interval_before_plan ELSE NULL END
             FROM old
             WHERE t.id = old.id
             RETURNING t.id, t.source_id, t.paused, t.interval_secs,
                       old.paused AS was_paused, old.interval_secs AS was_interval
         ),
         events AS (
             INSERT INTO tracker_events (tracker_id, kind, detail)
             SELECT id, CASE WHEN paused THEN 'paused' ELSE 'resumed' END, NULL
             FROM changed WHERE paused <> was_paused
             UNION ALL
             SELECT id, 'interval', format('every %s s (was %s s)', interval_secs, was_interval)
             FROM changed WHERE interval_secs <> was_interval
         )
         SELECT source_id FROM changed",
    )
    .bind(workspace_id)
    .bind(id)
    .bind(&changes.label)
    .bind(changes.paused)
    .bind(changes.ends_at.is_some())
    .bind(changes.ends_at.flatten())
    .bind(changes.interval_secs)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(source_id) = source_id else {
        return Ok(false);
    };
    refresh_schedule(&mut *transaction, source_id).await?;
    Ok(true)
}

/// Deletes a tracker (its source and samples stay for other trackers and for a later
/// return). `false` when there is no such tracker in the workspace.
pub async fn delete_tracker(
    pool: &PgPool,
    workspace_id: Uuid,
    id: TrackerId,
) -> Result<bool, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let source_id: Option<i64> = sqlx::query_scalar(
        "DELETE FROM trackers WHERE workspace_id = $1 AND id = $2 RETURNING source_id",
    )
    .bind(workspace_id)
    .bind(id)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(source_id) = source_id else {
        return Ok(false);
    };
    refresh_schedule(&mut *transaction, source_id).await?;
    transaction.commit().await?;
    Ok(true)
}
