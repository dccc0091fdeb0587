//! What the tracker page shows: the metric, the range (a preset or custom days), the view
//! and the scale. Each choice is a link or a GET form, so it works without the wasm, and
//! keeps the rest of the view. A pushed metric with labels gets a row of its label sets
//! and a row of sums across each label (`?sum=plan`).

use std::collections::BTreeMap;

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
    let link =
        |metric: &str, sum: Option<&str>, range: ChartRange, mode: ChartMode, scale: Scale| {
            let days = if range == ChartRange::Custom {
                custom_days.as_str()
            } else {
                ""
            };
            let sum = sum
                .map(|label| format!("&sum={}", encode(label)))
                .unwrap_or_default();
            format!(
                "{base}?metric={}{sum}&range={}&mode={}&scale={}{days}",
                encode(metric),
                range.key(),
                mode.key(),
                scale.key()
            )
        };
    let (metric, range, mode, scale) = (&detail.metric, detail.range, detail.mode, detail.scale);
    let sum = detail.sum.as_deref();
    // One chip per metric; a pushed metric's label sets are one, picked below.
    let family = detail
        .families
        .iter()
        .find(|(family, _)| *family == detail.family)
        .cloned()
        .unwrap_or_default();
    let metric_chips = chips(
        "Metric",
        &detail.families,
        &family,
        |(family, _)| family.replace('_', " "),
        |(_, first)| link(first, None, range, mode, scale),
    );
    // The family's series, and the sums across each of their labels.
    let series_chips = (!detail.label_sets.is_empty()).then(|| {
        let current = if sum.is_none() {
            metric.clone()
        } else {
            String::new()
        };
        let names: Vec<String> = detail
            .label_sets
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        let shown = |name: &String| {
            detail
                .label_sets
                .iter()
                .find(|(candidate, _)| candidate == name)
                .map(|(_, labels)| shown_labels(labels))
                .unwrap_or_default()
        };
        let current_sum = sum.map(str::to_string).unwrap_or_default();
        view! {
            {chips("Series", &names, &current, shown, |name| link(name, None, range, mode, scale))}
            {chips(
                "Sum across",
                &detail.sum_labels,
                &current_sum,
                |label| format!("Sum across {label}"),
                |label| link(metric, Some(label), range, mode, scale),
            )}
        }
    });
    view! {
        {metric_chips}
        {series_chips}
        {chips("Range", &ChartRange::PRESETS, &range, |preset| preset.label().into(), |preset| link(metric, sum, *preset, mode, scale))}
        <form method="get" action=base.clone() class="custom-range" aria-label="Custom range">
            <input type="hidden" name="metric" value=metric.clone() />
            {sum.map(|label| view! { <input type="hidden" name="sum" value=label.to_string() /> })}
            <input type="hidden" name="mode" value=mode.key() />
            <input type="hidden" name="scale" value=scale.key() />
            <input type="hidden" name="range" value="custom" />
            <label>"From " <input type="date" name="from" required value=detail.from.clone().unwrap_or_default() /></label>
            <label>"to " <input type="date" name="to" required value=detail.to.clone().unwrap_or_default() /></label>
            <button class="button-secondary" type="submit" aria-current=(range == ChartRange::Custom).then_some("page")>"Show"</button>
        </form>
        {chips("View", &ChartMode::ALL, &mode, |choice| choice.label().into(), |choice| link(metric, sum, range, *choice, scale))}
        {chips("Scale", &Scale::ALL, &scale, |choice| choice.label().into(), |choice| link(metric, sum, range, mode, *choice))}
    }
}

/// `text` for a query string: a pushed series' name has `{`, `"`, `=` and `,`.
pub(super) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A series' labels as its chip shows them: `plan="pro", region="eu"`, or "no labels".
fn shown_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "no labels".to_string();
    }
    labels
        .iter()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect::<Vec<_>>()
        .join(", ")
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
