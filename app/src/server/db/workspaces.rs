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
