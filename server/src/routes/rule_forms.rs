//! The tracker page's alert-rule forms: add a rule (`POST /trackers/{id}/alerts`), edit,
//! pause, resume or delete one (`POST /alerts/{id}/edit`, `/pause`, `/resume`, `/delete`).
//! Each answers with a redirect back to the tracker page's Alerts section
//! (`/trackers/{id}#alerts`) and flash messages. The fields are the REST API's, read into
//! its JSON form (`domain::rule_form`) and checked by the same parser and the same store.
//! The rule forms carry the tracker's id in a hidden `tracker` field, only to come back to
//! its page when the rule is gone.

use app::{
    api::flash::Flash,
    domain::{
        Action, AlertRuleId, NextPath, RuleError, RuleSpec, TrackerId,
        rule_form::{self, ALERTS_FLASH, NEW_ALERT_FORM},
    },
    server::{
        alerts::rules::{self, RuleRefusal, RuleRow},
        auth::{Auth, CurrentUser},
        state::AppState,
    },
};
use axum::{
    Extension, Form,
    extract::{Path, State, rejection::FormRejection},
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;
use tower_sessions::Session;

use super::forms::{redirect_with, unexpected};

const DASHBOARD: &str = "/dashboard";

/// A form's fields as posted, in order (a ticked channel is one `channels` each).
type Fields = Result<Form<Vec<(String, String)>>, FormRejection>;

/// The tracker page's Alerts section.
fn section(tracker: TrackerId) -> String {
    format!("/trackers/{tracker}#alerts")
}

/// A notice in the Alerts section.
fn notice(text: String) -> Flash {
    Flash {
        notice: Some(text),
        ..Flash::for_form(ALERTS_FLASH)
    }
}

/// The form's flash with what was typed put back (the channels joined by commas).
fn kept(form: &str, fields: &[(String, String)]) -> Flash {
    let mut flash = Flash::for_form(form);
    let channels: Vec<&str> = fields
        .iter()
        .filter(|(name, _)| name == "channels")
        .map(|(_, value)| value.as_str())
        .collect();
    for (name, value) in fields {
        if name != "channels" && name != "tracker" {
            flash = flash.with_value(name, value);
        }
    }
    flash.with_value("channels", &channels.join(","))
}

/// `flash` with the rule's problem beside its field, or about the whole form.
fn rule_problem(flash: Flash, error: &RuleError) -> Flash {
    match error.field() {
        Some(field) => flash.with_field_error(field, error.to_string()),
        None => flash.with_error(error.to_string()),
    }
}

/// `flash` with why the store refused the rule (not [`RuleRefusal::NotFound`]).
fn refused(flash: Flash, refusal: &RuleRefusal) -> Flash {
    match refusal.field() {
        Some(field) => flash.with_field_error(field, refusal.message()),
        None => flash.with_error(refusal.message()),
    }
}

fn missing_tracker() -> Flash {
    Flash::notice("That tracker no longer exists.")
}

/// `POST /trackers/{id}/alerts`: the add form.
pub async fn add_rule(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Response {
    let Some(user) = auth.0 else {
        let page = format!("/trackers/{}", id.trim());
        return Redirect::to(&NextPath::sign_in_url(&page)).into_response();
    };
    if let Err(refusal) = user.may(Action::EditAlerts) {
        let page = format!("/trackers/{}", id.trim());
        return super::forms::refused(&session, NEW_ALERT_FORM, refusal, &page).await;
    }
    let Ok(tracker) = id.parse::<TrackerId>() else {
        return redirect_with(&session, missing_tracker(), DASHBOARD).await;
    };
    let Form(fields) = form.unwrap_or_default();
    let back = section(tracker);
    let flash = kept(NEW_ALERT_FORM, &fields);
    let spec = match RuleSpec::from_json(&rule_form::form_json(&fields)) {
        Ok(spec) => spec,
        Err(error) => return redirect_with(&session, rule_problem(flash, &error), &back).await,
    };
    match rules::create_rule(
        &state.pool,
        user.workspace_id,
        tracker,
        &spec,
        Some(user.id),
    )
    .await
    {
        Ok(Ok(rule)) => {
            let text = format!("Alert added: {}.", rule.spec.describe());
            redirect_with(&session, notice(text), &back).await
        }
        Ok(Err(RuleRefusal::NotFound)) => {
            redirect_with(&session, missing_tracker(), DASHBOARD).await
        }
        Ok(Err(refusal)) => redirect_with(&session, refused(flash, &refusal), &back).await,
        Err(error) => unexpected(&session, NEW_ALERT_FORM, &back, error).await,
    }
}

/// The signed-in user and rule `id` of their workspace, or the answer to give instead:
/// to sign in, or back with "that alert rule no longer exists" (to the tracker page the
/// form named, when it is the workspace's; else the dashboard).
async fn find_rule(
    state: &AppState,
    auth: Auth,
    session: &Session,
    id: &str,
    fields: &[(String, String)],
) -> Result<(CurrentUser, RuleRow), Response> {
    let named = fields
        .iter()
        .find(|(name, _)| name == "tracker")
        .and_then(|(_, value)| value.trim().parse::<TrackerId>().ok());
    let Some(user) = auth.0 else {
        let page = named.map_or_else(|| DASHBOARD.to_string(), |t| format!("/trackers/{t}"));
        return Err(Redirect::to(&NextPath::sign_in_url(&page)).into_response());
    };
    if let Err(refusal) = user.may(Action::EditAlerts) {
        let page = named.map_or_else(|| DASHBOARD.to_string(), section);
        return Err(super::forms::refused(session, ALERTS_FLASH, refusal, &page).await);
    }
    let found = match id.parse::<AlertRuleId>() {
        Ok(id) => rules::get_rule(&state.pool, user.workspace_id, id).await,
        Err(_) => Ok(None),
    };
    match found {
        Ok(Some(rule)) => Ok((user, rule)),
        Ok(None) => Err(gone(state, session, &user, named).await),
        Err(error) => Err(unexpected(session, ALERTS_FLASH, DASHBOARD, error).await),
    }
}

/// Back from a rule that is not (or no longer) the workspace's.
async fn gone(
    state: &AppState,
    session: &Session,
    user: &CurrentUser,
    named: Option<TrackerId>,
) -> Response {
    const GONE: &str = "That alert rule no longer exists.";
    if let Some(tracker) = named
        && matches!(
            rules::tracker_exists(&state.pool, user.workspace_id, tracker).await,
            Ok(true)
        )
    {
        let flash = Flash::for_form(ALERTS_FLASH).with_error(GONE);
        return redirect_with(session, flash, &section(tracker)).await;
    }
    redirect_with(session, Flash::notice(GONE), DASHBOARD).await
}

/// `POST /alerts/{id}/edit`: the rule's edit form, which replaces the rule (a cleared
/// field is reset to its default).
pub async fn edit_rule(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Response {
    let Form(fields) = form.unwrap_or_default();
    let (user, rule) = match find_rule(&state, auth, &session, &id, &fields).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let back = section(rule.tracker);
    let form_name = rule_form::edit_form(rule.id);
    let flash = kept(&form_name, &fields);
    let patch = rule_form::replacing(&rule_form::form_json(&fields));
    match rules::update_rule(&state.pool, user.workspace_id, rule.id, &patch).await {
        Ok(Ok(Ok(saved))) => {
            let text = format!("Alert saved: {}.", saved.spec.describe());
            redirect_with(&session, notice(text), &back).await
        }
        Ok(Ok(Err(error))) => redirect_with(&session, rule_problem(flash, &error), &back).await,
        Ok(Err(RuleRefusal::NotFound)) => gone(&state, &session, &user, Some(rule.tracker)).await,
        Ok(Err(refusal)) => redirect_with(&session, refused(flash, &refusal), &back).await,
        Err(error) => unexpected(&session, &form_name, &back, error).await,
    }
}

/// Pauses or resumes rule `id`.
async fn set_paused(
    state: AppState,
    auth: Auth,
    session: Session,
    id: String,
    fields: Vec<(String, String)>,
    paused: bool,
) -> Response {
    let (user, rule) = match find_rule(&state, auth, &session, &id, &fields).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let back = section(rule.tracker);
    let patch = json!({ "paused": paused });
    match rules::update_rule(&state.pool, user.workspace_id, rule.id, &patch).await {
        Ok(Ok(Ok(saved))) => {
            let done = if paused { "paused" } else { "resumed" };
            let text = format!("Alert {done}: {}.", saved.spec.describe());
            redirect_with(&session, notice(text), &back).await
        }
        Ok(Ok(Err(error))) => {
            let flash = Flash::for_form(ALERTS_FLASH).with_error(error.to_string());
            redirect_with(&session, flash, &back).await
        }
        Ok(Err(RuleRefusal::NotFound)) => gone(&state, &session, &user, Some(rule.tracker)).await,
        Ok(Err(refusal)) => {
            let flash = Flash::for_form(ALERTS_FLASH).with_error(refusal.message());
            redirect_with(&session, flash, &back).await
        }
        Err(error) => unexpected(&session, ALERTS_FLASH, &back, error).await,
    }
}

/// `POST /alerts/{id}/pause`.
pub async fn pause_rule(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Response {
    let Form(fields) = form.unwrap_or_default();
    set_paused(state, auth, session, id, fields, true).await
}

/// `POST /alerts/{id}/resume`.
pub async fn resume_rule(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Response {
    let Form(fields) = form.unwrap_or_default();
    set_paused(state, auth, session, id, fields, false).await
}

/// `POST /alerts/{id}/delete`: its events stay (on the Alerts page and the chart).
pub async fn delete_rule(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Response {
    let Form(fields) = form.unwrap_or_default();
    let (user, rule) = match find_rule(&state, auth, &session, &id, &fields).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let back = section(rule.tracker);
    match rules::delete_rule(&state.pool, user.workspace_id, rule.id).await {
        Ok(true) => {
            let text = format!("Alert deleted: {}.", rule.spec.describe());
            redirect_with(&session, notice(text), &back).await
        }
        Ok(false) => gone(&state, &session, &user, Some(rule.tracker)).await,
        Err(error) => unexpected(&session, ALERTS_FLASH, &back, error).await,
    }
}
