//! `/api/v1/workspace/members` and `/api/v1/workspace/audit`: who is in the caller's
//! workspace with which role, changing a role, removing a member (or leaving, when it is
//! oneself), and the trail of those changes. The rules are `domain::permission`'s.

use app::{
    domain::{Action, UserId, WorkspaceRole},
    server::{
        db::members::{self, AuditEntry, Member, MemberRefusal},
        state::AppState,
    },
};
use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::errors::{ApiError, ErrorBody, body};
use crate::extract::{ApiCaller, ApiPath, ApiWriter};

/// `{"members": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembersBody {
    pub members: Vec<Member>,
}

/// `{"member": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberBody {
    pub member: Member,
}

/// `{"role": "editor"}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberChanges {
    /// `owner`, `admin`, `editor` or `viewer`.
    pub role: String,
}

/// `{"events": [...]}`, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditBody {
    pub events: Vec<AuditEntry>,
}

fn no_member() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        MemberRefusal::NotFound.to_string(),
    )
}

fn refusal(refusal: MemberRefusal) -> ApiError {
    match refusal {
        MemberRefusal::NotFound => no_member(),
        MemberRefusal::Refused(refused) => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", refused.to_string())
        }
        MemberRefusal::Database(error) => error.into(),
    }
}

fn member_id(text: &str) -> Result<UserId, ApiError> {
    text.parse::<uuid::Uuid>()
        .map(UserId)
        .map_err(|_| no_member())
}

#[utoipa::path(
    get, path = "/api/v1/workspace/members", tag = "workspace",
    security(("api_token" = []), ("session" = [])),
    responses((status = 200, description = "The workspace's members with their `email` and `role`, owners first.", body = MembersBody)),
)]
/// `GET /api/v1/workspace/members`.
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, ApiError> {
    caller.may(Action::Read)?;
    let members = members::list(&state.pool, caller.workspace_id).await?;
    Ok(Json(MembersBody { members }).into_response())
}

#[utoipa::path(
    patch, path = "/api/v1/workspace/members/{user_id}", tag = "workspace",
    security(("api_token" = []), ("session" = [])),
    params(("user_id" = uuid::Uuid, Path, description = "The member's user id.")),
    request_body = MemberChanges,
    responses(
        (status = 200, description = "The member with their new role.", body = MemberBody),
        (status = 403, description = "The caller's role may not make this change (only owners touch owners; a workspace keeps one owner).", body = ErrorBody),
        (status = 404, description = "No such member in this workspace.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "Not a role.", body = ErrorBody),
    ),
)]
/// `PATCH /api/v1/workspace/members/{user_id}` with `{"role"}`.
pub async fn update(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<String>,
    request: Result<Json<MemberChanges>, JsonRejection>,
) -> Result<Response, ApiError> {
    let target = member_id(&id)?;
    let changes = body(request)?;
    let role = WorkspaceRole::parse(&changes.role)
        .map_err(|error| ApiError::invalid(error.to_string()))?;
    let actor = caller.user_id.ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This token's maker is gone: it cannot manage members.",
        )
    })?;
    let member = members::set_role(&state.pool, caller.workspace_id, actor, target, role)
        .await
        .map_err(refusal)?;
    Ok(Json(MemberBody { member }).into_response())
}

#[utoipa::path(
    delete, path = "/api/v1/workspace/members/{user_id}", tag = "workspace",
    security(("api_token" = []), ("session" = [])),
    params(("user_id" = uuid::Uuid, Path, description = "The member's user id (one's own: leave).")),
    responses(
        (status = 204, description = "Removed: their sessions there end and the tokens they made there stop."),
        (status = 403, description = "The caller's role may not remove them, or they are the last owner.", body = ErrorBody),
        (status = 404, description = "No such member in this workspace.", body = ErrorBody),
    ),
)]
/// `DELETE /api/v1/workspace/members/{user_id}`.
pub async fn remove(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let target = member_id(&id)?;
    let actor = caller.user_id.ok_or_else(no_member)?;
    // Leaving needs no write role (a viewer may leave); removing others is checked by the
    // table inside the transaction.
    if caller.scope != app::domain::TokenScope::Write {
        return Err(ApiError::Ready(Box::new(super::errors::read_only())));
    }
    members::remove(&state.pool, caller.workspace_id, actor, target)
        .await
        .map_err(refusal)?;
    tracing::info!(workspace.id = %caller.workspace_id, member.id = %target, "member removed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get, path = "/api/v1/workspace/audit", tag = "workspace",
    security(("api_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The latest 200 changes of membership and role, newest first.", body = AuditBody),
        (status = 403, description = "Only owners and admins read the audit trail.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/workspace/audit`.
pub async fn audit(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, ApiError> {
    caller.may(Action::ReadAudit)?;
    let events = members::audit(&state.pool, caller.workspace_id, 200).await?;
    Ok(Json(AuditBody { events }).into_response())
}
