//! Comparing trackers on one chart: each tracker's main metric over a range, aligned by
//! calendar time or by time since its first sample, as values or as % change.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::ChartRange;

use super::{chart::ChartPoint, trackers::TrackerSummary};

/// At most this many trackers on one chart.
pub const MAX_COMPARED: usize = 8;

/// One tracker's line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareSeries {
    pub id: String,
    pub label: String,
    pub metric: String,
    pub unit: String,
    /// When its first sample was taken (ms since the epoch), if any.
    pub first_ms: Option<i64>,
    pub points: Vec<ChartPoint>,
}

/// The compare page: the workspace's trackers to choose from, and the chosen ones' lines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub trackers: Vec<TrackerSummary>,
    pub series: Vec<CompareSeries>,
    /// The range key (`30d`…) and the alignment (`calendar` or `launch`) used.
    pub range: ChartRange,
    pub align: String,
    /// The calendar range's bounds (ms since the epoch), for the x axis.
    pub from_ms: i64,
    pub to_ms: i64,
}

/// The trackers `ids` of the signed-in user's workspace (others are left out, as if they
/// did not exist) with their first metric over `range`: by calendar, the last `range`; by
/// launch, the first `range` after each one's first sample.
#[server]
pub async fn get_comparison(
    ids: Vec<String>,
    range: ChartRange,
    align: String,
) -> Result<Comparison, ServerFnError> {
    use crate::server::{
        state::AppState,
        tracking::{series, store},
    };
    let user = super::trackers::signed_in().await?;
    let state = expect_context::<AppState>();
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not load a comparison");
        ServerFnError::new("Could not load the comparison. Please try again.")
    };
    // Comparisons take the chips' ranges, not custom days.
    let range = match range {
        ChartRange::Custom => ChartRange::default(),
        range => range,
    };
    let align = if align == "launch" {
        align
    } else {
        "calendar".to_string()
    };
    let now = chrono::Utc::now();
    let duration = range.length_secs().map(chrono::TimeDelta::seconds);
    let all = store::list_trackers(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    let mut wanted: Vec<crate::domain::TrackerId> = Vec::new();
    for id in ids
        .iter()
        .filter_map(|id| id.parse::<crate::domain::TrackerId>().ok())
    {
        if !wanted.contains(&id) && wanted.len() < MAX_COMPARED {
            wanted.push(id);
        }
    }
    let mut lines = Vec::new();
    let mut earliest = now - duration.unwrap_or(chrono::TimeDelta::days(30));
    for id in &wanted {
        let Some(tracker) = all.iter().find(|tracker| tracker.id == *id) else {
            continue;
        };
        let Some(metric) = tracker.metrics.first() else {
            continue;
        };
        let first = store::first_sample_at(&state.pool, metric.id)
            .await
            .map_err(failed)?;
        let bounds = match (align.as_str(), first, duration) {
            (_, None, _) => None,
            ("launch", Some(first), Some(duration)) => Some((first, (first + duration).min(now))),
            (_, Some(first), None) => Some((first, now)),
            (_, Some(_), Some(duration)) => Some((now - duration, now)),
        };
        let points = match bounds {
            Some((from, to)) => {
                earliest = earliest.min(from);
                let read =
                    series::read(&state.pool, metric.id, from, to, super::chart::CHART_POINTS)
                        .await
                        .map_err(failed)?;
                super::chart::chart_points(read.points, crate::domain::ChartMode::Value)
            }
            None => Vec::new(),
        };
        lines.push(CompareSeries {
            id: tracker.id.to_string(),
            label: tracker.label.clone(),
            metric: metric.name.clone(),
            unit: metric.unit.clone(),
            first_ms: first.map(|first| first.timestamp_millis()),
            points,
        });
    }
    let from_ms = match duration {
        Some(duration) => (now - duration).timestamp_millis(),
        None => earliest.timestamp_millis(),
    };
    Ok(Comparison {
        trackers: all.into_iter().map(TrackerSummary::from).collect(),
        series: lines,
        range,
        align,
        from_ms,
        to_ms: now.timestamp_millis(),
    })
}

/// A line as drawn: x is milliseconds since the epoch (calendar) or days since the first
/// sample (launch); y the value or the % change since the line's first value in range.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawnLine {
    pub label: String,
    pub unit: String,
    pub points: Vec<(f64, f64)>,
    /// Why the line could not be normalised (it starts at zero), if so.
    pub note: Option<String>,
}

/// The lines of a comparison for `view` (`axes`: values; `percent`: % change since the
/// start) and `align` (`calendar` or `launch`).
pub fn draw_lines(series: &[CompareSeries], view: &str, align: &str) -> Vec<DrawnLine> {
    const DAY_MS: f64 = 86_400_000.0;
    series
        .iter()
        .map(|line| {
            let origin = line.first_ms.unwrap_or(0) as f64;
            let x = |t: i64| {
                if align == "launch" {
                    // A bucket may start a little before the first sample.
                    ((t as f64 - origin) / DAY_MS).max(0.0)
                } else {
                    t as f64
                }
            };
            let base = line.points.first().map(|point| point.avg);
            let mut note = None;
            let points = match (view, base) {
                ("percent", Some(base)) if base != 0.0 => line
                    .points
                    .iter()
                    .map(|point| (x(point.t), (point.avg - base) / base.abs() * 100.0))
                    .collect(),
                ("percent", Some(_)) => {
                    note = Some(format!(
                        "{} starts at 0 in this range, so it has no % change",
                        line.label
                    ));
                    Vec::new()
                }
                _ => line
                    .points
                    .iter()
                    .map(|point| (x(point.t), point.avg))
                    .collect(),
            };
            DrawnLine {
                label: line.label.clone(),
                unit: if view == "percent" {
                    "%".into()
                } else {
                    line.unit.clone()
                },
                points,
                note,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, first_ms: i64, values: &[(i64, f64)]) -> CompareSeries {
        CompareSeries {
            id: label.into(),
            label: label.into(),
            metric: "stars".into(),
            unit: "stars".into(),
            first_ms: Some(first_ms),
            points: values
                .iter()
                .map(|(t, v)| ChartPoint {
                    t: *t,
                    avg: *v,
                    min: *v,
                    max: *v,
                    count: 1,
                    origin: crate::domain::Origin::Observed,
                })
                .collect(),
        }
    }

    #[test]
    fn percent_change_is_from_the_first_value_in_range() {
        let lines = draw_lines(
            &[series(
                "a",
                0,
                &[(0, 200.0), (1_000, 300.0), (2_000, 100.0)],
            )],
            "percent",
            "calendar",
        );
        assert_eq!(
            lines[0].points,
            vec![(0.0, 0.0), (1_000.0, 50.0), (2_000.0, -50.0)]
        );
        assert_eq!(lines[0].unit, "%");
        let zero = draw_lines(
            &[series("z", 0, &[(0, 0.0), (1, 5.0)])],
            "percent",
            "calendar",
        );
        assert!(zero[0].points.is_empty());
        assert!(
            zero[0]
                .note
                .as_deref()
                .unwrap_or_default()
                .contains("starts at 0")
        );
    }

    #[test]
    fn launches_line_up_at_day_zero() {
        let day = 86_400_000;
        let early = series("early", 10 * day, &[(10 * day, 1.0), (12 * day, 5.0)]);
        let late = series("late", 100 * day, &[(100 * day, 2.0), (101 * day, 9.0)]);
        let lines = draw_lines(&[early, late], "axes", "launch");
        assert_eq!(lines[0].points, vec![(0.0, 1.0), (2.0, 5.0)]);
        assert_eq!(lines[1].points, vec![(0.0, 2.0), (1.0, 9.0)]);
        assert_eq!(lines[1].unit, "stars");
    }
}
