//! Helpers for the server-handled HTML forms: answer with a redirect (303) and leave the
//! messages for the next page in the session.

use app::{
    api::flash::Flash,
    domain::permission::Refusal,
    server::auth::{FLASH, USER_ID},
};
use axum::{
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::{Expiry, Session};

/// Redirects to `to`, leaving `flash` for the page there. A visitor who is not signed in
/// gets a session for it that lasts an hour, not thirty days (the next page load empties
/// and so deletes it anyway).
pub async fn redirect_with(session: &Session, flash: Flash, to: &str) -> Response {
    if !matches!(session.get::<uuid::Uuid>(USER_ID).await, Ok(Some(_))) {
        session.set_expiry(Some(Expiry::OnInactivity(time::Duration::hours(1))));
    }
    if let Err(error) = session.insert(FLASH, flash).await {
        tracing::error!(error = %error, "could not store flash messages");
    }
    Redirect::to(to).into_response()
}

/// Back to `to` with `refusal` shown on form `form`: what the member's role in the
/// workspace does not allow.
pub async fn refused(session: &Session, form: &str, refusal: Refusal, to: &str) -> Response {
    redirect_with(
        session,
        Flash::for_form(form).with_error(refusal.to_string()),
        to,
    )
    .await
}

/// Logs an unexpected error once and sends the user back to `to` with a generic message:
/// no detail of it reaches the browser.
pub async fn unexpected(
    session: &Session,
    form: &str,
    to: &str,
    error: impl std::fmt::Display,
) -> Response {
    tracing::error!(form, error = %error, "form submission failed");
    redirect_with(
        session,
        Flash::for_form(form)
            .with_error("Something went wrong on our side. Please try again in a moment."),
        to,
    )
    .await
}

/// Which of a button's two actions the path names: `true` for `yes`, `false` for `no`,
/// `None` for any other.
pub fn either(action: &str, yes: &str, no: &str) -> Option<bool> {
    match action {
        _ if action == yes => Some(true),
        _ if action == no => Some(false),
        _ => None,
    }
}

/// The answer to a path that names no action of the button's.
pub fn no_such_action() -> Response {
    (StatusCode::NOT_FOUND, "No such action.").into_response()
}
