//! Push sources: making one (a `push` source, its tracker and its write token, in one
//! transaction under the plan's tracker limit), listing, deleting, and finding the one a
//! token belongs to. Every query but the token's is scoped to the caller's workspace.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::domain::{
    PushSourceId, SourceId, TrackerId, UserId, WorkspaceId, push::events::check_event_labels,
};
use crate::server::billing::store::{self as billing, UpgradeRequired};
use crate::server::tokens;
use crate::server::tracking::store::{self as tracking, Added};

/// The provider kind of every push source's `sources` row. No provider declares it, so
/// nothing polls it (and a trigger keeps it unscheduled).
pub const KIND: &str = "push";

/// The longest name.
pub const MAX_NAME_CHARS: usize = 200;

/// The interval a push source's tracker is given: never used (nothing polls it), but
/// trackers have one.
const TRACKER_INTERVAL_SECS: i32 = 3_600;

/// A push source a write token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSource {
    pub id: PushSourceId,
    pub workspace_id: WorkspaceId,
    pub tracker_id: TrackerId,
    pub source_id: SourceId,
    pub name: String,
    /// The event properties that become labels of its events' series.
    pub event_labels: Vec<String>,
}

/// A push source as `GET /api/v1/push-sources` lists it (never its token).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct PushSourceView {
    pub id: PushSourceId,
    /// The tracker its series belong to.
    pub tracker_id: TrackerId,
    pub name: String,
    /// The token's first characters (`upp_3fA9x`), to tell tokens apart.
    pub token_prefix: String,
    /// The event properties that become labels of its events' series
    /// (`POST /api/v1/events`).
    pub event_labels: Vec<String>,
    /// How many series it holds.
    pub series: i64,
    pub created_at: DateTime<Utc>,
    /// Its last push; `null`: none yet.
    pub last_push_at: Option<DateTime<Utc>>,
}

/// A push source just made, with its token: shown this once.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CreatedPushSource {
    pub id: PushSourceId,
    /// The tracker its series belong to.
    pub tracker_id: TrackerId,
    /// The push token (`upp_…`), shown this once: only its hash is kept.
    pub token: String,
}

/// Why a push source was not made.
#[derive(Debug, thiserror::Error)]
pub enum PushSourceError {
    /// The name is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The workspace tracks as many things as its plan allows.
    #[error("{0}")]
    UpgradeRequired(UpgradeRequired),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A push source's name: 1 to 200 characters after trimming, no control characters.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(format!(
            "`name` must be 1 to {MAX_NAME_CHARS} characters, without control characters"
        ));
    }
    Ok(name.to_string())
}

/// Makes a push source named `name` in the workspace, its events labelled by
/// `event_labels`: a `push` source, its tracker (counted against the plan's tracker
/// limit, under the workspace's lock) and a write token, all or nothing.
#[tracing::instrument(skip(pool))]
pub async fn create_push_source(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    name: &str,
    event_labels: &[String],
    created_by: Option<UserId>,
) -> Result<CreatedPushSource, PushSourceError> {
    let name = check_name(name).map_err(PushSourceError::Invalid)?;
    let event_labels = check_event_labels(event_labels).map_err(PushSourceError::Invalid)?;
    let id = PushSourceId(uuid::Uuid::new_v4());
    let token = tokens::generate_push();
    let mut transaction = pool.begin().await?;
    billing::check_tracker_room(&mut transaction, workspace_id)
        .await?
        .map_err(PushSourceError::UpgradeRequired)?;
    let source_id = sqlx::query_scalar!(
        r#"INSERT INTO sources (kind, key, title, url) VALUES ($1, $2, $3, '')
           RETURNING id AS "id: SourceId""#,
        KIND,
        id.to_string(),
        name,
    )
    .fetch_one(&mut *transaction)
    .await?;
    let tracker_id = match tracking::add_tracker(
        &mut transaction,
        workspace_id,
        source_id,
        &name,
        TRACKER_INTERVAL_SECS,
        None,
        created_by,
    )
    .await?
    {
        Added::Created(id) | Added::AlreadyTracked(id) => id,
    };
    // Its link is its own tracker page: there is no upstream to open.
    sqlx::query!(
        "UPDATE sources SET url = '/trackers/' || $2::text WHERE id = $1",
        source_id as SourceId,
        tracker_id.to_string(),
    )
    .execute(&mut *transaction)
    .await?;
    sqlx::query!(
        "INSERT INTO push_sources (id, workspace_id, tracker_id, source_id, name, token_hash,
                                   token_prefix, event_labels)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id as PushSourceId,
        workspace_id as WorkspaceId,
        tracker_id as TrackerId,
        source_id as SourceId,
        name,
        &token.hash,
        token.display_prefix,
        &event_labels,
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(CreatedPushSource {
        id,
        tracker_id,
        token: token.token,
    })
}

/// The workspace's push sources, newest first.
#[tracing::instrument(skip(pool))]
pub async fn list_push_sources(
    pool: &PgPool,
    workspace_id: WorkspaceId,
) -> Result<Vec<PushSourceView>, sqlx::Error> {
    select_push_sources(pool, workspace_id, None).await
}

/// The workspace's push source `id`; `None` when the workspace has no such one.
#[tracing::instrument(skip(pool))]
pub async fn get_push_source(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: PushSourceId,
) -> Result<Option<PushSourceView>, sqlx::Error> {
    Ok(select_push_sources(pool, workspace_id, Some(id))
        .await?
        .into_iter()
        .next())
}

/// The workspace's push sources (only `id` when given), newest first.
async fn select_push_sources(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: Option<PushSourceId>,
) -> Result<Vec<PushSourceView>, sqlx::Error> {
    sqlx::query_as!(
        PushSourceView,
        r#"SELECT p.id AS "id: PushSourceId", p.tracker_id AS "tracker_id: TrackerId", p.name,
                  p.token_prefix, p.event_labels, p.created_at, p.last_push_at,
                  (SELECT count(*) FROM source_metrics m WHERE m.source_id = p.source_id)
                      AS "series!"
           FROM push_sources p
           WHERE p.workspace_id = $1 AND ($2::uuid IS NULL OR p.id = $2)
           ORDER BY p.created_at DESC, p.id"#,
        workspace_id as WorkspaceId,
        id as Option<PushSourceId>,
    )
    .fetch_all(pool)
    .await
}

/// What `PATCH /api/v1/push-sources/{id}` changes: each field given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushSourceChange {
    pub name: Option<String>,
    pub event_labels: Option<Vec<String>>,
}

/// Changes the workspace's push source `id`: its name, its event labels (new events are
/// counted under the new labels; the series already there stay). `Ok(None)` when the
/// workspace has no such push source.
#[tracing::instrument(skip(pool))]
pub async fn update_push_source(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: PushSourceId,
    change: PushSourceChange,
) -> Result<Option<PushSourceView>, PushSourceError> {
    let name = change
        .name
        .as_deref()
        .map(check_name)
        .transpose()
        .map_err(PushSourceError::Invalid)?;
    let event_labels = change
        .event_labels
        .as_deref()
        .map(check_event_labels)
        .transpose()
        .map_err(PushSourceError::Invalid)?;
    let updated = sqlx::query!(
        "UPDATE push_sources SET name = coalesce($3, name),
                event_labels = coalesce($4, event_labels)
         WHERE id = $1 AND workspace_id = $2",
        id as PushSourceId,
        workspace_id as WorkspaceId,
        name,
        event_labels.as_deref(),
    )
    .execute(pool)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(None);
    }
    Ok(get_push_source(pool, workspace_id, id).await?)
}

/// Deletes a push source of the workspace: its tracker, and with it (the trackers'
/// delete trigger) its source and every sample, at once; its token stops working.
/// `false` when the workspace has no such push source.
#[tracing::instrument(skip(pool))]
pub async fn delete_push_source(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: PushSourceId,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM trackers t USING push_sources p
         WHERE p.id = $1 AND p.workspace_id = $2 AND t.id = p.tracker_id AND t.workspace_id = $2",
        id as PushSourceId,
        workspace_id as WorkspaceId,
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(deleted == 1)
}

/// The push source whose write token is `token` (`upp_…`, however the request carried
/// it: `Authorization: Bearer`, `Token`, a query parameter); `None` for anything else, a
/// deleted push source or a suspended workspace.
#[tracing::instrument(skip_all)]
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<Option<PushSource>, sqlx::Error> {
    let token = token.trim();
    if !tokens::looks_like_push_token(token) {
        return Ok(None);
    }
    sqlx::query_as!(
        PushSource,
        r#"SELECT p.id AS "id: PushSourceId", p.workspace_id AS "workspace_id: WorkspaceId",
                  p.tracker_id AS "tracker_id: TrackerId", p.source_id AS "source_id: SourceId",
                  p.name, p.event_labels
           FROM push_sources p JOIN workspaces w ON w.id = p.workspace_id
           WHERE p.token_hash = $1 AND w.suspended_at IS NULL"#,
        tokens::hash(token),
    )
    .fetch_optional(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Sales  "), Ok("Sales".into()));
        assert!(check_name("   ").is_err());
        assert!(check_name(&"x".repeat(201)).is_err());
        assert!(check_name("a\nb").unwrap_err().contains("`name` must be"));
    }
}
