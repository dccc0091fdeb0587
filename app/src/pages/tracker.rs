//! `/trackers/{id}`: one tracker, its metadata, a chart of one metric over a range, and a
//! table of its latest polls. The metric and the range are in the query string
//! (`?metric=stars&range=90d`), so a view can be bookmarked and shared; the links work
//! without the wasm, which draws the chart once it has loaded.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{dashboard::format_number, not_found::NotFound, signed_in::SignedIn};
use crate::{
    api::trackers::{ChartPoint, MODES, RANGES, TrackerDetail, get_tracker_detail},
    components::polls::PollsTable,
};

#[component]
pub fn Tracker() -> impl IntoView {
    let params = use_params_map();
    let path = move || format!("/trackers/{}", params.read().get("id").unwrap_or_default());
    view! {
        <SignedIn path=path() page=|_viewer| view! { <TrackerPage /> } />
    }
}

#[component]
fn TrackerPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let request = move || {
        (
            params.read().get("id").unwrap_or_default(),
            query.read().get("metric"),
            query.read().get("range").unwrap_or_else(|| "30d".into()),
            query.read().get("mode").unwrap_or_else(|| "value".into()),
            query.read().get("scale").unwrap_or_else(|| "linear".into()),
        )
    };
    let detail = Resource::new(request, |(id, metric, range, mode, scale)| {
        get_tracker_detail(id, metric, range, mode, scale)
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(detail)) => view! { <TrackerView detail /> }.into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(_) => view! {
                        <p class="form-error" role="alert">
                            "Could not load this tracker. " <a href="">"Try again"</a>
                        </p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TrackerView(detail: TrackerDetail) -> impl IntoView {
    let summary = detail.summary.clone();
    let base = format!("/trackers/{}", summary.id);
    let view_link = {
        let base = base.clone();
        move |metric: &str, range: &str, mode: &str, scale: &str| {
            format!("{base}?metric={metric}&range={range}&mode={mode}&scale={scale}")
        }
    };
    let (mode, scale) = (detail.mode.clone(), detail.scale.clone());
    let link = {
        let (view_link, mode, scale) = (view_link.clone(), mode.clone(), scale.clone());
        move |metric: &str, range: &str| view_link(metric, range, &mode, &scale)
    };
    let mode_links = MODES
        .iter()
        .map(|(key, label)| {
            let current = *key == detail.mode;
            view! {
                <a href=view_link(&detail.metric, &detail.range, key, &scale) aria-current=current.then_some("page") class="chip">
                    {*label}
                </a>
            }
        })
        .collect_view();
    let scale_links = [("linear", "Linear"), ("log", "Log")]
        .iter()
        .map(|(key, label)| {
            let current = *key == detail.scale;
            view! {
                <a href=view_link(&detail.metric, &detail.range, &mode, key) aria-current=current.then_some("page") class="chip">
                    {*label}
                </a>
            }
        })
        .collect_view();
    // A log axis cannot show zero or less: such data is drawn linear, and says so.
    let log = detail.scale == "log" && detail.points.iter().all(|point| point.min > 0.0);
    let log_note = (detail.scale == "log" && !log)
        .then(|| view! { <p class="muted">"Log scale needs values above zero; showing a linear scale."</p> });
    let metric_links = detail
        .metrics
        .iter()
        .map(|name| {
            let current = *name == detail.metric;
            view! {
                <a href=link(name, &detail.range) aria-current=current.then_some("page") class="chip">
                    {name.replace('_', " ")}
                </a>
            }
        })
        .collect_view();
    let range_links = RANGES
        .iter()
        .map(|(key, label)| {
            let current = *key == detail.range;
            view! {
                <a href=link(&detail.metric, key) aria-current=current.then_some("page") class="chip">
                    {*label}
                </a>
            }
        })
        .collect_view();
    let latest = summary
        .latest
        .iter()
        .find(|(name, _)| *name == detail.metric)
        .and_then(|(_, value)| *value);
    let buckets = detail
        .bucket_secs
        .map(|secs| format!("each point sums up {}", describe_secs(secs)))
        .unwrap_or_else(|| "every poll".to_string());
    let points = detail.points.clone();
    view! {
        <Title text=summary.label.clone() />
        <section class="tracker-page" aria-labelledby="tracker-title">
            <p class="eyebrow"><a href="/dashboard">"Dashboard"</a> " / " {summary.kind.clone()}</p>
            <h1 id="tracker-title">{summary.label.clone()}</h1>
            <p>
                <a href=summary.url.clone() rel="noopener noreferrer">{summary.title.clone()}</a>
                {detail.author.clone().map(|author| view! { " · by " {author} })}
                {detail.published_at.clone().map(|at| view! { " · created " {at} })}
            </p>
            <p class="muted">
                {format!("State: {} · polled every {}", summary.state.replace('_', " "), describe_secs(i64::from(detail.interval_secs)))}
                {summary.last_error.clone().map(|error| view! { " · last error: " {error} })}
            </p>
            <nav class="chips" aria-label="Metric">{metric_links}</nav>
            <nav class="chips" aria-label="Range">{range_links}</nav>
            <nav class="chips" aria-label="View">{mode_links}</nav>
            <nav class="chips" aria-label="Scale">{scale_links}</nav>
            {log_note}
            <figure class="chart-figure">
                <figcaption>
                    <strong>{detail.metric.replace('_', " ")}</strong>
                    {latest.map(|value| view! { " — now " {format_number(value)} " " {detail.unit.clone()} })}
                    <span class="muted">{format!(" · {} points, {buckets}", detail.points.len())}</span>
                </figcaption>
                {if detail.points.is_empty() {
                    view! { <p class="empty-chart">"No data in this range yet."</p> }.into_any()
                } else {
                    view! { <SeriesChart points metric=detail.metric.clone() range=format!("{}-{}-{}", detail.range, detail.mode, detail.scale) log /> }.into_any()
                }}
            </figure>
            <details class="data-table">
                <summary>"Chart data as a table"</summary>
                <table class="trackers">
                    <thead>
                        <tr>
                            <th scope="col">"Time (UTC)"</th>
                            <th scope="col">"Average"</th>
                            <th scope="col">"Min"</th>
                            <th scope="col">"Max"</th>
                            <th scope="col">"Samples"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {detail
                            .points
                            .iter()
                            .map(|point| {
                                view! {
                                    <tr>
                                        <td>{utc(point.t)}</td>
                                        <td>{format_number(point.avg)}</td>
                                        <td>{format_number(point.min)}</td>
                                        <td>{format_number(point.max)}</td>
                                        <td>{point.count}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </details>
            <h2>"Latest polls"</h2>
            <PollsTable metrics=detail.metrics.clone() rows=detail.recent.clone() label="Latest polls" />
            <p>
                <a href=format!("/api/v1/trackers/{}/export.csv", summary.id) download="">"Download CSV"</a>
                " · "
                <a href=format!("/api/v1/trackers/{}/export.json", summary.id) download="">"Download JSON"</a>
            </p>
        </section>
    }
}

/// 3600 → "1 h", 900 → "15 min", 86400 → "1 d".
pub fn describe_secs(secs: i64) -> String {
    if secs % 86_400 == 0 {
        format!("{} d", secs / 86_400)
    } else if secs % 3_600 == 0 {
        format!("{} h", secs / 3_600)
    } else if secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// Milliseconds since the epoch as "YYYY-MM-DD HH:MM" UTC.
fn utc(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        of_day / 3_600,
        of_day % 3_600 / 60
    )
}

/// The chart: drawn by ECharts in the browser from the points the server sent. Each view
/// (metric and range) gets its own element id, so a navigation never draws into the
/// element of the page it leaves.
#[component]
fn SeriesChart(points: Vec<ChartPoint>, metric: String, range: String, log: bool) -> impl IntoView {
    let (drawn, set_drawn) = signal(false);
    let id = format!("tracker-chart-{metric}-{range}");
    let node = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    browser::draw(
        node,
        id.clone(),
        points.clone(),
        metric.clone(),
        log,
        set_drawn,
    );
    #[cfg(not(feature = "hydrate"))]
    let _ = (&points, set_drawn, node, log);
    view! {
        <div
            id=id
            node_ref=node
            class="tracker-chart"
            role="img"
            aria-label=format!("Line chart of {} over the selected range; the same data is in the table below", metric.replace('_', " "))
            data-drawn=move || drawn.get().to_string()
        ></div>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use charming::{
        Chart, WasmRenderer,
        component::{Axis, DataZoom, Grid},
        datatype::CompositeValue,
        element::{AreaStyle, AxisType, LineStyle, Tooltip, Trigger},
        series::Line,
    };
    use std::rc::Rc;

    use leptos::{ev, prelude::*};
    use wasm_bindgen::JsValue;

    use crate::{api::trackers::ChartPoint, components::polls::echarts_loaded};

    /// Draws once the element is in the document and ECharts is loaded (checked each
    /// animation frame for up to ten seconds: a page reached by client-side navigation
    /// creates the element a moment before it is attached); resizes with the window.
    pub fn draw(
        node: NodeRef<leptos::html::Div>,
        id: String,
        points: Vec<ChartPoint>,
        metric: String,
        log: bool,
        set_drawn: WriteSignal<bool>,
    ) {
        let instance = StoredValue::new_local(None::<charming::Echarts>);
        Effect::new(move |_| {
            if node.get().is_none() || instance.with_value(Option::is_some) {
                return;
            }
            let chart = Rc::new(build(&points, &metric, log));
            let done: Rc<dyn Fn(charming::Echarts)> = Rc::new(move |echarts| {
                instance.set_value(Some(echarts));
                set_drawn.set(true);
            });
            attempt(id.clone(), chart, 600, done);
        });
        let handle = window_event_listener(ev::resize, move |_| {
            instance.with_value(|echarts| {
                if let Some(echarts) = echarts {
                    echarts.resize(JsValue::UNDEFINED);
                }
            });
        });
        on_cleanup(move || handle.remove());
    }

    fn attempt(
        id: String,
        chart: Rc<Chart>,
        frames_left: u32,
        done: Rc<dyn Fn(charming::Echarts)>,
    ) {
        let attached = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.get_element_by_id(&id))
            .is_some();
        if attached && echarts_loaded() {
            match WasmRenderer::new_opt(None, None).render(&id, &chart) {
                Ok(echarts) => done(echarts),
                Err(error) => leptos::logging::warn!("chart not drawn: {error:?}"),
            }
        } else if frames_left > 0 {
            request_animation_frame(move || attempt(id, chart, frames_left - 1, done));
        } else {
            leptos::logging::warn!("chart not drawn: its element or ECharts never appeared");
        }
    }

    /// Points with `null` where polls are missing (a gap wider than three steps), so the
    /// line breaks there instead of bridging it.
    fn with_gaps(
        points: &[ChartPoint],
        pick: impl Fn(&ChartPoint) -> f64,
    ) -> Vec<Vec<CompositeValue>> {
        let mut steps: Vec<i64> = points
            .windows(2)
            .map(|pair| pair[1].t - pair[0].t)
            .collect();
        steps.sort_unstable();
        let typical = steps.get(steps.len() / 2).copied().unwrap_or(0);
        let mut out = Vec::with_capacity(points.len() + 8);
        for (index, point) in points.iter().enumerate() {
            if index > 0 && typical > 0 && point.t - points[index - 1].t > typical * 3 {
                let middle = points[index - 1].t + (point.t - points[index - 1].t) / 2;
                out.push(vec![
                    CompositeValue::from(middle as f64),
                    CompositeValue::from(None::<f64>),
                ]);
            }
            out.push(vec![
                CompositeValue::from(point.t as f64),
                CompositeValue::from(pick(point)),
            ]);
        }
        out
    }

    fn build(points: &[ChartPoint], metric: &str, log: bool) -> Chart {
        let name = metric.replace('_', " ");
        // The band is stacked (min, then max − min): not on a log axis.
        let aggregated = !log && points.iter().any(|point| point.count > 1);
        let mut chart = Chart::new()
            .grid(Grid::new().left(64).right(24).top(16).bottom(64))
            .tooltip(Tooltip::new().trigger(Trigger::Axis))
            .x_axis(Axis::new().type_(AxisType::Time))
            .y_axis(if log {
                Axis::new().type_(AxisType::Log)
            } else {
                Axis::new().type_(AxisType::Value).scale(true)
            })
            .data_zoom(DataZoom::new())
            .series(
                Line::new()
                    .name(name.clone())
                    .show_symbol(false)
                    .data(with_gaps(points, |point| point.avg)),
            );
        if aggregated {
            // The min–max band: the max line filled down to the min line.
            chart = chart
                .series(
                    Line::new()
                        .name(format!("{name} min"))
                        .show_symbol(false)
                        .line_style(LineStyle::new().opacity(0))
                        .stack("band")
                        .data(with_gaps(points, |point| point.min)),
                )
                .series(
                    Line::new()
                        .name(format!("{name} max"))
                        .show_symbol(false)
                        .line_style(LineStyle::new().opacity(0))
                        .area_style(AreaStyle::new().opacity(0.15))
                        .stack("band")
                        .data(with_gaps(points, |point| point.max - point.min)),
                );
        }
        chart
    }
}

#[cfg(test)]
mod tests {
    use super::{describe_secs, utc};

    #[test]
    fn times_and_durations_read_well() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_767_225_600_000 + 90 * 60_000), "2026-01-01 01:30");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00");
        assert_eq!(describe_secs(900), "15 min");
        assert_eq!(describe_secs(7_200), "2 h");
        assert_eq!(describe_secs(86_400), "1 d");
        assert_eq!(describe_secs(90), "90 s");
    }
}
