//! What the tracker page shows beside the chart: the events in the range, the chart's data
//! as a table, and the downloads of what is on screen.

use leptos::prelude::*;

use super::{
    chart::Visible,
    time::{rfc3339, utc},
};
use crate::{
    api::chart::{ChartEvent, ChartPoint},
    components::table::column_heads,
    domain::{Origin, TrackerId},
    pages::dashboard::format_number,
};

/// The events in the range, oldest first, when there are any.
pub(super) fn event_list(events: &[ChartEvent]) -> impl IntoView + use<> {
    let count = events.len();
    let items = events
        .iter()
        .map(|event| view! { <li><time>{utc(event.t)} " UTC"</time> " — " {event.describe()}</li> })
        .collect_view();
    (count > 0).then(|| {
        view! {
            <details class="events">
                <summary>{format!("Events in this range ({count})")}</summary>
                <ul>{items}</ul>
            </details>
        }
    })
}

/// The chart's points as a table, for screen readers and for checking a value; with the
/// upstream's history (`history_from`), each row says where it came from.
pub(super) fn data_table(
    points: &[ChartPoint],
    history_from: Option<&str>,
) -> impl IntoView + use<> {
    let has_history = points.iter().any(|point| point.origin == Origin::Upstream);
    let from = history_from.unwrap_or("the upstream").to_string();
    let rows = points
        .iter()
        .map(|point| {
            let origin = has_history.then(|| match point.origin {
                Origin::Upstream => format!("history from {from}"),
                Origin::Observed => "recorded by Upcount".to_string(),
            });
            view! {
                <tr data-origin=point.origin.key()>
                    <td>{utc(point.t)}</td>
                    <td>{format_number(point.avg)}</td>
                    <td>{format_number(point.min)}</td>
                    <td>{format_number(point.max)}</td>
                    <td>{point.count}</td>
                    {origin.map(|origin| view! { <td>{origin}</td> })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <details class="data-table">
            <summary>"Chart data as a table"</summary>
            <table class="trackers">
                {if has_history {
                    column_heads(&["Time (UTC)", "Average", "Min", "Max", "Samples", "Origin"]).into_any()
                } else {
                    column_heads(&["Time (UTC)", "Average", "Min", "Max", "Samples"]).into_any()
                }}
                <tbody>{rows}</tbody>
            </table>
        </details>
    }
}

/// Links to `metric` over the time on screen, as CSV and as JSON.
pub(super) fn downloads(id: TrackerId, metric: &str, visible: Visible) -> impl IntoView + use<> {
    let link = |format: &'static str| {
        let (id, metric) = (id.to_string(), metric.to_string());
        move || export_link(&id, format, &metric, visible.get())
    };
    view! {
        <p>
            <a href=link("csv") download="">"Download CSV"</a>
            " · "
            <a href=link("json") download="">"Download JSON"</a>
            " " <span class="muted">"(the time shown, this metric)"</span>
        </p>
    }
}

/// The export of `metric` over the window `(from, to)` (ms since the epoch).
fn export_link(id: &str, format: &str, metric: &str, (from, to): (i64, i64)) -> String {
    format!(
        "/api/v1/trackers/{id}/export.{format}?metrics={}&from={}&to={}",
        super::controls::encode(metric),
        rfc3339(from),
        rfc3339(to)
    )
}
