//! The console's small charts of the last week: accounts, revenue, polls and the backlog,
//! drawn in the browser from the five-minute snapshots.

use leptos::prelude::*;

use crate::api::admin::ConsoleSnapshot;

/// A line of a chart: its name and where its values come from.
type Figure = (&'static str, fn(&ConsoleSnapshot) -> f64);

/// One small chart of the overview: its title and the figures it draws.
#[derive(Clone, Copy)]
struct Panel {
    id: &'static str,
    title: &'static str,
    // Drawn in the browser only.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    series: &'static [Figure],
}

const PANELS: [Panel; 4] = [
    Panel {
        id: "admin-history-accounts",
        title: "Accounts",
        series: &[
            ("users", |point| point.users as f64),
            ("paying workspaces", |point| point.paying as f64),
        ],
    },
    Panel {
        id: "admin-history-revenue",
        title: "Monthly revenue ($)",
        series: &[("MRR", |point| point.mrr_cents as f64 / 100.0)],
    },
    Panel {
        id: "admin-history-polls",
        title: "Polls per hour",
        series: &[
            ("polled", |point| point.polls_last_hour as f64),
            ("failed", |point| point.errors_last_hour as f64),
        ],
    },
    Panel {
        id: "admin-history-backlog",
        title: "Backlog",
        series: &[
            ("sources due", |point| point.due as f64),
            ("queued jobs", |point| point.queued_jobs as f64),
        ],
    },
];

/// Small charts of the last week: accounts, revenue, polls and the backlog.
#[component]
pub fn HistoryChart(history: Vec<ConsoleSnapshot>) -> impl IntoView {
    let empty = history.len() < 2;
    let history = std::sync::Arc::new(history);
    view! {
        {empty.then(|| view! { <p class="muted">"Charts appear after the first snapshots (one every five minutes)."</p> })}
        <div class="admin-charts" hidden=empty>
            {PANELS.iter().map(|panel| {
                let node = NodeRef::<leptos::html::Div>::new();
                #[cfg(feature = "hydrate")]
                if !empty {
                    chart::draw(node, *panel, history.clone());
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = &history;
                view! {
                    <figure class="admin-chart-panel">
                        <figcaption>{panel.title}</figcaption>
                        <div
                            id=panel.id
                            class="admin-chart"
                            node_ref=node
                            role="img"
                            aria-label=format!("{} over the last week", panel.title)
                        ></div>
                    </figure>
                }
            }).collect_view()}
        </div>
    }
}

#[cfg(feature = "hydrate")]
mod chart {
    use std::{rc::Rc, sync::Arc};

    use charming::{
        Chart,
        component::{Axis, Grid, Legend},
        element::{AxisType, Tooltip, Trigger},
        series::Line,
    };
    use leptos::prelude::*;

    use super::Panel;
    use crate::{api::admin::ConsoleSnapshot, components::echarts};

    pub fn draw(
        node: NodeRef<leptos::html::Div>,
        panel: Panel,
        history: Arc<Vec<ConsoleSnapshot>>,
    ) {
        Effect::new(move |_| {
            if node.get().is_none() {
                return;
            }
            let mut chart = Chart::new()
                .background_color("transparent")
                .legend(Legend::new().top(0))
                .tooltip(
                    Tooltip::new()
                        .trigger(Trigger::Axis)
                        .formatter(echarts::time_tooltip()),
                )
                .grid(Grid::new().left(48).right(16).top(28).bottom(24))
                .x_axis(Axis::new().type_(AxisType::Time))
                .y_axis(Axis::new().type_(AxisType::Value).min_interval(1));
            for (name, value) in panel.series {
                chart = chart.series(
                    Line::new().name(*name).show_symbol(false).data(
                        history
                            .iter()
                            .map(|point| vec![point.at_ms as f64, value(point)])
                            .collect::<Vec<_>>(),
                    ),
                );
            }
            let failed = |reason| {
                leptos::logging::warn!("the admin chart could not be drawn: {reason}");
            };
            echarts::draw_when_ready(panel.id.into(), Rc::new(chart), |_| {}, failed);
        });
    }
}
