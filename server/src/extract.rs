//! Extractors for the openings handlers share: who is calling the API and whether they
//! may write, the administrator, and ids in paths. Each refuses with the answer its
//! callers expect (JSON for the API, a page or the sign-in redirect for the console), so a
//! handler starts with what it needs already checked.

use app::{
    domain::{
        NextPath, TokenScope, WorkspaceId, WorkspaceRole,
        permission::{self, Action},
    },
    server::{
        auth::{Auth, CurrentUser},
        db,
        state::AppState,
        tokens,
    },
};
use axum::{
    extract::{FromRequestParts, Path},
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use base64::Engine as _;
use serde::{Serialize, de::DeserializeOwned};

use crate::routes::errors::{ApiError, json_error, read_only};

/// Who is calling the API, and what they may do.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    /// The signed-in user, or the token's maker (`None` once they are deleted).
    pub user_id: Option<app::domain::UserId>,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub scope: TokenScope,
    /// The caller's role in the workspace (a token's, its maker's).
    pub role: WorkspaceRole,
    pub via: Via,
}

impl ApiCaller {
    /// `Ok` when the caller's role allows `action`, else a 403 saying why.
    pub fn may(&self, action: Action) -> Result<(), ApiError> {
        permission::check(self.role, action).map_err(forbidden)
    }
}

/// A 403 with the refusal's words.
pub fn forbidden(refusal: permission::Refusal) -> ApiError {
    ApiError::Ready(Box::new(json_error(
        StatusCode::FORBIDDEN,
        &refusal.to_string(),
    )))
}

/// How the caller authenticated: `{"kind": "token", "name"}` (an API token, by its name)
/// or `{"kind": "session", "email", "role"}` (signed in).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Via {
    Token {
        /// The token's name.
        name: String,
    },
    Session {
        email: String,
        role: app::domain::Role,
    },
}

/// How a request may carry its API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenIn {
    /// `Authorization: Bearer upc_…` only.
    Bearer,
    /// That, or HTTP basic auth with the token as the password (any user name).
    BearerOrBasic,
}

/// The token of an `Authorization` header's value; `None` when it is not in a form
/// `accepted`.
fn token_of(value: &str, accepted: TokenIn) -> Option<String> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_string());
    }
    if accepted == TokenIn::BearerOrBasic && scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let credentials = String::from_utf8(decoded).ok()?;
        let (_user, password) = credentials.split_once(':')?;
        return Some(password.trim().to_string());
    }
    None
}

/// A token when the request has an `Authorization` header (and then only it counts), else
/// the session.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    auth: Auth,
    accepted: TokenIn,
) -> Result<ApiCaller, Response> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|value| token_of(value, accepted))
            .ok_or_else(|| {
                json_error(
                    StatusCode::UNAUTHORIZED,
                    match accepted {
                        TokenIn::Bearer => "Use `Authorization: Bearer upc_…` with an API token.",
                        TokenIn::BearerOrBasic => {
                            "Use `Authorization: Bearer upc_…` with an API token, or HTTP basic auth with the token as the password."
                        }
                    },
                )
            })?;
        let token = token.as_str();
        let unknown = || json_error(StatusCode::UNAUTHORIZED, "Unknown or revoked API token.");
        if !tokens::looks_like_token(token) {
            return Err(unknown());
        }
        return match db::tokens::authenticate(&state.pool, &tokens::hash(token)).await {
            Ok(Some(found)) => Ok(ApiCaller {
                user_id: found.created_by,
                workspace_id: found.workspace_id,
                workspace_name: found.workspace_name,
                scope: found.scope,
                role: found.role,
                via: Via::Token {
                    name: found.token_name,
                },
            }),
            Ok(None) => Err(unknown()),
            Err(error) => {
                tracing::error!(error = %error, "could not check an API token");
                Err(json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Please try again in a moment.",
                ))
            }
        };
    }
    match auth.0 {
        Some(user) => Ok(ApiCaller {
            user_id: Some(user.id),
            workspace_id: user.workspace_id,
            workspace_name: user.workspace_name,
            scope: TokenScope::Write,
            role: user.workspace_role,
            via: Via::Session {
                email: user.email,
                role: user.role,
            },
        }),
        None => Err(json_error(
            StatusCode::UNAUTHORIZED,
            "Sign in, or send `Authorization: Bearer upc_…` with an API token.",
        )),
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = parts.extensions.get::<Auth>().cloned().unwrap_or_default();
        authenticate(state, &parts.headers, auth, TokenIn::Bearer)
            .await
            .map_err(|response| ApiError::Ready(Box::new(response)))
    }
}

/// A caller of the endpoints Prometheus reads (`/api/v1/metrics`): an [`ApiCaller`] whose
/// token may also come as the password of HTTP basic auth, with any user name, which is
/// how Prometheus's `basic_auth` and hosted Prometheus services send one. Only for reads:
/// the writes keep to bearer tokens, which a browser never sends by itself.
#[derive(Debug, Clone)]
pub struct PromCaller(pub ApiCaller);

impl FromRequestParts<AppState> for PromCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = parts.extensions.get::<Auth>().cloned().unwrap_or_default();
        authenticate(state, &parts.headers, auth, TokenIn::BearerOrBasic)
            .await
            .map(PromCaller)
            .map_err(|response| ApiError::Ready(Box::new(response)))
    }
}

/// An API caller allowed to change things: a read-only token gets 403.
#[derive(Debug, Clone)]
pub struct ApiWriter(pub ApiCaller);

impl FromRequestParts<AppState> for ApiWriter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = ApiCaller::from_request_parts(parts, state).await?;
        if caller.scope != TokenScope::Write {
            return Err(ApiError::Ready(Box::new(read_only())));
        }
        // A viewer changes nothing; a handler whose action needs more checks it too.
        permission::check_writer(caller.role).map_err(forbidden)?;
        Ok(ApiWriter(caller))
    }
}

/// A path's parameters decoded into their types (`ApiPath<TrackerId>`): a malformed id is
/// a 404 like an unknown one, not a 400 naming the parser.
#[derive(Debug, Clone, Copy)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|_| ApiError::not_found())
    }
}

/// Where the console is; visitors are sent to sign in and come back there.
const CONSOLE: &str = "/admin";

/// The signed-in administrator. A member gets 403; a visitor the sign-in page, which
/// leads back to the console.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        match parts
            .extensions
            .get::<Auth>()
            .and_then(|auth| auth.0.clone())
        {
            Some(user) if user.is_admin() => Ok(Admin(user)),
            Some(_) => Err((StatusCode::FORBIDDEN, "Administrators only.").into_response()),
            None => Err(Redirect::to(&NextPath::sign_in_url(CONSOLE)).into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(credentials: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }

    #[test]
    fn bearer_tokens_are_read_in_either_mode() {
        for accepted in [TokenIn::Bearer, TokenIn::BearerOrBasic] {
            assert_eq!(token_of("Bearer upc_x", accepted).as_deref(), Some("upc_x"));
            assert_eq!(
                token_of("bearer  upc_x ", accepted).as_deref(),
                Some("upc_x")
            );
        }
        assert_eq!(token_of("upc_x", TokenIn::Bearer), None);
        assert_eq!(token_of("Token upc_x", TokenIn::BearerOrBasic), None);
    }

    #[test]
    fn basic_auth_carries_the_token_as_its_password_when_allowed() {
        let header = basic("prometheus:upc_x");
        assert_eq!(token_of(&header, TokenIn::Bearer), None);
        assert_eq!(
            token_of(&header, TokenIn::BearerOrBasic).as_deref(),
            Some("upc_x")
        );
        // Any user name, an empty one too; a colon in the password stays in it.
        assert_eq!(
            token_of(&basic(":upc_x"), TokenIn::BearerOrBasic).as_deref(),
            Some("upc_x")
        );
        assert_eq!(
            token_of(&basic("u:a:b"), TokenIn::BearerOrBasic).as_deref(),
            Some("a:b")
        );
        assert_eq!(token_of(&basic("no colon"), TokenIn::BearerOrBasic), None);
        assert_eq!(token_of("Basic !!!", TokenIn::BearerOrBasic), None);
    }
}
