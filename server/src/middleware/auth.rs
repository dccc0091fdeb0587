//! Who is signed in: loads the session's user once per request and puts [`Auth`] (and,
//! for page loads, the flash messages) into the request's extensions. Sends anonymous
//! visitors of signed-in pages to sign in, and signed-in visitors of the sign-in pages to
//! their dashboard.

use std::net::{IpAddr, Ipv4Addr};

use app::{
    api::flash::Flash,
    domain::NextPath,
    server::{
        auth::{self, Auth, CurrentUser, Impersonation, TakenFlash},
        db,
        state::AppState,
    },
};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

/// The address of the client (the TCP peer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Pages only signed-in users may see.
const SIGNED_IN_PAGES: [&str; 3] = ["/dashboard", "/account", "/admin"];

/// When a signed-in session's 30 days last started again (Unix seconds).
const RENEWED_AT: &str = "renewed_at";
/// How often a signed-in session's expiry is pushed back.
const RENEW_EVERY_SECS: i64 = 86_400;

/// Pushes a signed-in session's expiry back to 30 days from now, at most once a day.
///
/// Sessions are saved only when they change: saving on every request would let a slow
/// request that read the session earlier overwrite what a concurrent one wrote (a flash
/// message, say) with its stale copy.
async fn renew(session: &Session) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let renewed = session.get::<i64>(RENEWED_AT).await.ok().flatten();
    if renewed.is_none_or(|at| now - at >= RENEW_EVERY_SECS)
        && let Err(error) = session.insert(RENEWED_AT, now).await
    {
        tracing::warn!(error = %error, "could not renew the session");
    }
}

/// Logs why the caller could not be loaded and answers 503: nothing works without the
/// database. API calls get the API's JSON error.
fn database_unavailable(error: impl std::fmt::Display, what: &'static str, api: bool) -> Response {
    tracing::error!(error = %error, "{what}");
    const MESSAGE: &str =
        "Upcount cannot reach its database right now. Please try again in a moment.";
    if api {
        crate::routes::errors::coded_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", MESSAGE)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, MESSAGE).into_response()
    }
}

pub async fn load(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<crate::listener::PeerAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.0.ip());
    let client_ip = client_ip(peer, request.headers(), &state.web.trusted_proxies);
    request.extensions_mut().insert(ClientIp(client_ip));
    let api = request.uri().path().starts_with("/api/");

    let user = match auth::current_user(&state.pool, &session).await {
        Ok(user) => user,
        Err(error) => {
            return database_unavailable(error, "could not load the signed-in user", api);
        }
    };

    if user.is_some() {
        renew(&session).await;
    }

    // An administrator viewing as someone sees the site as them, read-only.
    let (user, impersonation) = match view_as(&state, &session, user).await {
        Ok(pair) => pair,
        Err(error) => {
            return database_unavailable(error, "could not load the user viewed as", api);
        }
    };
    if let Some(impersonation) = impersonation {
        if !allowed_while_viewing_as(request.method(), request.uri().path()) {
            let message = format!(
                "You are viewing Upcount as {}: read-only. Stop viewing as them to change anything.",
                impersonation.target_email
            );
            if api {
                return crate::routes::errors::coded_error(
                    StatusCode::FORBIDDEN,
                    "viewing_as",
                    &message,
                );
            }
            return (StatusCode::FORBIDDEN, message).into_response();
        }
        request.extensions_mut().insert(impersonation);
    }

    if request.method() == Method::GET && !request.uri().path().starts_with("/api/") {
        let path = request.uri().path();
        let signed_in_page = SIGNED_IN_PAGES
            .iter()
            .any(|page| path == *page || path.starts_with(&format!("{page}/")));
        if user.is_none() && signed_in_page {
            let target = request
                .uri()
                .path_and_query()
                .map_or(path, |path_and_query| path_and_query.as_str());
            return Redirect::to(&NextPath::sign_in_url(target)).into_response();
        }
        if user.is_some() && matches!(path, "/sign-in" | "/sign-up") {
            return Redirect::to(NextPath::DEFAULT).into_response();
        }
    }
    // Flash messages are for the next page a browser shows, not for its favicon.
    // Removing marks the session changed (and so saved) even when there was nothing to
    // remove: look first.
    if is_page_load(&request) {
        let pending = matches!(session.get_value(auth::FLASH).await, Ok(Some(_)));
        let flash = if pending {
            session
                .remove::<Flash>(auth::FLASH)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(error = %error, "unreadable flash messages dropped");
                    None
                })
        } else {
            None
        };
        request.extensions_mut().insert(TakenFlash(flash));
    }

    request.extensions_mut().insert(Auth(user));
    next.run(request).await
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then the last
/// address in `X-Forwarded-For` that is not one of the trusted proxies (the ones before it
/// could be forged by the client).
fn client_ip(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find(|address| !trusted.contains(address))
        .unwrap_or(peer)
}

/// A browser loading a page (not a script, an image or an API call).
fn is_page_load(request: &Request) -> bool {
    request.method() == Method::GET
        && !request.uri().path().starts_with("/api/")
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// The user an administrator views as, in place of the administrator, with who is
/// looking; the signed-in user unchanged otherwise. A session that is not an
/// administrator's, or whose target is gone or suspended, drops the key.
async fn view_as(
    state: &AppState,
    session: &Session,
    user: Option<CurrentUser>,
) -> Result<(Option<CurrentUser>, Option<Impersonation>), sqlx::Error> {
    let admin = match user {
        Some(user) if user.is_admin() => user,
        other => return Ok((other, None)),
    };
    let target = match session.get::<uuid::Uuid>(auth::VIEW_AS).await {
        Ok(Some(target)) => target,
        _ => return Ok((Some(admin), None)),
    };
    match db::users::find_current(&state.pool, app::domain::UserId(target)).await? {
        Some(viewed) => {
            let impersonation = Impersonation {
                admin,
                target_email: viewed.email.clone(),
            };
            Ok((Some(viewed), Some(impersonation)))
        }
        None => {
            let _ = session.remove::<uuid::Uuid>(auth::VIEW_AS).await;
            Ok((Some(admin), None))
        }
    }
}

/// Reading, signing out and stopping; nothing else.
fn allowed_while_viewing_as(method: &Method, path: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if matches!(path, "/admin/view-as/stop" | "/sign-out") {
        return true;
    }
    // Server functions marked read-only by name; everything else (the REST API's writes,
    // every other server function, forms) is refused.
    app::api::read_only_server_fns().contains(&path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let client: IpAddr = "203.0.113.9".parse().expect("ip");
        let spoofed = forwarded("198.51.100.1, 203.0.113.9");
        assert_eq!(
            client_ip(proxy, &spoofed, &[proxy]),
            client,
            "the proxy's own entry counts"
        );
        assert_eq!(
            client_ip(client, &spoofed, &[proxy]),
            client,
            "untrusted peers speak for themselves"
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy);
        assert_eq!(client_ip(proxy, &forwarded("garbage"), &[proxy]), proxy);
    }
}
