//! What the tracker page shows: the metric, the range (a preset or custom days), the view
//! and the scale. Each choice is a link or a GET form, so it works without the wasm, and
//! keeps the rest of the view.

use leptos::prelude::*;

use crate::{
    api::chart::TrackerDetail,
    domain::{ChartMode, ChartRange, Scale},
};

/// The rows of choices, with the custom range form after the presets.
pub(super) fn view_controls(detail: &TrackerDetail) -> impl IntoView + use<> {
    let base = format!("/trackers/{}", detail.summary.id);
    // A custom range keeps its days.
    let custom_days = match (&detail.from, &detail.to) {
        (Some(from), Some(to)) if detail.range == ChartRange::Custom => {
            format!("&from={from}&to={to}")
        }
        _ => String::new(),
    };
    let link = |metric: &str, range: ChartRange, mode: ChartMode, scale: Scale| {
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
    };
    let (metric, range, mode, scale) = (&detail.metric, detail.range, detail.mode, detail.scale);
    view! {
        {chips("Metric", &detail.metrics, metric, |name| name.replace('_', " "), |name| link(name, range, mode, scale))}
        {chips("Range", &ChartRange::PRESETS, &range, |preset| preset.label().into(), |preset| link(metric, *preset, mode, scale))}
        <form method="get" action=base.clone() class="custom-range" aria-label="Custom range">
            <input type="hidden" name="metric" value=metric.clone() />
            <input type="hidden" name="mode" value=mode.key() />
            <input type="hidden" name="scale" value=scale.key() />
            <input type="hidden" name="range" value="custom" />
            <label>"From " <input type="date" name="from" required value=detail.from.clone().unwrap_or_default() /></label>
            <label>"to " <input type="date" name="to" required value=detail.to.clone().unwrap_or_default() /></label>
            <button class="button-secondary" type="submit" aria-current=(range == ChartRange::Custom).then_some("page")>"Show"</button>
        </form>
        {chips("View", &ChartMode::ALL, &mode, |choice| choice.label().into(), |choice| link(metric, range, *choice, scale))}
        {chips("Scale", &Scale::ALL, &scale, |choice| choice.label().into(), |choice| link(metric, range, mode, *choice))}
    }
}

/// A row of links, one per choice, the current one marked.
fn chips<T: PartialEq>(
    label: &'static str,
    choices: &[T],
    current: &T,
    text: impl Fn(&T) -> String,
    href: impl Fn(&T) -> String,
) -> AnyView {
    let links = choices
        .iter()
        .map(|choice| {
            let here = (choice == current).then_some("page");
            view! { <a href=href(choice) aria-current=here class="chip">{text(choice)}</a> }
        })
        .collect_view();
    view! { <nav class="chips" aria-label=label>{links}</nav> }.into_any()
}
