//! A workspace's members: listing them, changing a role, removing one, leaving, and the
//! audit trail each change writes. Every change runs in one transaction that locks the
//! workspace's member rows first, so two owners demoting each other at once cannot leave
//! the workspace without one; the rules are [`crate::domain::permission`]'s, applied to
//! the roles as they are inside that transaction (not as a session remembered them).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use crate::domain::{
    UserId, WorkspaceId, WorkspaceRole,
    audit::AuditAction,
    permission::{self, Refusal},
};

/// A member as the members list shows them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Member {
    #[cfg_attr(feature = "ssr", schema(value_type = uuid::Uuid))]
    pub user_id: UserId,
    pub email: String,
    pub role: WorkspaceRole,
    pub joined_at: DateTime<Utc>,
}

/// Why a change of members was not made.
#[derive(Debug, thiserror::Error)]
pub enum MemberRefusal {
    #[error("There is no such member in this workspace.")]
    NotFound,
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The members of `workspace`, owners first, then by when they joined.
#[tracing::instrument(skip(pool))]
pub async fn list(pool: &PgPool, workspace: WorkspaceId) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as!(
        Member,
        r#"SELECT u.id AS "user_id: UserId", u.email, m.role AS "role: WorkspaceRole",
                  m.created_at AS joined_at
           FROM workspace_members m JOIN users u ON u.id = m.user_id
           WHERE m.workspace_id = $1
           ORDER BY m.role, m.created_at, u.id"#,
        workspace as WorkspaceId,
    )
    .fetch_all(pool)
    .await
}

/// The workspace's members locked for this transaction.
async fn lock_members(
    tx: &mut Transaction<'_, Postgres>,
    workspace: WorkspaceId,
) -> Result<Vec<(UserId, WorkspaceRole)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT user_id AS "user_id: UserId", role AS "role: WorkspaceRole"
           FROM workspace_members WHERE workspace_id = $1
           ORDER BY user_id FOR UPDATE"#,
        workspace as WorkspaceId,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.user_id, row.role))
        .collect())
}

/// Sets `user`'s role in `workspace`, in this transaction.
async fn update_role(
    tx: &mut Transaction<'_, Postgres>,
    workspace: WorkspaceId,
    user: UserId,
    role: WorkspaceRole,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE workspace_members SET role = $3 WHERE workspace_id = $1 AND user_id = $2",
        workspace as WorkspaceId,
        user as UserId,
        role as WorkspaceRole,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `user` as a member of `workspace`, read in this transaction.
async fn member_in(
    tx: &mut Transaction<'_, Postgres>,
    workspace: WorkspaceId,
    user: UserId,
) -> Result<Member, sqlx::Error> {
    sqlx::query_as!(
        Member,
        r#"SELECT u.id AS "user_id: UserId", u.email, m.role AS "role: WorkspaceRole",
                  m.created_at AS joined_at
           FROM workspace_members m JOIN users u ON u.id = m.user_id
           WHERE m.workspace_id = $1 AND m.user_id = $2"#,
        workspace as WorkspaceId,
        user as UserId,
    )
    .fetch_one(&mut **tx)
    .await
}

fn role_in(members: &[(UserId, WorkspaceRole)], user: UserId) -> Option<WorkspaceRole> {
    members
        .iter()
        .find(|(id, _)| *id == user)
        .map(|(_, role)| *role)
}

fn owners(members: &[(UserId, WorkspaceRole)]) -> usize {
    members
        .iter()
        .filter(|(_, role)| *role == WorkspaceRole::Owner)
        .count()
}

/// One entry of the audit trail, in the change's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn record<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    workspace: WorkspaceId,
    actor: Option<UserId>,
    action: AuditAction,
    subject: Option<UserId>,
    role: Option<WorkspaceRole>,
    previous: Option<WorkspaceRole>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO workspace_audit
               (workspace_id, actor_id, actor_email, action, subject_id, subject_email,
                role, previous_role)
           VALUES ($1, $2, (SELECT email FROM users WHERE id = $2), $3, $4,
                   (SELECT email FROM users WHERE id = $4), $5, $6)"#,
        workspace as WorkspaceId,
        actor.map(|user| user.0),
        action as AuditAction,
        subject.map(|user| user.0),
        role as Option<WorkspaceRole>,
        previous as Option<WorkspaceRole>,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// One entry of the audit trail about an address rather than a user (an invitation).
pub async fn record_address<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    workspace: WorkspaceId,
    actor: UserId,
    action: AuditAction,
    email: &str,
    role: WorkspaceRole,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO workspace_audit
               (workspace_id, actor_id, actor_email, action, subject_email, role)
           VALUES ($1, $2, (SELECT email FROM users WHERE id = $2), $3, $4, $5)"#,
        workspace as WorkspaceId,
        actor as UserId,
        action as AuditAction,
        email,
        role as WorkspaceRole,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// `actor`, an owner, hands `workspace` to `target`, who becomes an owner while `actor`
/// becomes an admin: one change, so the workspace is never without an owner.
#[tracing::instrument(skip(pool))]
pub async fn transfer_ownership(
    pool: &PgPool,
    workspace: WorkspaceId,
    actor: UserId,
    target: UserId,
) -> Result<Member, MemberRefusal> {
    let mut tx = pool.begin().await?;
    let members = lock_members(&mut tx, workspace).await?;
    let actor_role = role_in(&members, actor).ok_or(MemberRefusal::NotFound)?;
    permission::check(actor_role, crate::domain::Action::TransferOwnership)?;
    let current = role_in(&members, target).ok_or(MemberRefusal::NotFound)?;
    if target == actor {
        return Err(Refusal::TransferToSelf.into());
    }
    update_role(&mut tx, workspace, target, WorkspaceRole::Owner).await?;
    update_role(&mut tx, workspace, actor, WorkspaceRole::Admin).await?;
    record(
        &mut *tx,
        workspace,
        Some(actor),
        AuditAction::OwnershipTransferred,
        Some(target),
        Some(WorkspaceRole::Owner),
        Some(current),
    )
    .await?;
    let member = member_in(&mut tx, workspace, target).await?;
    tx.commit().await?;
    Ok(member)
}

/// `actor` gives `target` the role `role` in `workspace`.
#[tracing::instrument(skip(pool))]
pub async fn set_role(
    pool: &PgPool,
    workspace: WorkspaceId,
    actor: UserId,
    target: UserId,
    role: WorkspaceRole,
) -> Result<Member, MemberRefusal> {
    let mut tx = pool.begin().await?;
    let members = lock_members(&mut tx, workspace).await?;
    let actor_role = role_in(&members, actor).ok_or(MemberRefusal::NotFound)?;
    let current = role_in(&members, target).ok_or(MemberRefusal::NotFound)?;
    permission::may_set_role(actor_role, Some(current), role, owners(&members))?;
    if current != role {
        update_role(&mut tx, workspace, target, role).await?;
        record(
            &mut *tx,
            workspace,
            Some(actor),
            AuditAction::RoleChanged,
            Some(target),
            Some(role),
            Some(current),
        )
        .await?;
    }
    let member = member_in(&mut tx, workspace, target).await?;
    tx.commit().await?;
    Ok(member)
}

/// `actor` removes `target` from `workspace` (themselves: they leave). Their sessions in
/// it fall back to another workspace at their next request, and the tokens they made
/// there stop (see `db::tokens::authenticate`).
#[tracing::instrument(skip(pool))]
pub async fn remove(
    pool: &PgPool,
    workspace: WorkspaceId,
    actor: UserId,
    target: UserId,
) -> Result<(), MemberRefusal> {
    let mut tx = pool.begin().await?;
    let members = lock_members(&mut tx, workspace).await?;
    let actor_role = role_in(&members, actor).ok_or(MemberRefusal::NotFound)?;
    let target_role = role_in(&members, target).ok_or(MemberRefusal::NotFound)?;
    let action = if actor == target {
        permission::may_leave(target_role, owners(&members))?;
        AuditAction::MemberLeft
    } else {
        permission::may_remove(actor_role, target_role, owners(&members))?;
        AuditAction::MemberRemoved
    };
    // Recorded first, while the subject's email can still be read through the membership.
    record(
        &mut *tx,
        workspace,
        Some(actor),
        action,
        Some(target),
        None,
        Some(target_role),
    )
    .await?;
    sqlx::query!(
        "DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2",
        workspace as WorkspaceId,
        target as UserId,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An entry of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub action: AuditAction,
    pub actor_email: Option<String>,
    pub subject_email: Option<String>,
    pub role: Option<WorkspaceRole>,
    pub previous_role: Option<WorkspaceRole>,
    /// The entry in words.
    pub summary: String,
}

/// The newest `limit` entries of `workspace`'s audit trail, newest first.
#[tracing::instrument(skip(pool))]
pub async fn audit(
    pool: &PgPool,
    workspace: WorkspaceId,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT at, action AS "action: AuditAction", actor_email, subject_email,
                  role AS "role: WorkspaceRole", previous_role AS "previous_role: WorkspaceRole"
           FROM workspace_audit WHERE workspace_id = $1
           ORDER BY at DESC, id DESC LIMIT $2"#,
        workspace as WorkspaceId,
        limit,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let someone = "someone (deleted)";
            let summary = row.action.describe(
                row.actor_email.as_deref().unwrap_or(someone),
                row.subject_email.as_deref().unwrap_or(someone),
                row.role,
                row.previous_role,
            );
            AuditEntry {
                at: row.at,
                action: row.action,
                actor_email: row.actor_email,
                subject_email: row.subject_email,
                role: row.role,
                previous_role: row.previous_role,
                summary,
            }
        })
        .collect())
}
