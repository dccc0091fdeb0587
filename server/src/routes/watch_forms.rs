//! The Watches pages' forms: start a watch (`POST /watches`: the REST API's fields, empty
//! ones left out) and, on a watch's page, look now, pause, resume and stop watching
//! (`POST /watches/{id}/{poll|pause|resume|delete}`). Each answers with a redirect and
//! flash messages.

use app::{
    api::flash::Flash,
    domain::{Action, NextPath, WatchId},
    server::{
        auth::Auth,
        state::AppState,
        watches::{
            WatchError,
            service::{self, NewWatch, WatchEdit},
        },
    },
};
use axum::{
    Extension, Form,
    extract::{Path, State, rejection::FormRejection},
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use super::forms::{no_such_action, redirect_with, refused, unexpected};

const WATCHES: &str = "/watches";
/// The fields kept to fill the form in again.
const SHOWN_FIELDS: [&str; 7] = [
    "url",
    "poll_every_secs",
    "interval_secs",
    "track_for_days",
    "label",
    "min_score",
    "top_per_day",
];

/// A number field: empty is left out, anything else must read.
fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<Option<T>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| format!("`{name}` must be a number"))
}

/// The posted fields as the API's body, and the form's flash with the values to show
/// again.
fn read_form(fields: &[(String, String)]) -> (NewWatch, Flash) {
    let mut flash = Flash::for_form("new-watch");
    let mut watch = NewWatch::default();
    let mut errors = Vec::new();
    for (name, value) in fields {
        if SHOWN_FIELDS.contains(&name.as_str()) {
            flash = flash.with_value(name, value);
        }
        let outcome = match name.as_str() {
            "url" => {
                watch.url = value.trim().to_string();
                Ok(())
            }
            "poll_every_secs" => number(name, value).map(|secs| watch.poll_every_secs = secs),
            "interval_secs" => number(name, value).map(|secs| watch.interval_secs = secs),
            "track_for_days" => number(name, value).map(|days| watch.track_for_days = days),
            "min_score" => number(name, value).map(|score| watch.min_score = score),
            "top_per_day" => number(name, value).map(|n| watch.top_per_day = n),
            "label" => {
                watch.label = (!value.trim().is_empty()).then(|| value.trim().to_string());
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(error) = outcome {
            errors.push(error);
        }
    }
    if !errors.is_empty() {
        flash = flash.with_error(errors.join("; "));
    }
    (watch, flash)
}

/// A refusal as the form shows it.
fn message(error: &WatchError) -> String {
    match error {
        WatchError::UpgradeRequired(limit) => limit.message.clone(),
        error => error.to_string(),
    }
}

/// `POST /watches`.
pub async fn add_watch(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(WATCHES)).into_response();
    };
    if let Err(refusal) = user.may(Action::EditTrackers) {
        return refused(&session, "new-watch", refusal, WATCHES).await;
    }
    let Form(fields) = form.unwrap_or_default();
    let (input, flash) = read_form(&fields);
    if flash.error.is_some() {
        return redirect_with(&session, flash, WATCHES).await;
    }
    match service::create_watch(
        &state.pool,
        &state.engine,
        user.workspace_id,
        Some(user.id),
        &input,
    )
    .await
    {
        Ok((created, detail)) => {
            let watch = &detail.watch;
            let notice = if created {
                format!(
                    "Watching {} ({}): what it publishes from now on becomes a tracker.",
                    watch.title, watch.kind_label
                )
            } else {
                format!("You already watch {}.", watch.title)
            };
            redirect_with(
                &session,
                Flash::notice(notice),
                &format!("/watches/{}", watch.id),
            )
            .await
        }
        Err(WatchError::Database(error)) => unexpected(&session, "new-watch", WATCHES, error).await,
        Err(error) => redirect_with(&session, flash.with_error(message(&error)), WATCHES).await,
    }
}

/// `POST /watches/{id}/poll`, `/pause`, `/resume` and `/delete`.
pub async fn watch_action(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    if !["poll", "pause", "resume", "delete"].contains(&action.as_str()) {
        return no_such_action();
    }
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(WATCHES)).into_response();
    };
    let gone = || Flash::notice("That watch no longer exists.");
    let Ok(id) = id.parse::<WatchId>() else {
        return redirect_with(&session, gone(), WATCHES).await;
    };
    let page = format!("/watches/{id}");
    if let Err(refusal) = user.may(Action::EditTrackers) {
        return refused(&session, "watch", refusal, &page).await;
    }
    let workspace = user.workspace_id;
    let outcome: Result<(Flash, String), WatchError> = match action.as_str() {
        "delete" => service::delete_watch(&state.pool, workspace, id).await.map(|()| {
            (
                Flash::notice("Stopped watching; the trackers it made stay."),
                WATCHES.to_string(),
            )
        }),
        "poll" => service::look_now(&state.pool, &state.engine, workspace, id)
            .await
            .map(|(report, detail)| {
                let yields = &detail.watch.yields;
                let notice = match (report.tracked, report.skipped) {
                    (0, 0) => format!("Looked now: no new {yields}."),
                    (tracked, 0) => format!("Looked now: {tracked} new, now tracked."),
                    (tracked, skipped) => format!(
                        "Looked now: {tracked} new tracked, {skipped} skipped (the plan's tracker limit is reached)."
                    ),
                };
                (Flash::notice(notice), page.clone())
            }),
        pause => {
            let paused = pause == "pause";
            let edit = WatchEdit {
                paused: Some(paused),
                ..WatchEdit::default()
            };
            service::update_watch(&state.pool, &state.engine, workspace, id, &edit)
                .await
                .map(|_| {
                    let notice = if paused {
                        "Paused: the watch looks at nothing until resumed."
                    } else {
                        "Resumed."
                    };
                    (Flash::notice(notice), page.clone())
                })
        }
    };
    match outcome {
        Ok((flash, to)) => redirect_with(&session, flash, &to).await,
        Err(WatchError::NotFound) => redirect_with(&session, gone(), WATCHES).await,
        Err(WatchError::Database(error)) => unexpected(&session, "watch", &page, error).await,
        Err(error) => {
            redirect_with(
                &session,
                Flash::for_form("watch").with_error(message(&error)),
                &page,
            )
            .await
        }
    }
}
