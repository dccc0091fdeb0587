//! The tracker page's use case: a tracker of the workspace, the series of one of its
//! metrics over a range, the events in that range, the latest polls and how far loading
//! the upstream's history has got, in five queries (the tracker with its metrics; the
//! range's count, first sample and pruning; its points; the events with the latest polls;
//! the backfill).

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use sqlx::PgPool;

use super::{
    series::{self, Series},
    store::{self, History, HistoryRequest, MetricView, TrackerView},
};
use crate::domain::{BackfillStatus, ChartRange, TrackerId, WorkspaceId};

/// How many points a chart asks for: enough for a wide screen, few enough to draw at once.
pub const CHART_POINTS: i64 = 500;

/// How many of the latest polls the page lists.
pub const RECENT_POLLS: i64 = 20;

/// What the page asks for.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    /// The metric's name; the tracker's first metric when `None` or unknown.
    pub metric: Option<&'a str>,
    pub range: ChartRange,
    /// The days of a custom range (UTC, inclusive), when `range` is `Custom`.
    pub days: Option<(NaiveDate, NaiveDate)>,
    /// A label to sum the metric's series across (`plan`: every plan's `signups` with the
    /// metric's other labels); ignored when no series of the metric has it.
    pub sum: Option<&'a str>,
}

/// What the page shows.
#[derive(Debug, Clone)]
pub struct TrackerPage {
    pub tracker: TrackerView,
    /// The metric shown; `None` when the tracker has none.
    pub metric: Option<MetricView>,
    /// The label the chart sums the metric's series across, when it does.
    pub sum: Option<String>,
    /// The range shown: a custom range without valid days is the default one.
    pub range: ChartRange,
    pub days: Option<(NaiveDate, NaiveDate)>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `None` when there is nothing to chart (no metric, or no sample for "all").
    pub series: Option<Series>,
    pub history: History,
    /// The source's backfill, when it has one.
    pub backfill: Option<BackfillStatus>,
}

/// The page of tracker `id` of the workspace; `None` when there is no such tracker in it.
pub async fn tracker_page(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: TrackerId,
    request: PageRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Option<TrackerPage>, sqlx::Error> {
    let Some(tracker) = store::get_tracker(pool, workspace_id, id).await? else {
        return Ok(None);
    };
    let metric = request
        .metric
        .and_then(|name| tracker.metrics.iter().find(|metric| metric.name == name))
        .or_else(|| tracker.metrics.first())
        .cloned();
    let days = request
        .days
        .filter(|(first, last)| request.range == ChartRange::Custom && first <= last);
    let range = match (request.range, days) {
        (ChartRange::Custom, None) => ChartRange::default(),
        (range, _) => range,
    };
    let (mut from, mut to) = (now - TimeDelta::days(30), now);
    // The series summed across a label, when one is asked for that the metric's have.
    let members: Option<(String, Vec<crate::domain::MetricId>)> = metric
        .as_ref()
        .zip(request.sum)
        .and_then(|(metric, label)| {
            metric
                .summed_across(&tracker.metrics, label)
                .map(|members| {
                    (
                        label.to_string(),
                        members.iter().map(|member| member.id).collect(),
                    )
                })
        });
    let mut read = None;
    if let Some(metric) = &metric {
        let ids = match &members {
            Some((_, ids)) => ids.clone(),
            None => vec![metric.id],
        };
        let midnight = |day: NaiveDate| day.and_time(NaiveTime::MIN).and_utc();
        let bounds = match (range.length_secs(), days) {
            (_, Some((first, last))) => {
                Some((midnight(first), midnight(last) + TimeDelta::days(1)))
            }
            (Some(secs), None) => Some((now - TimeDelta::seconds(secs), now)),
            (None, None) => None,
        };
        read = match bounds {
            Some((start, end)) => {
                (from, to) = (start, end);
                Some(series::read_sum_in_zone(pool, &ids, start, end, CHART_POINTS, None).await?)
            }
            // All of it: from the first sample, found while counting.
            None => series::read_sum_from_first(pool, &ids, now, CHART_POINTS)
                .await?
                .map(|(first, series)| {
                    (from, to) = (first, now);
                    series
                }),
        };
    }
    let history = store::history(
        pool,
        &tracker,
        HistoryRequest {
            events: Some((from, to)),
            recent: RECENT_POLLS,
        },
    )
    .await?;
    let backfill = store::backfill_status(pool, tracker.source.id).await?;
    Ok(Some(TrackerPage {
        tracker,
        metric,
        sum: members.map(|(label, _)| label),
        range,
        days,
        from,
        to,
        series: read,
        history,
        backfill,
    }))
}
