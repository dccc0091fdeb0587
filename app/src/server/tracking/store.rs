//! Sources, trackers, metrics and samples in PostgreSQL. Every tracker query is scoped
//! to a workspace; sources are shared and never reached except through a tracker.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, PgPool, Row, postgres::PgRow};
use uuid::Uuid;

use super::{FetchError, Metadata, MetricSpec, Readings, clean_text};

/// A source as the API and the admin see it (never its config: it may hold secrets).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceView {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub title: String,
    pub url: String,
    pub author: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    pub state: String,
    pub interval_secs: i32,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// A metric of a source with its latest value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricView {
    #[serde(skip)]
    pub id: i32,
    pub name: String,
    pub kind: String,
    pub unit: String,
    pub latest: Option<f64>,
    pub latest_at: Option<DateTime<Utc>>,
}

/// A workspace's tracker, with its source and metrics.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrackerView {
    pub id: Uuid,
    pub label: String,
    /// `ok`, `backing_off`, `gone`, `paused` or `ended`: the tracker's own pause and end
    /// date first, then its source's state.
    pub state: String,
    pub interval_secs: i32,
    pub paused: bool,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set when the tracker is shared publicly (`/s/{token}`, `/badge/{token}.svg`).
    pub share_token: Option<String>,
    pub source: SourceView,
    pub metrics: Vec<MetricView>,
}

const SOURCE_COLUMNS: &str = "s.id AS source_id, s.kind, s.key, s.title, s.url, s.author, \
    s.published_at, s.tags, s.state AS source_state, s.interval_secs AS source_interval_secs, \
    s.next_poll_at, s.consecutive_failures, s.last_poll_at, s.last_success_at, s.last_error, \
    s.last_error_at";

fn source_from_row(row: &PgRow) -> Result<SourceView, sqlx::Error> {
    Ok(SourceView {
        id: row.try_get("source_id")?,
        kind: row.try_get("kind")?,
        key: row.try_get("key")?,
        title: row.try_get("title")?,
        url: row.try_get("url")?,
        author: row.try_get("author")?,
        published_at: row.try_get("published_at")?,
        tags: row.try_get("tags")?,
        state: row.try_get("source_state")?,
        interval_secs: row.try_get("source_interval_secs")?,
        next_poll_at: row.try_get("next_poll_at")?,
        consecutive_failures: row.try_get("consecutive_failures")?,
        last_poll_at: row.try_get("last_poll_at")?,
        last_success_at: row.try_get("last_success_at")?,
        last_error: row.try_get("last_error")?,
        last_error_at: row.try_get("last_error_at")?,
    })
}

/// Creates the source of `kind` + `metadata.key`, or refreshes the metadata of the one
/// that exists (a gone source that exists again comes back). Its metrics are added.
pub async fn upsert_source(
    connection: &mut PgConnection,
    kind: &str,
    metadata: &Metadata,
    config: &serde_json::Value,
    metrics: &[MetricSpec],
) -> Result<i64, sqlx::Error> {
    let tags: Vec<String> = metadata.tags.iter().map(|tag| clean_text(tag)).collect();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sources (kind, key, config, title, url, author, published_at, tags)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (kind, key) DO UPDATE SET
             title = excluded.title, url = excluded.url, author = excluded.author,
             published_at = excluded.published_at, tags = excluded.tags,
             state = CASE WHEN sources.state = 'gone' THEN 'ok' ELSE sources.state END,
             consecutive_failures = CASE WHEN sources.state = 'gone' THEN 0
                                         ELSE sources.consecutive_failures END
         RETURNING id",
    )
    .bind(kind)
    .bind(clean_text(&metadata.key))
    .bind(config)
    .bind(clean_text(&metadata.title))
    .bind(clean_text(&metadata.url))
    .bind(metadata.author.as_deref().map(clean_text))
    .bind(metadata.published_at)
    .bind(&tags)
    .fetch_one(&mut *connection)
    .await?;
    let names: Vec<&str> = metrics.iter().map(|metric| metric.name.as_str()).collect();
    let kinds: Vec<&str> = metrics.iter().map(|metric| metric.kind.as_str()).collect();
    let units: Vec<&str> = metrics.iter().map(|metric| metric.unit.as_str()).collect();
    sqlx::query(
        "INSERT INTO source_metrics (source_id, name, kind, unit, position)
         SELECT $1, m.name, m.kind, m.unit, m.position - 1
         FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS m(name, kind, unit, position)
         ON CONFLICT (source_id, name) DO NOTHING",
    )
    .bind(id)
    .bind(&names)
    .bind(&kinds)
    .bind(&units)
    .execute(&mut *connection)
    .await?;
    Ok(id)
}

/// What adding a tracker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Created(Uuid),
    /// The workspace already tracks this source.
    AlreadyTracked(Uuid),
}

pub async fn add_tracker(
    connection: &mut PgConnection,
    workspace_id: Uuid,
    source_id: i64,
    label: &str,
    interval_secs: i32,
    ends_at: Option<DateTime<Utc>>,
) -> Result<Added, sqlx::Error> {
    let created: Option<Uuid> = sqlx::query_scalar(
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
    let existing: Uuid =
        sqlx::query_scalar("SELECT id FROM trackers WHERE workspace_id = $1 AND source_id = $2")
            .bind(workspace_id)
            .bind(source_id)
            .fetch_one(&mut *connection)
            .await?;
    Ok(Added::AlreadyTracked(existing))
}

/// Recomputes a source's interval, state and next poll from its trackers: the shortest
/// interval among the active ones (not paused, not past their end date), never shorter
/// than the tracker's workspace's plan allows; no active
/// tracker → not scheduled. A source that is gone stays gone; one backing off keeps its
/// pause. When the next poll moves, a lease on the old one is dropped (the job holding it
/// will find the source no longer due at that time and leave it alone).
pub async fn refresh_schedule(
    executor: impl PgExecutor<'_>,
    source_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
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
    )
    .bind(source_id)
    .execute(executor)
    .await?;
    Ok(())
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
    id: Uuid,
) -> Result<Option<TrackerView>, sqlx::Error> {
    Ok(trackers_where(pool, workspace_id, Some(id)).await?.pop())
}

/// Which trackers a query reads.
enum Filter<'a> {
    /// The workspace's, or one of them.
    Workspace(Uuid, Option<Uuid>),
    /// The one shared under this token.
    Shared(&'a str),
}

async fn trackers_where(
    pool: &PgPool,
    workspace_id: Uuid,
    id: Option<Uuid>,
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
            "paused".to_string()
        } else if ended {
            "ended".to_string()
        } else {
            source.state.clone()
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
    id: Uuid,
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
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let updated =
        sqlx::query("UPDATE trackers SET share_token = NULL WHERE workspace_id = $1 AND id = $2")
            .bind(workspace_id)
            .bind(id)
            .execute(pool)
            .await?;
    Ok(updated.rows_affected() == 1)
}

/// The latest `limit` poll times of a source's metrics, newest first: (time, value per
/// metric in `metric_ids` order).
pub async fn recent_rows(
    pool: &PgPool,
    metric_ids: &[i32],
    limit: i64,
) -> Result<Vec<(DateTime<Utc>, Vec<Option<f64>>)>, sqlx::Error> {
    let rows = sqlx::query(
        "WITH times AS (
             SELECT DISTINCT x.t
             FROM unnest($1::integer[]) AS m(id),
                  LATERAL (SELECT t FROM samples WHERE metric_id = m.id ORDER BY t DESC LIMIT $2) AS x
             ORDER BY x.t DESC LIMIT $2
         )
         SELECT s.t, s.metric_id, s.value FROM samples s JOIN times USING (t)
         WHERE s.metric_id = ANY($1) ORDER BY s.t DESC",
    )
    .bind(metric_ids)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut out: Vec<(DateTime<Utc>, Vec<Option<f64>>)> = Vec::new();
    for row in &rows {
        let t: DateTime<Utc> = row.try_get("t")?;
        let metric_id: i32 = row.try_get("metric_id")?;
        let value: f64 = row.try_get("value")?;
        if out.last().is_none_or(|(time, _)| *time != t) {
            out.push((t, vec![None; metric_ids.len()]));
        }
        if let (Some((_, values)), Some(index)) = (
            out.last_mut(),
            metric_ids.iter().position(|id| *id == metric_id),
        ) {
            values[index] = Some(value);
        }
    }
    Ok(out)
}

/// When the metric's first sample was taken.
pub async fn first_sample_at(
    pool: &PgPool,
    metric_id: i32,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT t FROM samples WHERE metric_id = $1 ORDER BY t LIMIT 1")
        .bind(metric_id)
        .fetch_optional(pool)
        .await
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
    id: Uuid,
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
    id: Uuid,
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

/// One sample to write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub metric_id: i32,
    pub t: DateTime<Utc>,
    pub value: f64,
}

/// Writes samples, their hourly, 3-hourly and daily rollups and each metric's latest value
/// in one statement. A sample whose (metric, time) exists is skipped, and then counts nowhere:
/// retried polls never duplicate a point. Returns how many samples were new.
pub async fn write_samples(
    executor: impl PgExecutor<'_>,
    samples: &[Sample],
) -> Result<u64, sqlx::Error> {
    if samples.is_empty() {
        return Ok(0);
    }
    let metric_ids: Vec<i32> = samples.iter().map(|sample| sample.metric_id).collect();
    let times: Vec<DateTime<Utc>> = samples.iter().map(|sample| sample.t).collect();
    let values: Vec<f64> = samples.iter().map(|sample| sample.value).collect();
    let written: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(WRITE_SAMPLES.as_str()))
        .bind(&metric_ids)
        .bind(&times)
        .bind(&values)
        .fetch_one(executor)
        .await?;
    Ok(u64::try_from(written).unwrap_or(0))
}

/// The statement of [`write_samples`]: samples, the rollups, latest values.
static WRITE_SAMPLES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH input AS (
             SELECT DISTINCT ON (metric_id, t) metric_id, t, value
             FROM unnest($1::integer[], $2::timestamptz[], $3::float8[]) AS i(metric_id, t, value)
         ),
         new AS (
             INSERT INTO samples (metric_id, t, value)
             SELECT metric_id, t, value FROM input
             ON CONFLICT (metric_id, t) DO NOTHING
             RETURNING metric_id, t, value
         ),
         {hourly},
         {three_hourly},
         {daily},
         latest AS (
             UPDATE source_metrics m SET last_value = l.value, last_at = l.t
             FROM (SELECT DISTINCT ON (metric_id) metric_id, t, value
                   FROM new ORDER BY metric_id, t DESC) AS l
             WHERE m.id = l.metric_id AND (m.last_at IS NULL OR m.last_at <= l.t)
         )
         SELECT count(*) FROM new",
        hourly = rollup_cte("hourly", "samples_hourly", "1 hour"),
        three_hourly = rollup_cte("three_hourly", "samples_3h", "3 hours"),
        daily = rollup_cte("daily", "samples_daily", "1 day"),
    )
});

/// A CTE that folds the new samples (`new`) into rollup `table`, buckets of `width`
/// starting at 2000-01-01 UTC: sums and counts add up, min, max and last merge.
fn rollup_cte(name: &str, table: &str, width: &str) -> String {
    format!(
        "{name} AS (
             INSERT INTO {table} AS r (metric_id, bucket, min, max, sum, count, last, last_t)
             SELECT metric_id, date_bin('{width}', t, timestamptz '2000-01-01 00:00:00+00'),
                    min(value), max(value), sum(value), count(*),
                    (array_agg(value ORDER BY t DESC))[1], max(t)
             FROM new GROUP BY 1, 2
             ON CONFLICT (metric_id, bucket) DO UPDATE SET
                 min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
                 sum = r.sum + excluded.sum, count = r.count + excluded.count,
                 last = CASE WHEN excluded.last_t >= r.last_t THEN excluded.last ELSE r.last END,
                 last_t = greatest(r.last_t, excluded.last_t)
         )"
    )
}

/// The metric ids of sources, by (source id, metric name).
pub async fn metric_ids(
    executor: impl PgExecutor<'_>,
    source_ids: &[i64],
) -> Result<std::collections::HashMap<(i64, String), i32>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT id, source_id, name FROM source_metrics WHERE source_id = ANY($1)")
            .bind(source_ids)
            .fetch_all(executor)
            .await?;
    rows.iter()
        .map(|row| {
            Ok((
                (row.try_get("source_id")?, row.try_get("name")?),
                row.try_get("id")?,
            ))
        })
        .collect()
}

/// A claim on a source: polled for `due`, held until `lease` (which also tells this claim
/// from a later one). Travels in poll jobs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Claim {
    pub id: i64,
    pub due: DateTime<Utc>,
    pub lease: DateTime<Utc>,
}

/// A source claimed for polling, with its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub kind: String,
    pub claim: Claim,
}

/// Stops sources that are due but have no active tracker any more (every tracker paused
/// or past its end date). Returns how many.
pub async fn end_idle_sources(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let ended = sqlx::query(
        "UPDATE sources s SET
             next_poll_at = NULL, leased_until = NULL,
             state = CASE WHEN EXISTS (SELECT 1 FROM trackers t WHERE t.source_id = s.id AND t.paused)
                          THEN 'paused' ELSE 'ended' END
         WHERE s.next_poll_at <= now()
           AND NOT EXISTS (SELECT 1 FROM trackers t
                           WHERE t.source_id = s.id AND NOT t.paused
                             AND (t.ends_at IS NULL OR t.ends_at > now()))",
    )
    .execute(pool)
    .await?;
    Ok(ended.rows_affected())
}

/// Claims up to `limit` due sources for `lease`: any number of dispatchers may run this at
/// once (`FOR UPDATE SKIP LOCKED`); a source is claimed again only after its lease expires
/// without the poll being recorded.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows = sqlx::query(
        "UPDATE sources s SET leased_until = now() + make_interval(secs => $2)
         FROM (SELECT id FROM sources
               WHERE next_poll_at <= now() AND (leased_until IS NULL OR leased_until < now())
               ORDER BY next_poll_at
               LIMIT $1
               FOR UPDATE SKIP LOCKED) AS due
         WHERE s.id = due.id
         RETURNING s.id, s.kind, s.next_poll_at, s.leased_until",
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Claimed {
                kind: row.try_get("kind")?,
                claim: Claim {
                    id: row.try_get("id")?,
                    due: row.try_get("next_poll_at")?,
                    lease: row.try_get("leased_until")?,
                },
            })
        })
        .collect()
}

/// A claimed source, loaded for its poll.
#[derive(Debug, Clone)]
pub struct DueSource {
    pub id: i64,
    pub key: String,
    pub config: serde_json::Value,
    pub due: DateTime<Utc>,
}

/// The sources of a poll job that are still due at the time, and still held by the lease,
/// they were claimed with: a source polled meanwhile, or claimed again after the lease ran
/// out (the job waited too long), is left out.
pub async fn load_due(pool: &PgPool, claims: &[Claim]) -> Result<Vec<DueSource>, sqlx::Error> {
    let ids: Vec<i64> = claims.iter().map(|claim| claim.id).collect();
    let dues: Vec<DateTime<Utc>> = claims.iter().map(|claim| claim.due).collect();
    let leases: Vec<DateTime<Utc>> = claims.iter().map(|claim| claim.lease).collect();
    let rows = sqlx::query(
        "SELECT s.id, s.key, s.config, s.next_poll_at
         FROM sources s
         JOIN unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS c(id, due, lease)
              ON c.id = s.id AND c.due = s.next_poll_at AND c.lease = s.leased_until",
    )
    .bind(&ids)
    .bind(&dues)
    .bind(&leases)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DueSource {
                id: row.try_get("id")?,
                key: row.try_get("key")?,
                config: row.try_get("config")?,
                due: row.try_get("next_poll_at")?,
            })
        })
        .collect()
}

/// The outcome of polling one source.
#[derive(Debug, Clone)]
pub struct PollResult {
    pub source_id: i64,
    /// The due time the poll was for: with the claim, what makes recording it idempotent.
    pub due: DateTime<Utc>,
    /// When the upstream answered: the samples' time.
    pub observed_at: DateTime<Utc>,
    pub outcome: Result<Readings, FetchError>,
}

/// Reschedules the sources of `results` and writes their samples, in one transaction:
/// success → the next due time is the due time plus the interval with ±10% jitter;
/// transient failure, or no metric read at all → backing off (the interval doubled per
/// consecutive failure, up to 24 h, and at least what a rate limit asked for); gone →
/// stopped; other errors → the usual interval, with the error recorded. Samples are
/// stamped with the time the upstream answered, and written only for the sources this
/// call rescheduled from the due time it was for (a second run of the same job, or one
/// racing it, finds them rescheduled and writes nothing). Returns the number of new
/// samples.
pub async fn record_polls(pool: &PgPool, results: &[PollResult]) -> Result<u64, sqlx::Error> {
    if results.is_empty() {
        return Ok(0);
    }
    let source_ids: Vec<i64> = results.iter().map(|result| result.source_id).collect();
    let mut transaction = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(results.len());
    let mut errors = Vec::with_capacity(results.len());
    let mut excerpts = Vec::with_capacity(results.len());
    let mut delays = Vec::with_capacity(results.len());
    let dues: Vec<DateTime<Utc>> = results.iter().map(|result| result.due).collect();
    for result in results {
        let (outcome, error, excerpt, delay) = match &result.outcome {
            Ok(readings) if readings.errors.is_empty() => ("ok", None, None, 0.0),
            Ok(readings) => {
                let message: Vec<String> = readings
                    .errors
                    .iter()
                    .map(|(name, reason)| format!("{name}: {reason}"))
                    .collect();
                // Some metrics read: a success with a warning; none: a failure that backs
                // off (the document may have changed; asking as often helps nobody).
                let outcome = if readings.values.is_empty() {
                    "transient"
                } else {
                    "ok"
                };
                (outcome, Some(message.join("; ")), None, 0.0)
            }
            Err(FetchError::Throttled { retry_after, .. }) => {
                ("deferred", None, None, retry_after.as_secs_f64())
            }
            Err(error) => {
                let outcome = match error {
                    FetchError::Gone(_) => "gone",
                    FetchError::RateLimited { .. } | FetchError::Unavailable(_) => "transient",
                    _ => "error",
                };
                let excerpt = match error {
                    FetchError::Parse { excerpt, .. } => Some(excerpt.clone()),
                    _ => None,
                };
                let delay = match error {
                    FetchError::RateLimited {
                        retry_after: Some(after),
                        ..
                    } => after.as_secs_f64(),
                    _ => 0.0,
                };
                (outcome, Some(error.to_string()), excerpt, delay)
            }
        };
        outcomes.push(outcome);
        errors.push(error.map(|error: String| clean_text(&error)));
        excerpts.push(excerpt.map(|excerpt: String| clean_text(&excerpt)));
        delays.push(delay);
    }
    // One statement updates the sources and, from the snapshot it reads before the
    // update, records their health changes as source events. Its row locks make a
    // concurrent recording of the same polls wait, and then find them rescheduled.
    let rescheduled: Vec<i64> = sqlx::query_scalar(
        "WITH input AS (
             SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[],
                                  $5::text[], $6::float8[])
                 AS i(id, due, outcome, error, excerpt, min_delay)
         ),
         before AS (
             SELECT s.id, s.consecutive_failures, s.state
             FROM sources s JOIN input i ON i.id = s.id AND s.next_poll_at = i.due
         ),
         active AS (
             SELECT t.source_id, min(t.interval_secs) AS interval_secs
             FROM trackers t JOIN input i ON i.id = t.source_id
             WHERE NOT t.paused AND (t.ends_at IS NULL OR t.ends_at > now())
             GROUP BY t.source_id
         ),
         updated AS (
         UPDATE sources s SET
             interval_secs = coalesce(a.interval_secs, s.interval_secs),
             consecutive_failures = CASE WHEN i.outcome = 'ok' THEN 0
                                         WHEN i.outcome = 'deferred' THEN s.consecutive_failures
                                         ELSE s.consecutive_failures + 1 END,
             state = CASE
                 WHEN i.outcome = 'gone' THEN 'gone'
                 WHEN a.source_id IS NULL THEN
                     CASE WHEN EXISTS (SELECT 1 FROM trackers p WHERE p.source_id = s.id AND p.paused)
                          THEN 'paused' ELSE 'ended' END
                 WHEN i.outcome = 'transient' THEN 'backing_off'
                 WHEN i.outcome = 'deferred' THEN s.state
                 ELSE 'ok' END,
             next_poll_at = CASE
                 WHEN i.outcome = 'gone' OR a.source_id IS NULL THEN NULL
                 WHEN i.outcome = 'deferred' THEN now() + make_interval(secs => i.min_delay)
                 WHEN i.outcome = 'transient' THEN now() + make_interval(secs => greatest(
                     i.min_delay,
                     least(86400, a.interval_secs * power(2, least(s.consecutive_failures + 1, 20)))))
                 ELSE greatest(
                     i.due + make_interval(secs => a.interval_secs * (0.9 + random() * 0.2)),
                     now() + make_interval(secs => least(a.interval_secs * 0.5, 60)))
                 END,
             leased_until = NULL,
             last_poll_at = CASE WHEN i.outcome = 'deferred' THEN s.last_poll_at ELSE now() END,
             last_success_at = CASE WHEN i.outcome = 'ok' THEN now() ELSE s.last_success_at END,
             last_error = CASE WHEN i.error IS NOT NULL THEN i.error
                               WHEN i.outcome = 'ok' THEN NULL ELSE s.last_error END,
             last_error_at = CASE WHEN i.error IS NOT NULL THEN now() ELSE s.last_error_at END,
             last_error_excerpt = CASE WHEN i.error IS NOT NULL THEN i.excerpt
                                       WHEN i.outcome = 'ok' THEN NULL
                                       ELSE s.last_error_excerpt END
         FROM input i LEFT JOIN active a ON a.source_id = i.id
         WHERE s.id = i.id AND s.next_poll_at = i.due
         RETURNING s.id, s.state, s.consecutive_failures, s.last_error
     ),
     events AS (
         INSERT INTO source_events (source_id, kind, detail)
         SELECT u.id,
                CASE WHEN u.state = 'gone' THEN 'gone'
                     WHEN u.consecutive_failures = 0 THEN 'recovered'
                     ELSE 'failing' END,
                CASE WHEN u.consecutive_failures = 0 THEN NULL ELSE u.last_error END
         FROM updated u JOIN before b ON b.id = u.id
         WHERE (u.state = 'gone' AND b.state <> 'gone')
            OR (u.state <> 'gone' AND (u.consecutive_failures = 0) <> (b.consecutive_failures = 0))
         RETURNING 1
     )
     SELECT id FROM updated",
    )
    .bind(&source_ids)
    .bind(&dues)
    .bind(&outcomes)
    .bind(&errors)
    .bind(&excerpts)
    .bind(&delays)
    .fetch_all(&mut *transaction)
    .await?;
    let rescheduled: std::collections::HashSet<i64> = rescheduled.into_iter().collect();

    let claimed: Vec<i64> = results
        .iter()
        .map(|result| result.source_id)
        .filter(|id| rescheduled.contains(id))
        .collect();
    let ids = metric_ids(&mut *transaction, &claimed).await?;
    let mut samples = Vec::new();
    for result in results {
        if !rescheduled.contains(&result.source_id) {
            continue;
        }
        if let Ok(readings) = &result.outcome {
            for (name, value) in &readings.values {
                if let Some(metric_id) = ids.get(&(result.source_id, name.clone()))
                    && value.is_finite()
                {
                    samples.push(Sample {
                        metric_id: *metric_id,
                        t: result.observed_at,
                        value: *value,
                    });
                }
            }
        }
    }
    let written = write_samples(&mut *transaction, &samples).await?;
    transaction.commit().await?;
    Ok(written)
}

/// Days a source no tracker uses is kept (with its samples) before it is deleted.
pub const ORPHAN_DAYS: i32 = 30;

/// Deletes the sources no tracker has used for [`ORPHAN_DAYS`], with their samples and
/// rollups. (A source holding secret headers goes with its last tracker, at once: see
/// the migration `20261201000000_hardening.sql`.) Returns how many went.
pub async fn delete_orphaned_sources(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    // A few sources a statement: each takes its samples and rollups with it.
    let mut deleted = 0;
    loop {
        let batch = sqlx::query(
            "DELETE FROM sources WHERE id IN (
                 SELECT s.id FROM sources s
                 WHERE s.orphaned_at < $1 - make_interval(days => $2)
                   AND NOT EXISTS (SELECT 1 FROM trackers t WHERE t.source_id = s.id)
                 LIMIT 20
             )",
        )
        .bind(now)
        .bind(ORPHAN_DAYS)
        .execute(pool)
        .await?
        .rows_affected();
        deleted += batch;
        if batch < 20 {
            return Ok(deleted);
        }
    }
}

/// Records the first sample of a source right after it was added: now, outside the
/// schedule; a new source is then due one interval later.
pub async fn record_first_sample(
    connection: &mut PgConnection,
    source_id: i64,
    readings: &Readings,
) -> Result<(), sqlx::Error> {
    let ids: std::collections::HashMap<String, i32> = sqlx::query_as::<_, (String, i32)>(
        "SELECT name, id FROM source_metrics WHERE source_id = $1",
    )
    .bind(source_id)
    .fetch_all(&mut *connection)
    .await?
    .into_iter()
    .collect();
    let now = chrono::DurationRound::duration_trunc(Utc::now(), chrono::TimeDelta::seconds(1))
        .unwrap_or_else(|_| Utc::now());
    let samples: Vec<Sample> = readings
        .values
        .iter()
        .filter(|(_, value)| value.is_finite())
        .filter_map(|(name, value)| {
            Some(Sample {
                metric_id: *ids.get(name)?,
                t: now,
                value: *value,
            })
        })
        .collect();
    write_samples(&mut *connection, &samples).await?;
    sqlx::query(
        "UPDATE sources SET
             last_poll_at = now(), last_success_at = now(), consecutive_failures = 0,
             state = CASE WHEN state = 'backing_off' THEN 'ok' ELSE state END,
             next_poll_at = CASE
                 WHEN next_poll_at IS NOT NULL AND last_poll_at IS NULL AND leased_until IS NULL
                 THEN now() + make_interval(secs => interval_secs * (0.9 + random() * 0.2))
                 ELSE next_poll_at END
         WHERE id = $1",
    )
    .bind(source_id)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// A row of `upcount admin schedule-dump` (and of `schedule-load`, which reads the
/// fields it restores and ignores the rest).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ScheduleEntry {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub state: String,
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
    let rows = sqlx::query(
        "SELECT s.id, s.kind, s.key, s.state, s.interval_secs, s.next_poll_at, s.leased_until,
                s.consecutive_failures, s.last_success_at, s.last_error, s.paused_by_admin,
                count(t.id) AS trackers,
                count(t.id) FILTER (WHERE NOT t.paused AND (t.ends_at IS NULL OR t.ends_at > now()))
                    AS active_trackers
         FROM sources s LEFT JOIN trackers t ON t.source_id = s.id
         GROUP BY s.id ORDER BY s.next_poll_at NULLS LAST, s.id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ScheduleEntry {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                key: row.try_get("key")?,
                state: row.try_get("state")?,
                interval_secs: row.try_get("interval_secs")?,
                next_poll_at: row.try_get("next_poll_at")?,
                leased_until: row.try_get("leased_until")?,
                consecutive_failures: row.try_get("consecutive_failures")?,
                last_success_at: row.try_get("last_success_at")?,
                last_error: row.try_get("last_error")?,
                trackers: row.try_get("trackers")?,
                active_trackers: row.try_get("active_trackers")?,
                paused_by_admin: row.try_get("paused_by_admin")?,
            })
        })
        .collect()
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
        let changed = sqlx::query(
            "UPDATE sources SET state = $3, interval_secs = $4, next_poll_at = $5,
                    consecutive_failures = $6, paused_by_admin = $7, leased_until = NULL
             WHERE kind = $1 AND key = $2",
        )
        .bind(&entry.kind)
        .bind(&entry.key)
        .bind(&entry.state)
        .bind(entry.interval_secs)
        .bind(entry.next_poll_at)
        .bind(entry.consecutive_failures)
        .bind(entry.paused_by_admin)
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
    let row = sqlx::query(
        "SELECT count(*) AS due,
                coalesce(extract(epoch FROM now() - min(next_poll_at))::float8, 0) AS age
         FROM sources WHERE next_poll_at <= now()",
    )
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("due")?, row.try_get("age")?))
}

/// Something that happened to a tracker or its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// `added`, `paused`, `resumed`, `interval`, `failing`, `recovered` or `gone`.
    pub kind: String,
    pub detail: Option<String>,
}

/// The events of tracker `tracker_id` and of its source from `from` to `to`, oldest first:
/// the source's only since the tracker was added. At most 200, the latest.
pub async fn events(
    pool: &PgPool,
    tracker: &TrackerView,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Event>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT at, kind, detail FROM (
             SELECT at, kind, detail FROM tracker_events
             WHERE tracker_id = $1 AND at >= $3 AND at <= $4
             UNION ALL
             SELECT at, kind, detail FROM source_events
             WHERE source_id = $2 AND at >= greatest($3, $5) AND at <= $4
             ORDER BY at DESC LIMIT 200
         ) AS e ORDER BY at",
    )
    .bind(tracker.id)
    .bind(tracker.source.id)
    .bind(from)
    .bind(to)
    .bind(tracker.created_at)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Event {
                at: row.try_get("at")?,
                kind: row.try_get("kind")?,
                detail: row.try_get("detail")?,
            })
        })
        .collect()
}

/// Rows one statement of [`prune_raw_samples`] deletes at most.
const PRUNE_BATCH: i64 = 10_000;

/// Deletes raw samples older than the plans allow: for each metric, the longest raw
/// retention among the plans of the workspaces tracking its source. The rollups stay, so
/// long ranges still chart. Sources nobody tracks keep their samples (they may be tracked
/// again). Deletes in batches, so no statement holds locks for long. Returns how many.
pub async fn prune_raw_samples(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    // A workspace whose plan's retention shrank keeps the old one until
    // `retention_kept_until` (see `billing::store::apply_plan`).
    let cutoffs: Vec<(i32, DateTime<Utc>)> = sqlx::query_as(
        "SELECT m.id, $1 - make_interval(days => max(greatest(
                    p.raw_retention_days,
                    CASE WHEN w.retention_kept_until > $1 THEN w.retention_kept_days END)))
         FROM source_metrics m
         JOIN trackers t ON t.source_id = m.source_id
         JOIN workspaces w ON w.id = t.workspace_id
         JOIN plans p ON p.id = w.plan_id
         GROUP BY m.id",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    let mut deleted = 0;
    for (metric_id, cutoff) in cutoffs {
        loop {
            let batch = sqlx::query(
                "DELETE FROM samples WHERE metric_id = $1 AND t IN (
                     SELECT t FROM samples WHERE metric_id = $1 AND t < $2 ORDER BY t LIMIT $3
                 )",
            )
            .bind(metric_id)
            .bind(cutoff)
            .bind(PRUNE_BATCH)
            .execute(pool)
            .await?
            .rows_affected();
            deleted += batch;
            if batch < PRUNE_BATCH as u64 {
                break;
            }
        }
    }
    Ok(deleted)
}
