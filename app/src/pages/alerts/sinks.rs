//! The Alerts page's forwarding section (`#sinks`): the workspace's sinks with their
//! state, backlog, dropped points and last error, a form to add one (its fields are the
//! REST API's; those the kind does not take are left empty) and Send test / Delete
//! buttons. Every form posts to `/alerts/sinks…`.

use leptos::prelude::*;

use super::TestAndDelete;
use crate::{
    api::{alerts::SinkRow, flash::Flash},
    components::{
        form::{Field, FormError, SelectField},
        layout::Panel,
    },
    domain::{SinkKind, TrackerId},
};

#[component]
pub fn Sinks(
    sinks: Vec<SinkRow>,
    trackers: Vec<(TrackerId, String)>,
    messages: Flash,
    other_error: Option<String>,
    /// Whether the viewer may change sinks (viewers see them only).
    editable: bool,
) -> impl IntoView {
    let list = if sinks.is_empty() {
        view! { <p class="muted">"No sinks yet: add one to forward every new sample to your InfluxDB, Graphite or webhook."</p> }
            .into_any()
    } else {
        view! {
            <table class="sinks" data-testid="sinks">
                <thead>
                    <tr>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Where"</th>
                        <th scope="col">"Trackers"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Waiting"</th>
                        <th scope="col">"Dropped"</th>
                        <th scope="col">"Last error"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {sinks
                        .into_iter()
                        .map(|sink| {
                            let name = format!("{} {}", sink.kind.label(), sink.target);
                            view! {
                                <tr data-state=sink.state.clone()>
                                    <td>{sink.kind.label()}</td>
                                    <td><code>{sink.target.clone()}</code></td>
                                    <td>{sink.trackers.clone()}</td>
                                    <td class="sink-state">
                                        {sink.state.clone()}
                                        {sink.last_sent.clone().map(|at| view! { <br /><span class="muted">"last sent " {at}</span> })}
                                    </td>
                                    <td class="sink-backlog">{sink.backlog}</td>
                                    <td class="sink-dropped">{sink.dropped}</td>
                                    <td class="sink-error">{sink.last_error.clone().unwrap_or_default()}</td>
                                    <TestAndDelete
                                        path=format!("/alerts/sinks/{}", sink.id)
                                        test_label=format!("Send a test batch to {name}")
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
    let kind = messages.value("kind");
    let tracker_choice = (!trackers.is_empty()).then(|| {
        view! {
            <fieldset class="field">
                <legend>"Trackers (none ticked: every tracker, also those added later)"</legend>
                {trackers
                    .into_iter()
                    .map(|(id, label)| view! {
                        <label class="checkbox">
                            <input type="checkbox" name="trackers" value=id.to_string() />
                            " " {label}
                        </label>
                    })
                    .collect_view()}
            </fieldset>
        }
    });
    view! {
        <div id="sinks">
            <Panel title_id="sinks-title" title="Forwarding">
                <p class="muted">
                    "Every new sample of your trackers goes to each sink within a minute, in batches. "
                    "A sink that is down keeps its backlog (up to 100,000 points; past that the oldest are dropped and counted)."
                </p>
                <FormError error=other_error />
                {list}
                {(!editable).then(|| view! {
                    <p class="muted read-only-note">"As a viewer you see the sinks but cannot change them."</p>
                })}
                {editable.then(|| view! {
                <form method="post" action="/alerts/sinks" class="form">
                    <FormError error=messages.error.clone() />
                    <SelectField id="field-sink-kind" name="kind" label="Kind">
                        {SinkKind::ALL
                            .into_iter()
                            .map(|option| view! {
                                <option value=option.key() selected=kind == option.key()>{option.label()}</option>
                            })
                            .collect_view()}
                    </SelectField>
                    <Field name="url" label="URL" value=messages.value("url") required=false maxlength=2048
                        hint="InfluxDB (http://host:8086) or the webhook's URL." />
                    <Field name="database" label="Database (InfluxDB 1.x)" value=messages.value("database") required=false maxlength=255 />
                    <Field name="username" label="User name (InfluxDB 1.x, optional)" value=messages.value("username") required=false maxlength=255 autocomplete="off" />
                    <Field name="password" label="Password (InfluxDB 1.x, optional)" kind="password" required=false maxlength=1024 autocomplete="new-password" />
                    <Field name="org" label="Organization (InfluxDB 2.x)" value=messages.value("org") required=false maxlength=255 />
                    <Field name="bucket" label="Bucket (InfluxDB 2.x)" value=messages.value("bucket") required=false maxlength=255 />
                    <Field name="token" label="Token (InfluxDB 2.x)" kind="password" required=false maxlength=1024 autocomplete="off" />
                    <Field name="address" label="Address (Graphite)" value=messages.value("address") required=false maxlength=300
                        hint="host:port of its plaintext listener, usually 2003." />
                    <Field name="prefix" label="Path prefix (Graphite, optional)" value=messages.value("prefix") required=false maxlength=200
                        hint="Paths are prefix.kind.key.metric, as in upcount.github_repo.leptos-rs_leptos.stars." />
                    {tracker_choice}
                    <button class="button" type="submit">"Add sink"</button>
                </form>
                })}
            </Panel>
        </div>
    }
}
