use crate::domain::{UserId, WorkspaceId, WorkspaceRole};
use sqlx::PgPool;

/// Renames the workspace; `false` when it does not exist.
#[tracing::instrument(skip(pool))]
pub async fn rename(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        "UPDATE workspaces SET name = $2 WHERE id = $1",
        workspace_id as WorkspaceId,
        name,
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// One of a user's workspaces, with their role in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub role: WorkspaceRole,
}

/// Every workspace `user` belongs to, in the order they joined them.
#[tracing::instrument(skip(pool))]
pub async fn memberships(pool: &PgPool, user: UserId) -> Result<Vec<Membership>, sqlx::Error> {
    sqlx::query_as!(
        Membership,
        r#"SELECT w.id AS "workspace_id: WorkspaceId", w.name, m.role AS "role: WorkspaceRole"
           FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id
           WHERE m.user_id = $1
           ORDER BY m.created_at, w.id"#,
        user as UserId,
    )
    .fetch_all(pool)
    .await
}

/// The role of `user` in `workspace`, or `None` when they are not a member.
#[tracing::instrument(skip(pool))]
pub async fn role_of(
    pool: &PgPool,
    workspace: WorkspaceId,
    user: UserId,
) -> Result<Option<WorkspaceRole>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT role AS "role: WorkspaceRole" FROM workspace_members
           WHERE workspace_id = $1 AND user_id = $2"#,
        workspace as WorkspaceId,
        user as UserId,
    )
    .fetch_optional(pool)
    .await
}

/// A new workspace on the Free plan named `name`, owned by `owner`.
#[tracing::instrument(skip(pool))]
pub async fn create_owned(
    pool: &PgPool,
    owner: UserId,
    name: &str,
) -> Result<WorkspaceId, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let workspace = sqlx::query_scalar!(
        r#"INSERT INTO workspaces (name) VALUES ($1) RETURNING id AS "id: WorkspaceId""#,
        name,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'owner')",
        workspace as WorkspaceId,
        owner as UserId,
    )
    .execute(&mut *tx)
    .await?;
    super::members::record(
        &mut *tx,
        workspace,
        Some(owner),
        crate::domain::audit::AuditAction::WorkspaceCreated,
        None,
        Some(WorkspaceRole::Owner),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(workspace)
}

/// Why a workspace was not deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteRefusal {
    #[error(transparent)]
    Refused(#[from] crate::domain::permission::Refusal),
    #[error("Type the workspace's name, {0}, to confirm.")]
    NotConfirmed(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Checks that `actor` may delete `workspace` and typed its name: its name.
pub async fn check_deletion(
    pool: &PgPool,
    workspace: WorkspaceId,
    actor: UserId,
    typed: &str,
) -> Result<String, DeleteRefusal> {
    let row = sqlx::query!(
        r#"SELECT w.name, m.role AS "role: WorkspaceRole"
           FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id
           WHERE w.id = $1 AND m.user_id = $2"#,
        workspace as WorkspaceId,
        actor as UserId,
    )
    .fetch_one(pool)
    .await?;
    crate::domain::permission::check(row.role, crate::domain::Action::DeleteWorkspace)?;
    if typed.trim() != row.name {
        return Err(DeleteRefusal::NotConfirmed(row.name));
    }
    Ok(row.name)
}

/// Deletes `workspace` with its trackers, alerts, tokens, invitations and memberships (the
/// caller ended its billing first). A member left with no workspace gets a new one of
/// their own, so that nobody is locked out by someone else's deletion.
#[tracing::instrument(skip(pool))]
pub async fn delete(pool: &PgPool, workspace: WorkspaceId) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let stranded = sqlx::query_scalar!(
        r#"SELECT m.user_id AS "user_id: UserId" FROM workspace_members m
           WHERE m.workspace_id = $1
             AND NOT EXISTS (SELECT 1 FROM workspace_members other
                             WHERE other.user_id = m.user_id AND other.workspace_id <> $1)"#,
        workspace as WorkspaceId,
    )
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM workspaces WHERE id = $1",
        workspace as WorkspaceId
    )
    .execute(&mut *tx)
    .await?;
    for user in stranded {
        let own = sqlx::query_scalar!(
            r#"INSERT INTO workspaces (name) VALUES ('My workspace') RETURNING id AS "id: WorkspaceId""#,
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'owner')",
            own as WorkspaceId,
            user as UserId,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The workspaces `user` is the only owner of while others are members too: deleting
/// their account would leave those without an owner.
pub async fn solely_owned_with_others(
    pool: &PgPool,
    user: UserId,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT w.name FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id
           WHERE m.user_id = $1 AND m.role = 'owner'
             AND NOT EXISTS (SELECT 1 FROM workspace_members o WHERE o.workspace_id = w.id
                             AND o.user_id <> $1 AND o.role = 'owner')
             AND EXISTS (SELECT 1 FROM workspace_members o WHERE o.workspace_id = w.id
                         AND o.user_id <> $1)
           ORDER BY w.name"#,
        user as UserId,
    )
    .fetch_all(pool)
    .await
}
