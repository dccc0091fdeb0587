//! The console's sources and their schedules: a filter by provider and state, and a row
//! per source with its last polls, failures and buttons.

use leptos::prelude::*;

use super::{
    actions::{FilterSelect, action_button},
    table::AdminTable,
};
use crate::{
    api::admin::{ConsoleSource, source_filters},
    components::layout::Panel,
};

/// The filter and the sources it keeps. `q` is the users' search, kept when filtering.
#[component]
pub fn SourcesPanel(
    sources: Vec<ConsoleSource>,
    providers: Vec<String>,
    q: String,
    provider: String,
    state: String,
) -> impl IntoView {
    view! {
        <Panel title_id="sources-title" title="Sources and schedules">
            <form method="get" action="/admin" class="form form-inline">
                <input type="hidden" name="q" value=q />
                <label for="admin-provider">"Provider"</label>
                <FilterSelect id="admin-provider" name="provider" choices=providers current=provider />
                <label for="admin-state">"State"</label>
                <FilterSelect id="admin-state" name="state" choices=source_filters() current=state />
                <button type="submit">"Filter"</button>
            </form>
            <AdminTable
                columns=&["Source", "State", "Trackers", "Interval", "Last / next poll", "Failures", "Actions"]
                rows=sources
                row=|source| view! { <SourceLine source /> }
                none="No source matches."
            />
        </Panel>
    }
}

#[component]
fn SourceLine(source: ConsoleSource) -> impl IntoView {
    let id = source.id;
    let base = format!("/admin/sources/{id}");
    let (verb, path) = if source.paused_by_admin {
        ("Resume", "resume")
    } else {
        ("Pause", "pause")
    };
    let pause = action_button(format!("{base}/{path}"), format!("{verb} source {id}"));
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
