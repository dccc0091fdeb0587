//! The REST API under `/api/v1`. Scripts authenticate with `Authorization: Bearer upc_…`;
//! the browser with its session cookie (and then passes the CSRF check). Errors are JSON:
//! `{ "error": "…" }`.

use app::{
    domain::TokenScope,
    server::{auth::Auth, db, state::AppState, tokens},
};
use axum::{
    Extension, Json,
    extract::{State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// `{ "error": message }` with `status`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Who is calling the API, and what they may do.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub workspace_id: Uuid,
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

pub fn read_only() -> Response {
    json_error(
        StatusCode::FORBIDDEN,
        "This API token is read-only; create a read-write token to make changes.",
    )
}

/// A bearer token when the request has one (and then only it counts), else the session.
pub async fn caller(
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

/// `GET /api/v1/me`: the workspace the caller acts in.
pub async fn me(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
) -> Response {
    match caller(&state, &headers, auth).await {
        Ok(caller) => Json(json!({
            "workspace": { "id": caller.workspace_id, "name": caller.workspace_name },
            "scope": caller.scope,
            "via": caller.via,
        }))
        .into_response(),
        Err(response) => response,
    }
}

#[derive(Debug, Deserialize)]
pub struct WorkspaceChanges {
    name: String,
}

/// `PATCH /api/v1/workspace` with `{ "name": "…" }`: renames the caller's workspace.
pub async fn update_workspace(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    body: Result<Json<WorkspaceChanges>, JsonRejection>,
) -> Response {
    let caller = match caller(&state, &headers, auth).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    if caller.scope != TokenScope::Write {
        return read_only();
    }
    let Json(changes) = match body {
        Ok(body) => body,
        Err(rejection) => return json_error(rejection.status(), &rejection.body_text()),
    };
    let name = changes.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`name` must be 1 to 100 characters, without control characters.",
        );
    }
    match db::workspaces::rename(&state.pool, caller.workspace_id, name).await {
        Ok(true) => Json(json!({ "workspace": { "id": caller.workspace_id, "name": name } }))
            .into_response(),
        Ok(false) => json_error(StatusCode::NOT_FOUND, "The workspace no longer exists."),
        Err(error) => {
            tracing::error!(error = %error, "could not rename a workspace");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
        }
    }
}

/// Any other `/api/v1/…` path.
pub async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "There is no such API endpoint.")
}
