use crate::domain::WorkspaceId;
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
