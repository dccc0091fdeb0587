//! `/alerts`: where the workspace's alerts go (its channels: add one, send it a test,
//! delete it) and what its rules fired, with each delivery's outcome. Every form posts to
//! the server (`/alerts/…`), which answers with a redirect back here and flash messages.

mod sinks;

use leptos::prelude::*;
use leptos_meta::Title;

use super::signed_in::SignedIn;
use crate::{
    api::{
        alerts::{AlertsPage, ChannelRow, EventRow, get_alerts_page},
        flash::Flash,
        session::Viewer,
    },
    components::{
        feedback::load_failed,
        form::{Field, FlashResource, FormError, Notice, PostButton, SelectField, flash_resource},
        layout::Panel,
    },
    domain::{ChannelKind, alert_channel::NEW_CHANNEL_FORM},
};

#[component]
pub fn Alerts() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let flash = flash_resource();
    let page = Resource::new(|| (), |_| get_alerts_page());
    view! {
        <Title text="Alerts" />
        <SignedIn path="/alerts" page=move |viewer| view! { <AlertsView viewer flash page /> } />
    }
}

#[component]
fn AlertsView(
    viewer: Viewer,
    flash: FlashResource,
    page: Resource<Result<AlertsPage, ServerFnError>>,
) -> impl IntoView {
    let may_alerts = viewer.may(crate::domain::Action::EditAlerts);
    let may_sinks = viewer.may(crate::domain::Action::EditSinks);
    view! {
        <section class="alerts" aria-labelledby="alerts-title">
            <p class="eyebrow">{viewer.workspace_name.clone()}</p>
            <h1 id="alerts-title">"Alerts"</h1>
            <p class="muted">
                "Rules live on each tracker's page; this page lists where alerts go and what fired."
            </p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let flash = flash.await.ok().flatten();
                    let notice = flash.as_ref().and_then(|flash| flash.notice.clone());
                    let secret = flash.as_ref().and_then(|flash| flash.new_secret.clone());
                    let messages = Flash::of(&flash, NEW_CHANNEL_FORM).unwrap_or_default();
                    let other_error = Flash::of(&flash, "channel").and_then(|flash| flash.error);
                    let sink_messages = Flash::of(&flash, "new-sink").unwrap_or_default();
                    let sink_error = Flash::of(&flash, "sink").and_then(|flash| flash.error);
                    match page.await {
                        Ok(page) => view! {
                            <Notice notice />
                            <FormError error=other_error />
                            {secret.map(|secret| view! {
                                <div class="new-token" role="status">
                                    <p>
                                        "The webhook's signing secret (a channel's or a sink's). Copy it now: it will not be shown again. "
                                        "Each delivery carries " <code>"Upcount-Signature: t=…,v1=…"</code>
                                        ", the HMAC-SHA256 of " <code>"t.body"</code> " under it."
                                    </p>
                                    <code class="token-value" data-testid="new-secret">{secret}</code>
                                </div>
                            })}
                            <Channels channels=page.channels messages editable=may_alerts addresses=page.member_addresses />
                            <sinks::Sinks sinks=page.sinks trackers=page.trackers messages=sink_messages other_error=sink_error editable=may_sinks />
                            <Events events=page.events />
                        }
                            .into_any(),
                        Err(error) => load_failed("your alerts", &error, move || page.refetch()),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Channels(
    channels: Vec<ChannelRow>,
    messages: Flash,
    /// Whether the viewer may change channels (viewers see them only).
    editable: bool,
    /// Addresses to suggest for an email channel: members' confirmed ones.
    addresses: Vec<String>,
) -> impl IntoView {
    let list = if channels.is_empty() {
        view! { <p class="muted">"No channels yet: add one to send alerts to."</p> }.into_any()
    } else {
        view! {
            <table class="channels" data-testid="channels">
                <thead>
                    <tr>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Where"</th>
                        <th scope="col">"State"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {channels
                        .into_iter()
                        .map(|channel| {
                            let name = format!("{} {}", channel.kind.label(), channel.target);
                            view! {
                                <tr>
                                    <td>{channel.kind.label()}</td>
                                    <td><code>{channel.target.clone()}</code></td>
                                    <td>{channel.failing.clone().unwrap_or_else(|| "working".into())}</td>
                                    <TestAndDelete
                                        path=format!("/alerts/channels/{}", channel.id)
                                        test_label=format!("Send a test to {name}")
                                        name=name
                                        editable
                                    />
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
            .into_any()
    };
    if !editable {
        return view! {
            <Panel title_id="channels-title" title="Channels">
                {list}
                <p class="muted read-only-note">"As a viewer you see where alerts go but cannot change it."</p>
            </Panel>
        }
        .into_any();
    }
    view! {
        <Panel title_id="channels-title" title="Channels">
            {list}
            <NewChannelForm messages addresses />
        </Panel>
    }
    .into_any()
}

/// The form that adds a channel (posting to `/alerts/channels`), here and on a tracker's
/// page, which passes `back` (where the answer returns) and ids of its own.
#[component]
pub fn NewChannelForm(
    messages: Flash,
    /// Addresses to suggest for an email channel: members' confirmed ones.
    addresses: Vec<String>,
    /// The page to come back to, when not the Alerts page.
    #[prop(optional)]
    back: Option<String>,
    /// Ids for the form's fields, when another form on the page has `field-kind`.
    #[prop(optional)]
    ids: Option<(&'static str, &'static str)>,
) -> impl IntoView {
    let (kind_id, target_id) = ids.unwrap_or(("field-kind", "field-target"));
    let kind = messages.value("kind");
    view! {
        <form method="post" action="/alerts/channels" class="form form-inline new-channel">
            {back.map(|back| view! { <input type="hidden" name="back" value=back /> })}
            <FormError error=messages.error.clone() />
            <SelectField id=kind_id name="kind" label="Kind" error=messages.field_error("kind")>
                {ChannelKind::ALL
                    .into_iter()
                    .map(|option| view! {
                        <option value=option.key() selected=kind == option.key()>{option.label()}</option>
                    })
                    .collect_view()}
            </SelectField>
            <Field
                name="target"
                id=target_id
                label="Address or URL"
                value=messages.value("target")
                error=messages.field_error("target")
                maxlength=2048
                hint="An email address (yours or another member's confirmed one), or the webhook's URL (Slack and Discord: their incoming-webhook URL)."
                list="member-addresses"
            />
            <datalist id="member-addresses" data-testid="member-addresses">
                {addresses.into_iter().map(|address| view! { <option value=address></option> }).collect_view()}
            </datalist>
            <button class="button" type="submit">"Add channel"</button>
        </form>
    }
}

/// A row's last cell: "Send test" and "Delete" buttons posting to `path`'s `/test`
/// and `/delete`, labelled for screen readers with `test_label` and "Delete `name`"; empty
/// unless `editable`.
#[component]
fn TestAndDelete(path: String, test_label: String, name: String, editable: bool) -> impl IntoView {
    view! {
        <td class="actions">
            {editable.then(|| view! {
                <PostButton action=format!("{path}/test") text="Send test" label=test_label inline=true />
                <PostButton
                    action=format!("{path}/delete")
                    text="Delete"
                    label=format!("Delete {name}")
                    inline=true
                />
            })}
        </td>
    }
}

#[component]
fn Events(events: Vec<EventRow>) -> impl IntoView {
    let list = if events.is_empty() {
        view! { <p class="muted">"Nothing has fired yet."</p> }.into_any()
    } else {
        view! {
            <table class="alert-events" data-testid="alert-events">
                <thead>
                    <tr>
                        <th scope="col">"Fired"</th>
                        <th scope="col">"Tracker"</th>
                        <th scope="col">"What happened"</th>
                        <th scope="col">"Deliveries"</th>
                    </tr>
                </thead>
                <tbody>
                    {events
                        .into_iter()
                        .map(|event| {
                            let tracker = match event.tracker {
                                Some(id) => view! { <a href=format!("/trackers/{id}")>{event.label.clone()}</a> }.into_any(),
                                None => view! { <span>{event.label.clone()}</span> }.into_any(),
                            };
                            view! {
                                <tr>
                                    <td>{event.fired_at.clone()}</td>
                                    <td>{tracker}</td>
                                    <td>{event.reason.clone()}</td>
                                    <td>
                                        <ul class="deliveries">
                                            {event
                                                .deliveries
                                                .iter()
                                                .map(|(channel, state, error)| view! {
                                                    <li data-state=state.clone()>
                                                        {channel.clone()} ": " <strong>{state.clone()}</strong>
                                                        {error.clone().map(|error| view! { " (" {error} ")" })}
                                                    </li>
                                                })
                                                .collect_view()}
                                        </ul>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
            .into_any()
    };
    view! {
        <Panel title_id="events-title" title="Alert events">
            {list}
        </Panel>
    }
}
