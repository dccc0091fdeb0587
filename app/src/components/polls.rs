//! The table of a tracker's latest polls: a row per poll time, a column per metric.

use leptos::prelude::*;

use crate::pages::dashboard::format_number;

/// `rows` are (time in RFC 3339 UTC, value per metric in `metrics` order), newest first.
#[component]
pub fn PollsTable(
    metrics: Vec<String>,
    rows: Vec<(String, Vec<Option<f64>>)>,
    label: &'static str,
) -> impl IntoView {
    view! {
        <table class="trackers" aria-label=label>
            <thead>
                <tr>
                    <th scope="col">"Time (UTC)"</th>
                    {metrics
                        .iter()
                        .map(|name| view! { <th scope="col">{name.replace('_', " ")}</th> })
                        .collect_view()}
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|(time, values)| {
                        view! {
                            <tr>
                                <td>{time.replace('T', " ").trim_end_matches('Z').to_string()}</td>
                                {values
                                    .into_iter()
                                    .map(|value| view! { <td>{value.map(format_number).unwrap_or_default()}</td> })
                                    .collect_view()}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
