//! `/trackers/{id}`: one tracker, its metadata, a chart of one metric over a range, and a
//! table of its latest polls. The metric and the range are in the query string
//! (`?metric=stars&range=90d`), so a view can be bookmarked and shared; the links work
//! without the wasm, which draws the chart once it has loaded.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{dashboard::format_number, not_found::NotFound, signed_in::SignedIn};
use crate::{
    api::chart::{ChartEvent, ChartPoint, TrackerDetail, get_tracker_detail},
    components::{
        add_tracker::server_message,
        feedback::{ErrorBox, TrackerSkeleton},
        polls::PollsTable,
    },
    domain::{ChartMode, ChartRange, Scale, TrackerId},
};

#[component]
pub fn Tracker() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let params = use_params_map();
    let query = use_query_map();
    let request = move || {
        (
            params.read().get("id").unwrap_or_default(),
            query.read().get("metric"),
            ChartRange::parse_or_default(query.read().get("range").as_deref()),
            ChartMode::parse_or_default(query.read().get("mode").as_deref()),
            Scale::parse_or_default(query.read().get("scale").as_deref()),
            query.read().get("from"),
            query.read().get("to"),
        )
    };
    let detail = Resource::new(request, |(id, metric, range, mode, scale, from, to)| {
        async move {
            // A malformed id is no tracker at all.
            match id.parse::<TrackerId>() {
                Ok(id) => get_tracker_detail(id, metric, range, mode, scale, from, to).await,
                Err(_) => Ok(None),
            }
        }
    });
    let path = move || format!("/trackers/{}", params.read().get("id").unwrap_or_default());
    view! {
        <SignedIn path=path() page=move |_viewer| view! { <TrackerPage detail /> } />
    }
}

#[component]
fn TrackerPage(detail: Resource<Result<Option<TrackerDetail>, ServerFnError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <TrackerSkeleton /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(detail)) => view! { <TrackerView detail /> }.into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! {
                        <ErrorBox
                            message=format!("Could not load this tracker: {}", server_message(&error))
                            retry=move || detail.refetch()
                        />
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
    // Every link keeps the rest of the view; a custom range keeps its days.
    let custom_days = match (&detail.from, &detail.to) {
        (Some(from), Some(to)) if detail.range == ChartRange::Custom => {
            format!("&from={from}&to={to}")
        }
        _ => String::new(),
    };
    let view_link = {
        let (base, custom_days) = (base.clone(), custom_days.clone());
        move |metric: &str, range: ChartRange, mode: ChartMode, scale: Scale| {
            let days = if range == ChartRange::Custom {
                custom_days.as_str()
            } else {
                ""
            };
            format!(
                "{base}?metric={metric}&range={}&mode={}&scale={}{days}",
                range.key(),
                mode.key(),
                scale.key()
            )
        }
    };
    let chips = |label: &'static str, items: Vec<(String, String, bool)>| {
        let links = items
            .into_iter()
            .map(|(href, text, current)| {
                view! { <a href=href aria-current=current.then_some("page") class="chip">{text}</a> }
            })
            .collect_view();
        view! { <nav class="chips" aria-label=label>{links}</nav> }
    };
    let (metric, range, mode, scale) = (
        detail.metric.clone(),
        detail.range,
        detail.mode,
        detail.scale,
    );
    let metric_links = chips(
        "Metric",
        detail
            .metrics
            .iter()
            .map(|name| {
                (
                    view_link(name, range, mode, scale),
                    name.replace('_', " "),
                    *name == metric,
                )
            })
            .collect(),
    );
    let range_links = chips(
        "Range",
        ChartRange::PRESETS
            .into_iter()
            .map(|preset| {
                (
                    view_link(&metric, preset, mode, scale),
                    preset.label().to_string(),
                    preset == range,
                )
            })
            .collect(),
    );
    let mode_links = chips(
        "View",
        ChartMode::ALL
            .into_iter()
            .map(|choice| {
                (
                    view_link(&metric, range, choice, scale),
                    choice.label().to_string(),
                    choice == mode,
                )
            })
            .collect(),
    );
    let scale_links = chips(
        "Scale",
        Scale::ALL
            .into_iter()
            .map(|choice| {
                (
                    view_link(&metric, range, mode, choice),
                    choice.label().to_string(),
                    choice == scale,
                )
            })
            .collect(),
    );
    // A log axis cannot show zero or less: such data is drawn linear, and says so.
    let log = detail.scale == Scale::Log && detail.points.iter().all(|point| point.min > 0.0);
    let log_note = (detail.scale == Scale::Log && !log)
        .then(|| view! { <p class="muted">"Log scale needs values above zero; showing a linear scale."</p> });
    let latest = summary
        .latest
        .iter()
        .find(|(name, _)| *name == detail.metric)
        .and_then(|(_, value)| *value);
    // What the chart shows now: the page's points, then finer ones after a zoom.
    let shown = RwSignal::new((detail.points.len(), detail.bucket_secs));
    // The time window on screen: the range, then what a zoom narrows it to.
    let visible = RwSignal::new((detail.from_ms, detail.to_ms));
    let caption = move || {
        let (count, bucket) = shown.get();
        let buckets = bucket
            .map(|secs| format!("each point sums up {}", describe_secs(secs)))
            .unwrap_or_else(|| "every poll".to_string());
        format!(" · {count} points, {buckets}")
    };
    let chart = ChartSpec {
        tracker_id: summary.id,
        metric: detail.metric.clone(),
        mode: detail.mode,
        view_key: format!(
            "{}-{}-{}-{}",
            detail.metric,
            detail.range.key(),
            detail.mode.key(),
            detail.scale.key()
        ),
        points: detail.points.clone(),
        events: detail.events.clone(),
        log,
        from_ms: detail.from_ms,
        to_ms: detail.to_ms,
        file_name: format!("{}-{}.png", slug(&summary.label), detail.metric),
    };
    let events = detail.events.clone();
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
            <p class="muted">
                {format!("State: {} · polled every {}", summary.state.label(), describe_secs(i64::from(detail.interval_secs)))}
                {summary.last_error.clone().map(|error| view! { " · last error: " {error} })}
            </p>
            {metric_links}
            {range_links}
            <form method="get" action=base.clone() class="custom-range" aria-label="Custom range">
                <input type="hidden" name="metric" value=detail.metric.clone() />
                <input type="hidden" name="mode" value=detail.mode.key() />
                <input type="hidden" name="scale" value=detail.scale.key() />
                <input type="hidden" name="range" value="custom" />
                <label>"From " <input type="date" name="from" required value=detail.from.clone().unwrap_or_default() /></label>
                <label>"to " <input type="date" name="to" required value=detail.to.clone().unwrap_or_default() /></label>
                <button class="button-secondary" type="submit" aria-current=(detail.range == ChartRange::Custom).then_some("page")>"Show"</button>
            </form>
            {mode_links}
            {scale_links}
            {log_note}
            <figure class="chart-figure">
                <figcaption>
                    <strong>{detail.metric.replace('_', " ")}</strong>
                    {latest.map(|value| view! { " — now " {format_number(value)} " " {detail.unit.clone()} })}
                    <span class="muted" data-testid="chart-caption">{caption}</span>
                </figcaption>
                {if detail.points.is_empty() {
                    view! { <p class="empty-chart">"No data in this range yet."</p> }.into_any()
                } else {
                    view! { <SeriesChart chart shown visible /> }.into_any()
                }}
            </figure>
            {(!events.is_empty()).then(|| view! {
                <details class="events">
                    <summary>{format!("Events in this range ({})", events.len())}</summary>
                    <ul>
                        {events.iter().map(|event| view! {
                            <li><time>{utc(event.t)} " UTC"</time> " — " {event.describe()}</li>
                        }).collect_view()}
                    </ul>
                </details>
            })}
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
                <a href={
                    let (id, metric) = (summary.id.to_string(), detail.metric.clone());
                    move || export_link(&id, "csv", &metric, visible.get())
                } download="">"Download CSV"</a>
                " · "
                <a href={
                    let (id, metric) = (summary.id.to_string(), detail.metric.clone());
                    move || export_link(&id, "json", &metric, visible.get())
                } download="">"Download JSON"</a>
                " " <span class="muted">"(the time shown, this metric)"</span>
            </p>
        </section>
    }
}

/// The export of `metric` over the window `(from, to)` (ms since the epoch).
fn export_link(id: &str, format: &str, metric: &str, (from, to): (i64, i64)) -> String {
    format!(
        "/api/v1/trackers/{id}/export.{format}?metrics={metric}&from={}&to={}",
        rfc3339(from),
        rfc3339(to)
    )
}

/// Milliseconds since the epoch as RFC 3339 UTC (`2026-01-01T01:30:00Z`).
fn rfc3339(millis: i64) -> String {
    let text = utc(millis);
    let secs = millis.div_euclid(1000).rem_euclid(60);
    format!("{}T{}:{secs:02}Z", &text[..10], &text[11..])
}

/// A file-name-safe form of a label.
fn slug(label: &str) -> String {
    let slug: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if slug.is_empty() {
        "chart".into()
    } else {
        slug
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
pub fn utc(millis: i64) -> String {
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

/// What the chart shows now: how many points, and the bucket width (`None`: raw polls).
type Shown = RwSignal<(usize, Option<i64>)>;
/// The time window on screen, in ms since the epoch.
type Visible = RwSignal<(i64, i64)>;

/// What a tracker chart draws and how it fetches finer data.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSpec {
    pub tracker_id: TrackerId,
    pub metric: String,
    pub mode: ChartMode,
    /// Unique per view, so a navigation never draws into the element of the page it leaves.
    pub view_key: String,
    pub points: Vec<ChartPoint>,
    pub events: Vec<ChartEvent>,
    pub log: bool,
    pub from_ms: i64,
    pub to_ms: i64,
    pub file_name: String,
}

/// The chart: drawn by ECharts in the browser from the points the server sent. Zooming
/// (the slider, the mouse wheel or a pinch) fetches finer buckets for the visible window.
#[component]
fn SeriesChart(chart: ChartSpec, shown: Shown, visible: Visible) -> impl IntoView {
    let (drawn, set_drawn) = signal(false);
    let problem = RwSignal::new(None::<String>);
    let id = format!("tracker-chart-{}", chart.view_key);
    let node = NodeRef::<leptos::html::Div>::new();
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
            aria-label=format!("Line chart of {} over the selected range; the same data is in the table below", chart.metric.replace('_', " "))
            data-drawn=move || drawn.get().to_string()
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

#[cfg(feature = "hydrate")]
mod browser {
    use charming::{
        Chart,
        component::{Axis, DataZoom, DataZoomType, Grid},
        datatype::CompositeValue,
        element::{
            AreaStyle, AxisType, Label, LineStyle, LineStyleType, MarkLine, MarkLineData,
            MarkLineVariant, Symbol, Tooltip, Trigger,
        },
        series::Line,
    };
    use std::rc::Rc;

    use leptos::{ev, prelude::*, task::spawn_local};
    use wasm_bindgen::{JsValue, closure::Closure};

    use super::{ChartSpec, Shown, Visible};
    use crate::{
        api::chart::{ChartPoint, get_series_window},
        components::{add_tracker::server_message, echarts},
    };

    /// How long the zoom must rest before finer data is fetched.
    const ZOOM_DEBOUNCE_MS: u64 = 300;

    struct Drawn {
        echarts: charming::Echarts,
        _on_zoom: Closure<dyn FnMut(JsValue)>,
    }

    /// Draws the chart once its element is attached and ECharts is loaded, resizes it with
    /// the window, refines it after each zoom; returns the PNG button's handler.
    pub fn draw(
        node: NodeRef<leptos::html::Div>,
        id: String,
        spec: ChartSpec,
        set_drawn: WriteSignal<bool>,
        (shown, visible): (Shown, Visible),
        problem: RwSignal<Option<String>>,
    ) -> impl Fn(leptos::ev::MouseEvent) + 'static {
        let instance = StoredValue::new_local(None::<Drawn>);
        let spec = StoredValue::new_local(spec);
        let timer = StoredValue::new_local(None::<TimeoutHandle>);
        let generation = StoredValue::new_local(0_u64);
        Effect::new(move |_| {
            if node.get().is_none() || instance.with_value(Option::is_some) {
                return;
            }
            let chart = Rc::new(spec.with_value(|spec| build(spec, &spec.points)));
            let done: Rc<dyn Fn(charming::Echarts)> = Rc::new(move |chart| {
                let on_zoom = echarts::listen(&chart, "datazoom", move |_| {
                    if let Some(handle) = timer.get_value() {
                        handle.clear();
                    }
                    let handle = set_timeout_with_handle(
                        move || refine(instance, spec, generation, (shown, visible), problem),
                        std::time::Duration::from_millis(ZOOM_DEBOUNCE_MS),
                    );
                    timer.set_value(handle.ok());
                });
                instance.set_value(Some(Drawn {
                    echarts: chart,
                    _on_zoom: on_zoom,
                }));
                set_drawn.set(true);
            });
            let failed: Rc<dyn Fn(String)> = Rc::new(move |reason| {
                problem.set(Some(format!(
                    "The chart could not be drawn ({reason}); the data is in the table below."
                )));
            });
            echarts::draw_when_ready(id.clone(), chart, done, failed);
        });
        let handle = window_event_listener(ev::resize, move |_| {
            instance.with_value(|drawn| {
                if let Some(drawn) = drawn {
                    drawn.echarts.resize(JsValue::UNDEFINED);
                }
            });
        });
        on_cleanup(move || {
            handle.remove();
            instance.try_with_value(|drawn| {
                if let Some(drawn) = drawn {
                    echarts::dispose(&drawn.echarts);
                }
            });
        });
        move |_| {
            let file_name = spec.with_value(|spec| spec.file_name.clone());
            instance.with_value(|drawn| {
                if let Some(drawn) = drawn
                    && echarts::download_png(&drawn.echarts, &file_name).is_err()
                {
                    problem.set(Some("The PNG could not be made in this browser.".into()));
                }
            });
        }
    }

    /// After a zoom: the visible window in finer buckets, spliced into the page's points
    /// (which stay outside the window, so panning still shows the whole range).
    fn refine(
        instance: StoredValue<Option<Drawn>, LocalStorage>,
        spec: StoredValue<ChartSpec, LocalStorage>,
        generation: StoredValue<u64, LocalStorage>,
        (shown, visible): (Shown, Visible),
        problem: RwSignal<Option<String>>,
    ) {
        let Some(Some((start, end))) = instance.try_with_value(|drawn| {
            drawn
                .as_ref()
                .and_then(|drawn| echarts::visible_window(&drawn.echarts))
        }) else {
            return;
        };
        generation.update_value(|n| *n += 1);
        let current = generation.get_value();
        let (id, metric, mode, from_ms, to_ms, coarse) = spec.with_value(|spec| {
            (
                spec.tracker_id,
                spec.metric.clone(),
                spec.mode,
                spec.from_ms,
                spec.to_ms,
                spec.points.clone(),
            )
        });
        let (start, end) = (start as i64, end as i64);
        visible.set((start.max(from_ms), end.min(to_ms)));
        let redraw = move |points: &[ChartPoint], bucket: Option<i64>| {
            instance.with_value(|drawn| {
                if let Some(drawn) = drawn {
                    let chart = spec.with_value(|spec| build(spec, points));
                    echarts::update(&drawn.echarts, &chart);
                }
            });
            shown.set((points.len(), bucket));
        };
        // The whole range again: the page's own points.
        if (end - start) as f64 >= (to_ms - from_ms) as f64 * 0.95 {
            let bucket = spec.with_value(|spec| bucket_of(&spec.points));
            redraw(&coarse, bucket);
            return;
        }
        spawn_local(async move {
            let answer =
                get_series_window(id, metric, start, end, mode, echarts::time_zone()).await;
            if generation.try_get_value() != Some(current) {
                return;
            }
            match answer {
                Ok(Some(window)) => {
                    problem.set(None);
                    let points = splice(&coarse, &window.points);
                    redraw(&points, window.bucket_secs);
                }
                Ok(None) => {}
                Err(error) => problem.set(Some(format!(
                    "Could not load finer data for this window: {}",
                    server_message(&error)
                ))),
            }
        });
    }

    fn bucket_of(points: &[ChartPoint]) -> Option<i64> {
        points
            .windows(2)
            .map(|pair| (pair[1].t - pair[0].t) / 1000)
            .min()
            .filter(|_| points.iter().any(|point| point.count > 1))
    }

    /// `fine` in place of the `coarse` points it covers.
    fn splice(coarse: &[ChartPoint], fine: &[ChartPoint]) -> Vec<ChartPoint> {
        let (Some(first), Some(last)) = (fine.first(), fine.last()) else {
            return coarse.to_vec();
        };
        coarse
            .iter()
            .filter(|point| point.t < first.t)
            .chain(fine)
            .chain(coarse.iter().filter(|point| point.t > last.t))
            .cloned()
            .collect()
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

    fn build(spec: &ChartSpec, points: &[ChartPoint]) -> Chart {
        let name = spec.metric.replace('_', " ");
        let markers = spec
            .events
            .iter()
            .map(|event| {
                MarkLineVariant::Simple(
                    MarkLineData::new()
                        .name(event.describe())
                        .x_axis(event.t as f64)
                        .label(Label::new().formatter(event.kind.as_str())),
                )
            })
            .collect::<Vec<_>>();
        let mut main = Line::new()
            .name(name.clone())
            .show_symbol(false)
            .data(with_gaps(points, |point| point.avg));
        if !markers.is_empty() {
            main = main.mark_line(
                MarkLine::new()
                    .symbol(vec![Symbol::None, Symbol::None])
                    .line_style(LineStyle::new().type_(LineStyleType::Dashed))
                    .data(markers),
            );
        }
        let mut chart = Chart::new()
            .background_color("transparent")
            .grid(Grid::new().left(64).right(24).top(24).bottom(64))
            .tooltip(
                Tooltip::new()
                    .trigger(Trigger::Axis)
                    .formatter(echarts::time_tooltip()),
            )
            .x_axis(
                Axis::new()
                    .type_(AxisType::Time)
                    .min(spec.from_ms as f64)
                    .max(spec.to_ms as f64),
            )
            .y_axis(if spec.log {
                Axis::new().type_(AxisType::Log)
            } else {
                Axis::new().type_(AxisType::Value).scale(true)
            })
            .data_zoom(DataZoom::new().type_(DataZoomType::Inside))
            .data_zoom(DataZoom::new().type_(DataZoomType::Slider))
            .series(main);
        if !spec.log {
            // The min–max band (the max line filled down to the min line): flat, so
            // invisible, where points are single polls.
            chart = chart
                .series(
                    Line::new()
                        .name("min")
                        .show_symbol(false)
                        .line_style(LineStyle::new().opacity(0))
                        .stack("band")
                        .data(with_gaps(points, |point| point.min)),
                )
                .series(
                    Line::new()
                        .name("max")
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
    use super::{describe_secs, rfc3339, slug, utc};

    #[test]
    fn times_and_durations_read_well() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_767_225_600_000 + 90 * 60_000), "2026-01-01 01:30");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00");
        assert_eq!(
            rfc3339(1_767_225_600_000 + 90 * 60_000 + 7_000),
            "2026-01-01T01:30:07Z"
        );
        assert_eq!(describe_secs(900), "15 min");
        assert_eq!(describe_secs(7_200), "2 h");
        assert_eq!(describe_secs(86_400), "1 d");
        assert_eq!(describe_secs(90), "90 s");
        assert_eq!(slug("leptos-rs/leptos — stars!"), "leptos-rs-leptos-stars");
        assert_eq!(slug("★"), "chart");
    }
}
