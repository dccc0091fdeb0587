//! Trackers: a workspace's subscriptions to sources, their changes and public sharing.
//! Every query is scoped to a workspace (or, for a shared tracker, to its token).

use super::{MetricView, SourceView, refresh_schedule};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool, types::Json};

use crate::domain::{
    MetricId, ProviderKind, SourceId, SourceState, TrackerId, UserId, WorkspaceId,
};

/// A workspace's tracker, with its source and metrics.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TrackerView {
    /// The tracker's id (one workspace's subscription to the source).
    pub id: TrackerId,
    /// Its name in the workspace (the source's title unless renamed).
    pub label: String,
    /// `ok`, `backing_off`, `gone`, `paused` or `ended`: the tracker's own pause and end
    /// date first, then its source's state.
    pub state: SourceState,
    /// Seconds between polls this tracker asks for.
    pub interval_secs: i32,
    /// Paused by the workspace: not polled for it.
    pub paused: bool,
    /// Polling stops then; `null`: never.
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set when the tracker is shared publicly (`/s/{token}`, `/badge/{token}.svg`).
    pub share_token: Option<String>,
    /// The email of the member who added it (`null`: made by a push source, before
    /// workspaces were shared, or by an account since deleted; never on a public page).
    pub created_by: Option<String>,
    /// The email of the member who shared it publicly (as `created_by`).
    pub shared_by: Option<String>,
    /// The thing upstream (shared by every workspace tracking it).
    pub source: SourceView,
    /// Its metrics, in order, each with its latest value.
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
    workspace_id: WorkspaceId,
    source_id: SourceId,
    label: &str,
    interval_secs: i32,
    ends_at: Option<DateTime<Utc>>,
    created_by: Option<UserId>,
) -> Result<Added, sqlx::Error> {
    let created = sqlx::query_scalar!(
        r#"INSERT INTO trackers (workspace_id, source_id, label, interval_secs, ends_at,
                                 created_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (workspace_id, source_id) DO NOTHING
           RETURNING id AS "id: TrackerId""#,
        workspace_id as WorkspaceId,
        source_id as SourceId,
        label,
        interval_secs,
        ends_at,
        created_by.map(|user| user.0),
    )
    .fetch_optional(&mut *connection)
    .await?;
    // Also when the tracker existed: a source that was gone and exists again is scheduled.
    refresh_schedule(&mut *connection, source_id).await?;
    if let Some(id) = created {
        sqlx::query!(
            "INSERT INTO tracker_events (tracker_id, kind) VALUES ($1, 'added')",
            id as TrackerId,
        )
        .execute(&mut *connection)
        .await?;
        return Ok(Added::Created(id));
    }
    let existing = sqlx::query_scalar!(
        r#"SELECT id AS "id: TrackerId" FROM trackers WHERE workspace_id = $1 AND source_id = $2"#,
        workspace_id as WorkspaceId,
        source_id as SourceId,
    )
    .fetch_one(&mut *connection)
    .await?;
    Ok(Added::AlreadyTracked(existing))
}

/// The trackers of a workspace, newest first, with their sources and latest values.
pub async fn list_trackers(
    pool: &PgPool,
    workspace_id: WorkspaceId,
) -> Result<Vec<TrackerView>, sqlx::Error> {
    trackers_where(pool, workspace_id, None).await
}

/// One tracker of the workspace; `None` when it does not exist or belongs to another.
pub async fn get_tracker(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: TrackerId,
) -> Result<Option<TrackerView>, sqlx::Error> {
    Ok(trackers_where(pool, workspace_id, Some(id)).await?.pop())
}

/// The metrics of a tracker of the workspace, in order, as (id, name); `None` when there
/// is no such tracker in the workspace. Ownership and metrics in one query.
pub async fn tracker_metrics(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: TrackerId,
) -> Result<Option<Vec<(MetricId, String)>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT m.id AS "id?: MetricId", m.name AS "name?"
           FROM trackers t LEFT JOIN source_metrics m ON m.source_id = t.source_id
           WHERE t.workspace_id = $1 AND t.id = $2
           ORDER BY m.position, m.id"#,
        workspace_id as WorkspaceId,
        id as TrackerId,
    )
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .filter_map(|row| Some((row.id?, row.name?)))
            .collect(),
    ))
}

/// Which trackers a query reads.
enum Filter<'a> {
    /// The workspace's, or one of them.
    Workspace(WorkspaceId, Option<TrackerId>),
    /// The one shared under this token.
    Shared(&'a str),
}

async fn trackers_where(
    pool: &PgPool,
    workspace_id: WorkspaceId,
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

/// A tracker joined with its source, as one row.
struct TrackerRow {
    id: TrackerId,
    label: String,
    interval_secs: i32,
    paused: bool,
    ends_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    share_token: Option<String>,
    created_by: Option<String>,
    shared_by: Option<String>,
    ended: bool,
    source_id: SourceId,
    kind: ProviderKind,
    key: String,
    title: String,
    url: String,
    author: Option<String>,
    published_at: Option<DateTime<Utc>>,
    tags: Vec<String>,
    source_state: SourceState,
    source_interval_secs: i32,
    next_poll_at: Option<DateTime<Utc>>,
    consecutive_failures: i32,
    last_poll_at: Option<DateTime<Utc>>,
    last_success_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    last_error_at: Option<DateTime<Utc>>,
    metrics: Json<Vec<MetricView>>,
}

impl From<TrackerRow> for TrackerView {
    fn from(row: TrackerRow) -> Self {
        let state = if row.paused {
            SourceState::Paused
        } else if row.ended {
            SourceState::Ended
        } else {
            row.source_state
        };
        TrackerView {
            id: row.id,
            label: row.label,
            state,
            interval_secs: row.interval_secs,
            paused: row.paused,
            ends_at: row.ends_at,
            created_at: row.created_at,
            share_token: row.share_token,
            created_by: row.created_by,
            shared_by: row.shared_by,
            source: SourceView {
                id: row.source_id,
                kind: row.kind,
                key: row.key,
                title: row.title,
                url: row.url,
                author: row.author,
                published_at: row.published_at,
                tags: row.tags,
                state: row.source_state,
                interval_secs: row.source_interval_secs,
                next_poll_at: row.next_poll_at,
                consecutive_failures: row.consecutive_failures,
                last_poll_at: row.last_poll_at,
                last_success_at: row.last_success_at,
                last_error: row.last_error,
                last_error_at: row.last_error_at,
            },
            metrics: row.metrics.0,
        }
    }
}

async fn trackers_matching(
    pool: &PgPool,
    filter: Filter<'_>,
) -> Result<Vec<TrackerView>, sqlx::Error> {
    let public = matches!(filter, Filter::Shared(_));
    let (workspace_id, id, token) = match filter {
        Filter::Workspace(workspace_id, id) => (Some(workspace_id), id, None),
        Filter::Shared(token) => (None, None, Some(token)),
    };
    // One statement for both filters (the unused one is NULL and matches nothing), with
    // each tracker's metrics in order.
    let rows = sqlx::query_as!(
        TrackerRow,
        r#"SELECT t.id AS "id: TrackerId", t.label, t.interval_secs, t.paused, t.ends_at,
                  t.created_at, t.share_token,
                  (SELECT u.email FROM users u WHERE u.id = t.created_by) AS created_by,
                  (SELECT u.email FROM users u WHERE u.id = t.shared_by) AS shared_by,
                  t.ends_at IS NOT NULL AND t.ends_at <= now() AS "ended!",
                  s.id AS "source_id: SourceId", s.kind AS "kind: ProviderKind", s.key, s.title, s.url, s.author, s.published_at,
                  s.tags, s.state AS "source_state: SourceState",
                  s.interval_secs AS source_interval_secs, s.next_poll_at,
                  s.consecutive_failures, s.last_poll_at, s.last_success_at, s.last_error,
                  s.last_error_at,
                  coalesce((SELECT json_agg(json_build_object(
                                'id', m.id, 'name', m.name, 'kind', m.kind, 'unit', m.unit,
                                'latest', m.last_value, 'latest_at', m.last_at,
                                'family', m.family, 'labels', m.labels)
                                ORDER BY m.position, m.id)
                            FROM source_metrics m WHERE m.source_id = s.id), '[]')
                      AS "metrics!: Json<Vec<MetricView>>"
           FROM trackers t JOIN sources s ON s.id = t.source_id
           WHERE (t.workspace_id = $1 AND ($2::uuid IS NULL OR t.id = $2))
              OR t.share_token = $3
           ORDER BY t.created_at DESC, t.id"#,
        workspace_id as Option<WorkspaceId>,
        id as Option<TrackerId>,
        token,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(TrackerView::from)
        .map(|mut view| {
            // A public page names no member.
            if public {
                view.created_by = None;
                view.shared_by = None;
            }
            view
        })
        .collect())
}

/// Shares a tracker publicly (keeping its token when it is already shared). `None` when
/// there is no such tracker in the workspace.
pub async fn share_tracker(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: TrackerId,
    by: Option<UserId>,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE trackers SET share_token = coalesce(share_token, $3),
                             shared_by = CASE WHEN share_token IS NULL THEN $4 ELSE shared_by END
         WHERE workspace_id = $1 AND id = $2
         RETURNING share_token",
        workspace_id as WorkspaceId,
        id as TrackerId,
        crate::server::tokens::random_base62(22),
        by.map(|user| user.0),
    )
    .fetch_optional(pool)
    .await
    .map(Option::flatten)
}

/// Stops sharing a tracker: its page and badge answer 404 from now on. `false` when there
/// is no such tracker in the workspace.
pub async fn unshare_tracker(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: TrackerId,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        "UPDATE trackers SET share_token = NULL, shared_by = NULL
         WHERE workspace_id = $1 AND id = $2",
        workspace_id as WorkspaceId,
        id as TrackerId,
    )
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
    workspace_id: WorkspaceId,
    id: TrackerId,
    changes: &TrackerChanges,
) -> Result<bool, sqlx::Error> {
    // The old values come from the statement's snapshot, so the events name real changes.
    let source_id = sqlx::query_scalar!(
        r#"WITH old AS (
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
         SELECT source_id AS "source_id: SourceId" FROM changed"#,
        workspace_id as WorkspaceId,
        id as TrackerId,
        changes.label.as_deref(),
        changes.paused,
        changes.ends_at.is_some(),
        changes.ends_at.flatten(),
        changes.interval_secs,
    )
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
    workspace_id: WorkspaceId,
    id: TrackerId,
) -> Result<bool, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let source_id = sqlx::query_scalar!(
        r#"DELETE FROM trackers WHERE workspace_id = $1 AND id = $2
           RETURNING source_id AS "source_id: SourceId""#,
        workspace_id as WorkspaceId,
        id as TrackerId,
    )
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(source_id) = source_id else {
        return Ok(false);
    };
    refresh_schedule(&mut *transaction, source_id).await?;
    transaction.commit().await?;
    Ok(true)
}
