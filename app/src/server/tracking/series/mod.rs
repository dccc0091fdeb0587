//! Reading a metric's time series as at most N points: raw samples when there are no more
//! than N in the range, else buckets of equal width with avg/min/max/last/count, read from
//! the daily, 3-hourly or hourly rollups when the buckets are that wide, so long ranges
//! never scan raw samples and read at most a few rollup rows per bucket. Buckets start at
//! multiples of their width from 2000-01-01 UTC; with a time zone, buckets of whole days
//! start at local midnights instead (read from the hourly rollups, so a day across a
//! daylight-saving change holds 23 or 25 hours). Choosing the width is [`plan()`]'s;
//! reading and folding rollup rows is the `rollups` module's.

mod plan;
mod rollups;
mod sum;

pub use plan::plan;
pub use sum::sum;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::domain::{MetricId, Origin};

/// The most points one request may ask for.
pub const MAX_POINTS: i64 = 10_000;

/// The times a range may name: years 1 to 9999. Beyond them date arithmetic overflows
/// (chrono ends at ±262,143) and PostgreSQL cannot store them.
pub fn check_time(name: &str, time: DateTime<Utc>) -> Result<(), String> {
    use chrono::Datelike;
    if (1..=9999).contains(&time.year()) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is out of range: times must fall in the years 1 to 9999, not {}",
            time.year()
        ))
    }
}

/// One point: a raw sample (count 1, all values equal) or a bucket starting at `time`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Point {
    pub time: DateTime<Utc>,
    pub avg: f64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    pub count: i64,
    /// `upstream` when every sample in it came from the upstream's history (a backfill),
    /// else `observed`.
    #[schema(value_type = String)]
    pub origin: Origin,
}

/// Marks the points that lie wholly before `before` (the source's backfill boundary, when
/// it has one) as coming from the upstream's history; `width` is the buckets' (0 for raw
/// samples).
fn mark_origins(points: &mut [Point], width: i64, before: Option<DateTime<Utc>>) {
    let Some(before) = before else {
        return;
    };
    for point in points {
        let upstream = if width == 0 {
            point.time < before
        } else {
            point.time + chrono::Duration::seconds(width) <= before
        };
        if upstream {
            point.origin = Origin::Upstream;
        }
    }
}

/// Where the points came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    Raw,
    Samples,
    Hourly,
    #[serde(rename = "3-hourly")]
    ThreeHourly,
    Daily,
}

impl Resolution {
    /// The bucket width in seconds of this resolution's rollup table; `None` when it is
    /// read from the raw samples.
    fn rollup_secs(self) -> Option<i64> {
        match self {
            Resolution::Hourly => Some(3_600),
            Resolution::ThreeHourly => Some(10_800),
            Resolution::Daily => Some(86_400),
            Resolution::Raw | Resolution::Samples => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub resolution: Resolution,
    /// The bucket width; `None` for raw points.
    pub bucket_secs: Option<i64>,
    pub points: Vec<Point>,
}

/// The series of metric `metric_id` from `from` to `to` (inclusive) in at most `points`
/// points, with UTC buckets.
pub async fn read(
    pool: &PgPool,
    metric_id: MetricId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    points: i64,
) -> Result<Series, sqlx::Error> {
    read_in_zone(pool, metric_id, from, to, points, None).await
}

/// The time zones PostgreSQL knows, by name and abbreviation, lowercase (it matches
/// them ignoring case). Read once per process: checking a zone costs no round trip.
static ZONES: tokio::sync::OnceCell<std::collections::HashSet<String>> =
    tokio::sync::OnceCell::const_new();

/// Whether PostgreSQL knows the time zone `zone` (an IANA name such as `Europe/Berlin`, or
/// an abbreviation such as `CET`).
pub async fn zone_exists(pool: &PgPool, zone: &str) -> Result<bool, sqlx::Error> {
    let zones = ZONES
        .get_or_try_init(|| async {
            let names = sqlx::query_scalar!(
                r#"SELECT lower(name) AS "name!" FROM pg_timezone_names
                   UNION SELECT lower(abbrev) FROM pg_timezone_abbrevs"#
            )
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>(names.into_iter().collect())
        })
        .await?;
    Ok(zones.contains(&zone.to_lowercase()))
}

/// As [`read`], with buckets of whole days starting at midnight in `zone` (an IANA name
/// PostgreSQL knows; check it with [`zone_exists`]) when one is given.
pub async fn read_in_zone(
    pool: &PgPool,
    metric_id: MetricId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    points: i64,
    zone: Option<&str>,
) -> Result<Series, sqlx::Error> {
    let read = read_range(pool, metric_id, Some(from), to, points, zone).await?;
    Ok(read.map(|(_, series)| series).unwrap_or(Series {
        resolution: Resolution::Raw,
        bucket_secs: None,
        points: Vec::new(),
    }))
}

/// The sum of the series of `metric_ids` from `from` to `to`, each read as [`read_in_zone`]
/// reads it (see [`sum()`]).
pub async fn read_sum_in_zone(
    pool: &PgPool,
    metric_ids: &[MetricId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    points: i64,
    zone: Option<&str>,
) -> Result<Series, sqlx::Error> {
    if let [only] = metric_ids {
        return read_in_zone(pool, *only, from, to, points, zone).await;
    }
    let mut members = Vec::with_capacity(metric_ids.len());
    for &metric_id in metric_ids {
        members.push(read_in_zone(pool, metric_id, from, to, points, zone).await?);
    }
    Ok(sum(members))
}

/// As [`read_sum_in_zone`] in UTC, from the first raw sample of any of `metric_ids`: that
/// time and the sum, or `None` when none has a sample.
pub async fn read_sum_from_first(
    pool: &PgPool,
    metric_ids: &[MetricId],
    to: DateTime<Utc>,
    points: i64,
) -> Result<Option<(DateTime<Utc>, Series)>, sqlx::Error> {
    if let [only] = metric_ids {
        return read_from_first(pool, *only, to, points).await;
    }
    let first = sqlx::query_scalar!(
        "SELECT min(t) FROM samples WHERE metric_id = ANY($1)",
        metric_ids as &[MetricId],
    )
    .fetch_one(pool)
    .await?;
    match first {
        None => Ok(None),
        Some(first) => Ok(Some((
            first,
            read_sum_in_zone(pool, metric_ids, first, to, points, None).await?,
        ))),
    }
}

/// As [`read`], from the metric's first raw sample: that time and the series, or `None`
/// when the metric has no sample. The first sample is found by the same query that counts
/// the range.
pub async fn read_from_first(
    pool: &PgPool,
    metric_id: MetricId,
    to: DateTime<Utc>,
    points: i64,
) -> Result<Option<(DateTime<Utc>, Series)>, sqlx::Error> {
    read_range(pool, metric_id, None, to, points, None).await
}

/// The series from `from` (the metric's first raw sample when `None`) to `to` and that
/// start; `None` when `from` is `None` and the metric has no sample. Two queries: one
/// counts, the other reads.
async fn read_range(
    pool: &PgPool,
    metric_id: MetricId,
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
    points: i64,
    zone: Option<&str>,
) -> Result<Option<(DateTime<Utc>, Series)>, sqlx::Error> {
    let points = points.clamp(1, MAX_POINTS);
    // Counting stops at points + 1: cheap however many samples the range holds. Raw
    // samples older than the plan's retention are deleted (rollups stay): a range reaching
    // back there is read from the rollups, an hour at least. It does, when its first
    // hourly rollup lies wholly before the metric's oldest raw sample (two index probes).
    let known = sqlx::query!(
        r#"WITH bounds AS (
               SELECT coalesce($2::timestamptz,
                               (SELECT min(t) FROM samples WHERE metric_id = $1)) AS from_t
           )
           SELECT b.from_t AS "from_t?",
               (SELECT count(*) FROM (SELECT 1 FROM samples
                                      WHERE metric_id = $1 AND t >= b.from_t AND t <= $3
                                      LIMIT $4) AS x)
                   AS "count!",
               coalesce((SELECT min(bucket) FROM samples_hourly
                         WHERE metric_id = $1
                           AND bucket >= date_bin('1 hour', b.from_t,
                                                  timestamptz '2000-01-01 00:00:00+00')
                           AND bucket <= $3) + interval '1 hour'
                        <= coalesce((SELECT min(t) FROM samples WHERE metric_id = $1), 'infinity'),
                        false) AS "pruned!",
               (SELECT sb.before FROM source_backfills sb
                JOIN source_metrics m ON m.source_id = sb.source_id
                WHERE m.id = $1 AND sb.points > 0) AS "history_before?"
           FROM bounds b"#,
        metric_id as MetricId,
        from,
        to,
        points + 1,
    )
    .fetch_one(pool)
    .await?;
    let Some(from) = known.from_t else {
        return Ok(None);
    };
    let (pruned, before) = (known.pruned, known.history_before);
    if known.count <= points && !pruned {
        let mut points: Vec<Point> = sqlx::query!(
            "SELECT t, value FROM samples WHERE metric_id = $1 AND t >= $2 AND t <= $3 ORDER BY t",
            metric_id as MetricId,
            from,
            to,
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|row| Point {
            time: row.t,
            avg: row.value,
            min: row.value,
            max: row.value,
            last: row.value,
            count: 1,
            origin: Origin::Observed,
        })
        .collect();
        mark_origins(&mut points, 0, before);
        return Ok(Some((
            from,
            Series {
                resolution: Resolution::Raw,
                bucket_secs: None,
                points,
            },
        )));
    }

    // Local days may straddle one more bucket than UTC ones: plan for one point fewer.
    if let Some(zone) = zone.filter(|zone| *zone != "UTC")
        && let (width, Resolution::Daily) = plan(from, to, (points - 1).max(1))
    {
        let mut series =
            rollups::local_days(pool, metric_id, from, to, width / 86_400, zone).await?;
        // Local days are a day wide, give or take an hour of daylight saving.
        mark_origins(&mut series.points, width + 3_600, before);
        return Ok(Some((from, series)));
    }
    let (width, resolution) = match plan(from, to, points) {
        (width, Resolution::Samples | Resolution::Raw) if pruned => {
            ((width + 3_599) / 3_600 * 3_600, Resolution::Hourly)
        }
        planned => planned,
    };
    let mut points = if resolution.rollup_secs().is_some() {
        rollups::points(pool, resolution, metric_id, from, to, width).await?
    } else {
        sqlx::query_as!(
            Point,
            r#"SELECT date_bin(make_interval(secs => $4), t, timestamptz '2000-01-01 00:00:00+00')
                          AS "time!",
                      avg(value) AS "avg!", min(value) AS "min!", max(value) AS "max!",
                      (array_agg(value ORDER BY t DESC))[1] AS "last!", count(*) AS "count!",
                      'observed' AS "origin!: Origin"
               FROM samples
               WHERE metric_id = $1 AND t >= $2 AND t <= $3
               GROUP BY 1 ORDER BY 1"#,
            metric_id as MetricId,
            from,
            to,
            width as f64,
        )
        .fetch_all(pool)
        .await?
    };
    mark_origins(&mut points, width, before);
    Ok(Some((
        from,
        Series {
            resolution,
            bucket_secs: Some(width),
            points,
        },
    )))
}

/// The change of a metric since `at`: `latest` minus the last value recorded at or before
/// `at` among `points` (time-ordered), absolute and in percent (no percent from zero).
/// `None` when nothing was recorded that early.
pub fn change_since(
    points: &[(DateTime<Utc>, f64)],
    latest: f64,
    at: DateTime<Utc>,
) -> Option<(f64, Option<f64>)> {
    let base = points
        .iter()
        .take_while(|(time, _)| *time <= at)
        .last()
        .map(|(_, value)| *value)?;
    let absolute = latest - base;
    let percent = (base != 0.0).then(|| absolute / base.abs() * 100.0);
    Some((absolute, percent))
}

/// The last value of each hour of each metric since `since`, time-ordered, from the hourly
/// rollups (at most 24 a day a metric, however often it is polled).
pub async fn hourly_lasts(
    pool: &PgPool,
    metric_ids: &[MetricId],
    since: DateTime<Utc>,
) -> Result<std::collections::HashMap<MetricId, Vec<(DateTime<Utc>, f64)>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT metric_id AS "metric_id: MetricId", last_t, last FROM samples_hourly
         WHERE metric_id = ANY($1) AND bucket >= $2
         ORDER BY metric_id, bucket"#,
        metric_ids as &[MetricId],
        since,
    )
    .fetch_all(pool)
    .await?;
    let mut out: std::collections::HashMap<MetricId, Vec<(DateTime<Utc>, f64)>> =
        std::collections::HashMap::new();
    for row in rows {
        out.entry(row.metric_id)
            .or_default()
            .push((row.last_t, row.last));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tracking::testing::at;

    #[test]
    fn changes_need_a_value_that_old() {
        let points = vec![
            (at("2026-03-01T00:00:00Z"), 100.0),
            (at("2026-03-01T12:00:00Z"), 150.0),
            (at("2026-03-02T00:00:00Z"), 200.0),
        ];
        assert_eq!(
            change_since(&points, 220.0, at("2026-03-01T12:30:00Z")),
            Some((70.0, Some(70.0 / 150.0 * 100.0)))
        );
        assert_eq!(
            change_since(&points, 220.0, at("2026-02-28T00:00:00Z")),
            None
        );
        let zero = vec![(at("2026-03-01T00:00:00Z"), 0.0)];
        assert_eq!(
            change_since(&zero, 5.0, at("2026-03-02T00:00:00Z")),
            Some((5.0, None))
        );
    }
}
