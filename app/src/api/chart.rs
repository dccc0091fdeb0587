//! A tracker's page: its chart (the series of one metric over a range, in a mode), the
//! events on it, the latest polls, and the finer windows a zoom fetches.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::trackers::TrackerSummary;
#[cfg(feature = "ssr")]
use super::trackers::signed_in;
use crate::domain::{BackfillStatus, ChartMode, ChartRange, Origin, Scale, TrackerId};

/// The change between consecutive points per `per_secs` seconds (3600: per hour), at the
/// later point's time. The first point has nothing before it and is left out.
pub fn rates(points: &[ChartPoint], per_secs: f64) -> Vec<ChartPoint> {
    points
        .windows(2)
        .filter_map(|pair| {
            let elapsed = (pair[1].t - pair[0].t) as f64 / 1000.0;
            (elapsed > 0.0).then(|| {
                let rate = (pair[1].avg - pair[0].avg) / elapsed * per_secs;
                ChartPoint {
                    t: pair[1].t,
                    avg: rate,
                    min: rate,
                    max: rate,
                    count: pair[1].count,
                    origin: pair[1].origin,
                }
            })
        })
        .collect()
}

/// Something that happened to a tracker or its source, marked on its chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChartEvent {
    /// Milliseconds since the Unix epoch (UTC).
    pub t: i64,
    /// `added`, `paused`, `resumed`, `interval`, `failing`, `recovered` or `gone`.
    pub kind: String,
    pub detail: Option<String>,
}

impl ChartEvent {
    /// The marker's words: "Paused", "Polls failing: HTTP 500".
    pub fn describe(&self) -> String {
        let what = match self.kind.as_str() {
            "added" => "Added",
            "paused" => "Paused",
            "resumed" => "Resumed",
            "interval" => "Interval changed",
            "failing" => "Polls failing",
            "recovered" => "Polls recovered",
            "gone" => "Gone upstream",
            other => other,
        };
        match &self.detail {
            Some(detail) => format!("{what}: {detail}"),
            None => what.to_string(),
        }
    }
}

/// A window of a metric's series, fetched after the chart is zoomed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesWindow {
    pub bucket_secs: Option<i64>,
    pub points: Vec<ChartPoint>,
}

/// One point of a tracker page's chart: a raw sample or a bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChartPoint {
    /// Milliseconds since the Unix epoch (UTC).
    pub t: i64,
    pub avg: f64,
    pub min: f64,
    pub max: f64,
    pub count: i64,
    /// From the upstream's history (a backfill) or recorded by Upcount.
    pub origin: Origin,
}

/// The series a tracker page charts: the metric's name (the tracker's first metric when
/// `None`), and the label its series are summed across, if any (`?metric=…&sum=plan`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesChoice {
    pub metric: Option<String>,
    pub sum: Option<String>,
}

/// Everything a tracker page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackerDetail {
    pub summary: TrackerSummary,
    pub author: Option<String>,
    pub published_at: Option<String>,
    pub tags: Vec<String>,
    pub interval_secs: i32,
    /// The metric shown, its unit, and every metric of the tracker.
    pub metric: String,
    pub unit: String,
    pub metrics: Vec<String>,
    /// The metrics to pick from, one per family (a pushed metric and all its label sets
    /// are one): the family and the series its link shows.
    pub families: Vec<(String, String)>,
    /// The family of the metric shown; when its series have labels, each of them to pick
    /// (the series' name and its labels) and the labels they can be summed across.
    pub family: String,
    pub label_sets: Vec<(String, std::collections::BTreeMap<String, String>)>,
    pub sum_labels: Vec<String>,
    /// The label the chart sums the family's series across, when it does.
    pub sum: Option<String>,
    /// The range shown (`Custom`: from `from` to `to`).
    pub range: ChartRange,
    /// The custom range's days (`YYYY-MM-DD`, UTC), as asked for.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The range's bounds in milliseconds since the epoch (UTC).
    pub from_ms: i64,
    pub to_ms: i64,
    /// Events in the range, oldest first.
    pub events: Vec<ChartEvent>,
    /// The mode and the scale.
    pub mode: ChartMode,
    pub scale: Scale,
    /// The bucket width when points are buckets.
    pub bucket_secs: Option<i64>,
    pub points: Vec<ChartPoint>,
    /// The latest polls, newest first: (time in RFC 3339 UTC, value per metric).
    pub recent: Vec<(String, Vec<Option<f64>>)>,
    /// Where the upstream's history comes from ("GitHub"), when it keeps one; `None`: the
    /// history starts with the first poll.
    pub history_from: Option<String>,
    /// How far loading that history has got.
    pub backfill: Option<BackfillStatus>,
    /// When the next poll is due (ms since the epoch), while the tracker is polled.
    pub next_poll_ms: Option<i64>,
}

/// A tracker of the signed-in user's workspace with the series of `metric` (the first when
/// none) over `range`; `None` when there is no such tracker in the workspace.
#[server]
pub async fn get_tracker_detail(
    id: TrackerId,
    // Absent when the page shows the first metric unsummed: the browser sends no field.
    #[server(default)] series: SeriesChoice,
    range: ChartRange,
    mode: ChartMode,
    scale: Scale,
    from: Option<String>,
    to: Option<String>,
) -> Result<Option<TrackerDetail>, ServerFnError> {
    let SeriesChoice { metric, sum } = series;
    use crate::server::{
        state::AppState,
        tracking::{
            page::{self, PageRequest},
            store::MetricView,
        },
    };
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    let day = |text: &Option<String>| {
        text.as_deref()
            .and_then(|text| chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok())
    };
    let request = PageRequest {
        metric: metric.as_deref(),
        range,
        days: day(&from).zip(day(&to)),
        sum: sum.as_deref().filter(|label| !label.is_empty()),
    };
    let now = chrono::Utc::now();
    let page = match page::tracker_page(&state.pool, user.workspace_id, id, request, now).await {
        Ok(Some(page)) => page,
        Ok(None) => return Ok(None),
        Err(error) => {
            tracing::error!(error = %error, "could not load a tracker page");
            return Err(ServerFnError::new(
                "Could not load this tracker. Please try again.",
            ));
        }
    };
    let (bucket_secs, points) = match page.series {
        Some(series) => (series.bucket_secs, chart_points(series.points, mode)),
        None => (None, Vec::new()),
    };
    let events = page
        .history
        .events
        .into_iter()
        .map(|event| ChartEvent {
            t: event.at.timestamp_millis(),
            kind: event.kind,
            detail: event.detail,
        })
        .collect();
    let history_from = state
        .engine
        .provider(&page.tracker.source.kind)
        .and_then(|provider| provider.history_from())
        .map(str::to_string);
    let next_poll_ms = page
        .tracker
        .source
        .next_poll_at
        .map(|at| at.timestamp_millis());
    let (tracker, metric, days) = (page.tracker, page.metric, page.days);
    let metrics = tracker
        .metrics
        .iter()
        .map(|metric| metric.name.clone())
        .collect();
    let mut families: Vec<(String, String)> = Vec::new();
    for metric in &tracker.metrics {
        if !families.iter().any(|(family, _)| *family == metric.family) {
            families.push((metric.family.clone(), metric.name.clone()));
        }
    }
    let family = metric
        .as_ref()
        .map(|metric| metric.family.clone())
        .unwrap_or_default();
    let sum_labels = MetricView::label_names(&tracker.metrics, &family);
    let label_sets = if sum_labels.is_empty() {
        Vec::new()
    } else {
        tracker
            .metrics
            .iter()
            .filter(|metric| metric.family == family)
            .map(|metric| (metric.name.clone(), metric.labels.clone()))
            .collect()
    };
    let format_time = |time: chrono::DateTime<chrono::Utc>| time.format("%Y-%m-%d").to_string();
    Ok(Some(TrackerDetail {
        author: tracker.source.author.clone(),
        published_at: tracker.source.published_at.map(format_time),
        tags: tracker.source.tags.clone(),
        interval_secs: tracker.interval_secs,
        metric: metric.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
        unit: metric.as_ref().map(|m| m.unit.clone()).unwrap_or_default(),
        metrics,
        families,
        family,
        label_sets,
        sum_labels,
        sum: page.sum,
        range: page.range,
        from: days.map(|(first, _)| first.to_string()),
        to: days.map(|(_, last)| last.to_string()),
        from_ms: page.from.timestamp_millis(),
        to_ms: page.to.timestamp_millis(),
        events,
        mode,
        scale,
        bucket_secs,
        points,
        recent: recent_rows(page.history.recent),
        history_from,
        backfill: page.backfill,
        next_poll_ms,
        summary: tracker.into(),
    }))
}

/// The latest polls as the pages list them: (time in RFC 3339 UTC, value per metric).
#[cfg(feature = "ssr")]
pub(crate) fn recent_rows(
    recent: Vec<(chrono::DateTime<chrono::Utc>, Vec<Option<f64>>)>,
) -> Vec<(String, Vec<Option<f64>>)> {
    recent
        .into_iter()
        .map(|(time, values)| {
            (
                time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                values,
            )
        })
        .collect()
}

#[cfg(feature = "ssr")]
pub(crate) use crate::server::tracking::page::CHART_POINTS;

/// A series' points as a chart draws them, in `mode` (`value`, `per_hour`, `per_day`).
#[cfg(feature = "ssr")]
pub(crate) fn chart_points(
    points: Vec<crate::server::tracking::series::Point>,
    mode: ChartMode,
) -> Vec<ChartPoint> {
    let points: Vec<ChartPoint> = points
        .into_iter()
        .map(|point| ChartPoint {
            t: point.time.timestamp_millis(),
            avg: point.avg,
            min: point.min,
            max: point.max,
            count: point.count,
            origin: point.origin,
        })
        .collect();
    match mode.per_secs() {
        Some(per_secs) => rates(&points, per_secs),
        None => points,
    }
}

/// The series of one metric of a tracker of the signed-in user's workspace from `from_ms`
/// to `to_ms` (milliseconds since the epoch) in the page's mode: what a zoomed chart shows
/// in finer buckets, day buckets starting at midnight in the viewer's `zone`. `None` when
/// there is no such tracker or metric.
#[server]
pub async fn get_series_window(
    id: TrackerId,
    metric: String,
    from_ms: i64,
    to_ms: i64,
    mode: ChartMode,
    zone: Option<String>,
    sum: Option<String>,
) -> Result<Option<SeriesWindow>, ServerFnError> {
    use crate::server::{
        state::AppState,
        tracking::{series, service},
    };
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    let (Some(from), Some(to)) = (
        chrono::DateTime::from_timestamp_millis(from_ms),
        chrono::DateTime::from_timestamp_millis(to_ms),
    ) else {
        return Ok(None);
    };
    if from >= to {
        return Err(ServerFnError::new("The window must end after it starts."));
    }
    series::check_time("from", from)
        .and_then(|()| series::check_time("to", to))
        .map_err(ServerFnError::new)?;
    // The REST API's series read, with its rules: an unknown time zone or metric is an
    // error here too, not silently ignored.
    let request = service::SeriesRequest {
        metric: Some(&metric),
        from,
        to,
        points: CHART_POINTS,
        zone: zone.as_deref().filter(|zone| !zone.is_empty()),
        sum: sum.as_deref().filter(|label| !label.is_empty()),
    };
    match service::series(&state.pool, user.workspace_id, id, request).await {
        Ok((_, read)) => Ok(Some(SeriesWindow {
            bucket_secs: read.bucket_secs,
            points: chart_points(read.points, mode),
        })),
        Err(service::ServiceError::NotFound) => Ok(None),
        Err(service::ServiceError::Invalid(message)) => Err(ServerFnError::new(message)),
        Err(error) => {
            tracing::error!(error = %error, "could not load a series window");
            Err(ServerFnError::new(
                "Could not load this part of the chart. Please try again.",
            ))
        }
    }
}

/// How far loading the history of the source of tracker `id` (of the signed-in user's
/// workspace) has got, for the page to follow without reloading; `None` when the source
/// has no backfill.
#[server]
pub async fn get_backfill_status(id: TrackerId) -> Result<Option<BackfillStatus>, ServerFnError> {
    use crate::server::{state::AppState, tracking::store};
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    match store::tracker_backfill_status(&state.pool, user.workspace_id, id).await {
        Ok(Some(status)) => Ok(status),
        Ok(None) => Err(ServerFnError::new(
            "There is no such tracker in this workspace.",
        )),
        Err(error) => {
            tracing::error!(error = %error, "could not load a backfill status");
            Err(ServerFnError::new(
                "Could not load how far the history has got. Please try again.",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ChartPoint, rates};

    fn point(t_secs: i64, value: f64) -> ChartPoint {
        ChartPoint {
            t: t_secs * 1000,
            avg: value,
            min: value,
            max: value,
            count: 1,
            origin: crate::domain::Origin::Observed,
        }
    }

    #[test]
    fn rates_are_changes_per_period_at_the_later_time() {
        let points = [point(0, 100.0), point(1_800, 150.0), point(5_400, 120.0)];
        let per_hour = rates(&points, 3_600.0);
        assert_eq!(per_hour.len(), 2);
        assert_eq!((per_hour[0].t, per_hour[0].avg), (1_800_000, 100.0));
        assert_eq!((per_hour[1].t, per_hour[1].avg), (5_400_000, -30.0));
        assert_eq!(rates(&points[..1], 3_600.0), vec![]);
        let per_day = rates(&points[..2], 86_400.0);
        assert_eq!(per_day[0].avg, 2_400.0);
    }
}
