//! Trackers for the pages: list them, add one by URL.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{ChartMode, ChartRange, Scale, SourceState, TrackerId};

/// A tracker as the pages show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackerSummary {
    pub id: TrackerId,
    pub label: String,
    pub kind: String,
    /// The provider's badge (from the registry).
    pub badge: ProviderBadge,
    pub title: String,
    pub url: String,
    pub state: SourceState,
    pub last_error: Option<String>,
    /// (metric, latest value), in the provider's order.
    pub latest: Vec<(String, Option<f64>)>,
    /// Set when shared publicly: the page is `/s/{token}`.
    pub share_token: Option<String>,
    /// When the source was last polled (RFC 3339 UTC).
    pub last_poll_at: Option<String>,
    /// The first metric's change over 24 hours and over 7 days, when it goes back that far.
    pub change_24h: Option<Change>,
    pub change_7d: Option<Change>,
    /// The first metric's hourly values over the last 7 days, oldest first.
    pub sparkline: Vec<f64>,
}

/// A small badge naming a provider: letters on a colour.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderBadge {
    /// The provider module: `github`.
    pub module: String,
    pub letters: String,
    /// `GitHub`.
    pub name: String,
    /// A CSS colour.
    pub colour: String,
}

#[cfg(feature = "ssr")]
impl ProviderBadge {
    /// The badge of `kind`'s provider module; a neutral one for a kind no module declares.
    pub fn of(kind: &str) -> Self {
        match crate::server::tracking::providers::module_of(kind) {
            Some(module) => Self {
                module: module.name.to_string(),
                letters: module.badge.letters.to_string(),
                name: module.badge.name.to_string(),
                colour: module.badge.colour.to_string(),
            },
            None => Self {
                module: String::new(),
                letters: "?".into(),
                name: kind.to_string(),
                colour: "var(--ink-soft)".into(),
            },
        }
    }
}

/// A change of a value: absolute, and in percent unless it started from zero.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub absolute: f64,
    pub percent: Option<f64>,
}

#[cfg(feature = "ssr")]
impl From<crate::server::tracking::store::TrackerView> for TrackerSummary {
    fn from(view: crate::server::tracking::store::TrackerView) -> Self {
        Self {
            id: view.id,
            label: view.label,
            badge: ProviderBadge::of(&view.source.kind),
            kind: view.source.kind,
            title: view.source.title,
            url: view.source.url,
            state: view.state,
            last_error: view.source.last_error,
            share_token: view.share_token,
            last_poll_at: view
                .source
                .last_poll_at
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            change_24h: None,
            change_7d: None,
            sparkline: Vec::new(),
            latest: view
                .metrics
                .into_iter()
                .map(|metric| (metric.name, metric.latest))
                .collect(),
        }
    }
}

/// The signed-in user, or the error every tracker server function answers without one.
#[cfg(feature = "ssr")]
pub(crate) async fn signed_in() -> Result<crate::server::auth::CurrentUser, ServerFnError> {
    use crate::server::auth::Auth;
    let axum::Extension(Auth(user)) = leptos_axum::extract::<axum::Extension<Auth>>().await?;
    user.ok_or_else(|| ServerFnError::new("Sign in to see your trackers."))
}

/// The trackers of the signed-in user's workspace, newest first.
#[server]
pub async fn list_trackers() -> Result<Vec<TrackerSummary>, ServerFnError> {
    use crate::server::{state::AppState, tracking::store};
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    use crate::server::tracking::series::{change_since, hourly_lasts};
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not list trackers");
        ServerFnError::new("Could not load your trackers. Please try again.")
    };
    let trackers = store::list_trackers(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    // The first metric of each: its trend from the hourly rollups.
    let now = chrono::Utc::now();
    let week = chrono::TimeDelta::days(7);
    let main: Vec<crate::domain::MetricId> = trackers
        .iter()
        .filter_map(|tracker| tracker.metrics.first().map(|metric| metric.id))
        .collect();
    let hourly = hourly_lasts(&state.pool, &main, now - week - chrono::TimeDelta::hours(3))
        .await
        .map_err(failed)?;
    Ok(trackers
        .into_iter()
        .map(|tracker| {
            let trend = tracker.metrics.first().map(|metric| {
                let points = hourly
                    .get(&metric.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                (points.to_vec(), metric.latest)
            });
            let mut summary = TrackerSummary::from(tracker);
            if let Some((points, Some(latest))) = trend {
                let change = |period| {
                    change_since(&points, latest, now - period)
                        .map(|(absolute, percent)| Change { absolute, percent })
                };
                summary.change_24h = change(chrono::TimeDelta::hours(24));
                summary.change_7d = change(week);
                summary.sparkline = points
                    .iter()
                    .filter(|(time, _)| *time >= now - week)
                    .map(|(_, value)| *value)
                    .collect();
            }
            summary
        })
        .collect())
}

/// Adds a tracker for `url` to the signed-in user's workspace: the same checks as
/// `POST /api/v1/trackers`, and the same messages.
#[server]
pub async fn add_tracker(
    url: String,
    label: Option<String>,
    interval_secs: Option<i64>,
) -> Result<TrackerSummary, ServerFnError> {
    use crate::server::{
        state::AppState,
        tracking::{
            engine::TrackRequest,
            service::{self, AddTracker, ServiceError},
        },
    };
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    let input = AddTracker {
        what: TrackRequest {
            url: Some(url),
            ..TrackRequest::default()
        },
        label: label.filter(|label| !label.trim().is_empty()),
        interval_secs,
        ends_at: None,
    };
    match service::add_tracker(&state.pool, &state.engine, user.workspace_id, &input).await {
        Ok((_, tracker)) => Ok(tracker.into()),
        Err(ServiceError::Database(error)) => {
            tracing::error!(error = %error, "could not add a tracker");
            Err(ServerFnError::new(
                "Something went wrong on our side. Please try again.",
            ))
        }
        Err(error) => Err(ServerFnError::new(error.to_string())),
    }
}

/// What a link would track, before it is saved: the add form's live preview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    /// The provider kind (`github.repo`, `json`) and its name for people.
    pub kind: String,
    pub provider: String,
    pub title: String,
    pub author: Option<String>,
    /// The thing itself.
    pub url: String,
    /// (metric, unit, current value): every metric polling would record.
    pub values: Vec<(String, String, Option<f64>)>,
    /// Metrics that could not be read, and why.
    pub problems: Vec<String>,
    /// For a JSON API: the document fetched (JSON text), to pick values from.
    pub document: Option<String>,
}

/// The live preview of adding `url` (with `metrics`, one `name: expression` a line, for a
/// JSON API). `Ok(Err(problem))` is the exact problem in words: not recognised, not found,
/// a credential the server lacks, the upstream down.
#[server]
pub async fn preview_tracker(
    url: String,
    metrics: String,
) -> Result<Result<Preview, String>, ServerFnError> {
    use crate::server::{state::AppState, tracking::service};
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    if url.trim().is_empty() {
        return Ok(Err("Paste the link of the thing to track.".into()));
    }
    let metrics = match crate::domain::json_pick::parse_metric_lines(&metrics) {
        Ok(metrics) => metrics,
        Err(problem) => return Ok(Err(problem)),
    };
    match service::preview(
        &state.pool,
        &state.engine,
        user.workspace_id,
        url.trim(),
        metrics,
    )
    .await
    {
        Ok(preview) => Ok(Ok(preview)),
        Err(service::ServiceError::Database(error)) => {
            tracing::error!(error = %error, "could not preview a tracker");
            Err(ServerFnError::new(
                "Something went wrong on our side. Please try again.",
            ))
        }
        Err(error) => Ok(Err(error.to_string())),
    }
}

/// The choices of the add form: the poll intervals this server allows, in seconds, and
/// the default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormOptions {
    pub intervals: Vec<i64>,
    pub default_interval: i64,
    /// The shortest interval the workspace's plan allows; shorter ones need an upgrade.
    pub plan_min_interval: i64,
    pub plan_name: String,
    /// What links the form takes, from the provider registry.
    pub hint: String,
}

#[server]
pub async fn tracker_form_options() -> Result<FormOptions, ServerFnError> {
    use crate::server::{state::AppState, tracking::service::MAX_INTERVAL_SECS};
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    let plan = crate::server::billing::store::workspace_plan(&state.pool, user.workspace_id)
        .await
        .map_err(|error| {
            tracing::error!(error = %error, "could not read the workspace's plan");
            ServerFnError::new("Could not load the form. Please reload the page.")
        })?;
    let plan_min_interval = i64::from(plan.min_interval_secs);
    let config = state.engine.config();
    let min = config.min_interval.as_secs() as i64;
    let default_interval = (config.default_interval.as_secs() as i64).max(plan_min_interval);
    let mut intervals: Vec<i64> = [60, 300, 900, 1_800, 3_600, 6 * 3_600, 86_400]
        .into_iter()
        .filter(|secs| (min..=MAX_INTERVAL_SECS).contains(secs))
        .collect();
    for extra in [min, default_interval] {
        if !intervals.contains(&extra) {
            intervals.push(extra);
        }
    }
    intervals.sort_unstable();
    Ok(FormOptions {
        intervals,
        default_interval,
        plan_min_interval,
        plan_name: plan.name,
        hint: crate::server::tracking::providers::link_hint(),
    })
}

/// A publicly shared tracker, as its read-only page shows it: nothing about the workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharedTracker {
    pub label: String,
    pub kind: String,
    pub title: String,
    pub url: String,
    pub state: SourceState,
    /// (metric, unit, latest value).
    pub metrics: Vec<(String, String, Option<f64>)>,
    /// The latest polls, newest first: (time in RFC 3339 UTC, value per metric).
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

/// The tracker shared under `token`; `None` when nothing is (or no longer is).
#[server]
pub async fn get_shared(token: String) -> Result<Option<SharedTracker>, ServerFnError> {
    use crate::server::{state::AppState, tracking::store};
    if token.is_empty() || token.len() > 64 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let state = expect_context::<AppState>();
    let unavailable = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not load a shared tracker");
        ServerFnError::new("Could not load this tracker. Please try again.")
    };
    let Some(tracker) = store::shared_tracker(&state.pool, &token)
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    let request = store::HistoryRequest {
        events: None,
        recent: crate::server::tracking::page::RECENT_POLLS,
    };
    let rows = store::history(&state.pool, &tracker, request)
        .await
        .map_err(unavailable)?
        .recent;
    let rows = recent_rows(rows);
    // A JSON API's query string and user-info may hold its keys: the public sees the host
    // and path only (the owner still sees the whole address).
    let url = if tracker.source.kind == "json" {
        crate::server::tracking::providers::json::public_address(&tracker.source.url)
    } else {
        tracker.source.url
    };
    Ok(Some(SharedTracker {
        label: tracker.label,
        kind: tracker.source.kind,
        title: tracker.source.title,
        url,
        state: tracker.state,
        metrics: tracker
            .metrics
            .into_iter()
            .map(|metric| (metric.name, metric.unit, metric.latest))
            .collect(),
        rows,
    }))
}

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
}

/// A tracker of the signed-in user's workspace with the series of `metric` (the first when
/// none) over `range`; `None` when there is no such tracker in the workspace.
#[server]
pub async fn get_tracker_detail(
    id: TrackerId,
    metric: Option<String>,
    range: ChartRange,
    mode: ChartMode,
    scale: Scale,
    from: Option<String>,
    to: Option<String>,
) -> Result<Option<TrackerDetail>, ServerFnError> {
    use crate::server::{
        state::AppState,
        tracking::page::{self, PageRequest},
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
    let page::TrackerPage {
        tracker,
        metric,
        range,
        days,
        from,
        to,
        series,
        history,
    } = page;
    let (bucket_secs, points) = match series {
        Some(series) => (series.bucket_secs, chart_points(series.points, mode)),
        None => (None, Vec::new()),
    };
    let events = history
        .events
        .into_iter()
        .map(|event| ChartEvent {
            t: event.at.timestamp_millis(),
            kind: event.kind,
            detail: event.detail,
        })
        .collect();
    let metrics = tracker
        .metrics
        .iter()
        .map(|metric| metric.name.clone())
        .collect();
    let format_time = |time: chrono::DateTime<chrono::Utc>| time.format("%Y-%m-%d").to_string();
    Ok(Some(TrackerDetail {
        author: tracker.source.author.clone(),
        published_at: tracker.source.published_at.map(format_time),
        tags: tracker.source.tags.clone(),
        interval_secs: tracker.interval_secs,
        metric: metric.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
        unit: metric.as_ref().map(|m| m.unit.clone()).unwrap_or_default(),
        metrics,
        range,
        from: days.map(|(first, _)| first.to_string()),
        to: days.map(|(_, last)| last.to_string()),
        from_ms: from.timestamp_millis(),
        to_ms: to.timestamp_millis(),
        events,
        mode,
        scale,
        bucket_secs,
        points,
        recent: recent_rows(history.recent),
        summary: tracker.into(),
    }))
}

/// The latest polls as the pages list them: (time in RFC 3339 UTC, value per metric).
#[cfg(feature = "ssr")]
fn recent_rows(
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
