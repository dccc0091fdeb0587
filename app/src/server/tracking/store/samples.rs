//! Samples and their rollups: writing polls' values, reading recent ones, pruning raw
//! samples past their plans' retention.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool, Row};

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

/// One value read for metric `metric` of source `source_id`, to write without looking
/// the metric's id up first.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSample {
    pub source_id: i64,
    pub metric: String,
    pub t: DateTime<Utc>,
    pub value: f64,
}

/// [`write_samples`] for values known by source and metric name: the metric ids are
/// found in the same statement. A name the source has no metric for is skipped.
pub async fn write_named_samples(
    executor: impl PgExecutor<'_>,
    samples: &[NamedSample],
) -> Result<u64, sqlx::Error> {
    if samples.is_empty() {
        return Ok(0);
    }
    let source_ids: Vec<i64> = samples.iter().map(|sample| sample.source_id).collect();
    let names: Vec<&str> = samples
        .iter()
        .map(|sample| sample.metric.as_str())
        .collect();
    let times: Vec<DateTime<Utc>> = samples.iter().map(|sample| sample.t).collect();
    let values: Vec<f64> = samples.iter().map(|sample| sample.value).collect();
    let written: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(WRITE_NAMED_SAMPLES.as_str()))
        .bind(&source_ids)
        .bind(&names)
        .bind(&times)
        .bind(&values)
        .fetch_one(executor)
        .await?;
    Ok(u64::try_from(written).unwrap_or(0))
}

/// The statement of [`write_samples`]: samples, the rollups, latest values.
static WRITE_SAMPLES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    write_statement(
        "SELECT DISTINCT ON (metric_id, t) metric_id, t, value
         FROM unnest($1::integer[], $2::timestamptz[], $3::float8[]) AS i(metric_id, t, value)",
    )
});

/// The statement of [`write_named_samples`]: the same, metric ids joined in.
static WRITE_NAMED_SAMPLES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    write_statement(
        "SELECT DISTINCT ON (m.id, i.t) m.id AS metric_id, i.t, i.value
         FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::float8[])
              AS i(source_id, name, t, value)
         JOIN source_metrics m ON m.source_id = i.source_id AND m.name = i.name",
    )
});

/// Writes the rows `input` selects (`metric_id, t, value`), their rollups and each
/// metric's latest value, in one statement; the count of new samples.
fn write_statement(input: &str) -> String {
    format!(
        "WITH input AS ({input}),
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
}

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
