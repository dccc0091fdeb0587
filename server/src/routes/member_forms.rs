//! The Members page's forms (`/members/…`) and accepting an invitation
//! (`POST /invitations/{token}`). Each answers with a redirect and flash messages; the
//! rules are `domain::permission`'s, applied inside the stores' transactions.

use app::{
    api::flash::Flash,
    domain::{Email, NextPath, UserId, WorkspaceId, WorkspaceRole},
    server::{
        auth::{Auth, CurrentUser},
        db::{
            invitations::{self, AcceptRefusal, InvitationRefusal},
            members::{self, MemberRefusal},
        },
        state::AppState,
    },
};
use axum::{
    Extension, Form,
    extract::{Path, State, rejection::FormRejection},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    forms::{either, no_such_action, redirect_with, unexpected},
    workspaces::enter,
};

const MEMBERS: &str = "/members";
const DASHBOARD: &str = "/dashboard";

fn sign_in_first() -> Response {
    Redirect::to(&NextPath::sign_in_url(MEMBERS)).into_response()
}

/// Back to the Members page with `message` on form `form`.
async fn back(session: &Session, form: &str, message: impl Into<String>) -> Response {
    redirect_with(
        session,
        Flash::for_form(form).with_error(message.into()),
        MEMBERS,
    )
    .await
}

async fn member_refused(session: &Session, refusal: MemberRefusal) -> Response {
    match refusal {
        MemberRefusal::Database(error) => unexpected(session, "member", MEMBERS, error).await,
        refusal => back(session, "member", refusal.to_string()).await,
    }
}

async fn invitation_refused(
    session: &Session,
    flash: Flash,
    refusal: InvitationRefusal,
) -> Response {
    match refusal {
        InvitationRefusal::Database(error) => unexpected(session, "invite", MEMBERS, error).await,
        InvitationRefusal::Limit(limit) => {
            let flash = flash.with_error(format!("{} See /billing.", limit.message));
            redirect_with(session, flash, MEMBERS).await
        }
        refusal => redirect_with(session, flash.with_error(refusal.to_string()), MEMBERS).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    /// A checkbox: present (`on`) when ticked.
    #[serde(default)]
    anyone_with_link: Option<String>,
}

/// `POST /members/invitations` with `email`, `role` and `anyone_with_link`.
pub async fn invite(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return sign_in_first();
    };
    let Form(form) = form.unwrap_or_default();
    let mut flash = Flash::for_form("invite")
        .with_value("email", &form.email)
        .with_value("role", &form.role);
    let email = Email::parse(&form.email);
    let role = WorkspaceRole::parse(&form.role);
    if let Err(message) = &email {
        flash = flash.with_field_error("email", message.clone());
    }
    if let Err(error) = &role {
        flash = flash.with_field_error("role", error.to_string());
    }
    let (Ok(email), Ok(role)) = (email, role) else {
        return redirect_with(&session, flash, MEMBERS).await;
    };
    let made = invitations::create(
        &state.pool,
        &state.web.public_origin,
        user.workspace_id,
        user.id,
        &email,
        role,
        form.anyone_with_link.is_some(),
    )
    .await;
    match made {
        Ok(sent) => {
            tracing::info!(workspace.id = %user.workspace_id, invitation.id = %sent.invitation.id, "invitation sent");
            let notice = format!("Invitation sent to {}.", email.as_ref());
            redirect_with(&session, Flash::notice(notice), MEMBERS).await
        }
        Err(refusal) => invitation_refused(&session, flash, refusal).await,
    }
}

/// `POST /members/invitations/{id}/{resend|revoke}`.
pub async fn invitation_action(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let Some(user) = auth.0 else {
        return sign_in_first();
    };
    let Some(resend) = either(&action, "resend", "revoke") else {
        return no_such_action();
    };
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return back(&session, "invite", InvitationRefusal::NotFound.to_string()).await;
    };
    let flash = Flash::for_form("invite");
    if resend {
        match invitations::resend(
            &state.pool,
            &state.web.public_origin,
            user.workspace_id,
            user.id,
            id,
        )
        .await
        {
            Ok(sent) => {
                let notice = format!(
                    "Invitation sent to {} again, with a new link.",
                    sent.invitation.email
                );
                redirect_with(&session, Flash::notice(notice), MEMBERS).await
            }
            Err(refusal) => invitation_refused(&session, flash, refusal).await,
        }
    } else {
        match invitations::revoke(&state.pool, user.workspace_id, user.id, id).await {
            Ok(()) => {
                redirect_with(
                    &session,
                    Flash::notice("Invitation revoked: its link no longer works."),
                    MEMBERS,
                )
                .await
            }
            Err(refusal) => invitation_refused(&session, flash, refusal).await,
        }
    }
}

fn member(id: &str) -> Option<UserId> {
    id.parse::<uuid::Uuid>().ok().map(UserId)
}

#[derive(Debug, Default, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /members/{user_id}/role` with `role`.
pub async fn change_role(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<RoleForm>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return sign_in_first();
    };
    let Some(target) = member(&id) else {
        return member_refused(&session, MemberRefusal::NotFound).await;
    };
    let Form(form) = form.unwrap_or_default();
    let role = match WorkspaceRole::parse(&form.role) {
        Ok(role) => role,
        Err(error) => return back(&session, "member", error.to_string()).await,
    };
    match members::set_role(&state.pool, user.workspace_id, user.id, target, role).await {
        Ok(member) => {
            let notice = format!("{} is now {}.", member.email, with_article(member.role));
            redirect_with(&session, Flash::notice(notice), MEMBERS).await
        }
        Err(refusal) => member_refused(&session, refusal).await,
    }
}

fn with_article(role: WorkspaceRole) -> String {
    let article = if role == WorkspaceRole::Viewer {
        "a"
    } else {
        "an"
    };
    format!("{article} {}", role.as_str())
}

/// `POST /members/{user_id}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Some(user) = auth.0 else {
        return sign_in_first();
    };
    let Some(target) = member(&id) else {
        return member_refused(&session, MemberRefusal::NotFound).await;
    };
    match members::remove(&state.pool, user.workspace_id, user.id, target).await {
        Ok(()) => {
            tracing::info!(workspace.id = %user.workspace_id, member.id = %target, "member removed");
            redirect_with(
                &session,
                Flash::notice("Removed: their sessions here have ended and the tokens they made here stopped."),
                MEMBERS,
            )
            .await
        }
        Err(refusal) => member_refused(&session, refusal).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    user_id: String,
}

/// `POST /members/transfer` with `user_id`: they become the owner, the caller an admin.
pub async fn transfer(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<TransferForm>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return sign_in_first();
    };
    let Form(form) = form.unwrap_or_default();
    let Some(target) = member(&form.user_id) else {
        return member_refused(&session, MemberRefusal::NotFound).await;
    };
    match members::transfer_ownership(&state.pool, user.workspace_id, user.id, target).await {
        Ok(member) => {
            tracing::info!(workspace.id = %user.workspace_id, member.id = %target, "ownership transferred");
            let notice = format!(
                "{} owns {} now; you are an admin.",
                member.email, user.workspace_name
            );
            redirect_with(&session, Flash::notice(notice), MEMBERS).await
        }
        Err(refusal) => member_refused(&session, refusal).await,
    }
}

/// Accepts the invitation behind `token` for `user`: the workspace they joined and the
/// notice to show, or the refusal. The caller makes it the session's workspace.
pub async fn join(
    state: &AppState,
    user: (UserId, &str),
    token: &str,
) -> Result<(WorkspaceId, String), AcceptRefusal> {
    let joined = invitations::accept(&state.pool, token, user.0, user.1).await?;
    tracing::info!(workspace.id = %joined.workspace_id, user.id = %user.0, "invitation accepted");
    let notice = if joined.already_member {
        format!(
            "You are already in {}; you are there now.",
            joined.workspace_name
        )
    } else {
        format!(
            "Welcome to {}: you joined as {}.",
            joined.workspace_name,
            with_article(joined.role)
        )
    };
    Ok((joined.workspace_id, notice))
}

/// `POST /invitations/{token}`: the signed-in user accepts, and lands in the workspace.
pub async fn accept(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    Path(token): Path<String>,
) -> Response {
    let page = invitations::path(&token);
    let Some(CurrentUser { id, email, .. }) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(&page)).into_response();
    };
    match join(&state, (id, &email), &token).await {
        Ok((workspace, notice)) => {
            enter(&session, workspace).await;
            redirect_with(&session, Flash::notice(notice), DASHBOARD).await
        }
        Err(AcceptRefusal::Database(error)) => {
            unexpected(&session, "invitation", &page, error).await
        }
        Err(refusal) => {
            redirect_with(
                &session,
                Flash::for_form("invitation").with_error(refusal.to_string()),
                &page,
            )
            .await
        }
    }
}
