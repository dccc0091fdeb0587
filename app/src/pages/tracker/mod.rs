//! `/trackers/{id}`: one tracker, its metadata, a chart of one metric over a range (with a
//! pin at each alert that fired), a table of its latest polls, and its alert rules
//! (`#alerts`: added, edited, paused and deleted by forms). The metric and the range are
//! in the query string (`?metric=stars&range=90d`), so a view can be bookmarked and
//! shared; the links and forms work without the wasm, which draws the chart once it has
//! loaded.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{not_found::NotFound, signed_in::SignedIn};
use crate::{
    api::{
        alerts::{TrackerAlerts, get_tracker_alerts},
        chart::{SeriesChoice, TrackerDetail, get_tracker_detail},
        session::Viewer,
    },
    components::{
        feedback::{TrackerSkeleton, load_failed},
        form::{FlashMessages, FlashResource, PostButton, flash_resource},
        polls::PollsTable,
    },
    domain::{Action, ChartMode, ChartRange, Scale, TrackerId, rule_form::ALERTS_FLASH},
};

mod alerts;
mod chart;
mod controls;
mod data;
mod history;
mod time;

pub use time::{describe_secs, utc};

#[component]
pub fn Tracker() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let params = use_params_map();
    let query = use_query_map();
    let request = move || {
        (
            params.read().get("id").unwrap_or_default(),
            SeriesChoice {
                metric: query.read().get("metric"),
                sum: query.read().get("sum"),
            },
            ChartRange::parse_or_default(query.read().get("range").as_deref()),
            ChartMode::parse_or_default(query.read().get("mode").as_deref()),
            Scale::parse_or_default(query.read().get("scale").as_deref()),
            query.read().get("from"),
            query.read().get("to"),
        )
    };
    let detail = Resource::new(request, |(id, series, range, mode, scale, from, to)| {
        async move {
            // A malformed id is no tracker at all.
            match id.parse::<TrackerId>() {
                Ok(id) => get_tracker_detail(id, series, range, mode, scale, from, to).await,
                Err(_) => Ok(None),
            }
        }
    });
    // The rules, channels and fired alerts: read once per page (not per range or zoom).
    let alerts = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        |id| async move {
            match id.parse::<TrackerId>() {
                Ok(id) => get_tracker_alerts(id).await,
                Err(_) => Ok(TrackerAlerts::default()),
            }
        },
    );
    let path = move || format!("/trackers/{}", params.read().get("id").unwrap_or_default());
    let flash = flash_resource();
    view! {
        <SignedIn path=path() page=move |viewer| view! { <TrackerPage viewer detail alerts flash /> } />
    }
}

/// What the viewer's role lets them do on this page: the rest is shown read-only.
#[derive(Clone, Copy, Debug)]
struct Permissions {
    /// Poll the tracker now.
    poll: bool,
    /// Add, change, pause and delete its alert rules.
    alerts: bool,
}

#[component]
fn TrackerPage(
    viewer: Viewer,
    detail: Resource<Result<Option<TrackerDetail>, ServerFnError>>,
    alerts: Resource<Result<TrackerAlerts, ServerFnError>>,
    flash: FlashResource,
) -> impl IntoView {
    let may = Permissions {
        poll: viewer.may(Action::EditTrackers),
        alerts: viewer.may(Action::EditAlerts),
    };
    view! {
        <Suspense fallback=|| view! { <TrackerSkeleton /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(page)) => {
                        let alerts = alerts.await;
                        // Once the history has loaded: the page again, with it.
                        let loaded = Callback::new(move |()| detail.refetch());
                        view! { <TrackerView detail=page alerts loaded flash may /> }.into_any()
                    }
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => load_failed("this tracker", &error, move || detail.refetch()),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TrackerView(
    detail: TrackerDetail,
    alerts: Result<TrackerAlerts, ServerFnError>,
    loaded: Callback<()>,
    flash: FlashResource,
    may: Permissions,
) -> impl IntoView {
    let summary = detail.summary.clone();
    // The alerts fired on the metric shown, in the range.
    let (fired, rules) = match &alerts {
        Ok(alerts) => (
            alerts
                .fired
                .iter()
                .filter(|event| event.metric == detail.metric)
                .filter(|event| (detail.from_ms..=detail.to_ms).contains(&event.t))
                .cloned()
                .collect::<Vec<_>>(),
            alerts.rules.clone(),
        ),
        Err(_) => (Vec::new(), Vec::new()),
    };
    // What the chart shows now: the page's points, then finer ones after a zoom.
    let shown = RwSignal::new((detail.points.len(), detail.bucket_secs));
    // The time window on screen: the range, then what a zoom narrows it to.
    let visible = RwSignal::new((detail.from_ms, detail.to_ms));
    view! {
        <Title text=summary.label.clone() />
        <section class="tracker-page" aria-labelledby="tracker-title">
            <p class="eyebrow"><a href="/dashboard">"Dashboard"</a> " / " {summary.kind.to_string()}</p>
            <h1 id="tracker-title">{summary.label.clone()}</h1>
            <p>
                <a href=summary.url.clone() rel="noopener noreferrer">{summary.title.clone()}</a>
                {detail.author.clone().map(|author| view! { " · by " {author} })}
                {detail.published_at.clone().map(|at| view! { " · created " {at} })}
            </p>
            {(summary.kind.as_str() == "twitch.stream").then(|| view! {
                <nav class="tabs" aria-label="Tracker">
                    <a href=format!("/trackers/{}", summary.id) aria-current="page">"Chart"</a>
                    <a href=format!("/trackers/{}/streams", summary.id)>"Streams"</a>
                </nav>
            })}
            <FlashMessages flash forms=&["poll-now"] except=&[ALERTS_FLASH] />
            <div class="tracker-status">
                // A push source is not polled: its numbers come when they are pushed.
                {if summary.kind.as_str() == "push" {
                    view! {
                        <p class="muted">
                            {format!("State: {} · a push source: its numbers arrive at /api/v1/push", summary.state.label())}
                        </p>
                    }
                    .into_any()
                } else {
                    view! {
                        <p class="muted">
                            {format!("State: {} · polled every {}", summary.state.label(), describe_secs(i64::from(detail.interval_secs)))}
                            {summary.last_error.clone().map(|error| view! { " · last error: " {error} })}
                        </p>
                        {may.poll.then(|| view! {
                            <PostButton action=format!("/trackers/{}/poll", summary.id) text="Poll now" inline=true />
                        })}
                    }
                    .into_any()
                }}
            </div>
            {controls::view_controls(&detail)}
            {chart::chart_figure(&detail, &fired, shown, visible)}
            {alerts::fired_list(&fired, &rules, visible)}
            <history::HistoryNote detail=detail.clone() loaded />
            {data::event_list(&detail.events)}
            {data::data_table(&detail.points, detail.history_from.as_deref())}
            <h2>"Latest polls"</h2>
            <PollsTable metrics=detail.metrics.clone() rows=detail.recent.clone() label="Latest polls" />
            {data::downloads(summary.id, &detail.metric, visible)}
            <alerts::AlertsSection
                tracker=summary.id
                metrics=detail.metrics.clone()
                metric=detail.metric.clone()
                alerts
                flash
                editable=may.alerts
            />
        </section>
    }
}
