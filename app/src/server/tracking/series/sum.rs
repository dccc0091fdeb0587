//! The sum of several series, as a tracker page shows a pushed metric "summed across" one
//! label (`signups` of every `plan`). Each member is a step function: between its samples
//! it keeps its last value, so the sum at any time adds every member's latest value, as
//! PromQL's `sum` does over instant vectors. Members read as buckets are summed bucket by
//! bucket (a member with nothing in a bucket adds the value it held before it); members
//! read as raw samples are summed at each time any of them has a sample.

use chrono::{DateTime, Utc};

use super::{Point, Resolution, Series};
use crate::domain::Origin;

/// Buckets start at multiples of their width from this instant (as the reads bin them).
const BUCKET_ORIGIN_SECS: i64 = 946_684_800; // 2000-01-01T00:00:00Z

/// The sum of `members`, read over the same range.
pub fn sum(members: Vec<Series>) -> Series {
    // The coarsest member decides the buckets; all raw: the sum is raw too.
    let coarsest = members
        .iter()
        .filter_map(|series| series.bucket_secs.map(|width| (width, series.resolution)))
        .max_by_key(|(width, _)| *width);
    match coarsest {
        None => Series {
            resolution: Resolution::Raw,
            bucket_secs: None,
            points: sum_raw(&members),
        },
        Some((width, resolution)) => Series {
            resolution,
            bucket_secs: Some(width),
            points: sum_buckets(&members, width),
        },
    }
}

/// Every member's samples are raw: at each time one of them has a sample, the sum of
/// each member's value at or before it.
fn sum_raw(members: &[Series]) -> Vec<Point> {
    let mut times: Vec<DateTime<Utc>> = members
        .iter()
        .flat_map(|series| series.points.iter().map(|point| point.time))
        .collect();
    times.sort();
    times.dedup();
    let mut cursors = vec![0usize; members.len()];
    let mut held: Vec<Option<(f64, Origin)>> = vec![None; members.len()];
    times
        .into_iter()
        .map(|time| {
            let mut total = 0.0;
            let mut count = 0;
            let mut upstream = true;
            for (index, series) in members.iter().enumerate() {
                while let Some(point) = series.points.get(cursors[index])
                    && point.time <= time
                {
                    if point.time == time {
                        count += 1;
                    }
                    held[index] = Some((point.last, point.origin));
                    cursors[index] += 1;
                }
                if let Some((value, origin)) = held[index] {
                    total += value;
                    upstream &= origin == Origin::Upstream;
                }
            }
            Point {
                time,
                avg: total,
                min: total,
                max: total,
                last: total,
                count,
                origin: if upstream {
                    Origin::Upstream
                } else {
                    Origin::Observed
                },
            }
        })
        .collect()
}

/// What one member holds in one bucket.
#[derive(Clone, Copy)]
struct Cell {
    avg: f64,
    min: f64,
    max: f64,
    last: f64,
    count: i64,
    origin: Origin,
}

impl Cell {
    /// Folds a point into the cell (points come in time order).
    fn add(&mut self, point: &Point) {
        let weight = |count: i64| count.max(1) as f64;
        let (before, added) = (weight(self.count), weight(point.count));
        self.avg = (self.avg * before + point.avg * added) / (before + added);
        self.min = self.min.min(point.min);
        self.max = self.max.max(point.max);
        self.last = point.last;
        self.count += point.count.max(1);
        if point.origin == Origin::Observed {
            self.origin = Origin::Observed;
        }
    }

    fn of(point: &Point) -> Self {
        Cell {
            avg: point.avg,
            min: point.min,
            max: point.max,
            last: point.last,
            count: point.count.max(1),
            origin: point.origin,
        }
    }
}

/// Buckets `width` seconds wide. The buckets are the ones the bucketed members start
/// (which are local days when they were read in a time zone); a raw member's sample falls
/// in the last of them starting at or before it, or its own UTC bucket before the first.
fn sum_buckets(members: &[Series], width: i64) -> Vec<Point> {
    let mut starts: Vec<DateTime<Utc>> = members
        .iter()
        .filter(|series| series.bucket_secs == Some(width))
        .flat_map(|series| series.points.iter().map(|point| point.time))
        .collect();
    starts.sort();
    starts.dedup();
    let bucket_of = |time: DateTime<Utc>| match starts.partition_point(|start| *start <= time) {
        0 => utc_bucket(time, width),
        after => starts[after - 1],
    };
    // Each member's cells, in time order.
    let cells: Vec<Vec<(DateTime<Utc>, Cell)>> = members
        .iter()
        .map(|series| {
            let mut cells: Vec<(DateTime<Utc>, Cell)> = Vec::new();
            for point in &series.points {
                let bucket = bucket_of(point.time);
                match cells.last_mut() {
                    Some((last, cell)) if *last == bucket => cell.add(point),
                    _ => cells.push((bucket, Cell::of(point))),
                }
            }
            cells
        })
        .collect();
    let mut buckets: Vec<DateTime<Utc>> = cells
        .iter()
        .flat_map(|cells| cells.iter().map(|(bucket, _)| *bucket))
        .collect();
    buckets.sort();
    buckets.dedup();
    let mut cursors = vec![0usize; members.len()];
    let mut held: Vec<Option<f64>> = vec![None; members.len()];
    buckets
        .into_iter()
        .map(|bucket| {
            let mut point = Point {
                time: bucket,
                avg: 0.0,
                min: 0.0,
                max: 0.0,
                last: 0.0,
                count: 0,
                origin: Origin::Upstream,
            };
            for (index, cells) in cells.iter().enumerate() {
                match cells.get(cursors[index]) {
                    Some((at, cell)) if *at == bucket => {
                        point.avg += cell.avg;
                        point.min += cell.min;
                        point.max += cell.max;
                        point.last += cell.last;
                        point.count += cell.count;
                        if cell.origin == Origin::Observed {
                            point.origin = Origin::Observed;
                        }
                        held[index] = Some(cell.last);
                        cursors[index] += 1;
                    }
                    // Nothing new in this bucket: it still holds its last value.
                    _ => {
                        if let Some(value) = held[index] {
                            point.avg += value;
                            point.min += value;
                            point.max += value;
                            point.last += value;
                        }
                    }
                }
            }
            point
        })
        .collect()
}

/// The UTC bucket `width` seconds wide that `time` falls in.
fn utc_bucket(time: DateTime<Utc>, width: i64) -> DateTime<Utc> {
    let width = width.max(1);
    let since = time.timestamp() - BUCKET_ORIGIN_SECS;
    DateTime::from_timestamp(BUCKET_ORIGIN_SECS + since.div_euclid(width) * width, 0)
        .unwrap_or(time)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::{Point, Resolution, Series, sum};
    use crate::domain::Origin;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, minute, 0)
            .single()
            .expect("a time")
    }

    fn raw(points: &[(DateTime<Utc>, f64)]) -> Series {
        Series {
            resolution: Resolution::Raw,
            bucket_secs: None,
            points: points
                .iter()
                .map(|&(time, value)| Point {
                    time,
                    avg: value,
                    min: value,
                    max: value,
                    last: value,
                    count: 1,
                    origin: Origin::Observed,
                })
                .collect(),
        }
    }

    fn bucket(time: DateTime<Utc>, avg: f64, min: f64, max: f64, last: f64, count: i64) -> Point {
        Point {
            time,
            avg,
            min,
            max,
            last,
            count,
            origin: Origin::Observed,
        }
    }

    fn hourly(points: Vec<Point>) -> Series {
        Series {
            resolution: Resolution::Hourly,
            bucket_secs: Some(3_600),
            points,
        }
    }

    fn values(series: &Series) -> Vec<(DateTime<Utc>, f64, i64)> {
        series
            .points
            .iter()
            .map(|point| (point.time, point.last, point.count))
            .collect()
    }

    #[test]
    fn raw_members_add_their_latest_values_at_every_time_one_of_them_changes() {
        let pro = raw(&[(at(10, 0), 3.0), (at(10, 20), 5.0)]);
        let free = raw(&[(at(10, 10), 10.0), (at(10, 20), 12.0), (at(10, 30), 11.0)]);
        let summed = sum(vec![pro, free]);
        assert_eq!(summed.bucket_secs, None);
        assert_eq!(
            values(&summed),
            [
                // Only `pro` has a value yet.
                (at(10, 0), 3.0, 1),
                (at(10, 10), 13.0, 1),
                (at(10, 20), 17.0, 2),
                // `pro` still holds 5.
                (at(10, 30), 16.0, 1),
            ]
        );
    }

    #[test]
    fn buckets_add_bucket_by_bucket_and_a_quiet_member_adds_what_it_held() {
        let pro = hourly(vec![
            bucket(at(10, 0), 2.0, 1.0, 3.0, 3.0, 2),
            bucket(at(12, 0), 4.0, 4.0, 4.0, 4.0, 1),
        ]);
        let free = hourly(vec![
            bucket(at(10, 0), 10.0, 10.0, 10.0, 10.0, 1),
            bucket(at(11, 0), 20.0, 15.0, 25.0, 25.0, 3),
            bucket(at(12, 0), 30.0, 30.0, 30.0, 30.0, 1),
        ]);
        let summed = sum(vec![pro, free]);
        assert_eq!(summed.bucket_secs, Some(3_600));
        assert_eq!(summed.resolution, Resolution::Hourly);
        let points = &summed.points;
        assert_eq!(points.len(), 3);
        assert_eq!(points[0], bucket(at(10, 0), 12.0, 11.0, 13.0, 13.0, 3));
        // `pro` had nothing from 11:00: it adds its 3 to every figure.
        assert_eq!(points[1], bucket(at(11, 0), 23.0, 18.0, 28.0, 28.0, 3));
        assert_eq!(points[2], bucket(at(12, 0), 34.0, 34.0, 34.0, 34.0, 2));
    }

    #[test]
    fn a_raw_member_beside_a_bucketed_one_is_folded_into_its_buckets() {
        let busy = hourly(vec![
            bucket(at(10, 0), 100.0, 100.0, 100.0, 100.0, 60),
            bucket(at(11, 0), 110.0, 105.0, 120.0, 120.0, 60),
        ]);
        let sparse = raw(&[(at(10, 15), 1.0), (at(10, 45), 3.0), (at(11, 5), 5.0)]);
        let summed = sum(vec![busy, sparse]);
        let points = &summed.points;
        assert_eq!(points.len(), 2);
        assert_eq!(points[0], bucket(at(10, 0), 102.0, 101.0, 103.0, 103.0, 62));
        assert_eq!(points[1], bucket(at(11, 0), 115.0, 110.0, 125.0, 125.0, 61));
    }

    #[test]
    fn a_raw_sample_before_every_bucket_gets_its_own_utc_bucket() {
        let busy = hourly(vec![bucket(at(11, 0), 10.0, 10.0, 10.0, 10.0, 5)]);
        let early = raw(&[(at(9, 30), 1.0)]);
        let summed = sum(vec![busy, early]);
        assert_eq!(values(&summed), [(at(9, 0), 1.0, 1), (at(11, 0), 11.0, 5)]);
    }

    #[test]
    fn points_are_from_the_history_only_when_every_member_in_them_is() {
        let mut history = raw(&[(at(10, 0), 1.0)]);
        history.points[0].origin = Origin::Upstream;
        let summed = sum(vec![history.clone(), history.clone()]);
        assert_eq!(summed.points[0].origin, Origin::Upstream);
        let summed = sum(vec![history, raw(&[(at(10, 0), 2.0)])]);
        assert_eq!(summed.points[0].origin, Origin::Observed);
    }

    #[test]
    fn no_members_or_empty_ones_sum_to_nothing() {
        assert!(sum(Vec::new()).points.is_empty());
        assert!(sum(vec![raw(&[]), hourly(Vec::new())]).points.is_empty());
    }
}
