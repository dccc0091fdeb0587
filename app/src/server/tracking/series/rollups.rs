//! Reading the rollup tables: rows of one width folded into wider buckets, and buckets of
//! local days from the hourly rows.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{Point, Resolution, Series, plan::ORIGIN_UNIX};
use crate::domain::MetricId;
use crate::domain::Origin;

/// A rollup row.
struct RollupRow {
    bucket: DateTime<Utc>,
    min: f64,
    max: f64,
    sum: f64,
    count: i64,
    last: f64,
}

/// The points of `resolution`'s rollup table for metric `metric_id` from `from` to `to`
/// in buckets `width` seconds wide (a multiple of the table's): the rows in order, straight
/// off the primary key, folded into wider buckets here, which is cheaper than grouping and
/// sorting them in PostgreSQL. None for a resolution without a rollup table.
pub(super) async fn points(
    pool: &PgPool,
    resolution: Resolution,
    metric_id: MetricId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    width: i64,
) -> Result<Vec<Point>, sqlx::Error> {
    let Some(table_secs) = resolution.rollup_secs() else {
        return Ok(Vec::new());
    };
    // One statement for the three tables: the selector `$4` leaves one branch of the
    // UNION ALL, and PostgreSQL drops the others before reading them.
    let rows = sqlx::query_as!(
        RollupRow,
        r#"SELECT bucket AS "bucket!", min AS "min!", max AS "max!", sum AS "sum!",
                  count AS "count!", last AS "last!"
           FROM (SELECT 3600 AS secs, metric_id, bucket, min, max, sum, count, last
                 FROM samples_hourly
                 UNION ALL
                 SELECT 10800, metric_id, bucket, min, max, sum, count, last FROM samples_3h
                 UNION ALL
                 SELECT 86400, metric_id, bucket, min, max, sum, count, last FROM samples_daily)
                AS r
           WHERE secs = $4::integer AND metric_id = $1
             AND bucket >= date_bin(make_interval(secs => $4), $2,
                                    timestamptz '2000-01-01 00:00:00+00')
             AND bucket <= $3
           ORDER BY bucket"#,
        metric_id as MetricId,
        from,
        to,
        table_secs as i32,
    )
    .fetch_all(pool)
    .await?;
    let mut folder = Folder::new(width);
    for row in rows {
        folder.add(row);
    }
    Ok(folder.finish())
}

/// Folds time-ordered rollup rows into buckets `width` seconds wide, aligned on the
/// origin: sums and counts add up, min and max merge, the last row's `last` wins.
struct Folder {
    width: i64,
    points: Vec<Point>,
    sum: f64,
}

impl Folder {
    fn new(width: i64) -> Self {
        Self {
            width: width.max(1),
            points: Vec::new(),
            sum: 0.0,
        }
    }

    fn add(&mut self, row: RollupRow) {
        let secs = row.bucket.timestamp() - ORIGIN_UNIX;
        let start = secs.div_euclid(self.width) * self.width + ORIGIN_UNIX;
        let time = DateTime::from_timestamp(start, 0).unwrap_or(row.bucket);
        match self.points.last_mut() {
            Some(point) if point.time == time => {
                point.min = point.min.min(row.min);
                point.max = point.max.max(row.max);
                point.count += row.count;
                point.last = row.last;
                self.sum += row.sum;
            }
            _ => {
                self.close();
                self.sum = row.sum;
                self.points.push(Point {
                    time,
                    avg: 0.0,
                    min: row.min,
                    max: row.max,
                    last: row.last,
                    count: row.count,
                    origin: Origin::Observed,
                });
            }
        }
    }

    /// Sets the open bucket's average.
    fn close(&mut self) {
        if let Some(point) = self.points.last_mut()
            && point.count > 0
        {
            point.avg = self.sum / point.count as f64;
        }
    }

    fn finish(mut self) -> Vec<Point> {
        self.close();
        self.points
    }
}

/// Buckets of `days` whole days starting at local midnights in `zone`, numbered from
/// 2000-01-01 there, from the hourly rollups: each hour counts in the local day it starts.
pub(super) async fn local_days(
    pool: &PgPool,
    metric_id: MetricId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    days: i64,
    zone: &str,
) -> Result<Series, sqlx::Error> {
    let points = sqlx::query_as!(
        Point,
        r#"WITH hours AS (
             SELECT (date_trunc('day', bucket, $4) AT TIME ZONE $4)::date - date '2000-01-01'
                        AS day_number,
                    sum, count, min, max, last, last_t
             FROM samples_hourly
             WHERE metric_id = $1 AND bucket >= date_trunc('day', $2, $4) AND bucket <= $3
         )
         SELECT (date '2000-01-01' + (floor(day_number::float8 / $5) * $5)::int)::timestamp
                    AT TIME ZONE $4 AS "time!",
                sum(sum) / sum(count) AS "avg!", min(min) AS "min!", max(max) AS "max!",
                (array_agg(last ORDER BY last_t DESC))[1] AS "last!",
                sum(count)::bigint AS "count!", 'observed' AS "origin!: Origin"
         FROM hours GROUP BY 1 ORDER BY 1"#,
        metric_id as MetricId,
        from,
        to,
        zone,
        days.max(1) as f64,
    )
    .fetch_all(pool)
    .await?;
    Ok(Series {
        resolution: Resolution::Daily,
        bucket_secs: Some(days.max(1) * 86_400),
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tracking::testing::at;
    use chrono::TimeDelta;

    #[test]
    fn rollup_rows_fold_into_wider_buckets() {
        let mut folder = Folder::new(3 * 3_600);
        // Hours 00, 01, 02 make one bucket; 03 and 05 the next.
        for (hour, (min, max, sum, count, last)) in [
            (0, (1.0, 3.0, 6.0, 3, 3.0)),
            (1, (0.5, 4.0, 4.0, 2, 2.0)),
            (2, (2.0, 2.0, 2.0, 1, 2.0)),
            (3, (7.0, 9.0, 16.0, 2, 9.0)),
            (5, (1.0, 1.0, 1.0, 1, 1.0)),
        ] {
            let bucket = at("2026-01-01T00:00:00Z") + TimeDelta::hours(hour);
            folder.add(RollupRow {
                bucket,
                min,
                max,
                sum,
                count,
                last,
            });
        }
        let points = folder.finish();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].time, at("2026-01-01T00:00:00Z"));
        assert_eq!(
            (points[0].min, points[0].max, points[0].count),
            (0.5, 4.0, 6)
        );
        assert_eq!((points[0].avg, points[0].last), (2.0, 2.0));
        assert_eq!(points[1].time, at("2026-01-01T03:00:00Z"));
        assert_eq!(
            (points[1].min, points[1].max, points[1].count),
            (1.0, 9.0, 3)
        );
        assert_eq!((points[1].avg, points[1].last), (17.0 / 3.0, 1.0));
    }
}
