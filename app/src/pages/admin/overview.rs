//! The console's overview: the service's figures now, charts of their last week, and each
//! upstream over the last hour, refreshed every 30 seconds.

use leptos::prelude::*;

use super::{history::HistoryChart, table::AdminTable};
use crate::api::admin::{ConsoleOverview, ConsoleProvider, Live};

/// The figures, a chart of their last week and the providers, refreshed every 30 seconds.
#[component]
pub fn LiveOverview(live: Resource<Result<Live, ServerFnError>>) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let handle =
            set_interval_with_handle(move || live.refetch(), std::time::Duration::from_secs(30));
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading the overview…"</p> }>
            {move || Suspend::new(async move {
                match live.await {
                    Ok(Live { overview, history, providers }) => view! {
                        <Figures overview />
                        <HistoryChart history />
                        <ProvidersTable providers />
                    }
                        .into_any(),
                    Err(_) => view! {
                        <p class="form-error" role="alert">"Could not load the overview; it is tried again in 30 s."</p>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

/// The service now: accounts, revenue, polls and the backlog.
#[component]
fn Figures(overview: ConsoleOverview) -> impl IntoView {
    let mrr: i64 = overview
        .revenue_by_plan
        .iter()
        .map(|(_, _, cents)| cents)
        .sum();
    view! {
        <div class="admin-figures" aria-label="Overview">
            <div class="figure"><span class="figure-value" data-testid="admin-users">{overview.users}</span><span>" users (" {overview.suspended_users} " suspended)"</span></div>
            <div class="figure"><span class="figure-value">{overview.workspaces}</span><span>" workspaces"</span></div>
            <div class="figure"><span class="figure-value">{overview.paying_workspaces}</span><span>" paying"</span></div>
            <div class="figure"><span class="figure-value">{dollars(mrr)}</span><span>" monthly revenue"</span></div>
            <div class="figure" data-testid="admin-polls"><span class="figure-value">{overview.polls_last_hour}</span><span>" polls in the last hour (" {overview.errors_last_hour} " failed); " {overview.polls_last_day} " in the last day (" {overview.errors_last_day} " failed)"</span></div>
            <div class="figure"><span class="figure-value">{overview.due_backlog}</span><span>" due now" {overview.oldest_due_secs.map(|secs| format!(", oldest {secs} s"))}</span></div>
        </div>
        <p class="muted">
            "Revenue by plan: "
            {overview.revenue_by_plan.iter().map(|(plan, count, cents)| format!("{plan} {count} ({}) ", dollars(*cents))).collect::<String>()}
            " · Sources: "
            {overview.sources_by_state.iter().map(|(state, count)| format!("{state} {count} ")).collect::<String>()}
            " · Queued jobs: "
            {overview.queues.iter().map(|(queue, count)| format!("{queue} {count} ")).collect::<String>()}
        </p>
    }
}

/// Each upstream over the last hour, and its credentials.
#[component]
fn ProvidersTable(providers: Vec<ConsoleProvider>) -> impl IntoView {
    let ms = |value: Option<u32>| value.map_or_else(|| "–".to_string(), |ms| format!("≤ {ms} ms"));
    let row = move |provider: ConsoleProvider| {
        view! {
            <tr data-testid=format!("provider-{}", provider.name)>
                <td><code>{provider.name.clone()}</code></td>
                <td>{format!("{} ({})", provider.polls_last_hour, provider.failed_polls_last_hour)}</td>
                <td>{provider.requests_last_hour}</td>
                <td>{provider.error_rate_percent.map_or_else(|| "–".to_string(), |rate| format!("{rate:.1} %"))}</td>
                <td>{ms(provider.p50_ms)}</td>
                <td>{ms(provider.p95_ms)}</td>
                <td>
                    {provider.remaining.map(|left| format!("{left:.0} left"))}
                    {provider.paused_until.map(|until| format!(" paused until {until}"))}
                </td>
                <td>{provider.credentials.clone()}</td>
            </tr>
        }
    };
    view! {
        <AdminTable
            columns=&["Provider", "Polls (failed)", "Requests", "Errors", "p50", "p95", "Rate limit", "Credentials"]
            rows=providers
            row
            caption="Providers, last hour"
            testid="providers"
        />
    }
}

fn dollars(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}
