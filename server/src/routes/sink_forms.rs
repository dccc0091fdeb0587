//! The Alerts page's forwarding forms: add a sink, send one a test, delete one. Each
//! answers with a redirect back to `/alerts#sinks` and flash messages. The fields are the
//! REST API's (`kind`, `url`, `database`, `username`, `password`, `org`, `bucket`,
//! `token`, `address`, `prefix`, and a `trackers` checkbox per tracker: none ticked, all
//! of them), checked by the same parser; empty fields are left out.

use app::{
    api::flash::Flash,
    domain::{
        Action, NextPath, SinkId,
        sink::{SinkFields, SinkSpec},
    },
    server::{
        auth::Auth,
        sinks::{self, store},
        state::AppState,
    },
};
use axum::{
    Extension, Form,
    extract::{Path, State, rejection::FormRejection},
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use super::forms::{either, no_such_action, redirect_with, refused, unexpected};

const SINKS: &str = "/alerts#sinks";
/// The fields kept to fill the form in again (never a password or a token).
const SHOWN_FIELDS: [&str; 8] = [
    "kind", "url", "database", "username", "org", "bucket", "address", "prefix",
];

/// The posted fields as the API's body, and the form's flash with the values to show
/// again.
fn read_form(fields: &[(String, String)]) -> (SinkFields, Flash) {
    let mut flash = Flash::for_form("new-sink");
    let mut sink = SinkFields::default();
    let mut trackers = Vec::new();
    let mut bad_tracker = false;
    for (name, value) in fields {
        if SHOWN_FIELDS.contains(&name.as_str()) {
            flash = flash.with_value(name, value);
        }
        let value = (!value.trim().is_empty()).then(|| value.clone());
        match name.as_str() {
            "kind" => sink.kind = value.unwrap_or_default(),
            "url" => sink.url = value,
            "database" => sink.database = value,
            "username" => sink.username = value,
            "password" => sink.password = value,
            "org" => sink.org = value,
            "bucket" => sink.bucket = value,
            "token" => sink.token = value,
            "address" => sink.address = value,
            "prefix" => sink.prefix = value,
            "trackers" => match value.as_deref().map(str::parse) {
                Some(Ok(id)) => trackers.push(id),
                Some(Err(_)) => bad_tracker = true,
                None => {}
            },
            _ => {}
        }
    }
    if bad_tracker {
        flash = flash.with_error("A tracker ticked is not valid; reload the page.");
    }
    sink.trackers = (!trackers.is_empty()).then_some(trackers);
    (sink, flash)
}

/// `POST /alerts/sinks`.
pub async fn add_sink(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url("/alerts")).into_response();
    };
    if let Err(refusal) = user.may(Action::EditSinks) {
        return refused(&session, "new-sink", refusal, SINKS).await;
    }
    let Form(fields) = form.unwrap_or_default();
    let (fields, flash) = read_form(&fields);
    if flash.error.is_some() {
        return redirect_with(&session, flash, SINKS).await;
    }
    let spec = match SinkSpec::parse(&fields) {
        Ok(spec) => spec,
        Err(message) => return redirect_with(&session, flash.with_error(message), SINKS).await,
    };
    let key = state.engine.config().secret_key;
    match store::create_sink(&state.pool, key.as_ref(), user.workspace_id, &spec).await {
        Ok(made) => {
            let mut shown = Flash::notice(format!(
                "Sink added: {} {}. New samples go there within a minute.",
                made.sink.target.kind().label(),
                made.sink.target.describe()
            ));
            shown.new_secret = made.secret;
            redirect_with(&session, shown, SINKS).await
        }
        Err(store::SinkRefusal::Database(error)) => {
            unexpected(&session, "new-sink", SINKS, error).await
        }
        Err(refusal) => redirect_with(&session, flash.with_error(refusal.to_string()), SINKS).await,
    }
}

/// `POST /alerts/sinks/{id}/test` and `/delete`.
pub async fn sink_action(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let Some(test) = either(&action, "test", "delete") else {
        return no_such_action();
    };
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url("/alerts")).into_response();
    };
    if let Err(refusal) = user.may(Action::EditSinks) {
        return refused(&session, "sink", refusal, SINKS).await;
    }
    let gone = || Flash::notice("That sink no longer exists.");
    let Ok(id) = id.parse::<SinkId>() else {
        return redirect_with(&session, gone(), SINKS).await;
    };
    if !test {
        return match store::delete_sink(&state.pool, user.workspace_id, id).await {
            Ok(true) => redirect_with(&session, Flash::notice("Sink deleted."), SINKS).await,
            Ok(false) => redirect_with(&session, gone(), SINKS).await,
            Err(error) => unexpected(&session, "sink", SINKS, error).await,
        };
    }
    let key = state.engine.config().secret_key;
    let sink = match store::get_sink(&state.pool, key.as_ref(), user.workspace_id, id).await {
        Ok(Some(sink)) => sink,
        Ok(None) => return redirect_with(&session, gone(), SINKS).await,
        Err(error) => return unexpected(&session, "sink", SINKS, error).await,
    };
    let outcome = match sink {
        Ok(sink) => sinks::send::send(state.engine.http(), &sink, &[], chrono::Utc::now()).await,
        Err(reason) => Err(reason),
    };
    let flash = match outcome {
        Ok(()) => Flash::notice("The sink took a test batch."),
        Err(error) => {
            Flash::for_form("sink").with_error(format!("The test batch was not taken: {error}."))
        }
    };
    redirect_with(&session, flash, SINKS).await
}
