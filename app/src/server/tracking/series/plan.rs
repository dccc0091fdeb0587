//! Choosing a series' bucket width and the table to read it from.

use chrono::{DateTime, Utc};

use super::{MAX_POINTS, Resolution};

/// Seconds from the Unix epoch to the bucket origin, 2000-01-01 UTC.
pub(super) const ORIGIN_UNIX: i64 = 946_684_800;

/// The bucket width (seconds) and the table to read for at most `points` buckets from
/// `from` to `to`: the narrowest whole number of seconds, hours, 3-hour spans or days that
/// fits, so a month in 30 points is 30 days. A width is a multiple of the rollup it is read
/// from, and never more than 8 of that rollup's rows make one bucket (a day of 3-hour
/// rows), except for buckets of several days.
pub fn plan(from: DateTime<Utc>, to: DateTime<Utc>, points: i64) -> (i64, Resolution) {
    let points = points.clamp(1, MAX_POINTS);
    let (start, end) = (from.timestamp() - ORIGIN_UNIX, to.timestamp() - ORIGIN_UNIX);
    let span = (end - start).max(1);
    let buckets = |width: i64| end.div_euclid(width) - start.div_euclid(width) + 1;
    let unit_of = |width: i64| {
        if width >= 86_400 {
            86_400
        } else if width >= 10_800 {
            10_800
        } else if width >= 3_600 {
            3_600
        } else {
            1
        }
    };
    let round_up = |width: i64| {
        let unit = unit_of(width);
        (width + unit - 1) / unit * unit
    };
    let mut width = round_up((span + points - 1) / points);
    while buckets(width) > points {
        width = round_up(width + unit_of(width));
    }
    let resolution = match unit_of(width) {
        86_400 => Resolution::Daily,
        10_800 => Resolution::ThreeHourly,
        3_600 => Resolution::Hourly,
        _ => Resolution::Samples,
    };
    (width, resolution)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tracking::testing::at;
    use chrono::TimeDelta;

    #[test]
    fn plans_never_exceed_the_points_asked_for() {
        let from = at("2026-03-01T00:00:01Z");
        for (span_secs, points) in [
            (86_400 * 365, 1_000),
            (86_400 * 7, 500),
            (86_400 * 7, 40),
            (86_400 * 365, 900),
            (86_400, 7),
            (3_600, 100),
            (59, 10),
            (86_400 * 3_650, 50),
            (1, 1),
            (0, 1),
        ] {
            let to = from + TimeDelta::seconds(span_secs);
            let (width, resolution) = plan(from, to, points);
            if let Some(unit) = resolution.rollup_secs() {
                assert_eq!(width % unit, 0, "{width} s from {resolution:?}");
                let rows = width / unit;
                assert!(rows <= 8 || unit == 86_400, "{rows} rows a bucket");
            }
            let start = from.timestamp() - ORIGIN_UNIX;
            let end = to.timestamp() - ORIGIN_UNIX;
            let buckets = end / width - start / width + 1;
            assert!(
                buckets <= points,
                "{span_secs}s in {points} points: width {width} gives {buckets}"
            );
        }
    }

    #[test]
    fn widths_are_whole_units_and_as_narrow_as_fit() {
        let (width, resolution) = plan(at("2026-01-01T00:00:00Z"), at("2026-01-30T23:59:00Z"), 30);
        assert_eq!((width, resolution), (86_400, Resolution::Daily));
        let (width, resolution) = plan(
            at("2026-01-01T00:00:00Z"),
            at("2027-01-01T00:00:00Z"),
            1_000,
        );
        assert_eq!((width, resolution), (9 * 3_600, Resolution::ThreeHourly));
        let (width, resolution) = plan(at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"), 20);
        assert_eq!((width, resolution), (7_200, Resolution::Hourly));
        // Four hours are not a whole number of 3-hour rows: six are.
        let (width, resolution) = plan(at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"), 6);
        assert_eq!((width, resolution), (6 * 3_600, Resolution::ThreeHourly));
        assert_eq!(
            plan(
                at("2026-01-01T00:00:00Z"),
                at("2026-01-02T00:00:00Z"),
                1_000
            )
            .1,
            Resolution::Samples
        );
        assert_eq!(
            plan(
                at("2016-01-01T00:00:00Z"),
                at("2026-01-01T00:00:00Z"),
                1_000
            )
            .1,
            Resolution::Daily
        );
    }
}
