//! The tracker page's chart: the figure with its caption, and the element ECharts draws
//! into in the browser (`browser`) from the points the server sent.

use leptos::prelude::*;

use super::time::describe_secs;
use crate::{
    api::{
        alerts::FiredAlert,
        chart::{ChartEvent, ChartPoint, TrackerDetail},
    },
    domain::{ChartMode, Origin, Scale, TrackerId},
    pages::dashboard::format_number,
};

#[cfg(feature = "hydrate")]
mod browser;

/// What the chart shows now: how many points, and the bucket width (`None`: raw polls).
pub(super) type Shown = RwSignal<(usize, Option<i64>)>;
/// The time window on screen, in ms since the epoch.
pub(super) type Visible = RwSignal<(i64, i64)>;

/// A fired alert the chart pins at its value: when (ms since the epoch), the value, and
/// what happened.
#[derive(Clone, Debug, PartialEq)]
// Read in the browser only.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Pin {
    t: i64,
    value: f64,
    reason: String,
}

/// What a tracker chart draws and how it fetches finer data.
#[derive(Clone, Debug, PartialEq)]
// Read in the browser only.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct ChartSpec {
    tracker_id: TrackerId,
    metric: String,
    /// The label the series are summed across, when they are, and the series in words.
    sum: Option<String>,
    shown: String,
    mode: ChartMode,
    /// Unique per view, so a navigation never draws into the element of the page it leaves.
    view_key: String,
    points: Vec<ChartPoint>,
    events: Vec<ChartEvent>,
    /// The alerts fired on the metric in the range (none when the chart shows rates).
    pins: Vec<Pin>,
    log: bool,
    from_ms: i64,
    to_ms: i64,
    file_name: String,
    /// Where backfilled points came from ("GitHub"), for the legend and the tooltip.
    history_from: Option<String>,
}

impl ChartSpec {
    fn new(detail: &TrackerDetail, fired: &[FiredAlert]) -> Self {
        // A rate chart's axis is not the metric's: an alert's value has no place on it.
        let pins = if detail.mode.per_secs().is_none() {
            fired
                .iter()
                .filter_map(|event| {
                    event.value.map(|value| Pin {
                        t: event.t,
                        value,
                        reason: event.reason.clone(),
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        Self {
            tracker_id: detail.summary.id,
            metric: detail.metric.clone(),
            sum: detail.sum.clone(),
            shown: shown_metric(detail),
            mode: detail.mode,
            view_key: view_key(detail),
            points: detail.points.clone(),
            events: detail.events.clone(),
            pins,
            log: draws_log(detail),
            from_ms: detail.from_ms,
            to_ms: detail.to_ms,
            file_name: format!(
                "{}-{}.png",
                slug(&detail.summary.label),
                slug(&shown_metric(detail))
            ),
            history_from: detail.history_from.clone(),
        }
    }
}

/// What tells one drawn view from another (`stars-7d-value-linear`, or
/// `requests-sum-plan-7d-value-linear` when the family's series are summed across `plan`):
/// the chart's element id, so a new view draws a new chart.
fn view_key(detail: &TrackerDetail) -> String {
    let series = match detail.sum.as_deref() {
        Some(label) => format!("{}-sum-{label}", detail.metric),
        None => detail.metric.clone(),
    };
    format!(
        "{series}-{}-{}-{}",
        detail.range.key(),
        detail.mode.key(),
        detail.scale.key()
    )
}

/// A log axis cannot show zero or less: such data is drawn linear, and says so.
fn draws_log(detail: &TrackerDetail) -> bool {
    detail.scale == Scale::Log && detail.points.iter().all(|point| point.min > 0.0)
}

/// The note on a log scale drawn linear, then the figure: the metric, its latest value,
/// what the points are, and the chart (or a line saying the range has no data yet), with a
/// pin at each of the `fired` alerts.
pub(super) fn chart_figure(
    detail: &TrackerDetail,
    fired: &[FiredAlert],
    shown: Shown,
    visible: Visible,
) -> impl IntoView + use<> {
    let log_note = (detail.scale == Scale::Log && !draws_log(detail))
        .then(|| view! { <p class="muted">"Log scale needs values above zero; showing a linear scale."</p> });
    // A sum has no one latest value: its last point is it.
    let latest = match &detail.sum {
        Some(_) => detail.points.last().map(|point| point.avg),
        None => detail
            .summary
            .latest
            .iter()
            .find(|(name, _)| *name == detail.metric)
            .and_then(|(_, value)| *value),
    };
    let caption = move || {
        let (count, bucket) = shown.get();
        let buckets = bucket
            .map(|secs| format!("each point sums up {}", describe_secs(secs)))
            .unwrap_or_else(|| "every poll".to_string());
        format!(" · {count} points, {buckets}")
    };
    let chart = ChartSpec::new(detail, fired);
    view! {
        {log_note}
        <figure class="chart-figure">
            <figcaption>
                <strong>{shown_metric(detail)}</strong>
                {latest.map(|value| view! { " — now " {format_number(value)} " " {detail.unit.clone()} })}
                <span class="muted" data-testid="chart-caption">{caption}</span>
            </figcaption>
            {if detail.points.is_empty() {
                view! { <p class="empty-chart">"No data in this range yet."</p> }.into_any()
            } else {
                view! { <SeriesChart chart shown visible /> }.into_any()
            }}
        </figure>
    }
}

/// The series charted, in words: `signups{plan="pro"}`, or `signups, summed across plan`
/// (with the labels the sum keeps: `signups{region="eu"}, summed across plan`).
fn shown_metric(detail: &TrackerDetail) -> String {
    let Some(label) = &detail.sum else {
        return detail.metric.replace('_', " ");
    };
    let kept = detail
        .label_sets
        .iter()
        .find(|(name, _)| *name == detail.metric)
        .map(|(_, labels)| {
            labels
                .iter()
                .filter(|(name, _)| *name != label)
                .map(|(name, value)| format!("{name}={value:?}"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let kept = if kept.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", kept.join(", "))
    };
    format!(
        "{}{kept}, summed across {label}",
        detail.family.replace('_', " ")
    )
}

/// A file-name-safe form of a label.
fn slug(label: &str) -> String {
    let slug = label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-");
    if slug.is_empty() {
        "chart".into()
    } else {
        slug
    }
}

/// The chart: drawn by ECharts in the browser from the points the server sent. Zooming
/// (the slider, the mouse wheel or a pinch) fetches finer buckets for the visible window.
#[component]
fn SeriesChart(chart: ChartSpec, shown: Shown, visible: Visible) -> impl IntoView {
    let (drawn, set_drawn) = signal(false);
    let problem = RwSignal::new(None::<String>);
    let id = format!("tracker-chart-{}", chart.view_key);
    let node = NodeRef::<leptos::html::Div>::new();
    // How many points came from the upstream's history (drawn as a lighter line).
    let upstream = chart
        .points
        .iter()
        .filter(|point| point.origin == Origin::Upstream)
        .count();
    #[cfg(feature = "hydrate")]
    let on_png = browser::draw(
        node,
        id.clone(),
        chart.clone(),
        set_drawn,
        (shown, visible),
        problem,
    );
    #[cfg(not(feature = "hydrate"))]
    let on_png = {
        let _ = (&chart, set_drawn, node, shown, visible);
        move |_: leptos::ev::MouseEvent| {}
    };
    view! {
        <div
            id=id
            node_ref=node
            class="tracker-chart"
            role="img"
            aria-label=format!("Line chart of {} over the selected range; the same data is in the table below", chart.shown)
            data-drawn=move || drawn.get().to_string()
            data-upstream-points=upstream.to_string()
            data-points=move || shown.get().0.to_string()
            data-bucket=move || shown.get().1.map(|secs| secs.to_string()).unwrap_or_else(|| "raw".into())
        ></div>
        {move || problem.get().map(|problem| view! { <p class="form-error" role="alert">{problem}</p> })}
        <p class="chart-actions">
            <button class="button-secondary" type="button" disabled=move || !drawn.get() on:click=on_png>
                "Download PNG"
            </button>
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn labels_become_file_names() {
        assert_eq!(slug("leptos-rs/leptos — stars!"), "leptos-rs-leptos-stars");
        assert_eq!(slug("★"), "chart");
    }
}
