//! The tracker chart in the browser: ECharts draws it, a zoom fetches finer buckets for the
//! visible window and splices them in, and the PNG button saves it.

use charming::{
    Chart,
    component::{Axis, DataZoom, DataZoomType, Grid, Legend},
    datatype::CompositeValue,
    element::{
        AreaStyle, AxisType, ItemStyle, Label, LineStyle, LineStyleType, MarkLine, MarkLineData,
        MarkLineVariant, MarkPoint, MarkPointData, Symbol, Tooltip, Trigger,
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
    domain::Origin,
};

/// Up to this many observed points are drawn as dots.
const FEW_POINTS: usize = 12;

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
        let done = move |chart: charming::Echarts| {
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
        };
        let failed = echarts::not_drawn(problem, "the table below");
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
    let (id, metric, sum, mode, from_ms, to_ms, coarse) = spec.with_value(|spec| {
        (
            spec.tracker_id,
            spec.metric.clone(),
            spec.sum.clone(),
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
            get_series_window(id, metric, start, end, mode, echarts::time_zone(), sum).await;
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
fn with_gaps(points: &[ChartPoint], pick: impl Fn(&ChartPoint) -> f64) -> Vec<Vec<CompositeValue>> {
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
    let name = spec.shown.clone();
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
    // Backfilled points are a lighter line of their own, joined to the first observed
    // point; "history from GitHub" names it in the legend and the tooltip.
    let (upstream, observed): (Vec<ChartPoint>, Vec<ChartPoint>) = points
        .iter()
        .cloned()
        .partition(|point| point.origin == Origin::Upstream);
    let history = (!upstream.is_empty()).then(|| {
        let from = spec.history_from.as_deref().unwrap_or("the upstream");
        let mut joined = upstream.clone();
        joined.extend(observed.first().cloned());
        Line::new()
            .name(format!("{name} — history from {from}"))
            .show_symbol(false)
            .line_style(LineStyle::new().opacity(0.55).type_(LineStyleType::Dashed))
            .item_style(ItemStyle::new().opacity(0.55))
            .data(with_gaps(&joined, |point| point.avg))
    });
    let main_name = if history.is_some() {
        format!("{name} — recorded by Upcount")
    } else {
        name.clone()
    };
    // A few polls are dots: a lone point would hide under the "added" marker.
    let mut main = Line::new()
        .name(main_name)
        .show_symbol(observed.len() <= FEW_POINTS)
        .symbol_size(8)
        .data(with_gaps(&observed, |point| point.avg));
    // A pin at each fired alert, labelled with the value.
    if !spec.pins.is_empty() {
        let pins = spec
            .pins
            .iter()
            .map(|pin| {
                MarkPointData::new()
                    .name(pin.reason.clone())
                    .x_axis(pin.t as f64)
                    .y_axis(pin.value)
                    .value(pin.value)
            })
            .collect::<Vec<_>>();
        main = main.mark_point(MarkPoint::new().data(pins));
    }
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
    if let Some(history) = history {
        chart = chart.legend(Legend::new().top(0)).series(history);
    }
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
