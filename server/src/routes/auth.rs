//! `POST /sign-up`, `POST /sign-in`, `POST /sign-out`.
//!
//! Sign-up no longer hides whether an email has an account by refusing both alike: a new
//! email gets an account and a verification link; a taken one (with the wrong password)
//! gets a message to its owner, and the page says "check your inbox" either way.

use app::{
    api::flash::Flash,
    domain::{Email, NextPath, Password, Role, UserId},
    server::db::invitations::AcceptRefusal,
    server::{
        auth::{FLASH, USER_ID},
        db::{self, users::SignInOutcome},
        email::accounts as mail,
        password,
        rate_limit::{self, Quota},
        state::AppState,
    },
};
use axum::{
    Extension, Form,
    extract::{State, rejection::FormRejection},
    http::{HeaderMap, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::{Expiry, Session};

use super::forms::{redirect_with, unexpected};
use crate::middleware::auth::ClientIp;

// No `Debug` on forms with passwords: a stray `{:?}` must not be able to log one.
#[derive(Default, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    /// The token of the invitation page the sign-up form was on: the new account joins
    /// its workspace at once.
    #[serde(default)]
    invitation: String,
}

const WRONG_CREDENTIALS: &str = "That email and password do not match an account.";

pub async fn sign_in(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    session: Session,
    form: Result<Form<Credentials>, FormRejection>,
) -> Response {
    let Form(form) = form.unwrap_or_default();
    let next = NextPath::parse_or_default(Some(&form.next));
    let back = format!("{}{}", "/sign-in?next=", encode(next.as_ref()));
    let mut flash = Flash::for_form("sign-in").with_value("email", &form.email);
    if form.email.trim().is_empty() {
        flash = flash.with_field_error("email", "Enter your email address.");
    }
    if form.password.is_empty() {
        flash = flash.with_field_error("password", "Enter your password.");
    }
    if flash.has_errors() {
        return redirect_with(&session, flash, &back).await;
    }

    if let Some(response) =
        limit_attempts(&state, &session, &form.email, ip, "sign-in", &back).await
    {
        return response;
    }

    let account = match Email::parse(&form.email) {
        Ok(email) => match db::users::find_credentials(&state.pool, &email).await {
            Ok(account) => account,
            Err(error) => return unexpected(&session, "sign-in", &back, error).await,
        },
        Err(_) => None,
    };
    // An unknown email costs the same hash check as a wrong password.
    let hash = account.as_ref().map(|(_, hash)| hash.as_str());
    let candidate = if form.password.chars().count() > Password::MAX_LEN {
        ""
    } else {
        &form.password
    };
    let Some((user_id, _)) = account else {
        password::verify(candidate, hash).await;
        return redirect_with(&session, flash.with_error(WRONG_CREDENTIALS), &back).await;
    };
    let attempt = Attempt::new(&state, &session, user_id, ip, &headers);
    if !password::verify(candidate, hash).await {
        // Not awaited: an unknown email, which has no history, must take as long.
        attempt.record_later(SignInOutcome::WrongPassword);
        return redirect_with(&session, flash.with_error(WRONG_CREDENTIALS), &back).await;
    }
    attempt
        .admit(SignInOutcome::SignedIn, flash, &back, next.as_ref())
        .await
}

/// A sign-in to an existing account, for its history.
pub(super) struct Attempt<'a> {
    state: &'a AppState,
    session: &'a Session,
    user_id: UserId,
    ip: std::net::IpAddr,
    headers: &'a HeaderMap,
}

impl<'a> Attempt<'a> {
    pub(super) fn new(
        state: &'a AppState,
        session: &'a Session,
        user_id: UserId,
        ip: std::net::IpAddr,
        headers: &'a HeaderMap,
    ) -> Self {
        Self {
            state,
            session,
            user_id,
            ip,
            headers,
        }
    }

    fn recording(&self, outcome: SignInOutcome) -> impl Future<Output = ()> + Send + 'static {
        let pool = self.state.pool.clone();
        let user_id = self.user_id;
        let ip = self.ip.to_string();
        let user_agent = self
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        async move {
            let recorded =
                db::users::record_sign_in(&pool, user_id, &ip, user_agent.as_deref(), outcome)
                    .await;
            if let Err(error) = recorded {
                tracing::warn!(error = %error, "could not record a sign-in");
            }
        }
    }

    async fn record(&self, outcome: SignInOutcome) {
        self.recording(outcome).await;
    }

    fn record_later(&self, outcome: SignInOutcome) {
        tokio::spawn(self.recording(outcome));
    }

    /// Signs the user in, who gave the right password, unless they are suspended.
    pub(super) async fn admit(
        &self,
        outcome: SignInOutcome,
        flash: Flash,
        back: &str,
        next: &str,
    ) -> Response {
        // Only someone who knows the password learns that the account is suspended.
        match db::users::is_suspended(&self.state.pool, self.user_id).await {
            Ok(false) => {}
            Ok(true) => {
                self.record(SignInOutcome::Suspended).await;
                let flash = flash.with_error("This account is suspended. Please contact support.");
                return redirect_with(self.session, flash, back).await;
            }
            Err(error) => return unexpected(self.session, "sign-in", back, error).await,
        }
        self.record(outcome).await;
        start_session(self.session, self.user_id, next).await
    }
}

pub async fn sign_up(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    session: Session,
    form: Result<Form<Credentials>, FormRejection>,
) -> Response {
    let Form(form) = form.unwrap_or_default();
    let invitation =
        (!form.invitation.trim().is_empty()).then(|| form.invitation.trim().to_string());
    let next = NextPath::parse_or_default(Some(&form.next));
    // From an invitation's page, mistakes are shown there.
    let (back, flash_form) = match &invitation {
        Some(token) => (app::server::db::invitations::path(token), "invitation"),
        None => (
            format!("/sign-up?next={}", encode(next.as_ref())),
            "sign-up",
        ),
    };
    let mut flash = Flash::for_form(flash_form).with_value("email", &form.email);
    let email = Email::parse(&form.email);
    let new_password = Password::parse(form.password.clone());
    if let Err(message) = &email {
        flash = flash.with_field_error("email", message.clone());
    }
    if let Err(message) = &new_password {
        flash = flash.with_field_error("password", message.clone());
    }
    let (Ok(email), Ok(new_password)) = (email, new_password) else {
        return redirect_with(&session, flash, &back).await;
    };

    if let Some(response) =
        limit_attempts(&state, &session, email.as_ref(), ip, "sign-up", &back).await
    {
        return response;
    }

    let hash = match password::hash(&new_password).await {
        Ok(hash) => hash,
        Err(error) => return unexpected(&session, "sign-up", &back, error).await,
    };
    let origin = &state.web.public_origin;
    match db::users::create(&state.pool, &email, &hash, Role::Member).await {
        Ok(Some(user_id)) => {
            // Same work as for a taken email below (one hash, one check): same timing.
            password::verify(new_password.expose(), None).await;
            tracing::info!(user.id = %user_id, "account created");
            if let Err(error) =
                mail::send_verification(&state.pool, origin, user_id, email.as_ref(), "sign-up")
                    .await
            {
                // The account works; the banner's "Send it again" makes another link.
                tracing::error!(user.id = %user_id, error = %error, "could not queue the verification email");
            }
            let joined = join_invited(&state, invitation.as_deref(), (user_id, &email)).await;
            let (notice, to) = match &joined {
                Some(Ok((_, notice))) => (notice.clone(), "/dashboard"),
                // The account stands; the invitation page says why joining did not.
                Some(Err(refusal)) => (
                    format!("Your account is ready, but: {refusal}"),
                    back.as_str(),
                ),
                None => (check_inbox(&email), next.as_ref()),
            };
            // Kept through the new session id that signing in gives.
            if let Err(error) = session.insert(FLASH, Flash::notice(notice)).await {
                tracing::warn!(error = %error, "could not store the sign-up notice");
            }
            let attempt = Attempt::new(&state, &session, user_id, ip, &headers);
            let response = attempt
                .admit(SignInOutcome::SignedUp, flash, &back, to)
                .await;
            enter_joined(&session, joined.as_ref()).await;
            response
        }
        Ok(None) => {
            // The email is taken. Its owner gets in with the right password; anybody else
            // is told to check the inbox, as for a new account, and the owner gets a
            // message saying someone tried.
            match db::users::find_credentials(&state.pool, &email).await {
                Ok(Some((user_id, stored)))
                    if password::verify(new_password.expose(), Some(&stored)).await =>
                {
                    let joined =
                        join_invited(&state, invitation.as_deref(), (user_id, &email)).await;
                    let to = match &joined {
                        Some(Ok((_, notice))) => {
                            if let Err(error) =
                                session.insert(FLASH, Flash::notice(notice.clone())).await
                            {
                                tracing::warn!(error = %error, "could not store the joining notice");
                            }
                            "/dashboard"
                        }
                        Some(Err(refusal)) => {
                            let flash =
                                Flash::for_form("invitation").with_error(refusal.to_string());
                            if let Err(error) = session.insert(FLASH, flash).await {
                                tracing::warn!(error = %error, "could not store the joining refusal");
                            }
                            back.as_str()
                        }
                        None => next.as_ref(),
                    };
                    let attempt = Attempt::new(&state, &session, user_id, ip, &headers);
                    let response = attempt
                        .admit(SignInOutcome::SignedIn, flash, &back, to)
                        .await;
                    enter_joined(&session, joined.as_ref()).await;
                    response
                }
                Ok(owner) => {
                    if let Some((user_id, _)) = owner {
                        let hour = chrono::Utc::now().timestamp() / 3_600;
                        if let Err(error) = mail::send_sign_up_attempt(
                            &state.pool,
                            origin,
                            user_id,
                            email.as_ref(),
                            hour,
                        )
                        .await
                        {
                            tracing::error!(error = %error, "could not queue the sign-up attempt email");
                        }
                    }
                    redirect_with(&session, Flash::notice(check_inbox(&email)), CHECK_INBOX).await
                }
                Err(error) => unexpected(&session, "sign-up", &back, error).await,
            }
        }
        Err(error) => unexpected(&session, "sign-up", &back, error).await,
    }
}

/// Accepts the invitation the sign-up form came with, if any, for the account.
async fn join_invited(
    state: &AppState,
    invitation: Option<&str>,
    (user_id, email): (UserId, &Email),
) -> Option<Result<(app::domain::WorkspaceId, String), AcceptRefusal>> {
    let token = invitation?;
    Some(super::member_forms::join(state, (user_id, email.as_ref()), token).await)
}

/// After signing in (which starts in the first workspace), acts in the workspace just
/// joined.
async fn enter_joined(
    session: &Session,
    joined: Option<&Result<(app::domain::WorkspaceId, String), AcceptRefusal>>,
) {
    if let Some(Ok((workspace, _))) = joined
        && let Err(error) = session
            .insert(app::server::auth::WORKSPACE_ID, workspace.uuid())
            .await
    {
        tracing::error!(error = %error, "could not store the joined workspace");
    }
}

/// The page that tells a visitor to look for a message.
pub const CHECK_INBOX: &str = "/check-inbox";

/// What sign-up says, whether the email was new or taken.
fn check_inbox(email: &Email) -> String {
    format!(
        "Check your inbox: we sent a link to confirm {}.",
        email.as_ref()
    )
}

pub async fn sign_out(session: Session) -> Response {
    if let Err(error) = session.flush().await {
        tracing::error!(error = %error, "could not end the session");
    }
    Redirect::to("/").into_response()
}

/// Signs `user_id` in on a fresh session id (the old one may be known to an attacker).
pub(super) async fn start_session(session: &Session, user_id: UserId, to: &str) -> Response {
    session.set_expiry(Some(Expiry::OnInactivity(crate::router::SESSION_LIFETIME)));
    if let Err(error) = session.cycle_id().await {
        return unexpected(session, "sign-in", "/sign-in", error).await;
    }
    if let Err(error) = session.insert(USER_ID, user_id).await {
        return unexpected(session, "sign-in", "/sign-in", error).await;
    }
    // A new sign-in starts in the user's first workspace.
    if let Err(error) = session
        .remove::<uuid::Uuid>(app::server::auth::WORKSPACE_ID)
        .await
    {
        return unexpected(session, "sign-in", "/sign-in", error).await;
    }
    tracing::info!(user.id = %user_id, "signed in");
    Redirect::to(to).into_response()
}

/// Counts an attempt against the email's and the client's quotas; when either is used up,
/// answers with the page and a "try again in N minutes" message.
pub async fn limit_attempts(
    state: &AppState,
    session: &Session,
    email: &str,
    ip: std::net::IpAddr,
    form: &str,
    back: &str,
) -> Option<Response> {
    let email_key = format!(
        "auth:email:{}",
        email
            .trim()
            .to_lowercase()
            .chars()
            .take(300)
            .collect::<String>()
    );
    let ip_key = format!("auth:ip:{}", address_group(ip));
    let web = &state.web;
    // The address first: a client over its limit must not use up anybody's email quota.
    for (key, quota) in [
        (ip_key, web.sign_in_per_ip),
        (email_key, web.sign_in_per_email),
    ] {
        match rate_limit::take(&state.pool, &key, quota).await {
            Ok(Ok(())) => {}
            Ok(Err(limited)) => {
                tracing::warn!(form, limit = %key.split(':').nth(1).unwrap_or(""), "sign-in attempts limited");
                let flash = Flash::for_form(form)
                    .with_value("email", email)
                    .with_error(limited.message("sign-in attempts"));
                return Some(redirect_with(session, flash, back).await);
            }
            Err(error) => return Some(unexpected(session, form, back, error).await),
        }
    }
    None
}

/// Percent-encodes a path for a `next=` query parameter.
fn encode(path: &str) -> String {
    NextPath::sign_in_url(path)
        .trim_start_matches("/sign-in?next=")
        .to_string()
}

/// The quotas from the settings.
pub fn quotas(settings: &crate::config::AuthSettings) -> (Quota, Quota) {
    (
        Quota {
            attempts: settings.attempts_per_email,
            period: settings.window,
        },
        Quota {
            attempts: settings.attempts_per_ip,
            period: settings.window,
        },
    )
}

/// The group of addresses one sign-in limit covers: an IPv4 address alone, an IPv6
/// address with its /64 (one subscriber's network: anyone there can take any address
/// in it, so a limit per address would limit nothing).
pub fn address_group(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{}/64", std::net::Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_limited_by_their_64() {
        let group = |ip: &str| address_group(ip.parse().expect("an address"));
        assert_eq!(group("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(group("2001:db8:1:2:ffff:1:2:3"), group("2001:db8:1:2::9"));
        assert_ne!(group("2001:db8:1:2::1"), group("2001:db8:1:3::1"));
        assert_eq!(group("203.0.113.7"), "203.0.113.7");
        assert_eq!(group("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
