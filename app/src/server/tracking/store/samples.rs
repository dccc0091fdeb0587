//! Samples and their rollups: writing polls' values, pruning raw samples past their
//! plans' retention.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};

use crate::domain::{MetricId, SourceId};
use crate::server::db::batches::delete_in_batches;

/// When the metric's first sample was taken.
pub async fn first_sample_at(
    pool: &PgPool,
    metric_id: MetricId,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT t FROM samples WHERE metric_id = $1 ORDER BY t LIMIT 1",
        metric_id as MetricId,
    )
    .fetch_optional(pool)
    .await
}

/// One sample to write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub metric_id: MetricId,
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
    let input = WriteInput {
        metric_ids: samples.iter().map(|sample| sample.metric_id).collect(),
        times: samples.iter().map(|sample| sample.t).collect(),
        values: samples.iter().map(|sample| sample.value).collect(),
        ..WriteInput::default()
    };
    write(executor, &input).await
}

/// One value read for metric `metric` of source `source_id`, to write without looking
/// the metric's id up first.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSample {
    pub source_id: SourceId,
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
    let input = WriteInput {
        source_ids: samples.iter().map(|sample| sample.source_id).collect(),
        names: samples.iter().map(|sample| sample.metric.clone()).collect(),
        named_times: samples.iter().map(|sample| sample.t).collect(),
        named_values: samples.iter().map(|sample| sample.value).collect(),
        ..WriteInput::default()
    };
    write(executor, &input).await
}

/// The columns of the write statement: samples by metric id, samples by source and
/// metric name, or both.
#[derive(Default)]
struct WriteInput {
    metric_ids: Vec<MetricId>,
    times: Vec<DateTime<Utc>>,
    values: Vec<f64>,
    source_ids: Vec<SourceId>,
    names: Vec<String>,
    named_times: Vec<DateTime<Utc>>,
    named_values: Vec<f64>,
}

/// Writes the samples, their rollups (buckets starting at 2000-01-01 UTC: sums and counts
/// add up, min, max and last merge) and each metric's latest value, in one statement;
/// the count of new samples.
async fn write(executor: impl PgExecutor<'_>, input: &WriteInput) -> Result<u64, sqlx::Error> {
    let written = sqlx::query_scalar!(
        r#"WITH input AS (
               SELECT DISTINCT ON (metric_id, t) metric_id, t, value FROM (
                   SELECT i.metric_id, i.t, i.value
                   FROM unnest($1::integer[], $2::timestamptz[], $3::float8[])
                        AS i(metric_id, t, value)
                   UNION ALL
                   SELECT m.id, i.t, i.value
                   FROM unnest($4::bigint[], $5::text[], $6::timestamptz[], $7::float8[])
                        AS i(source_id, name, t, value)
                   JOIN source_metrics m ON m.source_id = i.source_id AND m.name = i.name
               ) AS given
           ),
           new AS (
               INSERT INTO samples (metric_id, t, value)
               SELECT metric_id, t, value FROM input
               ON CONFLICT (metric_id, t) DO NOTHING
               RETURNING metric_id, t, value
           ),
           hourly AS (
               INSERT INTO samples_hourly AS r (metric_id, bucket, min, max, sum, count, last, last_t)
               SELECT metric_id, date_bin('1 hour', t, timestamptz '2000-01-01 00:00:00+00'),
                      min(value), max(value), sum(value), count(*),
                      (array_agg(value ORDER BY t DESC))[1], max(t)
               FROM new GROUP BY 1, 2
               ON CONFLICT (metric_id, bucket) DO UPDATE SET
                   min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
                   sum = r.sum + excluded.sum, count = r.count + excluded.count,
                   last = CASE WHEN excluded.last_t >= r.last_t THEN excluded.last ELSE r.last END,
                   last_t = greatest(r.last_t, excluded.last_t)
           ),
           three_hourly AS (
               INSERT INTO samples_3h AS r (metric_id, bucket, min, max, sum, count, last, last_t)
               SELECT metric_id, date_bin('3 hours', t, timestamptz '2000-01-01 00:00:00+00'),
                      min(value), max(value), sum(value), count(*),
                      (array_agg(value ORDER BY t DESC))[1], max(t)
               FROM new GROUP BY 1, 2
               ON CONFLICT (metric_id, bucket) DO UPDATE SET
                   min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
                   sum = r.sum + excluded.sum, count = r.count + excluded.count,
                   last = CASE WHEN excluded.last_t >= r.last_t THEN excluded.last ELSE r.last END,
                   last_t = greatest(r.last_t, excluded.last_t)
           ),
           daily AS (
               INSERT INTO samples_daily AS r (metric_id, bucket, min, max, sum, count, last, last_t)
               SELECT metric_id, date_bin('1 day', t, timestamptz '2000-01-01 00:00:00+00'),
                      min(value), max(value), sum(value), count(*),
                      (array_agg(value ORDER BY t DESC))[1], max(t)
               FROM new GROUP BY 1, 2
               ON CONFLICT (metric_id, bucket) DO UPDATE SET
                   min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
                   sum = r.sum + excluded.sum, count = r.count + excluded.count,
                   last = CASE WHEN excluded.last_t >= r.last_t THEN excluded.last ELSE r.last END,
                   last_t = greatest(r.last_t, excluded.last_t)
           ),
           latest AS (
               UPDATE source_metrics m SET last_value = l.value, last_at = l.t
               FROM (SELECT DISTINCT ON (metric_id) metric_id, t, value
                     FROM new ORDER BY metric_id, t DESC) AS l
               WHERE m.id = l.metric_id AND (m.last_at IS NULL OR m.last_at <= l.t)
           )
           SELECT count(*) AS "count!" FROM new"#,
        &input.metric_ids as &[MetricId],
        &input.times,
        &input.values,
        &input.source_ids as &[SourceId],
        &input.names,
        &input.named_times,
        &input.named_values,
    )
    .fetch_one(executor)
    .await?;
    Ok(u64::try_from(written).unwrap_or(0))
}

/// Deletes raw samples older than the plans allow: for each metric, the longest raw
/// retention among the plans of the workspaces tracking its source. The rollups stay, so
/// long ranges still chart. Sources nobody tracks keep their samples (they may be tracked
/// again). Deletes in batches, so no statement holds locks for long. Returns how many.
pub async fn prune_raw_samples(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    // A workspace whose plan's retention shrank keeps the old one until
    // `retention_kept_until` (see `billing::store::apply_plan`).
    let cutoffs = sqlx::query!(
        r#"SELECT m.id AS "id: MetricId", $1::timestamptz - make_interval(days => max(greatest(
                    p.raw_retention_days,
                    CASE WHEN w.retention_kept_until > $1 THEN w.retention_kept_days END)))
                    AS "cutoff!"
         FROM source_metrics m
         JOIN trackers t ON t.source_id = m.source_id
         JOIN workspaces w ON w.id = t.workspace_id
         JOIN plans p ON p.id = w.plan_id
         GROUP BY m.id"#,
        now,
    )
    .fetch_all(pool)
    .await?;
    let mut deleted = 0;
    for row in cutoffs {
        let (metric_id, cutoff) = (row.id, row.cutoff);
        deleted += delete_in_batches(|batch| async move {
            Ok(sqlx::query!(
                "DELETE FROM samples WHERE metric_id = $1 AND t IN (
                     SELECT t FROM samples WHERE metric_id = $1 AND t < $2 ORDER BY t LIMIT $3
                 )",
                metric_id as MetricId,
                cutoff,
                batch,
            )
            .execute(pool)
            .await?
            .rows_affected())
        })
        .await?;
    }
    Ok(deleted)
}
