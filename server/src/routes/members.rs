//! `/api/v1/workspace/members` and `/api/v1/workspace/audit`: who is in the caller's
//! workspace with which role, changing a role, removing a member (or leaving, when it is
//! oneself), and the trail of those changes. The rules are `domain::permission`'s.

use app::{
    domain::{Action, UserId, WorkspaceRole},
    server::{
        db::{
            invitations::{self, Invitation, InvitationRefusal, Sent},
            members::{self, AuditEntry, Member, MemberRefusal},
        },
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

/// `{"members": [...], "invitations": [...]}`: the open invitations too.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembersBody {
    pub members: Vec<Member>,
    pub invitations: Vec<Invitation>,
}

/// `{"email", "role", "anyone_with_link"?}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewInvitation {
    pub email: String,
    /// `owner` (owners only), `admin`, `editor` or `viewer`.
    pub role: String,
    /// Whoever has the link may accept it, signed in with any address (default false).
    #[serde(default)]
    pub anyone_with_link: bool,
}

/// `{"invitation": {...}, "link"}`: the link is shown in this answer only.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationBody {
    pub invitation: Invitation,
    /// The invitation's page, also sent to the address; it works once, for 7 days.
    pub link: String,
}

/// `{"invitations": [...]}`, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationsBody {
    pub invitations: Vec<Invitation>,
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

/// The member acting: a token whose maker is gone manages nobody.
fn actor(caller: &ApiCaller) -> Result<UserId, ApiError> {
    caller.user_id.ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This token's maker is gone: it cannot manage members.",
        )
    })
}

fn invitation_refusal(refusal: InvitationRefusal) -> ApiError {
    match refusal {
        InvitationRefusal::NotFound => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", refusal.to_string())
        }
        InvitationRefusal::AlreadyMember(_) | InvitationRefusal::AlreadyInvited(_) => {
            ApiError::new(StatusCode::CONFLICT, "conflict", refusal.to_string())
        }
        InvitationRefusal::Refused(refused) => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", refused.to_string())
        }
        InvitationRefusal::Limit(limit) => {
            ApiError::Ready(Box::new(super::errors::upgrade_required(&limit)))
        }
        InvitationRefusal::Database(error) => error.into(),
    }
}

fn invitation_id(text: &str) -> Result<uuid::Uuid, ApiError> {
    text.parse::<uuid::Uuid>()
        .map_err(|_| invitation_refusal(InvitationRefusal::NotFound))
}

fn sent(status: StatusCode, Sent { invitation, link }: Sent) -> Response {
    (status, Json(InvitationBody { invitation, link })).into_response()
}

fn member_id(text: &str) -> Result<UserId, ApiError> {
    text.parse::<uuid::Uuid>()
        .map(UserId)
        .map_err(|_| no_member())
}

#[utoipa::path(
    get, path = "/api/v1/workspace/members", tag = "workspace",
    security(("api_token" = []), ("session" = [])),
    responses((status = 200, description = "The workspace's members with their `email` and `role`, owners first, and its open invitations.", body = MembersBody)),
)]
/// `GET /api/v1/workspace/members`.
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, ApiError> {
    caller.may(Action::Read)?;
    let (members, invitations) =
        invitations::members_and_invitations(&state.pool, caller.workspace_id).await?;
    Ok(Json(MembersBody {
        members,
        invitations,
    })
    .into_response())
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
    let actor = actor(&caller)?;
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

#[utoipa::path(
    get, path = "/api/v1/workspace/invitations", tag = "workspace",
    security(("api_token" = []), ("session" = [])),
    responses((status = 200, description = "The open invitations, newest first.", body = InvitationsBody)),
)]
/// `GET /api/v1/workspace/invitations`.
pub async fn list_invitations(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Response, ApiError> {
    caller.may(Action::Read)?;
    let invitations = invitations::list_open(&state.pool, caller.workspace_id).await?;
    Ok(Json(InvitationsBody { invitations }).into_response())
}

#[utoipa::path(
    post, path = "/api/v1/workspace/invitations", tag = "workspace",
    security(("api_token" = []), ("session" = [])),
    request_body = NewInvitation,
    responses(
        (status = 201, description = "Invited: the email is on its way, and the answer carries the link once.", body = InvitationBody),
        (status = 402, description = "The plan has no room for another person (members plus open invitations).", body = super::errors::UpgradeRequiredBody),
        (status = 403, description = "Only owners and admins invite; only owners invite owners.", body = ErrorBody),
        (status = 409, description = "The address is a member or invited already.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "Not an email address, or not a role.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/workspace/invitations` with `{"email", "role", "anyone_with_link"?}`.
pub async fn invite(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    request: Result<Json<NewInvitation>, JsonRejection>,
) -> Result<Response, ApiError> {
    let new = body(request)?;
    let email = app::domain::Email::parse(&new.email).map_err(ApiError::invalid)?;
    let role =
        WorkspaceRole::parse(&new.role).map_err(|error| ApiError::invalid(error.to_string()))?;
    let actor = actor(&caller)?;
    let made = invitations::create(
        &state.pool,
        &state.web.public_origin,
        caller.workspace_id,
        actor,
        &email,
        role,
        new.anyone_with_link,
    )
    .await
    .map_err(invitation_refusal)?;
    tracing::info!(workspace.id = %caller.workspace_id, invitation.id = %made.invitation.id, "invitation sent");
    Ok(sent(StatusCode::CREATED, made))
}

#[utoipa::path(
    post, path = "/api/v1/workspace/invitations/{id}/resend", tag = "workspace",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The invitation's id.")),
    responses(
        (status = 200, description = "Sent again with a new link, valid 7 days from now; the old link stops.", body = InvitationBody),
        (status = 403, description = "Only owners and admins re-send invitations.", body = ErrorBody),
        (status = 404, description = "No such open invitation.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/workspace/invitations/{id}/resend`.
pub async fn resend_invitation(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = invitation_id(&id)?;
    let actor = actor(&caller)?;
    let made = invitations::resend(
        &state.pool,
        &state.web.public_origin,
        caller.workspace_id,
        actor,
        id,
    )
    .await
    .map_err(invitation_refusal)?;
    Ok(sent(StatusCode::OK, made))
}

#[utoipa::path(
    delete, path = "/api/v1/workspace/invitations/{id}", tag = "workspace",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The invitation's id.")),
    responses(
        (status = 204, description = "Revoked: its link no longer works."),
        (status = 403, description = "Only owners and admins revoke invitations.", body = ErrorBody),
        (status = 404, description = "No such open invitation.", body = ErrorBody),
    ),
)]
/// `DELETE /api/v1/workspace/invitations/{id}`.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = invitation_id(&id)?;
    let actor = actor(&caller)?;
    invitations::revoke(&state.pool, caller.workspace_id, actor, id)
        .await
        .map_err(invitation_refusal)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post, path = "/api/v1/workspace/transfer", tag = "workspace",
    security(("api_token" = []), ("session" = [])),
    request_body = Transfer,
    responses(
        (status = 200, description = "The new owner; the caller is now an admin.", body = MemberBody),
        (status = 403, description = "Only an owner hands the workspace over.", body = ErrorBody),
        (status = 404, description = "No such member in this workspace.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "`user_id` is missing or not a string.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/workspace/transfer` with `{"user_id"}`.
pub async fn transfer(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    request: Result<Json<Transfer>, JsonRejection>,
) -> Result<Response, ApiError> {
    let transfer = body(request)?;
    let target = member_id(&transfer.user_id)?;
    let actor = actor(&caller)?;
    let member = members::transfer_ownership(&state.pool, caller.workspace_id, actor, target)
        .await
        .map_err(refusal)?;
    tracing::info!(workspace.id = %caller.workspace_id, member.id = %target, "ownership transferred");
    Ok(Json(MemberBody { member }).into_response())
}

/// `{"user_id"}`: the member who becomes the owner.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Transfer {
    pub user_id: String,
}
