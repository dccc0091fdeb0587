//! Extractors for the openings handlers share: who is calling the API and whether they
//! may write, the administrator, and ids in paths. Each refuses with the answer its
//! callers expect (JSON for the API, a page or the sign-in redirect for the console), so a
//! handler starts with what it needs already checked.

use app::{
    domain::{NextPath, TokenScope, WorkspaceId},
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
    pub via: Via,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Via {
    Token {
        name: String,
    },
    Session {
        email: String,
        role: app::domain::Role,
    },
}

/// A bearer token when the request has one (and then only it counts), else the session.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    auth: Auth,
) -> Result<ApiCaller, Response> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                json_error(
                    StatusCode::UNAUTHORIZED,
                    "Use `Authorization: Bearer upc_…` with an API token.",
                )
            })?;
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
        authenticate(state, &parts.headers, auth)
            .await
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
