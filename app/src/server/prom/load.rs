//! Reading what a query needs from the database: the workspace's series with their labels
//! (one query), then, for each series a selector picks, its points over the time the
//! query reaches back to, from raw samples or the rollups exactly as charts read them
//! ([`crate::server::tracking::series`]).

use sqlx::PgPool;

use super::eval::{Labels, NAME, Reach, Sample, Series, selects};
use crate::{
    domain::{MetricId, WorkspaceId, exported_labels::exported_labels},
    server::tracking::series,
};

/// The metric name every series of Upcount's has.
pub const METRIC: &str = "upcount_value";

/// A read slower than this is logged, with what it read.
const SLOW: std::time::Duration = std::time::Duration::from_secs(1);

/// An instant selector looks back at least this far for a series' newest sample.
const MIN_LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// One of the workspace's series, before its points are read.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesInfo {
    pub metric_id: MetricId,
    pub labels: Labels,
    /// Twice its tracker's poll interval, and at least five minutes.
    pub lookback_ms: i64,
}

/// Every series of `workspace`'s trackers: `upcount_value{tracker, label, kind, key,
/// metric}`.
pub async fn catalogue(
    pool: &PgPool,
    workspace: WorkspaceId,
) -> Result<Vec<SeriesInfo>, sqlx::Error> {
    let started = std::time::Instant::now();
    let rows = sqlx::query!(
        r#"SELECT m.id AS "metric_id: MetricId", t.id AS tracker, t.label, s.kind, s.key,
                  m.family AS "metric!", m.labels AS "labels: sqlx::types::Json<Labels>",
                  t.interval_secs
           FROM trackers t
           JOIN sources s ON s.id = t.source_id
           JOIN source_metrics m ON m.source_id = s.id
           WHERE t.workspace_id = $1
           ORDER BY t.created_at, t.id, m.position, m.id"#,
        workspace.uuid(),
    )
    .fetch_all(pool)
    .await?;
    if started.elapsed() > SLOW {
        tracing::warn!(
            elapsed_ms = started.elapsed().as_millis(),
            series = rows.len(),
            "a PromQL query's catalogue read was slow"
        );
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut labels: Labels = exported_labels(
                &row.tracker.to_string(),
                &row.label,
                &row.kind,
                &row.key,
                &row.metric,
                &row.labels.0,
            )
            .into_iter()
            .collect();
            labels.insert(NAME.to_string(), METRIC.to_string());
            SeriesInfo {
                metric_id: row.metric_id,
                labels,
                lookback_ms: (i64::from(row.interval_secs) * 2000).max(MIN_LOOKBACK_MS),
            }
        })
        .collect())
}

/// The series of `catalogue` that any of `reaches` picks, with their points from the
/// earliest instant a selector reaches back to before `start` up to `end` (milliseconds).
pub async fn points(
    pool: &PgPool,
    catalogue: &[SeriesInfo],
    reaches: &[Reach<'_>],
    start: i64,
    end: i64,
) -> Result<Vec<Series>, sqlx::Error> {
    let mut loaded = Vec::new();
    for info in catalogue {
        let picked = reaches
            .iter()
            .filter(|reach| selects(reach.selector, &info.labels));
        let Some(back) = picked.map(|reach| reach.back_ms(info.lookback_ms)).max() else {
            continue;
        };
        let (Some(from), Some(to)) = (
            chrono::DateTime::from_timestamp_millis(start.saturating_sub(back)),
            // Samples are stamped to the microsecond, queries to the millisecond: the
            // samples of `end`'s millisecond are in it.
            chrono::DateTime::from_timestamp_millis(end)
                .map(|end| end + chrono::TimeDelta::microseconds(999)),
        ) else {
            continue;
        };
        let started = std::time::Instant::now();
        let read = series::read(pool, info.metric_id, from, to, series::MAX_POINTS).await?;
        if started.elapsed() > SLOW {
            tracing::warn!(
                elapsed_ms = started.elapsed().as_millis(),
                metric = %info.metric_id,
                points = read.points.len(),
                "a PromQL query's series read was slow"
            );
        }
        let width_ms = read.bucket_secs.unwrap_or(0) * 1000;
        let to_ms = to.timestamp_millis();
        let samples = read
            .points
            .iter()
            .map(|point| {
                let count = point.count.max(1) as f64;
                Sample {
                    // A bucket's figures hold at its end (the last one's, at the newest
                    // sample it holds, no later than `end`).
                    t: (point.time.timestamp_millis() + width_ms).min(to_ms),
                    last: point.last,
                    min: point.min,
                    max: point.max,
                    sum: point.avg * count,
                    count,
                }
            })
            .collect();
        loaded.push(Series {
            labels: info.labels.clone(),
            lookback_ms: info.lookback_ms.max(width_ms),
            samples,
        });
    }
    Ok(loaded)
}
