//! The admin console (administrators only): the service at a glance, users and their
//! workspaces, sources and their schedules, jobs, Stripe events and the audit log; the
//! email outbox on a page of its own. Every
//! button posts a form to `/admin/…`, which acts, audits and comes back here.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::signed_in::SignedIn;
use crate::{
    api::admin::{Console, Live, admin_console, admin_live},
    components::{
        feedback::Loaded,
        form::{FlashMessages, FlashResource, flash_resource},
        layout::Panel,
    },
};

mod actions;
mod events;
mod history;
mod jobs;
mod outbox;
mod overview;
mod sources;
mod table;
mod users;

pub(super) use actions::{PlanForm, UserActions, action_button};
pub use outbox::AdminOutbox;
pub(super) use table::{AdminTable, AuditTable};

#[component]
pub fn Admin() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let console = Resource::new(
        move || (param("q"), param("provider"), param("state")),
        |(q, provider, state)| admin_console(q, provider, state),
    );
    let flash = flash_resource();
    let live = Resource::new(|| (), |_| admin_live());
    view! {
        <Title text="Admin" />
        <SignedIn path="/admin" admin_only=true page=move |_| view! { <ConsolePage console flash live /> } />
    }
}

#[component]
fn ConsolePage(
    console: Resource<Result<Console, ServerFnError>>,
    flash: FlashResource,
    live: Resource<Result<Live, ServerFnError>>,
) -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    view! {
        <section class="admin" aria-labelledby="admin-title">
            <h1 id="admin-title">"Admin console"</h1>
            <p><a href="/admin/outbox">"Outbox: the email Upcount sent"</a></p>
            <overview::LiveOverview live />
            <Loaded
                resource=console
                failed="Could not load the console. Please reload the page."
                ready=move |console| view! {
                    <FlashMessages flash forms=&["admin"] />
                    <ConsoleView console q=param("q") provider=param("provider") state=param("state") />
                }
            />
        </section>
    }
}

/// The console's panels, with the users' search (`q`) and the sources' filter.
#[component]
fn ConsoleView(console: Console, q: String, provider: String, state: String) -> impl IntoView {
    view! {
        <users::UsersPanel users=console.users q=q.clone() provider=provider.clone() state=state.clone() />
        <sources::SourcesPanel sources=console.sources providers=console.source_providers q provider state />
        <jobs::JobsPanel counts=console.job_counts failed=console.failed_jobs />
        <events::EventsPanel events=console.events />
        <Panel title_id="audit-title" title="Audit log">
            <AuditTable rows=console.audit testid="audit-log" empty="No admin actions yet." />
        </Panel>
    }
}

/// The badges after a user's email: an administrator, a suspended account.
pub(super) fn role_badges(role: &str, suspended: bool) -> impl IntoView + use<> {
    view! {
        {(role == "admin").then(|| view! { " " <span class="badge">"admin"</span> })}
        {suspended.then(|| view! { " " <span class="badge badge-warn">"suspended"</span> })}
    }
}
