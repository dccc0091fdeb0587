//! The console's outbox (`/admin/outbox`): every recent message with its state, attempts
//! and error, its text behind a disclosure, and the addresses that refused mail for good.

use leptos::prelude::*;
use leptos_meta::Title;

use super::table::AdminTable;
use crate::{
    api::admin::admin_outbox,
    components::{feedback::Loaded, layout::Panel},
    domain::outbox::{Outbox, OutboxMessage, SuppressedAddress},
    pages::signed_in::SignedIn,
};

#[component]
pub fn AdminOutbox() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let outbox = Resource::new(|| (), |_| admin_outbox());
    view! {
        <Title text="Outbox · Admin" />
        <SignedIn path="/admin/outbox" admin_only=true page=move |_| view! {
            <section class="admin" aria-labelledby="outbox-title">
                <p><a href="/admin">"← Admin console"</a></p>
                <h1 id="outbox-title">"Outbox"</h1>
                <Loaded
                    resource=outbox
                    failed="Could not load the outbox. Please reload the page."
                    ready=|outbox| view! { <OutboxView outbox /> }
                />
            </section>
        } />
    }
}

#[component]
fn OutboxView(outbox: Outbox) -> impl IntoView {
    view! {
        <p class="muted" data-testid="outbox-delivery">{outbox.delivery}</p>
        <Panel title_id="outbox-messages-title" title="Messages">
            <AdminTable
                columns=&["Queued", "To", "Kind", "Subject", "State", "Attempts", "Error", "Sent"]
                rows=outbox.messages
                row=|message| view! { <MessageLine message /> }
                none="No messages yet."
                testid="outbox-messages"
            />
        </Panel>
        <Panel title_id="outbox-suppressed-title" title="Suppressed addresses">
            <AdminTable
                columns=&["Since", "Address", "Why"]
                rows=outbox.suppressed
                row=|address| view! { <SuppressedLine address /> }
                none="No address refused mail for good."
                testid="outbox-suppressed"
            />
        </Panel>
    }
}

#[component]
fn MessageLine(message: OutboxMessage) -> impl IntoView {
    view! {
        <tr data-testid=format!("message-{}", message.id)>
            <td>{message.created_at}</td>
            <td>{message.to}</td>
            <td><code>{message.kind.key()}</code></td>
            <td>
                <details>
                    <summary>{message.subject}</summary>
                    <pre class="outbox-body">{message.text_body}</pre>
                </details>
            </td>
            <td>{message.state.key()}</td>
            <td>{message.attempts}</td>
            <td>{message.last_error.unwrap_or_default()}</td>
            <td>{message.sent_at.unwrap_or_default()}</td>
        </tr>
    }
}

#[component]
fn SuppressedLine(address: SuppressedAddress) -> impl IntoView {
    view! {
        <tr>
            <td>{address.created_at}</td>
            <td>{address.address}</td>
            <td>{address.reason}</td>
        </tr>
    }
}
