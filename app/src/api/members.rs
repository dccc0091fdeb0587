//! The Members page's data, and what the page behind an invitation link shows.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::WorkspaceRole;

/// A member as the Members page lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub role: WorkspaceRole,
    pub joined: String,
    /// The signed-in user.
    pub is_me: bool,
}

/// An open invitation as the Members page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: WorkspaceRole,
    pub anyone_with_link: bool,
    pub invited_by: Option<String>,
    pub sent: String,
    pub expires: String,
    pub expired: bool,
}

/// An entry of the audit trail, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub at: String,
    pub summary: String,
}

/// Everything the Members page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub workspace_name: String,
    pub my_role: WorkspaceRole,
    /// The signed-in user may invite, change roles and remove members.
    pub can_manage: bool,
    /// The signed-in user owns the workspace (may hand it over, invite owners).
    pub is_owner: bool,
    pub members: Vec<MemberRow>,
    pub invitations: Vec<InvitationRow>,
    /// Only for owners and admins; empty otherwise.
    pub audit: Vec<AuditRow>,
    pub plan_name: String,
    pub max_members: i32,
}

/// The signed-in user's workspace's members, open invitations and (for owners and
/// admins) its audit trail.
#[server]
pub async fn get_members() -> Result<MembersPage, ServerFnError> {
    use crate::{
        domain::Action,
        server::{
            auth::Auth,
            billing::store::workspace_plan,
            db::{invitations, members},
            state::AppState,
        },
    };
    let axum::Extension(Auth(user)) = leptos_axum::extract::<axum::Extension<Auth>>().await?;
    let Some(user) = user else {
        return Err(ServerFnError::new(
            "Sign in to see your workspace's members.",
        ));
    };
    let state = expect_context::<AppState>();
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not load the members page");
        ServerFnError::new("Could not load the members. Please try again.")
    };
    let (members, open) = invitations::members_and_invitations(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    let audit = if user.may(Action::ReadAudit).is_ok() {
        members::audit(&state.pool, user.workspace_id, 100)
            .await
            .map_err(failed)?
    } else {
        Vec::new()
    };
    let plan = workspace_plan(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    let format = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let now = chrono::Utc::now();
    Ok(MembersPage {
        workspace_name: user.workspace_name.clone(),
        my_role: user.workspace_role,
        can_manage: user.may(Action::ManageMembers).is_ok(),
        is_owner: user.may(Action::TransferOwnership).is_ok(),
        members: members
            .into_iter()
            .map(|member| MemberRow {
                user_id: member.user_id.to_string(),
                is_me: member.user_id == user.id,
                email: member.email,
                role: member.role,
                joined: format(member.joined_at),
            })
            .collect(),
        invitations: open
            .into_iter()
            .map(|invitation| InvitationRow {
                id: invitation.id.to_string(),
                email: invitation.email,
                role: invitation.role,
                anyone_with_link: invitation.anyone_with_link,
                invited_by: invitation.invited_by_email,
                sent: format(invitation.sent_at),
                expires: format(invitation.expires_at),
                expired: invitation.expires_at <= now,
            })
            .collect(),
        audit: audit
            .into_iter()
            .map(|entry| AuditRow {
                at: format(entry.at),
                summary: entry.summary,
            })
            .collect(),
        plan_name: plan.name,
        max_members: plan.max_members,
    })
}

/// Whether an invitation link can still be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkStatus {
    Open,
    Expired,
    Accepted,
    Revoked,
}

/// What the page behind an invitation link shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub workspace_name: String,
    pub email: String,
    pub role: WorkspaceRole,
    pub anyone_with_link: bool,
    pub invited_by: Option<String>,
    pub status: LinkStatus,
    /// Who is signed in, if anyone.
    pub signed_in_as: Option<String>,
}

/// The invitation behind `token`, or `None` when the link is not (or no longer) one.
#[server]
pub async fn get_invitation(token: String) -> Result<Option<InvitationView>, ServerFnError> {
    use crate::server::{
        auth::Auth,
        db::invitations::{self, LinkState},
        state::AppState,
    };
    let axum::Extension(Auth(user)) = leptos_axum::extract::<axum::Extension<Auth>>().await?;
    let state = expect_context::<AppState>();
    let found = invitations::look_up(&state.pool, &token)
        .await
        .map_err(|error| {
            tracing::error!(error = %error, "could not look up an invitation");
            ServerFnError::new("Could not load this invitation. Please try again.")
        })?;
    Ok(found.map(|link| InvitationView {
        workspace_name: link.workspace_name,
        email: link.email,
        role: link.role,
        anyone_with_link: link.anyone_with_link,
        invited_by: link.invited_by_email,
        status: match link.state {
            LinkState::Open => LinkStatus::Open,
            LinkState::Expired => LinkStatus::Expired,
            LinkState::Accepted => LinkStatus::Accepted,
            LinkState::Revoked => LinkStatus::Revoked,
        },
        signed_in_as: user.map(|user| user.email),
    }))
}
