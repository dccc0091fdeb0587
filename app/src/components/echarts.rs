//! What the charts need from ECharts beyond charming's renderer (browser only): drawing once
//! the element is attached, the dark theme, events, the visible window and PNG export.

use std::rc::Rc;

use charming::{Chart, Echarts, WasmRenderer, theme::Theme};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue, prelude::*};
use web_sys::js_sys::{Array, Object, Reflect};

#[wasm_bindgen]
extern "C" {
    /// The ECharts instance behind charming's [`Echarts`], with the methods charming
    /// does not bind.
    type Instance;

    /// `chart.on(event, handler)`.
    #[wasm_bindgen(method, js_name = on)]
    fn on(this: &Instance, event: &str, handler: &Closure<dyn FnMut(JsValue)>);

    #[wasm_bindgen(method, js_name = getOption)]
    fn get_option(this: &Instance) -> JsValue;

    #[wasm_bindgen(method, js_name = getDataURL)]
    fn get_data_url(this: &Instance, options: JsValue) -> String;

    #[wasm_bindgen(method, js_name = dispose)]
    fn dispose(this: &Instance);
}

fn instance(echarts: &Echarts) -> &Instance {
    echarts.unchecked_ref()
}

/// Whether the ECharts script (served from `/vendor`) has loaded in this browser.
pub fn echarts_loaded() -> bool {
    web_sys::window()
        .and_then(|window| Reflect::get(window.as_ref(), &JsValue::from_str("echarts")).ok())
        .is_some_and(|value| !value.is_undefined())
}

/// The viewer's time zone (`Europe/Berlin`), as the browser reports it.
pub fn time_zone() -> Option<String> {
    let format = web_sys::js_sys::Intl::DateTimeFormat::new(&Array::new(), &Object::new());
    Reflect::get(&format.resolved_options(), &JsValue::from_str("timeZone"))
        .ok()?
        .as_string()
}

/// Whether the system asks for dark colours.
pub fn prefers_dark() -> bool {
    web_sys::window()
        .and_then(|window| {
            window
                .match_media("(prefers-color-scheme: dark)")
                .ok()
                .flatten()
        })
        .is_some_and(|query| query.matches())
}

/// Draws `chart` into the element `id` once it is in the document and ECharts is loaded
/// (checked each animation frame for up to ten seconds: a page reached by client-side
/// navigation creates the element a moment before it is attached), in the dark theme when
/// the system uses one. `failed` runs when it never can.
pub fn draw_when_ready(
    id: String,
    chart: Rc<Chart>,
    done: impl Fn(Echarts) + 'static,
    failed: impl Fn(String) + 'static,
) {
    attempt(id, chart, 600, Rc::new(done), Rc::new(failed));
}

/// The `failed` of [`draw_when_ready`] for a chart whose data is also in `tables` ("the
/// table below"): `problem` says what went wrong and where the data is.
pub fn not_drawn(
    problem: RwSignal<Option<String>>,
    tables: &'static str,
) -> impl Fn(String) + 'static {
    move |reason| {
        problem.set(Some(format!(
            "The chart could not be drawn ({reason}); the data is in {tables}."
        )));
    }
}

fn attempt(
    id: String,
    chart: Rc<Chart>,
    frames_left: u32,
    done: Rc<dyn Fn(Echarts)>,
    failed: Rc<dyn Fn(String)>,
) {
    let attached = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id(&id))
        .is_some();
    if attached && echarts_loaded() {
        let theme = if prefers_dark() {
            Theme::Dark
        } else {
            Theme::Default
        };
        match WasmRenderer::new_opt(None, None)
            .theme(theme)
            .render(&id, &chart)
        {
            Ok(echarts) => done(echarts),
            Err(error) => failed(format!("{error:?}")),
        }
    } else if frames_left > 0 {
        request_animation_frame(move || attempt(id, chart, frames_left - 1, done, failed));
    } else if echarts_loaded() {
        failed("the chart's place on the page never appeared".into());
    } else {
        failed("the charting script did not load".into());
    }
}

/// Replaces the chart's options (merged: the zoom stays where the user put it).
pub fn update(echarts: &Echarts, chart: &Chart) {
    WasmRenderer::update(echarts, chart);
}

/// Runs `handler` on every `event` of `echarts`. The returned closure must be kept alive
/// as long as the chart.
pub fn listen(
    echarts: &Echarts,
    event: &str,
    handler: impl FnMut(JsValue) + 'static,
) -> Closure<dyn FnMut(JsValue)> {
    let closure = Closure::<dyn FnMut(JsValue)>::new(handler);
    instance(echarts).on(event, &closure);
    closure
}

/// The first dataZoom's window on the x axis (its values: milliseconds on a time axis).
pub fn visible_window(echarts: &Echarts) -> Option<(f64, f64)> {
    let option = instance(echarts).get_option();
    let zooms = Reflect::get(&option, &JsValue::from_str("dataZoom")).ok()?;
    let first = zooms.dyn_into::<Array>().ok()?.get(0);
    let value = |name: &str| {
        Reflect::get(&first, &JsValue::from_str(name))
            .ok()?
            .as_f64()
    };
    Some((value("startValue")?, value("endValue")?))
}

/// Downloads the chart as a PNG named `file_name`, at twice the screen's resolution.
pub fn download_png(echarts: &Echarts, file_name: &str) -> Result<(), JsValue> {
    let options = Object::new();
    Reflect::set(&options, &"type".into(), &"png".into())?;
    Reflect::set(&options, &"pixelRatio".into(), &2.into())?;
    let background = if prefers_dark() { "#14161a" } else { "#ffffff" };
    Reflect::set(&options, &"backgroundColor".into(), &background.into())?;
    let data_url = instance(echarts).get_data_url(options.into());
    let document = web_sys::window()
        .and_then(|window| window.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let link = document.create_element("a")?;
    link.set_attribute("href", &data_url)?;
    link.set_attribute("download", file_name)?;
    link.dyn_into::<web_sys::HtmlElement>()?.click();
    Ok(())
}

/// Frees the chart's canvas and listeners.
pub fn dispose(echarts: &Echarts) {
    instance(echarts).dispose();
}

/// The tooltip of a time chart: the time in the viewer's own time zone and locale (with
/// the zone's name), then each line's exact value; a `min`/`max` band pair becomes one
/// "min … max" line. Series names are escaped (labels are user text). The function lives
/// in `/chart-tooltip.js` (`window.upcountTimeTooltip`), a file of the site's own, so the
/// Content-Security-Policy needs no `'unsafe-eval'` (charming would build it with
/// `new Function`); without that script the tooltip is empty rather than an error.
pub fn time_tooltip() -> charming::element::JsFunction {
    let function = web_sys::window()
        .and_then(|window| {
            Reflect::get(window.as_ref(), &JsValue::from_str("upcountTimeTooltip")).ok()
        })
        .filter(JsValue::is_function)
        .unwrap_or_else(|| {
            Closure::<dyn Fn(JsValue) -> JsValue>::new(|_| JsValue::from_str("")).into_js_value()
        });
    // charming keeps the function as it is (`serde_wasm_bindgen::preserve`).
    serde_wasm_bindgen::from_value(function)
        .unwrap_or_else(|_| charming::element::JsFunction::new_with_args("params", "return '';"))
}
