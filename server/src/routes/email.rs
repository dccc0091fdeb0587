//! The forms behind the links sent by email: `POST /verify-email` (the button of the
//! page a verification link opens), `POST /verify-email/resend` (the banner's "Send it
//! again"), `POST /forgot-password` and `POST /reset-password`.
//!
//! The links open pages with one button or form, not actions: a mail client's link
//! scanner that fetches a link does not use it up.

use app::{
    api::flash::Flash,
    domain::{Email, Password},
    server::{
        auth::Auth,
        db::{self, users::SignInOutcome},
        email::{
            accounts as mail,
            links::{self, Purpose},
        },
        password,
        session_store::PgSessionStore,
        state::AppState,
    },
};
use axum::{
    Extension, Form,
    extract::{State, rejection::FormRejection},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    auth::{Attempt, CHECK_INBOX, limit_attempts},
    forms::{redirect_with, unexpected},
};
use crate::middleware::auth::ClientIp;

/// A link's token, posted back by the page it opened.
#[derive(Default, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    token: String,
}

const VERIFY: &str = "/verify-email";

pub async fn verify_email(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Response {
    let Form(form) = form.unwrap_or_default();
    let mut tx = match state.pool.begin().await {
        Ok(tx) => tx,
        Err(error) => return unexpected(&session, "verify", VERIFY, error).await,
    };
    let redeemed = match links::redeem(&mut *tx, Purpose::Verify, &form.token).await {
        Ok(redeemed) => redeemed,
        Err(error) => return unexpected(&session, "verify", VERIFY, error).await,
    };
    let Some(redeemed) = redeemed else {
        let flash = Flash::for_form("verify").with_error(
            "This link has expired or was already used. Sign in and press \u{201c}Send it again\u{201d} on the banner for a new one.",
        );
        return redirect_with(&session, flash, VERIFY).await;
    };
    if let Err(error) = links::mark_verified(&mut *tx, redeemed.user_id, &redeemed.email).await {
        return unexpected(&session, "verify", VERIFY, error).await;
    }
    if let Err(error) = tx.commit().await {
        return unexpected(&session, "verify", VERIFY, error).await;
    }
    tracing::info!(user.id = %redeemed.user_id, "email address confirmed");
    let to = if auth.0.is_some() {
        "/dashboard"
    } else {
        VERIFY
    };
    redirect_with(
        &session,
        Flash::notice("Your email address is confirmed. Thank you!"),
        to,
    )
    .await
}

/// Where a "Send it again" came from, to go back to (a path of this site only).
fn back_to(headers: &HeaderMap) -> String {
    headers
        .get(axum::http::header::REFERER)
        .and_then(|value| value.to_str().ok())
        .and_then(|referer| url::Url::parse(referer).ok())
        .map(|url| url.path().to_string())
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or_else(|| "/dashboard".to_string())
}

pub async fn resend_verification(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let Some(user) = auth.0 else {
        return Redirect::to("/sign-in").into_response();
    };
    let back = back_to(&headers);
    if user.email_verified {
        let flash = Flash::notice("Your email address is already confirmed.");
        return redirect_with(&session, flash, &back).await;
    }
    if let Some(response) = limit_attempts(&state, &session, &user.email, ip, "verify", &back).await
    {
        return response;
    }
    let event = uuid::Uuid::new_v4().simple().to_string();
    let origin = &state.web.public_origin;
    if let Err(error) =
        mail::send_verification(&state.pool, origin, user.id, &user.email, &event).await
    {
        return unexpected(&session, "verify", &back, error).await;
    }
    let flash = Flash::notice(format!(
        "Check your inbox: we sent a new link to confirm {}.",
        user.email
    ));
    redirect_with(&session, flash, &back).await
}

#[derive(Default, Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

const FORGOT: &str = "/forgot-password";
/// What the forgotten-password form answers, whether or not the account exists.
pub const RESET_SENT: &str =
    "If an account uses this address, we sent a link to reset its password. Check your inbox.";

pub async fn forgot_password(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    session: Session,
    form: Result<Form<ForgotForm>, FormRejection>,
) -> Response {
    let Form(form) = form.unwrap_or_default();
    let flash = Flash::for_form("forgot").with_value("email", &form.email);
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(message) => {
            return redirect_with(&session, flash.with_field_error("email", message), FORGOT).await;
        }
    };
    if let Some(response) =
        limit_attempts(&state, &session, email.as_ref(), ip, "forgot", FORGOT).await
    {
        return response;
    }
    match db::users::find_id(&state.pool, &email).await {
        Ok(Some(user_id)) => {
            let event = uuid::Uuid::new_v4().simple().to_string();
            let origin = &state.web.public_origin;
            if let Err(error) =
                mail::send_password_reset(&state.pool, origin, user_id, email.as_ref(), &event)
                    .await
            {
                return unexpected(&session, "forgot", FORGOT, error).await;
            }
        }
        Ok(None) => {}
        Err(error) => return unexpected(&session, "forgot", FORGOT, error).await,
    }
    redirect_with(&session, Flash::notice(RESET_SENT), CHECK_INBOX).await
}

// No `Debug`: it holds a password.
#[derive(Default, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    session: Session,
    form: Result<Form<ResetForm>, FormRejection>,
) -> Response {
    let Form(form) = form.unwrap_or_default();
    let token = form.token.trim().to_string();
    let back = if links::looks_like_token(&token) {
        format!("/reset-password?token={token}")
    } else {
        "/reset-password".to_string()
    };
    let flash = Flash::for_form("reset");
    let new_password = match Password::parse(form.password) {
        Ok(password) => password,
        Err(message) => {
            return redirect_with(&session, flash.with_field_error("password", message), &back)
                .await;
        }
    };
    let hash = match password::hash(&new_password).await {
        Ok(hash) => hash,
        Err(error) => return unexpected(&session, "reset", &back, error).await,
    };
    let mut tx = match state.pool.begin().await {
        Ok(tx) => tx,
        Err(error) => return unexpected(&session, "reset", &back, error).await,
    };
    let redeemed = match links::redeem(&mut *tx, Purpose::Reset, &token).await {
        Ok(redeemed) => redeemed,
        Err(error) => return unexpected(&session, "reset", &back, error).await,
    };
    let Some(redeemed) = redeemed else {
        let flash =
            flash.with_error("This link has expired or was already used. Ask for a new one below.");
        return redirect_with(&session, flash, FORGOT).await;
    };
    let user_id = redeemed.user_id;
    let saved = async {
        db::users::set_password(&mut *tx, user_id, &hash).await?;
        // The link reached the address: it is confirmed too.
        links::mark_verified(&mut *tx, user_id, &redeemed.email).await?;
        tx.commit().await
    };
    if let Err(error) = saved.await {
        return unexpected(&session, "reset", &back, error).await;
    }
    // Whoever else was signed in (with the old password, maybe a thief) is signed out.
    let store = PgSessionStore::new(state.pool.clone());
    if let Err(error) = store.delete_for_user(user_id, None).await {
        tracing::error!(user.id = %user_id, error = %error, "could not end the other sessions after a password reset");
    }
    tracing::info!(user.id = %user_id, "password reset");
    if let Err(error) = session
        .insert(
            app::server::auth::FLASH,
            Flash::notice("Your password was changed and you are signed in. Your other sessions were signed out."),
        )
        .await
    {
        tracing::warn!(error = %error, "could not store the reset notice");
    }
    Attempt::new(&state, &session, user_id, ip, &headers)
        .admit(SignInOutcome::SignedIn, flash, FORGOT, "/dashboard")
        .await
}
