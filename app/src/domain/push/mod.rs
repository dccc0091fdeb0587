//! Numbers customers push into a push source: the points every format (JSON, InfluxDB line
//! protocol, Prometheus text) is read into, and the refusals, one per line, that a push's
//! answer lists. Each format's parser is its own module and answers a [`Batch`]; storing
//! a batch (series, caps, counters and deltas) is the server's (`server::push`).

pub mod events;
pub mod items;
pub mod json;
pub mod series;

// Only the server reads pushes; the browser need not compile the InfluxDB parser.
#[cfg(feature = "ssr")]
pub mod influx;
pub mod prometheus;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// At most this many points in one request; the rest of a longer batch is refused.
pub const MAX_POINTS_PER_REQUEST: usize = 5_000;

/// How a pushed value is stored, as in Prometheus clients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    /// Stored as given.
    #[default]
    Gauge,
    /// A running total: a drop in value is a reset, handled in rates.
    Counter,
    /// An increment, added to the series' running total.
    Delta,
}

impl PushKind {
    /// The name in the JSON format and the API.
    pub fn key(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Counter => "counter",
            Self::Delta => "delta",
        }
    }
}

/// One point: a series (metric name and label set), a value, and when (`None`: the time
/// the request arrived).
#[derive(Clone, Debug, PartialEq)]
pub struct PushPoint {
    pub metric: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    pub t: Option<DateTime<Utc>>,
    pub kind: PushKind,
}

/// Why one line (or JSON array item) was not accepted. `line` counts from 1, as editors
/// and the formats' own error messages do.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub line: usize,
    pub reason: String,
}

/// What a parser read out of a request body: the points with the line each came from,
/// and the lines it refused.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub points: Vec<(usize, PushPoint)>,
    pub refused: Vec<Refusal>,
}

impl Batch {
    /// Adds `point` from `line`, or refuses it once the batch holds
    /// [`MAX_POINTS_PER_REQUEST`] points.
    pub fn push(&mut self, line: usize, point: PushPoint) {
        if self.points.len() < MAX_POINTS_PER_REQUEST {
            self.points.push((line, point));
        } else {
            self.refuse(
                line,
                format!("a request holds at most {MAX_POINTS_PER_REQUEST} points"),
            );
        }
    }

    pub fn refuse(&mut self, line: usize, reason: impl Into<String>) {
        self.refused.push(Refusal {
            line,
            reason: reason.into(),
        });
    }
}

/// Whether `name` is a Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `name` is a Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`. (Names starting
/// with `__` are well-formed but reserved; the parsers refuse them.)
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(value: f64) -> PushPoint {
        PushPoint {
            metric: "signups".into(),
            labels: BTreeMap::new(),
            value,
            t: None,
            kind: PushKind::Gauge,
        }
    }

    #[test]
    fn a_batch_refuses_points_past_the_limit_by_line() {
        let mut batch = Batch::default();
        for line in 1..=MAX_POINTS_PER_REQUEST + 2 {
            batch.push(line, point(line as f64));
        }
        assert_eq!(batch.points.len(), MAX_POINTS_PER_REQUEST);
        assert_eq!(
            batch.refused.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![MAX_POINTS_PER_REQUEST + 1, MAX_POINTS_PER_REQUEST + 2]
        );
        assert_eq!(
            batch.refused[0].reason,
            "a request holds at most 5000 points"
        );
    }

    #[test]
    fn metric_and_label_names_follow_prometheus() {
        for good in [
            "signups",
            "cpu_value",
            "_x",
            "a:b",
            "http_requests_total",
            "A1",
        ] {
            assert!(is_metric_name(good), "{good}");
        }
        for bad in ["", "1cpu", "cpu-value", "cpu value", "caf\u{e9}", "a.b"] {
            assert!(!is_metric_name(bad), "{bad}");
        }
        for good in ["plan", "_x", "le", "A1", "__name__"] {
            assert!(is_label_name(good), "{good}");
        }
        for bad in ["", "1a", "a:b", "a-b", "a b"] {
            assert!(!is_label_name(bad), "{bad}");
        }
    }
}
