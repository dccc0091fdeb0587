//! The REST API under `/api/v1`. Scripts authenticate with `Authorization: Bearer upc_…`;
//! the browser with its session cookie (and then passes the CSRF check). Errors are JSON:
//! `{ "error": "…" }`.

use app::{
    domain::Action,
    server::{db, state::AppState},
};
use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::errors::{ApiError, ApiQuery, ErrorBody, json_error};
use crate::extract::{ApiCaller, ApiWriter};

/// The workspace a caller acts in.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceRef {
    pub id: uuid::Uuid,
    pub name: String,
}

/// `{"workspace": {"id", "name"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceBody {
    pub workspace: WorkspaceRef,
}

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeBody {
    pub workspace: WorkspaceRef,
    /// The caller's role in the workspace (a token's, its maker's).
    pub role: app::domain::WorkspaceRole,
    pub scope: app::domain::TokenScope,
    pub via: crate::extract::Via,
    /// How often the digest email goes out (`null` once the token's maker is deleted).
    pub digest: Option<app::domain::DigestFrequency>,
}

#[utoipa::path(
    get, path = "/api/v1/me", tag = "account",
    security(("api_token" = []), ("session" = [])),
    responses((status = 200, description = "Who is calling, and in which workspace.", body = MeBody)),
)]
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
    Json(MeBody {
        workspace: WorkspaceRef {
            id: caller.workspace_id.0,
            name: caller.workspace_name,
        },
        role: caller.role,
        scope: caller.scope,
        via: caller.via,
        digest,
    })
    .into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WorkspaceChanges {
    /// 1 to 100 characters, without control characters.
    name: String,
}

#[utoipa::path(
    patch, path = "/api/v1/workspace", tag = "account",
    security(("api_token" = []), ("session" = [])),
    request_body = WorkspaceChanges,
    responses(
        (status = 200, description = "Renamed.", body = WorkspaceBody),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 404, description = "The workspace no longer exists.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 422, description = "The body is not the JSON asked for, or the name is not allowed.", body = ErrorBody),
    ),
)]
/// `PATCH /api/v1/workspace` with `{ "name": "…" }`: renames the caller's workspace.
pub async fn update_workspace(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    request: Result<Json<WorkspaceChanges>, JsonRejection>,
) -> Response {
    // Malformed JSON is a 400, a body of the wrong shape a 422, no JSON type a 415.
    let Json(changes) = match request {
        Ok(changes) => changes,
        Err(rejection) => return json_error(rejection.status(), &rejection.body_text()),
    };
    if let Err(refused) = caller.may(Action::Rename) {
        return refused.into_response();
    }
    let name = changes.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`name` must be 1 to 100 characters, without control characters.",
        );
    }
    match db::workspaces::rename(&state.pool, caller.workspace_id, name).await {
        Ok(true) => Json(WorkspaceBody {
            workspace: WorkspaceRef {
                id: caller.workspace_id.0,
                name: name.to_string(),
            },
        })
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

/// `?confirm=`: the workspace's name, typed, as the form asks for it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeleteConfirmation {
    /// The workspace's exact name.
    #[serde(default)]
    confirm: String,
}

#[utoipa::path(
    delete, path = "/api/v1/workspace", tag = "account",
    security(("api_token" = []), ("session" = [])),
    params(DeleteConfirmation),
    responses(
        (status = 204, description = "Deleted, after its subscription was cancelled at Stripe, with its trackers, alerts, tokens (this one too) and invitations."),
        (status = 400, description = "The query string is malformed.", body = ErrorBody),
        (status = 403, description = "Only an owner deletes a workspace, with a token whose maker is still a member.", body = ErrorBody),
        (status = 422, description = "`confirm` is not the workspace's name.", body = ErrorBody),
        (status = 503, description = "Stripe could not be reached to cancel the subscription: nothing was deleted.", body = ErrorBody),
    ),
)]
/// `DELETE /api/v1/workspace?confirm=<its name>`: an owner deletes the caller's workspace,
/// as the Members page's form does.
pub async fn delete_workspace(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiQuery(confirmation): ApiQuery<DeleteConfirmation>,
) -> Result<Response, ApiError> {
    use db::workspaces::DeleteRefusal;
    caller.may(Action::DeleteWorkspace)?;
    let Some(actor) = caller.user_id else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This token's maker is gone: it cannot delete the workspace.",
        ));
    };
    let workspace = caller.workspace_id;
    match db::workspaces::check_deletion(&state.pool, workspace, actor, &confirmation.confirm).await
    {
        Ok(_) => {}
        Err(DeleteRefusal::Database(error)) => return Err(error.into()),
        Err(refused @ DeleteRefusal::Refused(_)) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                refused.to_string(),
            ));
        }
        Err(refused @ DeleteRefusal::NotConfirmed(_)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                refused.to_string(),
            ));
        }
    }
    match super::workspaces::cancel_and_delete(&state, workspace).await {
        Ok(()) => {}
        Err(super::workspaces::Deletion::StripeUnavailable) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                super::workspaces::STRIPE_UNAVAILABLE,
            ));
        }
        Err(super::workspaces::Deletion::Database(error)) => return Err(error.into()),
    }
    tracing::info!(workspace.id = %workspace, user.id = %actor, "workspace deleted through the API");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Any other `/api/v1/…` path.
pub async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "There is no such API endpoint.")
}
