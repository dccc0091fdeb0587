//! The signed-in home page: the workspace's trackers with their latest values and states,
//! and a form to add one by pasting a link. The form posts to the server
//! (`/dashboard/trackers`), which answers with a redirect back here and flash messages, so
//! it works before the wasm has loaded.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::signed_in::SignedIn;
use crate::{
    api::{
        flash::Flash,
        session::Viewer,
        trackers::{
            Change, FormOptions, ProviderBadge, TrackerSummary, list_trackers, tracker_form_options,
        },
    },
    components::{
        add_tracker::AddTracker,
        feedback::{ListSkeleton, load_failed},
        form::{FlashResource, Notice, PostButton, SelectField, flash_resource},
        push_source::NewPushSource,
        table::column_heads,
    },
    domain::SourceState,
};

#[component]
pub fn Dashboard() -> impl IntoView {
    // Made here, not in the page: SignedIn may build the page more than once while it
    // waits for the viewer, and each resource must exist once, as in the browser.
    let flash = flash_resource();
    let trackers = Resource::new(|| (), |_| list_trackers());
    let form_options = Resource::new(|| (), |_| tracker_form_options());
    view! {
        <Title text="Dashboard" />
        <SignedIn path="/dashboard" page=move |viewer| view! { <DashboardPage viewer flash trackers form_options /> } />
    }
}

#[component]
fn DashboardPage(
    viewer: Viewer,
    flash: FlashResource,
    trackers: Resource<Result<Vec<TrackerSummary>, ServerFnError>>,
    form_options: Resource<Result<FormOptions, ServerFnError>>,
) -> impl IntoView {
    let query = use_query_map();
    let can_edit = viewer.may(crate::domain::Action::EditTrackers);
    let can_share = viewer.may(crate::domain::Action::EditShares);
    let view_options = move || {
        query.with(|query| ListOptions {
            search: query.get("q").unwrap_or_default(),
            kind: query.get("kind").unwrap_or_default(),
            state: query.get("state").unwrap_or_default(),
            sort: query.get("sort").unwrap_or_default(),
        })
    };
    view! {
        <section class="dashboard" aria-labelledby="dashboard-title">
            <p class="eyebrow">{viewer.workspace_name.clone()}</p>
            <h1 id="dashboard-title">"Dashboard"</h1>
            <Suspense fallback=|| view! { <ListSkeleton label="Loading your trackers…" /> }>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let list = trackers.await;
                    let options = form_options.await.unwrap_or(FormOptions {
                        intervals: vec![3_600],
                        default_interval: 3_600,
                        plan_min_interval: 3_600,
                        plan_name: "current".into(),
                        hint: "A link to the thing to track — or any JSON API.".into(),
                    });
                    let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                    let messages = Flash::of(&flash, "add-tracker").unwrap_or_default();
                    let push_messages = Flash::of(&flash, "new-push-source").unwrap_or_default();
                    let list_options = view_options();
                    let trackers_view = match list {
                        Ok(list) => view! { <Trackers trackers=Ok(list) options=list_options can_share /> }.into_any(),
                        Err(error) => load_failed("your trackers", &error, move || trackers.refetch()),
                    };
                    view! {
                        <Notice notice />
                        {if can_edit {
                            view! {
                                <AddTracker messages options />
                                <NewPushSource messages=push_messages />
                            }
                                .into_any()
                        } else {
                            view! {
                                <p class="muted read-only-note" data-testid="read-only-note">
                                    "You are a viewer in this workspace: you can read everything but change nothing."
                                </p>
                            }
                                .into_any()
                        }}
                        {trackers_view}
                    }
                })}
            </Suspense>
        </section>
    }
}

/// How the list is narrowed and ordered: the query string, so a view can be bookmarked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListOptions {
    /// Words the label, title or kind must contain.
    pub search: String,
    /// Only this provider kind (`github.repo`).
    pub kind: String,
    /// Only this state.
    pub state: String,
    /// `name`, `value`, `change` (24 h, in percent) or `` (newest first).
    pub sort: String,
}

/// The trackers `options` keeps, in its order.
pub fn arrange(mut trackers: Vec<TrackerSummary>, options: &ListOptions) -> Vec<TrackerSummary> {
    let words: Vec<String> = options
        .search
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    trackers.retain(|tracker| {
        let haystack =
            format!("{} {} {}", tracker.label, tracker.title, tracker.kind).to_lowercase();
        words.iter().all(|word| haystack.contains(word))
            && (options.kind.is_empty() || tracker.kind.as_str() == options.kind)
            && (options.state.is_empty() || tracker.state.key() == options.state)
    });
    let main_value = |tracker: &TrackerSummary| {
        tracker
            .latest
            .first()
            .and_then(|(_, value)| *value)
            .unwrap_or(f64::NEG_INFINITY)
    };
    let change = |tracker: &TrackerSummary| {
        tracker
            .change_24h
            .map(|change| change.percent.unwrap_or(change.absolute))
            .unwrap_or(f64::NEG_INFINITY)
    };
    match options.sort.as_str() {
        "name" => trackers.sort_by_key(|tracker| tracker.label.to_lowercase()),
        "value" => trackers.sort_by(|a, b| main_value(b).total_cmp(&main_value(a))),
        "change" => trackers.sort_by(|a, b| change(b).total_cmp(&change(a))),
        _ => {}
    }
    trackers
}

#[component]
fn Toolbar(kinds: Vec<String>, options: ListOptions) -> impl IntoView {
    let option = |value: &str, label: &str, current: &str| {
        let selected = value == current;
        view! { <option value=value.to_string() selected=selected>{label.to_string()}</option> }
    };
    view! {
        <form method="get" action="/dashboard" class="toolbar" role="search" aria-label="Find trackers">
            <div class="field">
                <label for="list-q">"Search"</label>
                <input id="list-q" name="q" type="search" value=options.search.clone() />
            </div>
            <SelectField id="list-kind" name="kind" label="Provider">
                {option("", "All", &options.kind)}
                {kinds.iter().map(|kind| option(kind, kind, &options.kind)).collect_view()}
            </SelectField>
            <SelectField id="list-state" name="state" label="State">
                {option("", "All", &options.state)}
                {SourceState::ALL.into_iter().map(|state| option(state.key(), state.label(), &options.state)).collect_view()}
            </SelectField>
            <SelectField id="list-sort" name="sort" label="Sort by">
                {option("", "Newest", &options.sort)}
                {option("name", "Name", &options.sort)}
                {option("value", "Value", &options.sort)}
                {option("change", "Change in 24 h", &options.sort)}
            </SelectField>
            <button class="button-secondary" type="submit">"Apply"</button>
        </form>
    }
}

#[component]
fn Trackers(
    trackers: Result<Vec<TrackerSummary>, ServerFnError>,
    options: ListOptions,
    /// Whether the viewer may share trackers (viewers see the public links only).
    can_share: bool,
) -> impl IntoView {
    match trackers {
        Ok(trackers) if !trackers.is_empty() => {
            let mut kinds: Vec<String> = trackers
                .iter()
                .map(|tracker| tracker.kind.to_string())
                .collect();
            kinds.sort();
            kinds.dedup();
            // Twitch channels have streams, ranked side by side on their own page.
            let streams = kinds.iter().any(|kind| kind == "twitch.stream").then(|| {
                view! {
                    <a class="button-secondary" href="/streams">"Twitch streams"</a>
                }
            });
            let total = trackers.len();
            let shown = arrange(trackers, &options);
            let count = if shown.len() == total {
                format!("{total} trackers")
            } else {
                format!("{} of {total} trackers", shown.len())
            };
            let list = if shown.is_empty() {
                view! {
                    <p class="empty-filter">
                        "No tracker matches. " <a href="/dashboard">"Show all trackers"</a>
                    </p>
                }
                .into_any()
            } else {
                view! { <TrackerTable trackers=Ok(shown) can_share /> }.into_any()
            };
            view! {
                <Toolbar kinds options />
                <div class="list-head">
                    <p class="muted list-count" aria-live="polite">{count}</p>
                    // The rows' "Compare" boxes belong to this form.
                    <form id="compare-form" method="get" action="/compare">
                        <button class="button-secondary" type="submit">"Compare selected"</button>
                    </form>
                    {streams}
                </div>
                {list}
            }
            .into_any()
        }
        other => view! { <TrackerTable trackers=other.map(|_| Vec::new()) can_share /> }.into_any(),
    }
}

#[component]
fn TrackerTable(
    trackers: Result<Vec<TrackerSummary>, ServerFnError>,
    can_share: bool,
) -> impl IntoView {
    match trackers {
        Ok(trackers) if trackers.is_empty() => view! {
            <div class="empty-state">
                <h2>"Add your first tracker"</h2>
                <p>
                    "Paste the link of a GitHub repository, a YouTube video, a Hacker News post or a coin above, and Upcount starts recording its numbers."
                </p>
            </div>
        }
        .into_any(),
        Ok(trackers) => view! {
            <table class="trackers" data-testid="trackers">
                {column_heads(&["Tracker", "Latest", "State", "Sharing"])}
                <tbody>
                    {trackers.into_iter().map(|tracker| view! { <TrackerRow tracker can_share /> }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
        Err(_) => view! {
            <p class="form-error" role="alert">"Could not load your trackers. Please reload the page."</p>
        }
        .into_any(),
    }
}

#[component]
fn TrackerRow(tracker: TrackerSummary, can_share: bool) -> impl IntoView {
    let latest = tracker
        .latest
        .iter()
        .map(|(name, value)| {
            let shown = value.map(format_number).unwrap_or_else(|| "—".into());
            view! {
                <span class="metric">
                    <span class="metric-name">{name.replace('_', " ")}</span>
                    " "
                    <strong>{shown}</strong>
                </span>
            }
        })
        .collect_view();
    let changes = [(tracker.change_24h, "24 h"), (tracker.change_7d, "7 d")]
        .into_iter()
        .map(|(change, period)| {
            let class = match change {
                Some(Change { absolute, .. }) if absolute > 0.0 => "change change-up",
                Some(Change { absolute, .. }) if absolute < 0.0 => "change change-down",
                _ => "change",
            };
            view! { <span class=class>{describe_change(change, period)}</span> }
        })
        .collect_view();
    let sparkline = sparkline_points(&tracker.sparkline).map(|points| {
        view! {
            <svg class="sparkline" viewBox="0 0 120 28" width="120" height="28" role="img" aria-label="Last 7 days">
                <polyline points=points fill="none" stroke="currentColor" stroke-width="1.5" />
            </svg>
        }
    });
    let last_poll = tracker
        .last_poll_at
        .clone()
        .map(|at| format!("polled {}", at.replace('T', " ").replace('Z', " UTC")));
    let bell = (tracker.alerts_24h > 0).then(|| {
        let text = alerts_fired_text(tracker.alerts_24h);
        view! {
            <a class="alert-bell" href="/alerts" title=text.clone() aria-label=text>
                <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                    <path d="M8 1.5a4 4 0 0 0-4 4v2.6L2.6 11h10.8L12 8.1V5.5a4 4 0 0 0-4-4ZM6.3 12.5a1.8 1.8 0 0 0 3.4 0" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
                </svg>
                <span class="alert-bell-count" aria-hidden="true">{tracker.alerts_24h}</span>
            </a>
        }
    });
    let state_class = format!("state state-{}", tracker.state);
    let state_label = tracker.state.label().to_string();
    let sharing = match tracker.share_token.clone() {
        Some(token) => view! {
            {tracker.shared_by.clone().map(|by| view! { <p class="made-by">"Shared by " {by}</p> })}
            <a href=format!("/s/{token}")>"Public page"</a>
            " · "
            <a href=format!("/badge/{token}.svg")>"Badge"</a>
            {can_share.then(|| view! {
                <PostButton
                    action=format!("/dashboard/trackers/{}/unshare", tracker.id)
                    text="Stop sharing"
                    label=format!("Stop sharing {}", tracker.label)
                />
            })}
        }
        .into_any(),
        None if !can_share => view! { <span class="muted">"Not shared"</span> }.into_any(),
        None => view! {
            <PostButton
                action=format!("/dashboard/trackers/{}/share", tracker.id)
                text="Share publicly"
                label=format!("Share {}", tracker.label)
            />
        }
        .into_any(),
    };
    view! {
        <tr>
            <td>
                <input
                    type="checkbox"
                    class="compare-check"
                    name="ids"
                    value=tracker.id.to_string()
                    form="compare-form"
                    aria-label=format!("Compare {}", tracker.label)
                />
                <ProviderIcon badge=tracker.badge.clone() />
                <a href=format!("/trackers/{}", tracker.id) class="tracker-title">{tracker.label.clone()}</a>
                {bell}
                <a
                    href=tracker.url.clone()
                    class="external-link"
                    rel="noopener noreferrer"
                    target="_blank"
                    title=format!("Open on {}", tracker.badge.name)
                    aria-label=format!("{} on {}", tracker.label, tracker.badge.name)
                >
                    <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
                        <path d="M9 2h5v5M14 2 7 9M12 9v5H2V4h5" fill="none" stroke="currentColor" stroke-width="1.6" />
                    </svg>
                </a>
                <span class="tracker-kind">
                    {tracker.kind.to_string()} " · "
                    <a href=format!("/trackers/{}", tracker.id) aria-label=format!("Chart of {}", tracker.label)>"Chart"</a>
                </span>
                {tracker.created_by.clone().map(|by| view! { <span class="made-by">"Added by " {by}</span> })}
            </td>
            <td class="latest">
                {latest}
                <div class="changes">{changes}</div>
                {sparkline}
            </td>
            <td>
                <span class=state_class>{state_label}</span>
                {last_poll.map(|text| view! { <p class="tracker-polled">{text}</p> })}
                {tracker.last_error.clone().map(|error| view! { <p class="tracker-error">{error}</p> })}
            </td>
            <td>{sharing}</td>
        </tr>
    }
}

/// A small badge naming the provider (no external images: the site works with no CDN).
#[component]
pub fn ProviderIcon(badge: ProviderBadge) -> impl IntoView {
    view! {
        <span
            class=format!("provider-icon provider-{}", badge.module)
            style=format!("background: {}", badge.colour)
            title=badge.name.clone()
            aria-label=badge.name
            role="img"
        >
            {badge.letters}
        </span>
    }
}

/// The bell's words: "1 alert fired in the last 24 hours", "3 alerts fired in …".
pub fn alerts_fired_text(count: u32) -> String {
    if count == 1 {
        "1 alert fired in the last 24 hours".to_string()
    } else {
        format!("{count} alerts fired in the last 24 hours")
    }
}

/// "+120 (+0.6%) in 24 h", or "— in 24 h" when the data does not go back that far.
pub fn describe_change(change: Option<Change>, period: &str) -> String {
    match change {
        None => format!("— in {period}"),
        Some(Change { absolute, percent }) => {
            let sign = if absolute > 0.0 { "+" } else { "" };
            let percent = percent
                .map(|percent| {
                    format!(
                        " ({sign}{}%)",
                        format_number((percent * 10.0).round() / 10.0)
                    )
                })
                .unwrap_or_default();
            format!("{sign}{}{percent} in {period}", format_number(absolute))
        }
    }
}

/// The points of a 120×28 sparkline of `values`, or `None` with fewer than two.
pub fn sparkline_points(values: &[f64]) -> Option<String> {
    if values.len() < 2 {
        return None;
    }
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(min, max), value| {
            (min.min(*value), max.max(*value))
        });
    let range = if max > min { max - min } else { 1.0 };
    let step = 120.0 / (values.len() - 1) as f64;
    Some(
        values
            .iter()
            .enumerate()
            .map(|(index, value)| {
                let x = index as f64 * step;
                let y = 26.0 - (value - min) / range * 24.0;
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// `19000` → `19,000`; `0.97` → `0.97`; `67187.3358` → `67,187.34`.
pub fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let negative = value < 0.0;
    let rounded = (value.abs() * 100.0).round() / 100.0;
    let whole = rounded.trunc() as u64;
    let fraction = ((rounded - rounded.trunc()) * 100.0).round() as u64;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if fraction > 0 {
        let fraction = format!("{fraction:02}");
        grouped.push('.');
        grouped.push_str(fraction.trim_end_matches('0'));
    }
    if negative && (whole > 0 || fraction > 0) {
        format!("-{grouped}")
    } else {
        grouped
    }
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn changes_and_sparklines() {
        use super::{Change, describe_change, sparkline_points};
        assert_eq!(
            describe_change(
                Some(Change {
                    absolute: 120.0,
                    percent: Some(0.63)
                }),
                "24 h"
            ),
            "+120 (+0.6%) in 24 h"
        );
        assert_eq!(
            describe_change(
                Some(Change {
                    absolute: -3.0,
                    percent: None
                }),
                "7 d"
            ),
            "-3 in 7 d"
        );
        assert_eq!(describe_change(None, "7 d"), "— in 7 d");
        assert_eq!(sparkline_points(&[1.0]), None);
        assert_eq!(
            sparkline_points(&[0.0, 10.0]).as_deref(),
            Some("0.0,26.0 120.0,2.0")
        );
        assert_eq!(
            sparkline_points(&[5.0, 5.0]).as_deref(),
            Some("0.0,26.0 120.0,26.0")
        );
    }

    #[test]
    fn the_bell_counts_in_words() {
        assert_eq!(
            super::alerts_fired_text(1),
            "1 alert fired in the last 24 hours"
        );
        assert_eq!(
            super::alerts_fired_text(3),
            "3 alerts fired in the last 24 hours"
        );
    }

    #[test]
    fn numbers_read_like_numbers() {
        assert_eq!(format_number(19_000.0), "19,000");
        assert_eq!(format_number(0.97), "0.97");
        assert_eq!(format_number(67_187.335_8), "67,187.34");
        assert_eq!(format_number(1_234_567_890.0), "1,234,567,890");
        assert_eq!(format_number(-12.5), "-12.5");
        assert_eq!(format_number(0.0), "0");
    }
}
