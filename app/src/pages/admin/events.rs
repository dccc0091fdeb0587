//! The console's Stripe events, each with a button that processes it again.

use leptos::prelude::*;

use super::{actions::action_button, table::AdminTable};
use crate::{api::admin::ConsoleEvent, components::layout::Panel};

#[component]
pub fn EventsPanel(events: Vec<ConsoleEvent>) -> impl IntoView {
    view! {
        <Panel title_id="events-title" title="Stripe events">
            <AdminTable columns=&["Received", "Type", "Status", "Attempts", "Error", "Actions"] rows=events row=|event| view! { <EventLine event /> } none="No Stripe events yet." />
        </Panel>
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
