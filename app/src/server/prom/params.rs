//! The query API's parameters as Prometheus reads them: times as RFC 3339 or Unix seconds
//! (with a fraction), steps as durations (`15s`, `1m30s`) or seconds, and the limit on
//! points per series a range query may ask for.

use chrono::{DateTime, Utc};

use super::eval::PromError;

/// Prometheus's own limit on the points of one series in a range query's answer.
pub const MAX_POINTS: i64 = 11_000;

/// Milliseconds since the epoch from `value`, named `name` in a refusal.
pub fn time(name: &str, value: &str) -> Result<i64, PromError> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>()
        && seconds.is_finite()
    {
        let ms = (seconds * 1000.0).round();
        if ms.abs() < 253_402_300_800_000.0 {
            return Ok(ms as i64);
        }
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc).timestamp_millis());
    }
    Err(PromError::BadData(format!(
        "invalid parameter \"{name}\": cannot parse \"{value}\" to a valid timestamp"
    )))
}

/// A step or range in milliseconds: a duration (`30s`, `1h`) or seconds (`15`, `0.5`).
pub fn duration(name: &str, value: &str) -> Result<i64, PromError> {
    let value = value.trim();
    let ms = match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() => Some((seconds * 1000.0).round()),
        _ => promql_parser::util::parse_duration(value)
            .ok()
            .map(|duration| duration.as_millis() as f64),
    };
    match ms {
        Some(ms) if ms > 0.0 && ms < 1e15 => Ok(ms as i64),
        Some(_) => Err(PromError::BadData(format!(
            "invalid parameter \"{name}\": zero or negative query resolution step widths are \
             not accepted. Try a positive integer"
        ))),
        None => Err(PromError::BadData(format!(
            "invalid parameter \"{name}\": cannot parse \"{value}\" to a valid duration"
        ))),
    }
}

/// The instants of a range query from `start` to `end` every `step`, checked as
/// Prometheus checks them.
pub fn steps(start: i64, end: i64, step: i64) -> Result<Vec<i64>, PromError> {
    if end < start {
        return Err(PromError::BadData(
            "invalid parameter \"end\": end timestamp must not be before start time".into(),
        ));
    }
    if (end - start) / step >= MAX_POINTS {
        return Err(PromError::BadData(format!(
            "exceeded maximum resolution of {MAX_POINTS} points per timeseries. Try decreasing \
             the query resolution (?step=XX)"
        )));
    }
    Ok((0..=(end - start) / step)
        .map(|index| start + index * step)
        .collect())
}

/// `ms` as Prometheus writes a time in JSON: seconds with up to three decimals.
pub fn seconds(ms: i64) -> serde_json::Value {
    if ms % 1000 == 0 {
        serde_json::Value::from(ms / 1000)
    } else {
        serde_json::Value::from(ms as f64 / 1000.0)
    }
}

/// `value` as Prometheus writes a sample value: a string, `+Inf`, `-Inf` or `NaN` for
/// those.
pub fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_seconds_or_rfc_3339() {
        assert_eq!(time("time", "1700000000"), Ok(1_700_000_000_000));
        assert_eq!(time("time", "1700000000.123"), Ok(1_700_000_000_123));
        assert_eq!(time("time", "2026-12-01T10:00:00Z"), Ok(1_796_119_200_000));
        assert_eq!(
            time("start", "yesterday"),
            Err(PromError::BadData(
                "invalid parameter \"start\": cannot parse \"yesterday\" to a valid timestamp"
                    .into()
            ))
        );
        assert!(time("time", "1e300").is_err());
    }

    #[test]
    fn steps_read_as_durations_or_seconds() {
        assert_eq!(duration("step", "15s"), Ok(15_000));
        assert_eq!(duration("step", "1m30s"), Ok(90_000));
        assert_eq!(duration("step", "0.5"), Ok(500));
        assert!(duration("step", "0").is_err());
        assert!(duration("step", "-5").is_err());
        assert!(duration("step", "soon").is_err());
    }

    #[test]
    fn a_range_is_every_step_from_start_to_end() {
        assert_eq!(steps(0, 30_000, 15_000), Ok(vec![0, 15_000, 30_000]));
        assert_eq!(steps(0, 29_000, 15_000), Ok(vec![0, 15_000]));
        assert!(steps(10, 0, 1).is_err());
        assert!(steps(0, 11_000_000, 1_000).is_err());
        assert_eq!(steps(0, 10_999_000, 1_000).map(|s| s.len()), Ok(11_000));
    }

    #[test]
    fn numbers_and_times_are_written_as_prometheus_does() {
        assert_eq!(number(19000.0), "19000");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(seconds(1_700_000_000_000), serde_json::json!(1_700_000_000));
        assert_eq!(
            seconds(1_700_000_000_500),
            serde_json::json!(1_700_000_000.5)
        );
    }
}
