//! `/compare`: several trackers of the workspace on one chart. The choice is a GET form,
//! so the view is in the URL (`?ids=…&ids=…&range=90d&view=percent&align=launch`) and
//! works before the wasm loads; the chart is drawn once it has.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::signed_in::SignedIn;
use crate::{
    api::compare::{Comparison, DrawnLine, MAX_COMPARED, draw_lines, get_comparison},
    components::feedback::{ListSkeleton, load_failed},
    domain::ChartRange,
};

#[component]
pub fn Compare() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let query = use_query_map();
    let request = move || {
        query.with(|query| {
            (
                query.get_all("ids").unwrap_or_default(),
                ChartRange::parse_or_default(query.get("range").as_deref()),
                query.get("align").unwrap_or_else(|| "calendar".into()),
                query.get("view").unwrap_or_else(|| "axes".into()),
            )
        })
    };
    let comparison = Resource::new(request, |(ids, range, align, _)| {
        get_comparison(ids, range, align)
    });
    let path = move || {
        let search = query.read().to_query_string();
        format!("/compare{search}")
    };
    view! {
        <Title text="Compare" />
        <SignedIn path=path() page=move |_viewer| view! { <ComparePage request comparison /> } />
    }
}

#[component]
fn ComparePage<R>(
    request: R,
    comparison: Resource<Result<Comparison, ServerFnError>>,
) -> impl IntoView
where
    R: Fn() -> (Vec<String>, ChartRange, String, String) + Copy + Send + Sync + 'static,
{
    view! {
        <section class="compare-page" aria-labelledby="compare-title">
            <p class="eyebrow"><a href="/dashboard">"Dashboard"</a> " / compare"</p>
            <h1 id="compare-title">"Compare trackers"</h1>
            <Suspense fallback=|| view! { <ListSkeleton label="Loading the comparison…" /> }>
                {move || Suspend::new(async move {
                    let view_kind = request().3;
                    match comparison.await {
                        Ok(comparison) => view! { <CompareView comparison view_kind /> }.into_any(),
                        Err(error) => load_failed("the comparison", &error, move || comparison.refetch()),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn CompareView(comparison: Comparison, view_kind: String) -> impl IntoView {
    let view_kind = if view_kind == "percent" {
        "percent".to_string()
    } else {
        "axes".to_string()
    };
    let chosen: Vec<String> = comparison
        .series
        .iter()
        .map(|line| line.id.clone())
        .collect();
    let choices = comparison
        .trackers
        .iter()
        .map(|tracker| {
            let checked = chosen.contains(&tracker.id.to_string());
            view! {
                <label class="check">
                    <input type="checkbox" name="ids" value=tracker.id.to_string() checked=checked />
                    " " {tracker.label.clone()} " " <span class="muted">{tracker.kind.to_string()}</span>
                </label>
            }
        })
        .collect_view();
    let select = |name: &'static str,
                  label: &'static str,
                  options: &[(&'static str, &'static str)],
                  current: &str| {
        let options = options
            .iter()
            .map(|&(value, text)| {
                let selected = value == current;
                view! { <option value=value selected=selected>{text}</option> }
            })
            .collect_view();
        view! {
            <div class="field">
                <label for=format!("compare-{name}")>{label}</label>
                <select id=format!("compare-{name}") name=name>{options}</select>
            </div>
        }
    };
    let ranges = ChartRange::PRESETS.map(|range| (range.key(), range.label()));
    let lines = draw_lines(&comparison.series, &view_kind, &comparison.align);
    let notes: Vec<String> = lines.iter().filter_map(|line| line.note.clone()).collect();
    let has_points = lines.iter().any(|line| !line.points.is_empty());
    let launch = comparison.align == "launch";
    let key = format!(
        "{}-{}-{}-{}",
        chosen.join("-"),
        comparison.range.key(),
        comparison.align,
        view_kind
    );
    let spec = CompareSpec {
        key,
        lines: lines.clone(),
        percent: view_kind == "percent",
        launch: comparison.align == "launch",
        from_ms: comparison.from_ms,
        to_ms: comparison.to_ms,
    };
    view! {
        <form method="get" action="/compare" class="panel compare-form" aria-label="What to compare">
            <fieldset>
                <legend>{format!("Trackers (up to {MAX_COMPARED})")}</legend>
                <div class="checks">{choices}</div>
            </fieldset>
            <div class="form-row">
                {select("range", "Range", &ranges, comparison.range.key())}
                {select("view", "Show", &[("axes", "Values, each on its own axis"), ("percent", "% change since the start")], &view_kind)}
                {select("align", "Align by", &[("calendar", "Calendar time"), ("launch", "Time since first sample")], &comparison.align)}
            </div>
            <button class="button" type="submit">"Compare"</button>
        </form>
        {notes.into_iter().map(|note| view! { <p class="muted">{note}</p> }).collect_view()}
        {if comparison.series.is_empty() {
            view! { <p class="empty-chart">"Tick two or more trackers and press Compare."</p> }.into_any()
        } else if !has_points {
            view! { <p class="empty-chart">"No data in this range yet."</p> }.into_any()
        } else {
            view! { <CompareChart spec /> }.into_any()
        }}
        <details class="data-table">
            <summary>"Compared data as a table"</summary>
            {lines.iter().map(|line| view! { <LineTable line=line.clone() launch /> }).collect_view()}
        </details>
    }
}

#[component]
fn LineTable(line: DrawnLine, launch: bool) -> impl IntoView {
    let rows = line
        .points
        .iter()
        .map(|(x, y)| {
            let when = if launch {
                format!("day {x:.2}")
            } else {
                super::tracker::utc(*x as i64)
            };
            view! { <tr><td>{when}</td><td>{super::dashboard::format_number(*y)}</td></tr> }
        })
        .collect_view();
    view! {
        <table class="trackers">
            <caption>{format!("{} ({})", line.label, line.unit)}</caption>
            <thead>
                <tr>
                    <th scope="col">{if launch { "Since first sample" } else { "Time (UTC)" }}</th>
                    <th scope="col">"Value"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// What the compare chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareSpec {
    pub key: String,
    pub lines: Vec<DrawnLine>,
    pub percent: bool,
    pub launch: bool,
    pub from_ms: i64,
    pub to_ms: i64,
}

#[component]
fn CompareChart(spec: CompareSpec) -> impl IntoView {
    let (drawn, set_drawn) = signal(false);
    let problem = RwSignal::new(None::<String>);
    let id = format!("compare-chart-{}", spec.key);
    let node = NodeRef::<leptos::html::Div>::new();
    let count = spec.lines.len();
    #[cfg(feature = "hydrate")]
    browser::draw(node, id.clone(), spec, set_drawn, problem);
    #[cfg(not(feature = "hydrate"))]
    let _ = (spec, set_drawn, node);
    view! {
        <div
            id=id
            node_ref=node
            class="tracker-chart compare-chart"
            role="img"
            aria-label=format!("Line chart comparing {count} trackers; the same data is in the tables below")
            data-drawn=move || drawn.get().to_string()
            data-lines=count.to_string()
        ></div>
        {move || problem.get().map(|problem| view! { <p class="form-error" role="alert">{problem}</p> })}
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::rc::Rc;

    use charming::{
        Chart,
        component::{Axis, DataZoom, DataZoomType, Grid, Legend},
        element::{AxisType, NameLocation, Tooltip, Trigger},
        series::Line,
    };
    use leptos::{ev, prelude::*};
    use wasm_bindgen::JsValue;

    use super::CompareSpec;
    use crate::components::echarts;

    pub fn draw(
        node: NodeRef<leptos::html::Div>,
        id: String,
        spec: CompareSpec,
        set_drawn: WriteSignal<bool>,
        problem: RwSignal<Option<String>>,
    ) {
        let instance = StoredValue::new_local(None::<charming::Echarts>);
        Effect::new(move |_| {
            if node.get().is_none() || instance.with_value(Option::is_some) {
                return;
            }
            let chart = Rc::new(build(&spec));
            let done = move |chart| {
                instance.set_value(Some(chart));
                set_drawn.set(true);
            };
            let failed = echarts::not_drawn(problem, "the tables below");
            echarts::draw_when_ready(id.clone(), chart, done, failed);
        });
        let handle = window_event_listener(ev::resize, move |_| {
            instance.with_value(|chart| {
                if let Some(chart) = chart {
                    chart.resize(JsValue::UNDEFINED);
                }
            });
        });
        on_cleanup(move || handle.remove());
    }

    fn build(spec: &CompareSpec) -> Chart {
        let x_axis = if spec.launch {
            Axis::new()
                .type_(AxisType::Value)
                .name("days since first sample")
                .name_location(NameLocation::Middle)
                .name_gap(28)
        } else {
            Axis::new()
                .type_(AxisType::Time)
                .min(spec.from_ms as f64)
                .max(spec.to_ms as f64)
        };
        let tooltip = if spec.launch {
            Tooltip::new().trigger(Trigger::Axis)
        } else {
            Tooltip::new()
                .trigger(Trigger::Axis)
                .formatter(echarts::time_tooltip())
        };
        // One axis each (alternating sides, pushed outwards), or one shared % axis.
        let axes = if spec.percent {
            1
        } else {
            spec.lines.len().max(1)
        };
        let per_side = axes.div_ceil(2);
        let mut chart = Chart::new()
            .background_color("transparent")
            .legend(Legend::new().top(0))
            .grid(
                Grid::new()
                    .left(16 + 56 * per_side as i32)
                    .right(16 + 56 * (axes / 2).max(usize::from(axes > 1)) as i32)
                    .top(40)
                    .bottom(64),
            )
            .tooltip(tooltip)
            .x_axis(x_axis)
            .data_zoom(DataZoom::new().type_(DataZoomType::Inside))
            .data_zoom(DataZoom::new().type_(DataZoomType::Slider));
        for index in 0..axes {
            let axis = Axis::new().type_(AxisType::Value).scale(true);
            let axis = if spec.percent {
                axis.name("% change")
            } else {
                let side = if index % 2 == 0 { "left" } else { "right" };
                axis.position(side).offset((index / 2) as f64 * 56.0).name(
                    spec.lines
                        .get(index)
                        .map(|line| line.unit.clone())
                        .unwrap_or_default(),
                )
            };
            chart = chart.y_axis(axis);
        }
        for (index, line) in spec.lines.iter().enumerate() {
            let data: Vec<Vec<f64>> = line.points.iter().map(|(x, y)| vec![*x, *y]).collect();
            chart = chart.series(
                Line::new()
                    .name(line.label.clone())
                    .show_symbol(false)
                    .y_axis_index(if spec.percent { 0.0 } else { index as f64 })
                    .data(data),
            );
        }
        chart
    }
}
