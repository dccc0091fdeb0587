//! The REST API under `/api/v1`. Scripts authenticate with `Authorization: Bearer upc_…`;
//! the browser with its session cookie (and then passes the CSRF check). Errors are JSON:
//! `{ "error": "…" }`.

use app::server::{db, state::AppState};
use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::errors::json_error;
use crate::extract::{ApiCaller, ApiWriter};

/// `GET /api/v1/me`: the workspace the caller acts in, and how often the user (the
/// signed-in one, or the token's maker) gets the digest email (`null` once the token's
/// maker is deleted).
pub async fn me(State(state): State<AppState>, caller: ApiCaller) -> Response {
    let digest = match caller.user_id {
        Some(user_id) => match db::users::digest(&state.pool, user_id).await {
            Ok(digest) => digest,
            Err(error) => {
                tracing::error!(error = %error, "could not read a user's digest choice");
                return json_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side.",
                );
            }
        },
        None => None,
    };
    Json(json!({
        "workspace": { "id": caller.workspace_id, "name": caller.workspace_name },
        "scope": caller.scope,
        "via": caller.via,
        "digest": digest,
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct WorkspaceChanges {
    name: String,
}

/// `PATCH /api/v1/workspace` with `{ "name": "…" }`: renames the caller's workspace.
pub async fn update_workspace(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    body: Result<Json<WorkspaceChanges>, JsonRejection>,
) -> Response {
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
