//! The admin console (administrators only): the service at a glance, users and their
//! workspaces, sources and their schedules, Stripe events and the audit log. Every button
//! posts a form to `/admin/…`, which acts, audits and comes back here.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::signed_in::SignedIn;
use crate::{
    api::{
        admin::{
            Console, ConsoleAudit, ConsoleEvent, ConsoleProvider, ConsoleSnapshot, ConsoleSource,
            ConsoleUser, Live, admin_console, admin_live, source_filters,
        },
        flash::Flash,
        session::get_flash,
    },
    components::form::{FormError, Notice},
};

#[component]
pub fn Admin() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let console = Resource::new(
        move || (param("q"), param("provider"), param("state")),
        |(q, provider, state)| admin_console(q, provider, state),
    );
    let flash = Resource::new(|| (), |_| get_flash());
    let live = Resource::new(|| (), |_| admin_live());
    view! {
        <Title text="Admin" />
        <SignedIn path="/admin" admin_only=true page=move |_| view! { <Console console flash live /> } />
    }
}

#[component]
fn Console(
    console: Resource<Result<Console, ServerFnError>>,
    flash: Resource<Result<Option<Flash>, ServerFnError>>,
    live: Resource<Result<Live, ServerFnError>>,
) -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    view! {
        <section class="admin" aria-labelledby="admin-title">
            <h1 id="admin-title">"Admin console"</h1>
            <LiveOverview live />
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                    let error = Flash::of(&flash, "admin").and_then(|flash| flash.error);
                    match console.await {
                        Ok(console) => view! {
                            <Notice notice />
                            <FormError error />
                            <ConsoleView console q=param("q") provider=param("provider") state=param("state") />
                        }
                            .into_any(),
                        Err(_) => view! {
                            <p class="form-error" role="alert">"Could not load the console. Please reload the page."</p>
                        }
                            .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The overview figures and a chart of their last week, refreshed every 30 seconds.
#[component]
fn LiveOverview(live: Resource<Result<Live, ServerFnError>>) -> impl IntoView {
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
                    Ok(Live { overview, history, providers }) => {
                        let mrr: i64 = overview.revenue_by_plan.iter().map(|(_, _, cents)| cents).sum();
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
                            <HistoryChart history />
                            <ProvidersTable providers />
                        }
                            .into_any()
                    }
                    Err(_) => view! {
                        <p class="form-error" role="alert">"Could not load the overview; it is tried again in 30 s."</p>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

/// Each upstream over the last hour, and its credentials.
#[component]
fn ProvidersTable(providers: Vec<ConsoleProvider>) -> impl IntoView {
    let ms = |value: Option<u32>| value.map_or_else(|| "–".to_string(), |ms| format!("≤ {ms} ms"));
    view! {
        <div class="table-scroll">
            <table class="admin-table" data-testid="providers">
                <caption>"Providers, last hour"</caption>
                <thead><tr>
                    <th scope="col">"Provider"</th><th scope="col">"Polls (failed)"</th><th scope="col">"Requests"</th><th scope="col">"Errors"</th>
                    <th scope="col">"p50"</th><th scope="col">"p95"</th><th scope="col">"Rate limit"</th>
                    <th scope="col">"Credentials"</th>
                </tr></thead>
                <tbody>
                    {providers.into_iter().map(|provider| view! {
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
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

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
fn HistoryChart(history: Vec<ConsoleSnapshot>) -> impl IntoView {
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
            let done: Rc<dyn Fn(charming::Echarts)> = Rc::new(|_| {});
            let failed: Rc<dyn Fn(String)> = Rc::new(|reason| {
                leptos::logging::warn!("the admin chart could not be drawn: {reason}");
            });
            echarts::draw_when_ready(panel.id.into(), Rc::new(chart), done, failed);
        });
    }
}

fn dollars(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

#[component]
fn ConsoleView(console: Console, q: String, provider: String, state: String) -> impl IntoView {
    // Each filter form keeps the other's value.
    let q_kept = q.clone();
    let source_providers = console.source_providers.clone();
    view! {


        {view! {
        <section class="panel" aria-labelledby="users-title">
            <h2 id="users-title">"Users and workspaces"</h2>
            <form method="get" action="/admin" class="form form-inline" role="search">
                <label for="admin-q">"Email or id"</label>
                <input id="admin-q" name="q" type="search" value=q />
                <input type="hidden" name="provider" value=provider.clone() />
                <input type="hidden" name="state" value=state.clone() />
                <button type="submit">"Search"</button>
            </form>
            <div class="table-scroll">
                <table class="admin-table">
                    <thead><tr>
                        <th scope="col">"Email"</th><th scope="col">"Plan"</th><th scope="col">"Trackers"</th>
                        <th scope="col">"Tokens"</th><th scope="col">"Last sign-in"</th><th scope="col">"Actions"</th>
                    </tr></thead>
                    <tbody>
                        {none_row(console.users.is_empty(), 6, "No user matches.")}
                        {console.users.into_iter().map(|user| view! { <UserLine user /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        }.into_any()}

        {view! {
        <section class="panel" aria-labelledby="sources-title">
            <h2 id="sources-title">"Sources and schedules"</h2>
            <form method="get" action="/admin" class="form form-inline">
                <input type="hidden" name="q" value=q_kept />
                <label for="admin-provider">"Provider"</label>
                <FilterSelect id="admin-provider" name="provider" choices=source_providers current=provider />
                <label for="admin-state">"State"</label>
                <FilterSelect id="admin-state" name="state" choices=source_filters() current=state />
                <button type="submit">"Filter"</button>
            </form>
            <div class="table-scroll">
                <table class="admin-table">
                    <thead><tr>
                        <th scope="col">"Source"</th><th scope="col">"State"</th><th scope="col">"Trackers"</th>
                        <th scope="col">"Interval"</th><th scope="col">"Last / next poll"</th>
                        <th scope="col">"Failures"</th><th scope="col">"Actions"</th>
                    </tr></thead>
                    <tbody>
                        {none_row(console.sources.is_empty(), 7, "No source matches.")}
                        {console.sources.into_iter().map(|source| view! { <SourceLine source /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        }.into_any()}

        {view! {
        <section class="panel" aria-labelledby="jobs-title">
            <h2 id="jobs-title">"Jobs"</h2>
            <JobCounts counts=console.job_counts />
            <div class="table-scroll">
                <table class="admin-table">
                    <thead><tr>
                        <th scope="col">"Job"</th><th scope="col">"Status"</th><th scope="col">"Attempts"</th>
                        <th scope="col">"Error"</th><th scope="col">"Actions"</th>
                    </tr></thead>
                    <tbody>
                        {none_row(console.failed_jobs.is_empty(), 5, "No job has failed for good.")}
                        {console.failed_jobs.into_iter().map(|job| {
                            let retry = action_button(format!("/admin/jobs/{}/retry", job.id), format!("Retry job {}", job.id));
                            let discard = (job.status != "Killed").then(|| action_button(format!("/admin/jobs/{}/discard", job.id), format!("Discard job {}", job.id)));
                            view! {
                                <tr data-testid=format!("job-{}", job.id)>
                                    <td><code>{job.queue}</code><br /><code class="muted">{job.id.clone()}</code><br /><span class="muted">{job.run_at}</span></td>
                                    <td>{job.status.clone()}</td>
                                    <td>{job.attempts} " of " {job.max_attempts}</td>
                                    <td>{job.error.unwrap_or_default()}</td>
                                    <td class="actions">{retry}{discard}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        }.into_any()}

        {view! {
        <section class="panel" aria-labelledby="events-title">
            <h2 id="events-title">"Stripe events"</h2>
            <div class="table-scroll">
                <table class="admin-table">
                    <thead><tr>
                        <th scope="col">"Received"</th><th scope="col">"Type"</th><th scope="col">"Status"</th>
                        <th scope="col">"Attempts"</th><th scope="col">"Error"</th><th scope="col">"Actions"</th>
                    </tr></thead>
                    <tbody>
                        {none_row(console.events.is_empty(), 6, "No Stripe events yet.")}
                        {console.events.into_iter().map(|event| view! { <EventLine event /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        }.into_any()}

        {view! {
        <section class="panel" aria-labelledby="audit-title">
            <h2 id="audit-title">"Audit log"</h2>
            <AuditTable rows=console.audit testid="audit-log" empty="No admin actions yet." />
        </section>
        }.into_any()}
    }
}

/// The apalis job statuses, in the order a job goes through them.
const JOB_STATUSES: [&str; 6] = ["Pending", "Queued", "Running", "Done", "Failed", "Killed"];

/// Jobs by queue (rows) and status (columns).
#[component]
fn JobCounts(counts: Vec<(String, String, i64)>) -> impl IntoView {
    let mut queues: Vec<String> = counts.iter().map(|(queue, _, _)| queue.clone()).collect();
    queues.dedup();
    let count = move |queue: &str, status: &str| {
        counts
            .iter()
            .find(|(q, s, _)| q == queue && s == status)
            .map_or(0, |(_, _, count)| *count)
    };
    view! {
        <div class="table-scroll">
            <table class="admin-table" data-testid="job-counts">
                <caption>"Jobs by queue"</caption>
                <thead><tr>
                    <th scope="col">"Queue"</th>
                    {JOB_STATUSES.iter().map(|status| view! { <th scope="col">{*status}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {queues.into_iter().map(|queue| {
                        let cells = JOB_STATUSES.iter().map(|status| view! { <td>{count(&queue, status)}</td> }).collect_view();
                        view! { <tr><th scope="row"><code>{queue.clone()}</code></th>{cells}</tr> }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// A filter's choices, "any" first.
#[component]
fn FilterSelect(
    id: &'static str,
    name: &'static str,
    choices: Vec<String>,
    current: String,
) -> impl IntoView {
    view! {
        <select id=id name=name>
            <option value="" selected=current.is_empty()>"any"</option>
            {choices.into_iter().map(|choice| {
                let selected = choice == current;
                let label = choice.clone();
                view! { <option value=choice selected=selected>{label}</option> }
            }).collect_view()}
        </select>
    }
}

/// Admin actions, newest first.
#[component]
pub(super) fn AuditTable(
    rows: Vec<ConsoleAudit>,
    testid: &'static str,
    empty: &'static str,
) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="admin-table" data-testid=testid>
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th>
                    <th scope="col">"Target"</th><th scope="col">"Detail"</th>
                </tr></thead>
                <tbody>
                    {none_row(rows.is_empty(), 5, empty)}
                    {rows.into_iter().map(|row| view! {
                        <tr><td>{row.at}</td><td>{row.actor}</td><td>{row.action}</td><td><code>{row.target}</code></td><td><code>{row.detail}</code></td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The row of a table with nothing in it.
pub(super) fn none_row(empty: bool, columns: u32, text: &'static str) -> impl IntoView {
    empty.then(|| view! { <tr><td colspan=columns class="muted">{text}</td></tr> })
}

pub(super) fn action_button(action: String, label: String) -> impl IntoView {
    view! {
        <form method="post" action=action class="inline-form">
            <button type="submit" class="button-secondary">{label}</button>
        </form>
    }
}

/// View as, suspend or unsuspend, and delete (in two steps, without script).
#[component]
pub(super) fn UserActions(id: String, email: String, suspended: bool) -> impl IntoView {
    let suspend = if suspended {
        action_button(
            format!("/admin/users/{id}/unsuspend"),
            format!("Unsuspend {email}"),
        )
    } else {
        action_button(
            format!("/admin/users/{id}/suspend"),
            format!("Suspend {email}"),
        )
    };
    // Always there (a suspended user's is refused with a reason), so that the row's shape
    // never depends on the data.
    let view_as = action_button(
        format!("/admin/users/{id}/view-as"),
        format!("View as {email}"),
    );
    view! {
        {view_as}
        {suspend}
        <details class="confirm">
            <summary>"Delete…"</summary>
            {action_button(
                format!("/admin/users/{id}/delete"),
                format!("Delete {email} for good"),
            )}
        </details>
    }
}

/// Support's override of a workspace's plan; `subscription` goes back to what it pays for.
#[component]
pub(super) fn PlanForm(workspace_id: String, label: String, current: String) -> impl IntoView {
    view! {
        <form method="post" action=format!("/admin/workspaces/{workspace_id}/plan") class="inline-form">
            <select name="plan" aria-label=label>
                {["subscription", "free", "pro", "business"].into_iter().map(|plan| {
                    let selected = plan == current;
                    view! { <option value=plan selected=selected>{plan}</option> }
                }).collect_view()}
            </select>
            <button type="submit" class="button-secondary">"Set plan"</button>
        </form>
    }
}

#[component]
fn UserLine(user: ConsoleUser) -> impl IntoView {
    let refused = user.refused_sign_ins_last_day;
    view! {
        <tr data-testid=format!("user-{}", user.email)>
            <td>
                <a href=format!("/admin/users/{}", user.id)>{user.email.clone()}</a>
                {(user.role == "admin").then(|| view! { " " <span class="badge">"admin"</span> })}
                {user.suspended.then(|| view! { " " <span class="badge badge-warn">"suspended"</span> })}
                <br /><code class="muted">{user.id.clone()}</code>
            </td>
            <td>{user.plan.clone()} {user.subscription_status.map(|status| format!(" ({status})"))}</td>
            <td>{user.trackers}</td>
            <td>{user.tokens}</td>
            <td>
                {user.last_sign_in.unwrap_or_else(|| "never".into())}
                <br />
                <span class="muted">{format!("{refused} refused in 24 h")}</span>
            </td>
            <td class="actions">
                <UserActions id=user.id.clone() email=user.email.clone() suspended=user.suspended />
                <PlanForm workspace_id=user.workspace_id label=format!("Plan of {}", user.email) current=user.plan />
            </td>
        </tr>
    }
}

#[component]
fn SourceLine(source: ConsoleSource) -> impl IntoView {
    let id = source.id;
    let base = format!("/admin/sources/{id}");
    let pause = if source.paused_by_admin {
        action_button(format!("{base}/resume"), format!("Resume source {id}"))
    } else {
        action_button(format!("{base}/pause"), format!("Pause source {id}"))
    };
    view! {
        <tr data-testid=format!("source-{id}")>
            <td>
                <code>{source.kind.clone()}</code> " " {source.key.clone()}
                <br /><span class="muted">{source.title.clone()}</span>
            </td>
            <td>
                {source.state.key()} {source.paused_by_admin.then_some(" (by admin)")}
                {source.orphaned_at.clone().map(|since| view! {
                    <br /><span class="muted" data-testid="orphaned">
                        "No tracker since " {since} "; deleted after " {source.deleted_after.clone().unwrap_or_default()}
                    </span>
                })}
            </td>
            <td>{source.trackers}</td>
            <td>{source.interval_secs.map(|secs| format!("{secs} s"))}</td>
            <td>{source.last_poll_at.unwrap_or_else(|| "never".into())} <br /> {source.next_poll_at.unwrap_or_else(|| "not scheduled".into())}</td>
            <td>
                {source.consecutive_failures}
                {source.last_error.map(|error| view! { <br /><span class="muted">{error}</span> })}
                {source.last_error_excerpt.map(|excerpt| view! { <br /><code class="muted">{excerpt}</code> })}
            </td>
            <td class="actions">
                {pause}
                {action_button(format!("{base}/poll-now"), format!("Poll source {id} now"))}
                {action_button(format!("{base}/reset-backoff"), format!("Reset backoff of source {id}"))}
            </td>
        </tr>
    }
}

#[component]
fn EventLine(event: ConsoleEvent) -> impl IntoView {
    let action = format!("/admin/stripe-events/{}/reprocess", event.id);
    let label = format!("Re-process {}", event.id);
    view! {
        <tr data-testid=format!("event-{}", event.id)>
            <td>{event.received_at}</td>
            <td><code>{event.kind}</code><br /><code class="muted">{event.id.clone()}</code></td>
            <td>{event.status}</td>
            <td>{event.attempts}</td>
            <td>{event.error.unwrap_or_default()}</td>
            <td class="actions">{action_button(action, label)}</td>
        </tr>
    }
}
