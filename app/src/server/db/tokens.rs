use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{TokenName, TokenScope, UserId, WorkspaceId, WorkspaceRole};
use crate::server::tokens::NewToken;

/// A token as listed on the account page (never the token itself).
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub scope: TokenScope,
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCaller {
    pub token_id: Uuid,
    pub token_name: String,
    pub scope: TokenScope,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    /// The user who made the token (`None` once they are deleted).
    pub created_by: Option<UserId>,
    /// What the token may do beyond its scope: its maker's role in the workspace (a token
    /// whose maker is gone acts as an editor).
    pub role: WorkspaceRole,
}

/// Stores `token` (its hash and display prefix; never the token itself).
#[tracing::instrument(skip(pool, token))]
pub async fn create(
    pool: impl sqlx::PgExecutor<'_>,
    workspace_id: WorkspaceId,
    created_by: UserId,
    name: &TokenName,
    scope: TokenScope,
    token: &NewToken,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO api_tokens (workspace_id, created_by, name, scope, token_hash, token_prefix)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id",
        workspace_id as WorkspaceId,
        created_by as UserId,
        name.as_ref(),
        scope as TokenScope,
        &token.hash,
        &token.display_prefix,
    )
    .fetch_one(pool)
    .await
}

#[tracing::instrument(skip(pool))]
pub async fn list(pool: &PgPool, workspace_id: WorkspaceId) -> Result<Vec<TokenRow>, sqlx::Error> {
    sqlx::query_as!(
        TokenRow,
        r#"SELECT id, name, scope AS "scope: TokenScope", token_prefix, created_at, last_used_at
           FROM api_tokens WHERE workspace_id = $1 ORDER BY created_at DESC, id"#,
        workspace_id as WorkspaceId,
    )
    .fetch_all(pool)
    .await
}

/// Deletes the token if it belongs to `workspace_id` (and, given `only_of`, was made by that
/// user); `false` when there is no such token.
#[tracing::instrument(skip(pool))]
pub async fn revoke(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    token_id: Uuid,
    only_of: Option<UserId>,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM api_tokens
         WHERE id = $1 AND workspace_id = $2 AND ($3::uuid IS NULL OR created_by = $3)",
        token_id,
        workspace_id as WorkspaceId,
        only_of.map(|user| user.0),
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(deleted == 1)
}

/// Finds the token with this hash and records that it was used (at most once a minute,
/// to spare the database a write per request).
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    pool: &PgPool,
    token_hash: &[u8],
) -> Result<Option<TokenCaller>, sqlx::Error> {
    struct Found {
        token_id: Uuid,
        token_name: String,
        scope: TokenScope,
        workspace_id: WorkspaceId,
        workspace_name: String,
        last_used_at: Option<DateTime<Utc>>,
        created_by: Option<UserId>,
        role: Option<WorkspaceRole>,
    }
    let found = sqlx::query_as!(
        Found,
        r#"SELECT t.id AS token_id, t.name AS token_name, t.scope AS "scope: TokenScope",
                  w.id AS workspace_id, w.name AS workspace_name, t.last_used_at,
                  t.created_by AS "created_by: UserId",
                  m.role AS "role: WorkspaceRole"
           FROM api_tokens t JOIN workspaces w ON w.id = t.workspace_id
           LEFT JOIN workspace_members m
             ON m.workspace_id = t.workspace_id AND m.user_id = t.created_by
           WHERE t.token_hash = $1 AND w.suspended_at IS NULL
             -- A token stops when its maker leaves or is removed from the workspace.
             AND (t.created_by IS NULL OR m.user_id IS NOT NULL)
             AND NOT EXISTS (SELECT 1 FROM users u
                             WHERE u.id = t.created_by AND u.suspended_at IS NOT NULL)"#,
        token_hash,
    )
    .fetch_optional(pool)
    .await?;
    let Some(Found {
        token_id,
        token_name,
        scope,
        workspace_id,
        workspace_name,
        last_used_at,
        created_by,
        role,
    }) = found
    else {
        return Ok(None);
    };
    if last_used_at.is_none_or(|at| Utc::now() - at > chrono::Duration::minutes(1)) {
        sqlx::query!(
            "UPDATE api_tokens SET last_used_at = now() WHERE id = $1",
            token_id,
        )
        .execute(pool)
        .await?;
    }
    Ok(Some(TokenCaller {
        token_id,
        token_name,
        scope,
        workspace_id,
        workspace_name,
        created_by,
        role: role.unwrap_or(WorkspaceRole::Editor),
    }))
}
