//! The Alerts page's forms: add a channel, send one a test, delete one. Each answers with
//! a redirect back to `/alerts` and flash messages.

use app::{
    api::flash::Flash,
    domain::{
        Action, AlertEventId, ChannelId, ChannelKind, ChannelTarget, NextPath,
        alert_channel::NEW_CHANNEL_FORM,
    },
    server::{
        alerts::{
            channels,
            deliver::{self, AlertMessage, DeliveryError, TrackerRef},
        },
        auth::Auth,
        state::AppState,
    },
};
use axum::{
    Extension, Form,
    extract::{Path, State, rejection::FormRejection},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::forms::{either, no_such_action, redirect_with, refused, unexpected};

const ALERTS: &str = "/alerts";

#[derive(Debug, Default, Deserialize)]
pub struct NewChannelForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
    /// The tracker page the form was on (`/trackers/{id}#alerts`), to come back to.
    #[serde(default)]
    back: Option<String>,
}

/// Where the channel form's answer goes: back to the tracker page it was sent from, or
/// the Alerts page (never anywhere else: `back` comes from the form).
fn channel_form_back(back: Option<&str>) -> String {
    back.and_then(|back| back.strip_prefix("/trackers/"))
        .and_then(|rest| rest.strip_suffix("#alerts"))
        .and_then(|id| id.parse::<uuid::Uuid>().ok())
        .map_or_else(|| ALERTS.to_string(), |id| format!("/trackers/{id}#alerts"))
}

/// `POST /alerts/channels`.
pub async fn add_channel(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<NewChannelForm>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(ALERTS)).into_response();
    };
    if let Err(refusal) = user.may(Action::EditAlerts) {
        return refused(&session, NEW_CHANNEL_FORM, refusal, ALERTS).await;
    }
    let Form(form) = form.unwrap_or_default();
    let back = channel_form_back(form.back.as_deref());
    let back = back.as_str();
    let flash = Flash::for_form(NEW_CHANNEL_FORM)
        .with_value("kind", &form.kind)
        .with_value("target", &form.target);
    let kind = match ChannelKind::parse(&form.kind) {
        Ok(kind) => kind,
        Err(message) => {
            return redirect_with(&session, flash.with_field_error("kind", message), back).await;
        }
    };
    let target = form.target.trim();
    let (address, url) = match kind {
        ChannelKind::Email => (Some(target), None),
        _ => (None, Some(target)),
    };
    let target = match ChannelTarget::parse(kind, address, url) {
        Ok(target) => target,
        Err(message) => {
            return redirect_with(&session, flash.with_field_error("target", message), back).await;
        }
    };
    if kind == ChannelKind::Email {
        match channels::may_email(
            &state.pool,
            user.workspace_id,
            Some(user.id),
            target.as_str(),
        )
        .await
        {
            Ok(allowed) => {
                if let Some(refusal) = allowed.refusal() {
                    let flash = flash.with_field_error("target", refusal);
                    return redirect_with(&session, flash, back).await;
                }
            }
            Err(error) => return unexpected(&session, NEW_CHANNEL_FORM, back, error).await,
        }
    }
    match channels::create_channel(&state.pool, user.workspace_id, kind, &target).await {
        Ok(Some(made)) => {
            let mut shown = Flash::notice(format!(
                "Channel added: {} {}. Send it a test to check it works.",
                kind.label(),
                made.channel.target
            ));
            shown.new_secret = made.secret;
            redirect_with(&session, shown, back).await
        }
        Ok(None) => {
            redirect_with(
                &session,
                flash.with_error("This workspace already has this channel."),
                back,
            )
            .await
        }
        Err(error) => unexpected(&session, NEW_CHANNEL_FORM, back, error).await,
    }
}

/// `POST /alerts/channels/{id}/test` and `/delete`.
pub async fn channel_action(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let Some(test) = either(&action, "test", "delete") else {
        return no_such_action();
    };
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(ALERTS)).into_response();
    };
    if let Err(refusal) = user.may(Action::EditAlerts) {
        return refused(&session, "channel", refusal, ALERTS).await;
    }
    let gone = || Flash::notice("That channel no longer exists.");
    let Ok(id) = id.parse::<ChannelId>() else {
        return redirect_with(&session, gone(), ALERTS).await;
    };
    if !test {
        return match channels::delete_channel(&state.pool, user.workspace_id, id).await {
            Ok(true) => redirect_with(&session, Flash::notice("Channel deleted."), ALERTS).await,
            Ok(false) => redirect_with(&session, gone(), ALERTS).await,
            Err(error) => unexpected(&session, "channel", ALERTS, error).await,
        };
    }
    let channel = match channels::get_channel(&state.pool, user.workspace_id, id).await {
        Ok(Some(channel)) => channel,
        Ok(None) => return redirect_with(&session, gone(), ALERTS).await,
        Err(error) => return unexpected(&session, "channel", ALERTS, error).await,
    };
    let flash = match send_test(&state, &channel).await {
        Ok(()) => Flash::notice(format!(
            "Test alert sent to {} {}.",
            channel.kind.label(),
            app::domain::alert_channel::shown_target(channel.kind, &channel.target)
        )),
        Err(error) => Flash::for_form("channel")
            .with_error(format!("The test alert was not delivered: {error}.")),
    };
    redirect_with(&session, flash, ALERTS).await
}

/// The alert a "send test" sends.
pub fn test_message(state: &AppState, now: chrono::DateTime<chrono::Utc>) -> AlertMessage {
    AlertMessage {
        event: AlertEventId(uuid::Uuid::new_v4()),
        tracker: TrackerRef {
            id: None,
            label: "Upcount".into(),
            url: state.web.public_origin.clone(),
        },
        metric: "test".into(),
        value: Some(1.0),
        previous: None,
        condition: "test".into(),
        rule: None,
        fired_at: now,
        reason: "a test alert: this channel works".into(),
    }
}

/// Sends a test alert to `channel` now: posted, or for an email channel queued (the
/// outbox sends it). The error, in words, when it could not be.
pub async fn send_test(state: &AppState, channel: &channels::Channel) -> Result<(), String> {
    let now = chrono::Utc::now();
    let message = test_message(state, now);
    if channel.kind == ChannelKind::Email {
        let mail = app::server::email::templates::alert(
            &channel.target,
            &message.tracker.label,
            &message.reason,
            &format!("{}/alerts", state.web.public_origin),
        );
        return app::server::email::queue(
            &state.pool,
            &mail,
            &format!("channel-test:{}", message.event),
        )
        .await
        .map(|_| ())
        .map_err(|error| {
            tracing::error!(error = %error, "could not queue a test email");
            "the email could not be queued".to_string()
        });
    }
    deliver::post(state.engine.http(), channel, &message, now)
        .await
        .map_err(|error| match error {
            DeliveryError::Retry(error) | DeliveryError::Permanent(error) => error,
        })
}
