//! Watches: `/watches` (the workspace's watches and a form to start one) and
//! `/watches/{id}` (one watch: its container, template, the trackers it made with their
//! latest values, sortable, and what it did with every other item). Every form posts to
//! the server (`/watches…`), which answers with a redirect back and flash messages; the
//! sort is a link, so it works before the wasm loads.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{dashboard::format_number, not_found::NotFound, signed_in::SignedIn};
use crate::{
    api::{
        flash::Flash,
        session::Viewer,
        watches::{WatchesPage, get_watch, get_watches_page},
    },
    components::{
        feedback::{ListSkeleton, load_failed},
        form::{Field, FlashResource, FormError, Notice, PostButton, SelectField, flash_resource},
        layout::Panel,
    },
    domain::{
        Action, WatchId,
        plan::describe_interval,
        watch::{WatchDetail, WatchItemView, WatchView},
    },
};

/// A time as "YYYY-MM-DD HH:MM UTC".
fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "Every hour; each video tracked 30 days, hourly".
fn template_summary(watch: &WatchView) -> String {
    let length = match watch.track_for_days {
        Some(1) => "for a day".to_string(),
        Some(days) => format!("for {days} days"),
        None => "until deleted".to_string(),
    };
    let interval = watch
        .interval_secs
        .map(|secs| format!(", polled every {}", describe_interval(secs)))
        .unwrap_or_default();
    format!(
        "Looks every {}; each new one of its {} is tracked {length}{interval}.",
        describe_interval(watch.poll_every_secs),
        watch.yields
    )
}

/// The intervals offered, from the plan's shortest.
const INTERVALS: [i32; 6] = [300, 900, 3_600, 6 * 3_600, 86_400, 7 * 86_400];

#[component]
pub fn Watches() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let flash = flash_resource();
    let page = Resource::new(|| (), |_| get_watches_page());
    view! {
        <Title text="Watches" />
        <SignedIn path="/watches" page=move |viewer| view! { <WatchesView viewer flash page /> } />
    }
}

#[component]
fn WatchesView(
    viewer: Viewer,
    flash: FlashResource,
    page: Resource<Result<WatchesPage, ServerFnError>>,
) -> impl IntoView {
    let editable = viewer.may(Action::EditTrackers);
    view! {
        <section class="watches" aria-labelledby="watches-title">
            <p class="eyebrow">{viewer.workspace_name.clone()}</p>
            <h1 id="watches-title">"Watches"</h1>
            <p class="muted">
                "Add a channel, a user or an organisation once: each video, story or repository it publishes from now on becomes a tracker by itself."
            </p>
            <Suspense fallback=|| view! { <ListSkeleton label="Loading your watches…" /> }>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                    let messages = Flash::of(&flash, "new-watch").unwrap_or_default();
                    let other_error = Flash::of(&flash, "watch").and_then(|flash| flash.error);
                    match page.await {
                        Ok(page) => view! {
                            <Notice notice />
                            <FormError error=other_error />
                            <WatchList watches=page.watches.clone() />
                            {editable.then(|| view! { <NewWatch page=page.clone() messages /> })}
                            {(!editable).then(|| view! {
                                <p class="muted read-only-note">"As a viewer you see the watches but cannot change them."</p>
                            })}
                        }
                            .into_any(),
                        Err(error) => load_failed("your watches", &error, move || page.refetch()),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn WatchList(watches: Vec<WatchView>) -> impl IntoView {
    if watches.is_empty() {
        return view! { <p class="muted">"No watches yet."</p> }.into_any();
    }
    view! {
        <table class="watch-list" data-testid="watches">
            <thead>
                <tr>
                    <th scope="col">"Watching"</th>
                    <th scope="col">"Trackers made"</th>
                    <th scope="col">"Skipped"</th>
                    <th scope="col">"Last look"</th>
                </tr>
            </thead>
            <tbody>
                {watches
                    .into_iter()
                    .map(|watch| {
                        let last = match (&watch.last_error, &watch.last_read_at) {
                            (Some(error), _) => format!("failed: {error}"),
                            (None, Some(at)) => when(at),
                            (None, None) => "not yet".to_string(),
                        };
                        view! {
                            <tr data-paused=watch.paused.to_string()>
                                <td>
                                    <a href=format!("/watches/{}", watch.id)>{watch.title.clone()}</a>
                                    <br />
                                    <span class="muted">{watch.kind_label.clone()} {watch.paused.then_some(" · paused")}</span>
                                </td>
                                <td>{watch.trackers}</td>
                                <td>{watch.skipped}</td>
                                <td>{last}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn NewWatch(page: WatchesPage, messages: Flash) -> impl IntoView {
    if page.max_watches == 0 {
        return view! {
            <Panel title_id="new-watch-title" title="Start a watch">
                <p class="muted">
                    {format!("The {} plan has no watches. ", page.plan)}
                    <a href="/billing">"Upgrade"</a>
                    " to have new videos, stories and repositories tracked by themselves."
                </p>
            </Panel>
        }
        .into_any();
    }
    let hint = page
        .kinds
        .iter()
        .map(|kind| format!("{} ({}: {})", kind.label, kind.yields, kind.example))
        .collect::<Vec<_>>()
        .join("; ");
    let chosen = |name: &str| messages.value(name);
    let poll_every = chosen("poll_every_secs");
    let interval = chosen("interval_secs");
    let allowed: Vec<i32> = INTERVALS
        .into_iter()
        .filter(|secs| *secs >= page.min_interval_secs)
        .collect();
    let poll_options = allowed
        .iter()
        .map(|&secs| {
            let value = secs.to_string();
            let selected = if poll_every.is_empty() {
                secs == 3_600
            } else {
                poll_every == value
            };
            view! { <option value=value selected=selected>{format!("Every {}", describe_interval(secs))}</option> }
        })
        .collect_view();
    let interval_options = allowed
        .iter()
        .map(|&secs| {
            let value = secs.to_string();
            view! { <option value=value.clone() selected=interval == value>{format!("Every {}", describe_interval(secs))}</option> }
        })
        .collect_view();
    view! {
        <Panel title_id="new-watch-title" title="Start a watch">
            <form method="post" action="/watches" class="form" data-testid="new-watch">
                <FormError error=messages.error.clone() />
                <Field name="url" label="Link" value=messages.value("url") maxlength=2048 />
                <p class="field-hint">{format!("Upcount watches: {hint}.")}</p>
                <SelectField id="field-poll-every" name="poll_every_secs" label="Look for new ones">
                    {poll_options}
                </SelectField>
                <Field name="track_for_days" label="Track each new one for (days)" kind="number"
                    value=messages.value("track_for_days") required=false
                    hint="Leave empty to track each one until you delete it." />
                <SelectField id="field-watch-interval" name="interval_secs" label="Poll each new tracker">
                    <option value="" selected=interval.is_empty()>"As new trackers are by default"</option>
                    {interval_options}
                </SelectField>
                <Field name="label" label="Label pattern (optional)" value=messages.value("label") required=false maxlength=200
                    hint="{title}, {container} and {date} are filled in: \"{container}: {title}\"." />
                <Field name="min_score" label="Only items with at least this score an hour after they appear (optional)" kind="number"
                    value=messages.value("min_score") required=false
                    hint="Subreddits, Reddit and Hacker News users: their posts and stories have a score." />
                <Field name="top_per_day" label="Only the day's top (optional, 1 to 25)" kind="number"
                    value=messages.value("top_per_day") required=false
                    hint="A post is tracked once it ranks among the best-scoring of the past 24 hours." />
                <button class="button" type="submit">"Start watching"</button>
            </form>
        </Panel>
    }
    .into_any()
}

/// How the trackers of a watch are sorted (`?sort=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortBy {
    Newest,
    Week,
    Value,
    Title,
}

impl SortBy {
    const ALL: [SortBy; 4] = [SortBy::Newest, SortBy::Week, SortBy::Value, SortBy::Title];

    fn key(self) -> &'static str {
        match self {
            SortBy::Newest => "newest",
            SortBy::Week => "week",
            SortBy::Value => "value",
            SortBy::Title => "title",
        }
    }

    fn label(self) -> &'static str {
        match self {
            SortBy::Newest => "Newest",
            SortBy::Week => "Best this week",
            SortBy::Value => "Highest",
            SortBy::Title => "Title",
        }
    }

    fn parse(text: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|sort| sort.key() == text)
            .unwrap_or(SortBy::Newest)
    }

    fn sort(self, items: &mut [WatchItemView]) {
        let number = |value: Option<f64>| value.unwrap_or(f64::NEG_INFINITY);
        match self {
            SortBy::Newest => {}
            SortBy::Week => {
                items.sort_by(|a, b| number(b.change_7d).total_cmp(&number(a.change_7d)))
            }
            SortBy::Value => items.sort_by(|a, b| number(b.value).total_cmp(&number(a.value))),
            SortBy::Title => items.sort_by_key(|item| item.title.to_lowercase()),
        }
    }
}

#[component]
pub fn WatchPage() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let params = use_params_map();
    let query = use_query_map();
    let flash = flash_resource();
    let id = move || params.read().get("id").unwrap_or_default();
    let watch = Resource::new(id, |id| async move {
        match id.parse::<WatchId>() {
            Ok(id) => get_watch(id).await,
            Err(_) => Ok(None),
        }
    });
    let sort = move || SortBy::parse(&query.read().get("sort").unwrap_or_default());
    view! {
        <Title text="Watch" />
        <SignedIn
            path=params.with_untracked(|params| format!("/watches/{}", params.get("id").unwrap_or_default()))
            page=move |viewer| {
                let editable = viewer.may(Action::EditTrackers);
                view! {
                <Suspense fallback=|| view! { <ListSkeleton label="Loading the watch…" /> }>
                    {move || Suspend::new(async move {
                        let flash = flash.await.ok().flatten();
                        let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                        let error = Flash::of(&flash, "watch").and_then(|flash| flash.error);
                        match watch.await {
                            Ok(Some(detail)) => view! {
                                <Notice notice />
                                <FormError error />
                                <WatchDetailView detail sort=sort() editable />
                            }
                                .into_any(),
                            Ok(None) => view! { <NotFound /> }.into_any(),
                            Err(error) => load_failed("the watch", &error, move || watch.refetch()),
                        }
                    })}
                </Suspense>
                }
            }
        />
    }
}

#[component]
fn WatchDetailView(detail: WatchDetail, sort: SortBy, editable: bool) -> impl IntoView {
    let watch = detail.watch;
    let base = format!("/watches/{}", watch.id);
    let mut trackers = detail.trackers;
    sort.sort(&mut trackers);
    let sort_links = SortBy::ALL
        .into_iter()
        .map(|option| {
            let here = (option == sort).then_some("page");
            view! { <a href=format!("{base}?sort={}", option.key()) aria-current=here class="chip">{option.label()}</a> }
        })
        .collect_view();
    let last = match (&watch.last_error, &watch.last_read_at) {
        (Some(error), _) => format!("The last look failed: {error}"),
        (None, Some(at)) => format!("Last looked {}.", when(at)),
        (None, None) => "Not looked at yet.".to_string(),
    };
    let rules = watch.alerts.len();
    let actions = editable.then(|| {
        let pause = if watch.paused { "resume" } else { "pause" };
        view! {
            <div class="watch-actions">
                <PostButton action=format!("{base}/poll") text="Look now" inline=true />
                <PostButton action=format!("{base}/{pause}") text=if watch.paused { "Resume" } else { "Pause" } inline=true />
                <PostButton action=format!("{base}/delete") text="Stop watching"
                    label=format!("Stop watching {} (its trackers stay)", watch.title) inline=true />
            </div>
        }
    });
    view! {
        <section class="watch-page" aria-labelledby="watch-title">
            <p class="eyebrow"><a href="/watches">"Watches"</a> " / " {watch.kind_label.clone()}</p>
            <h1 id="watch-title">{watch.title.clone()}</h1>
            <p><a href=watch.url.clone() rel="noopener noreferrer">{watch.url.clone()}</a></p>
            <p>{template_summary(&watch)}</p>
            <p class="muted">
                {watch.label.clone().map(|label| format!("Labels: \"{label}\". "))}
                {(rules > 0).then(|| format!("{rules} alert rule(s) copied onto each. "))}
                {watch.min_score.map(|score| format!("Only those scoring at least {} after an hour. ", format_number(score)))}
                {watch.top_per_day.map(|n| format!("Only the day's top {n}. "))}
                {last}
                {watch.paused.then_some(" Paused.")}
            </p>
            {actions}
            <h2>{format!("Trackers it made ({})", trackers.len())}</h2>
            <nav class="chips" aria-label="Sort">{sort_links}</nav>
            <ItemTable items=trackers tracked=true />
            <h2>"History"</h2>
            <ItemTable items=detail.history tracked=false />
        </section>
    }
}

#[component]
fn ItemTable(items: Vec<WatchItemView>, tracked: bool) -> impl IntoView {
    if items.is_empty() {
        let empty = if tracked {
            "None yet: what it publishes next appears here."
        } else {
            "Nothing else yet."
        };
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    let rows = items
        .into_iter()
        .map(|item| {
            let title = match item.tracker_id {
                Some(tracker) => view! { <a href=format!("/trackers/{tracker}")>{item.title.clone()}</a> }.into_any(),
                None => view! { <a href=item.url.clone() rel="noopener noreferrer">{item.title.clone()}</a> }.into_any(),
            };
            let published = item.published_at.as_ref().map(when).unwrap_or_default();
            if tracked {
                let value = match (&item.metric, item.value) {
                    (Some(metric), Some(value)) => format!("{} {metric}", format_number(value)),
                    _ => String::new(),
                };
                let change = item
                    .change_7d
                    .map(|change| {
                        let sign = if change >= 0.0 { "+" } else { "" };
                        format!("{sign}{}", format_number(change))
                    })
                    .unwrap_or_default();
                let ends = match item.ends_at {
                    Some(end) if item.ended => format!("ended {}", when(&end)),
                    Some(end) => when(&end),
                    None => "—".to_string(),
                };
                view! {
                    <tr data-item=item.key.clone()>
                        <td>{title}</td>
                        <td>{published}</td>
                        <td class="number">{value}</td>
                        <td class="number">{change}</td>
                        <td>{ends}</td>
                    </tr>
                }
                .into_any()
            } else {
                view! {
                    <tr data-item=item.key.clone() data-state=item.state.key()>
                        <td>{title}</td>
                        <td>{item.status()}</td>
                        <td>{when(&item.at)}</td>
                    </tr>
                }
                .into_any()
            }
        })
        .collect_view();
    let heads = if tracked {
        view! {
            <tr>
                <th scope="col">"Item"</th>
                <th scope="col">"Published"</th>
                <th scope="col">"Latest"</th>
                <th scope="col">"Last 7 days"</th>
                <th scope="col">"Tracked until"</th>
            </tr>
        }
        .into_any()
    } else {
        view! {
            <tr>
                <th scope="col">"Item"</th>
                <th scope="col">"What the watch did"</th>
                <th scope="col">"Seen"</th>
            </tr>
        }
        .into_any()
    };
    let testid = if tracked {
        "watch-trackers"
    } else {
        "watch-history"
    };
    view! {
        <table class="watch-items" data-testid=testid>
            <thead>{heads}</thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
