//! The account page's forms: `POST /account/password`, `/account/delete`,
//! `/account/digest`, `/account/tokens` and `/account/tokens/{id}/revoke`.

use app::{
    api::flash::{Flash, NewTokenShown},
    domain::{Action, DigestFrequency, NextPath, Password, TokenName, TokenScope},
    server::{
        auth::{Auth, CurrentUser, TakenFlash},
        billing::store as billing,
        db, password,
        session_store::PgSessionStore,
        state::AppState,
        tokens,
    },
};
use axum::{
    Extension, Form,
    body::Body,
    extract::{Path, Request, State, rejection::FormRejection},
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    auth::limit_attempts,
    forms::{redirect_with, unexpected},
};
use crate::middleware::auth::ClientIp;

const ACCOUNT: &str = "/account";

/// Where anonymous posts to the account page's forms go.
fn sign_in_first() -> Response {
    Redirect::to(&NextPath::sign_in_url(ACCOUNT)).into_response()
}

// No `Debug` on forms with passwords: a stray `{:?}` must not be able to log one.
#[derive(Default, Deserialize)]
pub struct ChangePassword {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    session: Session,
    form: Result<Form<ChangePassword>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return sign_in_first();
    };
    let Form(form) = form.unwrap_or_default();
    let mut flash = Flash::for_form("password");
    let new_password = Password::parse(form.new_password);
    if form.current_password.is_empty() {
        flash = flash.with_field_error("current_password", "Enter your current password.");
    }
    if let Err(message) = &new_password {
        flash = flash.with_field_error("new_password", message.clone());
    }
    let Ok(new_password) = new_password else {
        return redirect_with(&session, flash, ACCOUNT).await;
    };
    if flash.has_errors() {
        return redirect_with(&session, flash, ACCOUNT).await;
    }
    if let Err(response) = confirm_password(
        &state,
        &session,
        &user,
        ip,
        &flash,
        "current_password",
        &form.current_password,
    )
    .await
    {
        return response;
    }
    let hash = match password::hash(&new_password).await {
        Ok(hash) => hash,
        Err(error) => return unexpected(&session, "password", ACCOUNT, error).await,
    };
    if let Err(error) = db::users::set_password(&state.pool, user.id, &hash).await {
        return unexpected(&session, "password", ACCOUNT, error).await;
    }
    // Everyone else who had this account open is signed out; this session gets a new id.
    if let Err(error) = session.cycle_id().await {
        return unexpected(&session, "password", ACCOUNT, error).await;
    }
    if let Err(error) = session.save().await {
        return unexpected(&session, "password", ACCOUNT, error).await;
    }
    let store = PgSessionStore::new(state.pool.clone());
    match store.delete_for_user(user.id, session.id()).await {
        Ok(ended) => {
            tracing::info!(user.id = %user.id, other_sessions_ended = ended, "password changed")
        }
        Err(error) => return unexpected(&session, "password", ACCOUNT, error).await,
    }
    redirect_with(
        &session,
        Flash::notice("Password changed. Your other sessions were signed out."),
        ACCOUNT,
    )
    .await
}

#[derive(Default, Deserialize)]
pub struct DeleteAccount {
    #[serde(default)]
    password: String,
}

pub async fn delete_account(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    session: Session,
    form: Result<Form<DeleteAccount>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return sign_in_first();
    };
    let Form(form) = form.unwrap_or_default();
    let flash = Flash::for_form("delete-account");
    if form.password.is_empty() {
        let flash = flash.with_field_error("password", "Enter your password to confirm.");
        return redirect_with(&session, flash, ACCOUNT).await;
    }
    if let Err(response) = confirm_password(
        &state,
        &session,
        &user,
        ip,
        &flash,
        "password",
        &form.password,
    )
    .await
    {
        return response;
    }
    // A workspace shared with others keeps an owner: the account holder hands it on first.
    match db::workspaces::solely_owned_with_others(&state.pool, user.id).await {
        Ok(names) if names.is_empty() => {}
        Ok(names) => {
            let flash = Flash::for_form("delete-account").with_error(format!(
                "You are the only owner of {}, which others belong to: make one of them an \
                 owner (on its Members page) or delete the workspace first. Nothing was deleted.",
                names.join(", ")
            ));
            return redirect_with(&session, flash, ACCOUNT).await;
        }
        Err(error) => return unexpected(&session, "delete-account", ACCOUNT, error).await,
    }
    // The subscription ends at Stripe first: a deleted account is never charged again.
    if let Err(error) = state
        .billing
        .cancel_before_deleting_user(&state.pool, user.id)
        .await
    {
        tracing::error!(error = %error, user.id = %user.id, "could not cancel a subscription before deleting an account");
        let flash = Flash::for_form("delete-account").with_error(
            "Your subscription could not be cancelled at Stripe just now, so nothing was \
             deleted. Please try again in a moment.",
        );
        return redirect_with(&session, flash, ACCOUNT).await;
    }
    if let Err(error) = db::users::delete(&state.pool, user.id).await {
        return unexpected(&session, "delete-account", ACCOUNT, error).await;
    }
    tracing::info!(user.id = %user.id, "account deleted");
    // The session row went with the user; this clears the cookie and starts afresh.
    if let Err(error) = session.flush().await {
        tracing::warn!(error = %error, "could not clear the deleted user's session");
    }
    redirect_with(
        &session,
        Flash::notice("Your account was deleted."),
        "/sign-in",
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct DigestForm {
    #[serde(default)]
    digest: String,
}

/// `POST /account/digest` with `digest` = `off`, `daily` or `weekly`: how often the user
/// gets the digest email.
pub async fn set_digest(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<DigestForm>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return sign_in_first();
    };
    let Form(form) = form.unwrap_or_default();
    let digest = match DigestFrequency::parse(&form.digest) {
        Ok(digest) => digest,
        Err(message) => {
            let flash = Flash::for_form("digest")
                .with_value("digest", &form.digest)
                .with_field_error("digest", message);
            return redirect_with(&session, flash, ACCOUNT).await;
        }
    };
    if let Err(error) = db::users::set_digest(&state.pool, user.id, digest).await {
        return unexpected(&session, "digest", ACCOUNT, error).await;
    }
    tracing::info!(user.id = %user.id, digest = digest.as_str(), "digest email chosen");
    redirect_with(
        &session,
        Flash::notice(format!("Digest email: {}.", digest.as_str())),
        ACCOUNT,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<NewTokenForm>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return sign_in_first();
    };
    if let Err(refusal) = user.may(Action::ManageOwnTokens) {
        return super::forms::refused(&session, "new-token", refusal, ACCOUNT).await;
    }
    let Form(form) = form.unwrap_or_default();
    let mut flash = Flash::for_form("new-token")
        .with_value("name", &form.name)
        .with_value("scope", &form.scope);
    let name = TokenName::parse(&form.name);
    let scope = TokenScope::parse(&form.scope);
    if let Err(message) = &name {
        flash = flash.with_field_error("name", message.clone());
    }
    if let Err(message) = &scope {
        flash = flash.with_field_error("scope", message.clone());
    }
    let (Ok(name), Ok(scope)) = (name, scope) else {
        return redirect_with(&session, flash, ACCOUNT).await;
    };
    let token = tokens::generate();
    // Under the workspace's lock: two forms at once cannot both take the last place.
    let created = async {
        let mut transaction = state.pool.begin().await?;
        if let Err(limit) = billing::check_token_room(&mut transaction, user.workspace_id).await? {
            return Ok(Err(limit));
        }
        db::tokens::create(
            &mut *transaction,
            user.workspace_id,
            user.id,
            &name,
            scope,
            &token,
        )
        .await?;
        transaction.commit().await?;
        Ok::<_, sqlx::Error>(Ok(()))
    }
    .await;
    match created {
        Ok(Ok(())) => {}
        Ok(Err(limit)) => {
            let flash = flash.with_field_error("name", limit.message);
            return redirect_with(&session, flash, ACCOUNT).await;
        }
        Err(error) => return unexpected(&session, "new-token", ACCOUNT, error).await,
    }
    tracing::info!(workspace.id = %user.workspace_id, scope = scope.as_str(), "API token created");
    // The token is shown in this very response, never stored anywhere but as a hash: the
    // account page is rendered here with it instead of redirecting through the session.
    let shown = Flash {
        new_token: Some(NewTokenShown {
            name: name.as_ref().to_string(),
            token: token.token,
        }),
        ..Flash::default()
    };
    let mut request = Request::new(Body::empty());
    // The page's own route, so that the browser's router hydrates what it shows.
    *request.uri_mut() = Uri::from_static("/account/tokens");
    request.extensions_mut().insert(Auth(Some(user)));
    request.extensions_mut().insert(TakenFlash(Some(shown)));
    let mut response = crate::router::render_page(&state, request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path(token_id): Path<String>,
) -> Response {
    let Some(user) = auth.0 else {
        return sign_in_first();
    };
    let not_found = (
        StatusCode::NOT_FOUND,
        "That API token does not exist in your workspace.",
    )
        .into_response();
    let Ok(token_id) = token_id.parse::<uuid::Uuid>() else {
        return not_found;
    };
    // Tokens of one's own; an owner or admin also revokes other members' tokens.
    let only_of = user
        .may(Action::ManageAllTokens)
        .is_err()
        .then_some(user.id);
    match db::tokens::revoke(&state.pool, user.workspace_id, token_id, only_of).await {
        Ok(true) => {
            tracing::info!(workspace.id = %user.workspace_id, token.id = %token_id, "API token revoked");
            redirect_with(
                &session,
                Flash::notice("Token revoked. It no longer works."),
                ACCOUNT,
            )
            .await
        }
        Ok(false) => not_found,
        Err(error) => unexpected(&session, "new-token", ACCOUNT, error).await,
    }
}

/// Checks that `candidate` is the signed-in user's password, counting the attempt against
/// the same limits as signing in (a stolen session must not become a way to guess it).
/// Otherwise answers with the form again and the error next to `field`.
async fn confirm_password(
    state: &AppState,
    session: &Session,
    user: &CurrentUser,
    ip: std::net::IpAddr,
    flash: &Flash,
    field: &str,
    candidate: &str,
) -> Result<(), Response> {
    let form = flash.form.clone().unwrap_or_default();
    if let Some(limited) = limit_attempts(state, session, &user.email, ip, &form, ACCOUNT).await {
        return Err(limited);
    }
    let stored = match db::users::password_hash(&state.pool, user.id).await {
        Ok(stored) => stored,
        Err(error) => return Err(unexpected(session, &form, ACCOUNT, error).await),
    };
    let candidate = if candidate.chars().count() > Password::MAX_LEN {
        ""
    } else {
        candidate
    };
    if password::verify(candidate, stored.as_deref()).await {
        return Ok(());
    }
    let message = if field == "current_password" {
        "That is not your current password."
    } else {
        "That is not your password."
    };
    let flash = flash.clone().with_field_error(field, message);
    Err(redirect_with(session, flash, ACCOUNT).await)
}
