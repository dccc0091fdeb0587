//! Invitations into a workspace: made by an owner or admin for an address and a role,
//! sent by email with a single-use link to `/invitations/{token}` valid seven days, of
//! which only the SHA-256 is stored. Making one checks the plan's room for people (members
//! plus open invitations); accepting one checks it again for members, under the same
//! workspace lock, and adds the membership in the statement that uses the link.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::members::{self, record, record_address};
use crate::{
    domain::{
        Email, UserId, WorkspaceId, WorkspaceRole,
        audit::AuditAction,
        permission::{self, Refusal},
    },
    server::{
        billing::store::{self as billing, UpgradeRequired},
        email::{queue, templates},
    },
};

/// How long an invitation's link works.
pub const VALIDITY: Duration = Duration::from_secs(7 * 24 * 3_600);

/// An invitation as the members list shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub id: uuid::Uuid,
    pub email: String,
    pub role: WorkspaceRole,
    /// Whoever has the link may accept it, signed in with any address.
    pub anyone_with_link: bool,
    pub invited_by_email: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it was last sent (made or re-sent).
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A new or re-sent invitation and its link, shown once.
#[derive(Clone, Debug)]
pub struct Sent {
    pub invitation: Invitation,
    pub link: String,
}

/// Why an invitation was not made, re-sent or revoked.
#[derive(Debug, thiserror::Error)]
pub enum InvitationRefusal {
    #[error("There is no such open invitation in this workspace.")]
    NotFound,
    #[error("{0} is already a member of this workspace.")]
    AlreadyMember(String),
    #[error("{0} is already invited: send the invitation again instead.")]
    AlreadyInvited(String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("{}", .0.message)]
    Limit(UpgradeRequired),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What the page behind a link shows about it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkView {
    pub workspace_name: String,
    pub email: String,
    pub role: WorkspaceRole,
    pub anyone_with_link: bool,
    pub invited_by_email: Option<String>,
    pub state: LinkState,
}

/// Whether a link can still be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Open,
    Expired,
    Accepted,
    Revoked,
}

/// Why accepting did not add the member.
#[derive(Debug, thiserror::Error)]
pub enum AcceptRefusal {
    #[error("This invitation link is not valid. Ask whoever invited you for a new one.")]
    Unknown,
    #[error("This invitation expired. Ask whoever invited you to send it again.")]
    Expired,
    #[error("This invitation was used already. Ask whoever invited you for a new one.")]
    Used,
    #[error("This invitation was revoked.")]
    Revoked,
    #[error(
        "This invitation is for {invited}, and you are signed in as {signed_in}. Sign in as {invited}, or ask for a link anyone can use."
    )]
    OtherAddress { invited: String, signed_in: String },
    #[error("{}", .0.message)]
    Limit(UpgradeRequired),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Who joined what, after accepting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub role: WorkspaceRole,
    /// They were a member already (the link is used all the same).
    pub already_member: bool,
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

fn looks_like_token(token: &str) -> bool {
    let token = token.trim();
    token.len() == 64 && token.bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// The path of an invitation's page.
pub fn path(token: &str) -> String {
    format!("/invitations/{token}")
}

/// The open invitations of `workspace`, newest first.
#[tracing::instrument(skip(executor))]
pub async fn list_open<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    workspace: WorkspaceId,
) -> Result<Vec<Invitation>, sqlx::Error> {
    sqlx::query_as!(
        Invitation,
        r#"SELECT i.id, i.email, i.role AS "role: WorkspaceRole", i.anyone_with_link,
                  u.email AS "invited_by_email?", i.created_at, i.sent_at, i.expires_at
           FROM workspace_invitations i LEFT JOIN users u ON u.id = i.invited_by
           WHERE i.workspace_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
           ORDER BY i.created_at DESC, i.id"#,
        workspace as WorkspaceId,
    )
    .fetch_all(executor)
    .await
}

async fn one<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    id: uuid::Uuid,
) -> Result<Invitation, sqlx::Error> {
    sqlx::query_as!(
        Invitation,
        r#"SELECT i.id, i.email, i.role AS "role: WorkspaceRole", i.anyone_with_link,
                  u.email AS "invited_by_email?", i.created_at, i.sent_at, i.expires_at
           FROM workspace_invitations i LEFT JOIN users u ON u.id = i.invited_by
           WHERE i.id = $1"#,
        id,
    )
    .fetch_one(executor)
    .await
}

/// The role of `actor` in `workspace` inside `tx`, with the member rows locked.
async fn actor_role(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    workspace: WorkspaceId,
    actor: UserId,
) -> Result<WorkspaceRole, InvitationRefusal> {
    sqlx::query_scalar!(
        r#"SELECT role AS "role: WorkspaceRole" FROM workspace_members
           WHERE workspace_id = $1 AND user_id = $2 FOR UPDATE"#,
        workspace as WorkspaceId,
        actor as UserId,
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(InvitationRefusal::NotFound)
}

/// Queues the invitation's email; the dedupe key names this sending of it.
async fn send(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    origin: &str,
    invitation: &Invitation,
    workspace: WorkspaceId,
    token: &str,
) -> Result<String, sqlx::Error> {
    let workspace_name = sqlx::query_scalar!(
        "SELECT name FROM workspaces WHERE id = $1",
        workspace as WorkspaceId
    )
    .fetch_one(&mut **tx)
    .await?;
    let link = format!("{origin}{}", path(token));
    let inviter = invitation
        .invited_by_email
        .clone()
        .unwrap_or_else(|| "Someone".to_string());
    let message = templates::invitation(
        &invitation.email,
        &inviter,
        &workspace_name,
        invitation.role.as_str(),
        &link,
    );
    let key = format!("invitation:{}:{}", invitation.id, &token[..16]);
    queue(&mut **tx, &message, &key).await?;
    Ok(link)
}

/// `actor` invites `email` into `workspace` as `role`, and the email goes out with the
/// transaction's commit.
#[tracing::instrument(skip(pool, origin))]
pub async fn create(
    pool: &PgPool,
    origin: &str,
    workspace: WorkspaceId,
    actor: UserId,
    email: &Email,
    role: WorkspaceRole,
    anyone_with_link: bool,
) -> Result<Sent, InvitationRefusal> {
    let mut tx = pool.begin().await?;
    let actor_role = actor_role(&mut tx, workspace, actor).await?;
    permission::may_set_role(actor_role, None, role, usize::MAX)?;
    let member = sqlx::query_scalar!(
        r#"SELECT 1 AS "one!" FROM workspace_members m JOIN users u ON u.id = m.user_id
           WHERE m.workspace_id = $1 AND u.email = $2"#,
        workspace as WorkspaceId,
        email.as_ref(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    if member.is_some() {
        return Err(InvitationRefusal::AlreadyMember(email.as_ref().to_string()));
    }
    // An expired invitation no longer holds the address's place.
    sqlx::query!(
        "UPDATE workspace_invitations SET revoked_at = now()
         WHERE workspace_id = $1 AND email = $2 AND accepted_at IS NULL
           AND revoked_at IS NULL AND expires_at <= now()",
        workspace as WorkspaceId,
        email.as_ref(),
    )
    .execute(&mut *tx)
    .await?;
    let open = sqlx::query_scalar!(
        r#"SELECT 1 AS "one!" FROM workspace_invitations
           WHERE workspace_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL"#,
        workspace as WorkspaceId,
        email.as_ref(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    if open.is_some() {
        return Err(InvitationRefusal::AlreadyInvited(
            email.as_ref().to_string(),
        ));
    }
    if let Err(limit) = billing::check_member_room(&mut tx, workspace, true).await? {
        return Err(InvitationRefusal::Limit(limit));
    }
    let token = new_token();
    let id = sqlx::query_scalar!(
        "INSERT INTO workspace_invitations
             (workspace_id, email, role, anyone_with_link, token_hash, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
         ON CONFLICT (workspace_id, email) WHERE accepted_at IS NULL AND revoked_at IS NULL
         DO NOTHING
         RETURNING id",
        workspace as WorkspaceId,
        email.as_ref(),
        role as WorkspaceRole,
        anyone_with_link,
        hash(&token),
        actor as UserId,
        VALIDITY.as_secs_f64(),
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| InvitationRefusal::AlreadyInvited(email.as_ref().to_string()))?;
    let invitation = one(&mut *tx, id).await?;
    record_address(
        &mut *tx,
        workspace,
        actor,
        AuditAction::InvitationSent,
        email.as_ref(),
        role,
    )
    .await?;
    let link = send(&mut tx, origin, &invitation, workspace, &token).await?;
    tx.commit().await?;
    Ok(Sent { invitation, link })
}

/// Sends an open invitation again with a new link (the old one stops) valid seven days
/// from now.
#[tracing::instrument(skip(pool, origin))]
pub async fn resend(
    pool: &PgPool,
    origin: &str,
    workspace: WorkspaceId,
    actor: UserId,
    id: uuid::Uuid,
) -> Result<Sent, InvitationRefusal> {
    let mut tx = pool.begin().await?;
    let actor_role = actor_role(&mut tx, workspace, actor).await?;
    permission::check(actor_role, crate::domain::Action::ManageMembers)?;
    let token = new_token();
    let found = sqlx::query!(
        r#"UPDATE workspace_invitations
           SET token_hash = $3, sent_at = now(), expires_at = now() + make_interval(secs => $4)
           WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL
           RETURNING email, role AS "role: WorkspaceRole""#,
        workspace as WorkspaceId,
        id,
        hash(&token),
        VALIDITY.as_secs_f64(),
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(InvitationRefusal::NotFound)?;
    // Re-sending an owner's invitation is an owner's to do, as making it was.
    permission::may_set_role(actor_role, None, found.role, usize::MAX)?;
    let invitation = one(&mut *tx, id).await?;
    record_address(
        &mut *tx,
        workspace,
        actor,
        AuditAction::InvitationResent,
        &found.email,
        found.role,
    )
    .await?;
    let link = send(&mut tx, origin, &invitation, workspace, &token).await?;
    tx.commit().await?;
    Ok(Sent { invitation, link })
}

/// Revokes an open invitation: its link stops working.
#[tracing::instrument(skip(pool))]
pub async fn revoke(
    pool: &PgPool,
    workspace: WorkspaceId,
    actor: UserId,
    id: uuid::Uuid,
) -> Result<(), InvitationRefusal> {
    let mut tx = pool.begin().await?;
    let actor_role = actor_role(&mut tx, workspace, actor).await?;
    permission::check(actor_role, crate::domain::Action::ManageMembers)?;
    let found = sqlx::query!(
        r#"UPDATE workspace_invitations SET revoked_at = now()
           WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL
           RETURNING email, role AS "role: WorkspaceRole""#,
        workspace as WorkspaceId,
        id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(InvitationRefusal::NotFound)?;
    permission::may_set_role(actor_role, None, found.role, usize::MAX)?;
    record_address(
        &mut *tx,
        workspace,
        actor,
        AuditAction::InvitationRevoked,
        &found.email,
        found.role,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What the page behind `token` shows, or `None` for a token that was never issued (or
/// was replaced by a re-send).
pub async fn look_up(pool: &PgPool, token: &str) -> Result<Option<LinkView>, sqlx::Error> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"SELECT w.name AS workspace_name, i.email, i.role AS "role: WorkspaceRole",
                  i.anyone_with_link, u.email AS "invited_by_email?",
                  i.accepted_at IS NOT NULL AS "accepted!", i.revoked_at IS NOT NULL AS "revoked!",
                  i.expires_at <= now() AS "expired!"
           FROM workspace_invitations i JOIN workspaces w ON w.id = i.workspace_id
           LEFT JOIN users u ON u.id = i.invited_by
           WHERE i.token_hash = $1"#,
        hash(token),
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| LinkView {
        workspace_name: row.workspace_name,
        email: row.email,
        role: row.role,
        anyone_with_link: row.anyone_with_link,
        invited_by_email: row.invited_by_email,
        state: if row.accepted {
            LinkState::Accepted
        } else if row.revoked {
            LinkState::Revoked
        } else if row.expired {
            LinkState::Expired
        } else {
            LinkState::Open
        },
    }))
}

/// `user`, whose address is `user_email`, accepts the invitation behind `token`: they
/// become a member with its role (or keep the role they have, if they were a member
/// already), and the link is used up.
#[tracing::instrument(skip(pool, token))]
pub async fn accept(
    pool: &PgPool,
    token: &str,
    user: UserId,
    user_email: &str,
) -> Result<Joined, AcceptRefusal> {
    if !looks_like_token(token) {
        return Err(AcceptRefusal::Unknown);
    }
    let mut tx = pool.begin().await?;
    let found = sqlx::query!(
        r#"SELECT i.id, i.workspace_id AS "workspace_id: WorkspaceId", i.email,
                  i.role AS "role: WorkspaceRole", i.anyone_with_link,
                  i.accepted_at IS NOT NULL AS "accepted!", i.revoked_at IS NOT NULL AS "revoked!",
                  i.expires_at <= now() AS "expired!", w.name AS workspace_name
           FROM workspace_invitations i JOIN workspaces w ON w.id = i.workspace_id
           WHERE i.token_hash = $1 FOR UPDATE OF i"#,
        hash(token),
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AcceptRefusal::Unknown)?;
    if found.accepted {
        return Err(AcceptRefusal::Used);
    }
    if found.revoked {
        return Err(AcceptRefusal::Revoked);
    }
    if found.expired {
        return Err(AcceptRefusal::Expired);
    }
    if !found.anyone_with_link && !found.email.eq_ignore_ascii_case(user_email) {
        return Err(AcceptRefusal::OtherAddress {
            invited: found.email,
            signed_in: user_email.to_string(),
        });
    }
    let workspace = found.workspace_id;
    let existing = sqlx::query_scalar!(
        r#"SELECT role AS "role: WorkspaceRole" FROM workspace_members
           WHERE workspace_id = $1 AND user_id = $2"#,
        workspace as WorkspaceId,
        user as UserId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if existing.is_none() {
        if let Err(limit) = billing::check_member_room(&mut tx, workspace, false).await? {
            return Err(AcceptRefusal::Limit(limit));
        }
        sqlx::query!(
            "INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3)",
            workspace as WorkspaceId,
            user as UserId,
            found.role as WorkspaceRole,
        )
        .execute(&mut *tx)
        .await?;
        record(
            &mut *tx,
            workspace,
            None,
            AuditAction::InvitationAccepted,
            Some(user),
            Some(found.role),
            None,
        )
        .await?;
    }
    sqlx::query!(
        "UPDATE workspace_invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1",
        found.id,
        user as UserId,
    )
    .execute(&mut *tx)
    .await?;
    // The invitation went to the address: following it proves the address is theirs.
    if found.email.eq_ignore_ascii_case(user_email) {
        crate::server::email::links::mark_verified(&mut *tx, user, user_email).await?;
    }
    tx.commit().await?;
    Ok(Joined {
        workspace_id: workspace,
        workspace_name: found.workspace_name,
        role: existing.unwrap_or(found.role),
        already_member: existing.is_some(),
    })
}

/// The members and open invitations of `workspace`.
pub async fn members_and_invitations(
    pool: &PgPool,
    workspace: WorkspaceId,
) -> Result<(Vec<members::Member>, Vec<Invitation>), sqlx::Error> {
    Ok((
        members::list(pool, workspace).await?,
        list_open(pool, workspace).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_64_hex_characters_and_nothing_else_is_looked_up() {
        let token = new_token();
        assert!(looks_like_token(&token));
        assert_eq!(path(&token), format!("/invitations/{token}"));
        assert!(!looks_like_token("../../etc/passwd"));
        assert!(!looks_like_token(&"g".repeat(64)));
        assert_ne!(hash(&token), hash(&new_token()));
    }
}
