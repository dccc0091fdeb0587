//! The dashboard's "New push source" form: a name, posted to the server
//! (`/dashboard/push-sources`), which comes back with the new token in the flash. The
//! token is shown this once, with a `curl` line that pushes a first number.

use leptos::prelude::*;

use crate::{
    api::flash::Flash,
    components::form::{Field, FormError},
};

/// The form, and the token of the push source it just made, if it did.
#[component]
pub fn NewPushSource(messages: Flash) -> impl IntoView {
    let open = messages.has_errors() || messages.new_token.is_some();
    let created = messages.new_token.clone().map(|shown| {
        let url = messages.value("push_url");
        let tracker = messages.value("tracker");
        let example = format!(
            "curl -X POST -H \"Authorization: Bearer {}\" \\\n     -d '[{{\"metric\": \"signups\", \"value\": 1, \"type\": \"delta\"}}]' \\\n     {url}",
            shown.token
        );
        view! {
            <div class="new-token" role="status" data-testid="new-push-source">
                <p>
                    "Push source " <strong>{shown.name}</strong>
                    " is ready. Copy its token now: it will not be shown again."
                </p>
                <code class="token-value" data-testid="new-push-token">{shown.token}</code>
                <p>"Send it numbers, up to 5,000 a request:"</p>
                <pre class="push-example"><code>{example}</code></pre>
                <p><a href=format!("/trackers/{tracker}")>"Open its tracker"</a></p>
            </div>
        }
    });
    view! {
        {created}
        <details class="push-source-form" open=open>
            <summary>"New push source"</summary>
            <p class="muted">
                "Numbers only you have — sign-ups, sales, an internal counter — pushed to Upcount with a token of their own, and charted like any tracker."
            </p>
            <form method="post" action="/dashboard/push-sources" class="form form-inline">
                <FormError error=messages.error.clone() />
                <Field
                    name="name"
                    label="Name"
                    value=messages.value("name")
                    error=messages.field_error("name")
                    maxlength=200
                />
                <Field
                    name="event_labels"
                    label="Event labels"
                    value=messages.value("event_labels")
                    error=messages.field_error("event_labels")
                    hint="Optional: event properties counted as labels (POST /api/v1/events), like plan, region"
                    maxlength=900
                    required=false
                />
                <button class="button" type="submit">"Create push source"</button>
            </form>
        </details>
    }
}
