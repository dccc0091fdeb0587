//! Every SQL statement of forwarding: the workspace's sinks (made, listed, deleted, always
//! within the workspace), the backlog a poll queues, and the claims, batches and outcomes
//! of the forwarding job.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, types::Json};

use super::{Point, Sink};
use crate::domain::{
    MetricId, SinkId, SinkKind, SinkState, SourceId, TrackerId, WorkspaceId,
    sink::{SinkSpec, SinkTarget},
};
use crate::server::{
    tokens::random_base62,
    tracking::secrets::{self, SecretError},
};

/// The most sinks a workspace can have.
pub const MAX_SINKS: i64 = 10;
/// Sends failing in a row before a sink is marked `failing`.
pub const FAILING_AFTER: i32 = 3;
/// The first retry's pause; it doubles with each failure in a row, up to [`MAX_BACKOFF_SECS`].
pub const BACKOFF_BASE_SECS: f64 = 15.0;
pub const MAX_BACKOFF_SECS: f64 = 1_800.0;

/// A sink as the API and the page show it: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SinkView {
    pub id: SinkId,
    /// `kind` and the target's fields (`url`, `database`, `username`, `org`, `bucket`,
    /// `address`, `prefix`).
    #[serde(flatten)]
    pub target: SinkTarget,
    /// The trackers forwarded; `null`: every tracker of the workspace.
    pub trackers: Option<Vec<TrackerId>>,
    pub state: SinkState,
    /// Points waiting to be sent.
    pub backlog: i64,
    /// Points sent so far.
    pub sent: i64,
    /// Points dropped (the oldest) because the backlog was full.
    pub dropped: i64,
    /// Sends failed in a row.
    pub failures: i32,
    /// Why the last send failed.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
    /// The next send is due then.
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A new sink, with a webhook's signing secret (the only time it is shown).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewSink {
    #[serde(flatten)]
    pub sink: SinkView,
    /// A webhook's signing secret, shown this once; absent for other kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Why a sink was not made.
#[derive(Debug, thiserror::Error)]
pub enum SinkRefusal {
    #[error("these trackers are not in this workspace: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    UnknownTrackers(Vec<TrackerId>),
    #[error("a workspace can have at most {MAX_SINKS} sinks; delete one first")]
    TooMany,
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A webhook's signing secret: `whsec_` and 40 base62 characters.
fn new_secret() -> String {
    format!("whsec_{}", random_base62(40))
}

/// Makes a sink of the workspace; its secret encrypted with `key`.
pub async fn create_sink(
    pool: &PgPool,
    key: Option<&[u8; 32]>,
    workspace_id: WorkspaceId,
    spec: &SinkSpec,
) -> Result<NewSink, SinkRefusal> {
    let shown_secret = (spec.target.kind() == SinkKind::Webhook).then(new_secret);
    let secret = spec.secret.as_ref().or(shown_secret.as_ref());
    let stored = secret
        .map(|secret| secrets::encrypt(key, secret))
        .transpose()?;
    let trackers: Option<Vec<uuid::Uuid>> = spec
        .trackers
        .as_ref()
        .map(|ids| ids.iter().map(|id| id.uuid()).collect());
    if let Some(ids) = &trackers {
        let known: Vec<uuid::Uuid> = sqlx::query_scalar!(
            "SELECT id FROM trackers WHERE workspace_id = $1 AND id = ANY($2)",
            workspace_id as WorkspaceId,
            ids,
        )
        .fetch_all(pool)
        .await?;
        let unknown: Vec<TrackerId> = ids
            .iter()
            .filter(|id| !known.contains(id))
            .map(|id| TrackerId(*id))
            .collect();
        if !unknown.is_empty() {
            return Err(SinkRefusal::UnknownTrackers(unknown));
        }
    }
    let config = serde_json::to_value(&spec.target)
        .map_err(|error| SinkRefusal::Database(sqlx::Error::Encode(Box::new(error))))?;
    let mut transaction = pool.begin().await?;
    // The workspace's row lock keeps two requests from both taking the last place.
    sqlx::query!(
        "SELECT id FROM workspaces WHERE id = $1 FOR UPDATE",
        workspace_id as WorkspaceId
    )
    .fetch_optional(&mut *transaction)
    .await?;
    let row = sqlx::query!(
        r#"INSERT INTO sinks (workspace_id, kind, config, secret, tracker_ids)
           SELECT $1, $2, $3, $4, $5
           WHERE (SELECT count(*) FROM sinks WHERE workspace_id = $1) < $6
           RETURNING id AS "id: SinkId", next_attempt_at, created_at"#,
        workspace_id as WorkspaceId,
        spec.target.kind() as SinkKind,
        config,
        stored.as_deref(),
        trackers.as_deref(),
        MAX_SINKS,
    )
    .fetch_optional(&mut *transaction)
    .await?
    .ok_or(SinkRefusal::TooMany)?;
    transaction.commit().await?;
    Ok(NewSink {
        sink: SinkView {
            id: row.id,
            target: spec.target.clone(),
            trackers: spec.trackers.clone(),
            state: SinkState::Ok,
            backlog: 0,
            sent: 0,
            dropped: 0,
            failures: 0,
            last_error: None,
            last_error_at: None,
            last_sent_at: None,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
        },
        secret: shown_secret,
    })
}

/// The workspace's sinks, oldest first, each with its backlog's size.
pub async fn list_sinks(
    pool: &PgPool,
    workspace_id: WorkspaceId,
) -> Result<Vec<SinkView>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT k.id AS "id: SinkId", k.config, k.tracker_ids, k.state AS "state: SinkState",
                  k.sent, k.dropped, k.failures, k.last_error, k.last_error_at, k.last_sent_at,
                  k.next_attempt_at, k.created_at,
                  (SELECT count(*) FROM sink_backlog b WHERE b.sink_id = k.id) AS "backlog!"
           FROM sinks k WHERE k.workspace_id = $1 ORDER BY k.created_at, k.id"#,
        workspace_id as WorkspaceId,
    )
    .fetch_all(pool)
    .await?;
    let mut sinks = Vec::with_capacity(rows.len());
    for row in rows {
        let Ok(target) = serde_json::from_value::<SinkTarget>(row.config) else {
            tracing::error!(sink = %row.id, "a sink's stored config could not be read");
            continue;
        };
        sinks.push(SinkView {
            id: row.id,
            target,
            trackers: row
                .tracker_ids
                .map(|ids| ids.into_iter().map(TrackerId).collect()),
            state: row.state,
            backlog: row.backlog,
            sent: row.sent,
            dropped: row.dropped,
            failures: row.failures,
            last_error: row.last_error,
            last_error_at: row.last_error_at,
            last_sent_at: row.last_sent_at,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
        });
    }
    Ok(sinks)
}

/// Deletes a sink of the workspace and its backlog; whether it was there.
pub async fn delete_sink(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: SinkId,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM sinks WHERE workspace_id = $1 AND id = $2",
        workspace_id as WorkspaceId,
        id as SinkId,
    )
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// A sink of the workspace with its secret decrypted, to send to (a test).
pub async fn get_sink(
    pool: &PgPool,
    key: Option<&[u8; 32]>,
    workspace_id: WorkspaceId,
    id: SinkId,
) -> Result<Option<Result<Sink, String>>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id AS "id: SinkId", config, secret FROM sinks
           WHERE workspace_id = $1 AND id = $2"#,
        workspace_id as WorkspaceId,
        id as SinkId,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| Sink::read(key, row.id, row.config, row.secret.as_deref())))
}

/// Queues the samples a poll just wrote (each source's metrics at its poll's time) for
/// every sink of the workspaces tracking those sources (unpaused trackers, and only the
/// sink's chosen ones when it chose): one statement for the whole poll job, in the
/// transaction that wrote the samples. How many rows were queued.
pub async fn queue_polled(
    connection: &mut PgConnection,
    polled: &[(SourceId, DateTime<Utc>)],
) -> Result<u64, sqlx::Error> {
    if polled.is_empty() {
        return Ok(0);
    }
    let ids: Vec<SourceId> = polled.iter().map(|(id, _)| *id).collect();
    let times: Vec<DateTime<Utc>> = polled.iter().map(|(_, t)| *t).collect();
    let queued = sqlx::query!(
        r#"INSERT INTO sink_backlog (sink_id, tracker_id, metric_id, t, value)
           SELECT k.id, tr.id, s.metric_id, s.t, s.value
           FROM unnest($1::bigint[], $2::timestamptz[]) AS i(source_id, t)
           JOIN trackers tr ON tr.source_id = i.source_id AND NOT tr.paused
           JOIN sinks k ON k.workspace_id = tr.workspace_id
                       AND (k.tracker_ids IS NULL OR tr.id = ANY(k.tracker_ids))
           JOIN source_metrics m ON m.source_id = i.source_id
           JOIN samples s ON s.metric_id = m.id AND s.t = i.t
           ORDER BY s.t, m.id"#,
        &ids as &[SourceId],
        &times,
    )
    .execute(&mut *connection)
    .await?;
    Ok(queued.rows_affected())
}

/// Queues pushed samples (a push source's points just written, in the push's
/// transaction) for every sink of the workspace tracking it, as [`queue_polled`] queues a
/// poll's. A point already recorded at its time and value is queued again: sinks take
/// points at least once. How many rows were queued.
pub async fn queue_pushed(
    connection: &mut PgConnection,
    samples: &[crate::server::tracking::store::Sample],
) -> Result<u64, sqlx::Error> {
    if samples.is_empty() {
        return Ok(0);
    }
    let metrics: Vec<MetricId> = samples.iter().map(|sample| sample.metric_id).collect();
    let times: Vec<DateTime<Utc>> = samples.iter().map(|sample| sample.t).collect();
    let queued = sqlx::query!(
        r#"INSERT INTO sink_backlog (sink_id, tracker_id, metric_id, t, value)
           SELECT k.id, tr.id, s.metric_id, s.t, s.value
           FROM unnest($1::integer[], $2::timestamptz[]) AS i(metric_id, t)
           JOIN samples s ON s.metric_id = i.metric_id AND s.t = i.t
           JOIN source_metrics m ON m.id = i.metric_id
           JOIN trackers tr ON tr.source_id = m.source_id AND NOT tr.paused
           JOIN sinks k ON k.workspace_id = tr.workspace_id
                       AND (k.tracker_ids IS NULL OR tr.id = ANY(k.tracker_ids))
           ORDER BY s.t, s.metric_id"#,
        &metrics as &[MetricId],
        &times,
    )
    .execute(&mut *connection)
    .await?;
    Ok(queued.rows_affected())
}

/// A sink claimed by the forwarding job until `lease`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkClaim {
    pub id: SinkId,
    pub lease: DateTime<Utc>,
}

/// Claims up to `limit` sinks that have a backlog and are due (not waiting out a
/// backoff), for `lease`.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<SinkClaim>, sqlx::Error> {
    sqlx::query_as!(
        SinkClaim,
        r#"UPDATE sinks k SET leased_until = now() + make_interval(secs => $2)
           WHERE k.id IN (
               SELECT id FROM sinks s
               WHERE next_attempt_at <= now()
                 AND (leased_until IS NULL OR leased_until < now())
                 AND EXISTS (SELECT 1 FROM sink_backlog b WHERE b.sink_id = s.id)
               ORDER BY next_attempt_at LIMIT $1
               FOR UPDATE SKIP LOCKED)
           RETURNING k.id AS "id: SinkId", k.leased_until AS "lease!""#,
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(pool)
    .await
}

/// The claimed sink with its secret decrypted; `None` when the claim was lost or the sink
/// deleted. `Some(Err)` when its secret cannot be decrypted.
pub async fn load_claimed(
    pool: &PgPool,
    key: Option<&[u8; 32]>,
    claim: SinkClaim,
) -> Result<Option<Result<Sink, String>>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id AS "id: SinkId", config, secret FROM sinks
           WHERE id = $1 AND leased_until = $2"#,
        claim.id as SinkId,
        claim.lease,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| Sink::read(key, row.id, row.config, row.secret.as_deref())))
}

/// Drops the oldest points of the sink's backlog beyond `bound`, counting them in the
/// sink's `dropped`: how many were dropped.
pub async fn trim(pool: &PgPool, claim: SinkClaim, bound: i64) -> Result<i64, sqlx::Error> {
    let dropped = sqlx::query_scalar!(
        r#"WITH cut AS (
               SELECT id FROM sink_backlog WHERE sink_id = $1
               ORDER BY id DESC OFFSET $2 LIMIT 1
           ),
           gone AS (
               DELETE FROM sink_backlog b USING cut
               WHERE b.sink_id = $1 AND b.id <= cut.id
               RETURNING 1
           ),
           counted AS (
               UPDATE sinks SET dropped = dropped + (SELECT count(*) FROM gone)
               WHERE id = $1 AND leased_until = $3 AND EXISTS (SELECT 1 FROM gone)
               RETURNING 1
           )
           SELECT count(*) AS "dropped!" FROM gone"#,
        claim.id as SinkId,
        bound,
        claim.lease,
    )
    .fetch_one(pool)
    .await?;
    Ok(dropped)
}

/// The next (oldest) `limit` points of the sink's backlog with what sending them needs;
/// the ids of rows whose tracker or metric is gone come back apart, to be dropped.
pub async fn next_batch(
    pool: &PgPool,
    sink: SinkId,
    limit: i64,
) -> Result<(Vec<Point>, Vec<i64>), sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT b.id, b.tracker_id AS "tracker_id: TrackerId", b.t, b.value,
                  tr.label AS "label?", src.kind AS "kind?", src.key AS "key?",
                  m.family AS "metric?", m.labels AS "labels?: Json<BTreeMap<String, String>>"
           FROM (SELECT * FROM sink_backlog WHERE sink_id = $1 ORDER BY id LIMIT $2) b
           LEFT JOIN trackers tr ON tr.id = b.tracker_id
           LEFT JOIN source_metrics m ON m.id = b.metric_id
           LEFT JOIN sources src ON src.id = m.source_id
           ORDER BY b.id"#,
        sink as SinkId,
        limit,
    )
    .fetch_all(pool)
    .await?;
    let mut points = Vec::with_capacity(rows.len());
    let mut orphans = Vec::new();
    for row in rows {
        match (row.label, row.kind, row.key, row.metric, row.labels) {
            (Some(label), Some(kind), Some(key), Some(metric), Some(labels)) => {
                points.push(Point {
                    backlog_id: row.id,
                    tracker: row.tracker_id,
                    label,
                    kind,
                    key,
                    metric,
                    labels: labels.0,
                    t: row.t,
                    value: row.value,
                })
            }
            _ => orphans.push(row.id),
        }
    }
    Ok((points, orphans))
}

/// Records a batch sent (and orphans dropped): their rows deleted, the sink healthy again.
pub async fn sent(
    pool: &PgPool,
    claim: SinkClaim,
    ids: &[i64],
    points: i64,
) -> Result<(), sqlx::Error> {
    let mut transaction = pool.begin().await?;
    sqlx::query!(
        "DELETE FROM sink_backlog WHERE sink_id = $1 AND id = ANY($2)",
        claim.id as SinkId,
        ids,
    )
    .execute(&mut *transaction)
    .await?;
    sqlx::query!(
        r#"UPDATE sinks SET sent = sent + $3, state = 'ok', failures = 0,
                  last_sent_at = CASE WHEN $3 > 0 THEN now() ELSE last_sent_at END
           WHERE id = $1 AND leased_until = $2"#,
        claim.id as SinkId,
        claim.lease,
        points,
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await
}

/// Records a failed send: the error, the next attempt after a pause doubling with each
/// failure in a row (15 s, 30 s… at most 30 minutes), `failing` from the third in a row,
/// and the claim given back. The backlog stays. Whether the sink just became failing.
pub async fn failed(pool: &PgPool, claim: SinkClaim, error: &str) -> Result<bool, sqlx::Error> {
    let became = sqlx::query_scalar!(
        r#"WITH before AS (SELECT state FROM sinks WHERE id = $1),
           updated AS (
               UPDATE sinks SET
                   failures = failures + 1,
                   state = CASE WHEN failures + 1 >= $4 THEN 'failing' ELSE state END,
                   last_error = $3, last_error_at = now(),
                   next_attempt_at = now() + make_interval(secs => least($6::float8,
                       $5::float8 * power(2, least(failures, 20)))),
                   leased_until = NULL
               WHERE id = $1 AND leased_until = $2
               RETURNING state
           )
           SELECT (u.state = 'failing' AND b.state <> 'failing') AS "became!"
           FROM updated u, before b"#,
        claim.id as SinkId,
        claim.lease,
        error,
        FAILING_AFTER,
        BACKOFF_BASE_SECS,
        MAX_BACKOFF_SECS,
    )
    .fetch_optional(pool)
    .await?;
    Ok(became.unwrap_or(false))
}

/// Gives the claim back (the backlog is empty, or the job's time is up).
pub async fn release(pool: &PgPool, claim: SinkClaim) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE sinks SET leased_until = NULL WHERE id = $1 AND leased_until = $2",
        claim.id as SinkId,
        claim.lease,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The workspace's trackers (id, label), by label: the sink form's choice.
pub async fn tracker_choices(
    pool: &PgPool,
    workspace_id: WorkspaceId,
) -> Result<Vec<(TrackerId, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id: TrackerId", label FROM trackers WHERE workspace_id = $1
           ORDER BY lower(label), id"#,
        workspace_id as WorkspaceId,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.label)).collect())
}
