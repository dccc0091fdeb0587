//! Backfills (see [`crate::server::tracking::backfill`]): asking for one, claims and
//! leases like polls', saving each page with its cursor, and the status pages show.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use super::{NamedSample, write_named_samples};
use crate::domain::{
    BackfillState, BackfillStatus, ProviderKind, SourceId, TrackerId, WorkspaceId,
};
use crate::server::tracking::backfill::HistoryPage;

/// Asks for the backfill of `source_id` when it was never polled and has none: the first
/// tracker of a new source. Every sample the backfill writes will lie before now (to the
/// second, as the first sample is stamped). Returns whether one was asked for.
pub async fn request_backfill(
    connection: &mut PgConnection,
    source_id: SourceId,
) -> Result<bool, sqlx::Error> {
    let asked = sqlx::query!(
        "INSERT INTO source_backfills (source_id, before)
         SELECT id, date_trunc('second', now()) FROM sources
         WHERE id = $1 AND last_poll_at IS NULL
         ON CONFLICT (source_id) DO NOTHING",
        source_id as SourceId,
    )
    .execute(&mut *connection)
    .await?;
    Ok(asked.rows_affected() == 1)
}

/// A claim on a backfill, held until `lease` (which also tells it from a later claim).
/// Travels in backfill jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillClaim {
    pub source_id: SourceId,
    pub lease: DateTime<Utc>,
}

/// Claims up to `limit` backfills that may run now, for `lease`: as [`super::claim_due`],
/// any number of dispatchers may run this at once.
pub async fn claim_backfills(
    pool: &PgPool,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<BackfillClaim>, sqlx::Error> {
    sqlx::query_as!(
        BackfillClaim,
        r#"UPDATE source_backfills b SET leased_until = now() + make_interval(secs => $2)
           FROM (SELECT source_id FROM source_backfills
                 WHERE state IN ('pending', 'waiting') AND next_attempt_at <= now()
                   AND (leased_until IS NULL OR leased_until < now())
                 ORDER BY next_attempt_at
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED) AS due
           WHERE b.source_id = due.source_id
           RETURNING b.source_id AS "source_id: SourceId", b.leased_until AS "lease!""#,
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(pool)
    .await
}

/// A claimed backfill, loaded to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Backfill {
    pub source_id: SourceId,
    pub kind: ProviderKind,
    pub key: String,
    pub config: serde_json::Value,
    pub before: DateTime<Utc>,
    pub cursor: Option<serde_json::Value>,
    /// Failed attempts in a row.
    pub failures: i32,
}

/// The backfill `claim` holds, while it holds it.
pub async fn load_backfill(
    pool: &PgPool,
    claim: BackfillClaim,
) -> Result<Option<Backfill>, sqlx::Error> {
    sqlx::query_as!(
        Backfill,
        r#"SELECT b.source_id AS "source_id: SourceId", s.kind AS "kind: ProviderKind",
                  s.key, s.config, b.before, b.cursor, b.failures
           FROM source_backfills b JOIN sources s ON s.id = b.source_id
           WHERE b.source_id = $1 AND b.leased_until = $2
             AND b.state IN ('pending', 'waiting')"#,
        claim.source_id as SourceId,
        claim.lease,
    )
    .fetch_optional(pool)
    .await
}

/// Saves one page of `backfill` under `claim`, all or nothing: its points that lie before
/// the backfill's `before` (an observed sample is never overwritten: the writer skips a
/// time that exists), the cursor of the next page, the progress, and a renewed lease.
/// Returns the new claim, or `None` when the claim was lost (its lease ran out and another
/// job took the backfill over): then nothing is saved. The last page ends the backfill.
pub async fn save_backfill_page(
    pool: &PgPool,
    claim: BackfillClaim,
    backfill: &Backfill,
    page: &HistoryPage,
    lease: std::time::Duration,
) -> Result<Option<BackfillClaim>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let samples: Vec<NamedSample> = page
        .points
        .iter()
        .filter(|point| point.t < backfill.before && point.value.is_finite())
        .map(|point| NamedSample {
            source_id: backfill.source_id,
            metric: point.metric.to_string(),
            t: point.t,
            value: point.value,
        })
        .collect();
    let renewed = sqlx::query_scalar!(
        r#"UPDATE source_backfills SET
               cursor = $3, progress = $4, pages = pages + 1, failures = 0, last_error = NULL,
               state = CASE WHEN $5 THEN 'done' ELSE 'pending' END,
               finished_at = CASE WHEN $5 THEN now() END,
               leased_until = CASE WHEN $5 THEN NULL ELSE now() + make_interval(secs => $6) END
           WHERE source_id = $1 AND leased_until = $2
           RETURNING coalesce(leased_until, now()) AS "lease!""#,
        backfill.source_id as SourceId,
        claim.lease,
        page.next,
        if page.next.is_none() {
            1.0
        } else {
            page.progress as f32
        },
        page.next.is_none(),
        lease.as_secs_f64(),
    )
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(renewed) = renewed else {
        return Ok(None);
    };
    let written = write_named_samples(&mut *transaction, &samples).await?;
    sqlx::query!(
        "UPDATE source_backfills SET points = points + $2 WHERE source_id = $1",
        backfill.source_id as SourceId,
        i64::try_from(written).unwrap_or(i64::MAX),
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Some(BackfillClaim {
        source_id: backfill.source_id,
        lease: renewed,
    }))
}

/// Gives the claim back until `retry_at`, keeping the cursor: the upstream asked to wait
/// (`counts` false) or failed (`counts` true: after `max_failures` in a row, the backfill
/// fails for good).
pub async fn backfill_waits(
    pool: &PgPool,
    claim: BackfillClaim,
    retry_at: DateTime<Utc>,
    error: &str,
    counts: bool,
    max_failures: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE source_backfills SET
             failures = failures + CASE WHEN $4 THEN 1 ELSE 0 END,
             state = CASE WHEN $4 AND failures + 1 >= $5 THEN 'failed' ELSE 'waiting' END,
             finished_at = CASE WHEN $4 AND failures + 1 >= $5 THEN now() END,
             next_attempt_at = $3, last_error = $6, leased_until = NULL
         WHERE source_id = $1 AND leased_until = $2",
        claim.source_id as SourceId,
        claim.lease,
        retry_at,
        counts,
        max_failures,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Ends the backfill for good: the upstream refused it (`error` says why).
pub async fn fail_backfill(
    pool: &PgPool,
    claim: BackfillClaim,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE source_backfills SET state = 'failed', last_error = $3, leased_until = NULL,
             finished_at = now()
         WHERE source_id = $1 AND leased_until = $2",
        claim.source_id as SourceId,
        claim.lease,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The backfill of `source_id` as pages show it; `None` when it has none.
pub async fn backfill_status(
    pool: &PgPool,
    source_id: SourceId,
) -> Result<Option<BackfillStatus>, sqlx::Error> {
    sqlx::query_as!(
        BackfillStatus,
        r#"SELECT state AS "state: BackfillState", progress::float8 AS "progress!",
                  points, last_error AS error
           FROM source_backfills WHERE source_id = $1"#,
        source_id as SourceId,
    )
    .fetch_optional(pool)
    .await
}

/// The backfill status of the source of tracker `tracker_id` of `workspace_id`: `None` when
/// the workspace has no such tracker, `Some(None)` when its source has no backfill.
pub async fn tracker_backfill_status(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    tracker_id: TrackerId,
) -> Result<Option<Option<BackfillStatus>>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT b.state AS "state?: BackfillState", b.progress::float8 AS progress,
                  b.points AS "points?", b.last_error AS error
           FROM trackers t LEFT JOIN source_backfills b ON b.source_id = t.source_id
           WHERE t.workspace_id = $1 AND t.id = $2"#,
        workspace_id as WorkspaceId,
        tracker_id as TrackerId,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| {
        Some(BackfillStatus {
            state: row.state?,
            progress: row.progress.unwrap_or(0.0),
            points: row.points.unwrap_or(0),
            error: row.error,
        })
    }))
}

/// The backfill boundary of `source_id`: its samples before this time came from the
/// upstream's history; `None` when it has no backfill, or one that loaded nothing yet
/// (samples imported with `upcount admin import-samples` are then observed ones).
pub async fn history_before(
    pool: &PgPool,
    source_id: SourceId,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT before FROM source_backfills WHERE source_id = $1 AND points > 0",
        source_id as SourceId,
    )
    .fetch_optional(pool)
    .await
}
