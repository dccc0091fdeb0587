use sqlx::PgPool;

use crate::domain::{DigestFrequency, UserId, WorkspaceId, WorkspaceRole};
use crate::{
    domain::{Email, Role},
    server::auth::CurrentUser,
};

/// The user with `id` and the workspace they act in: their first.
pub async fn find_current(pool: &PgPool, id: UserId) -> Result<Option<CurrentUser>, sqlx::Error> {
    find_current_in(pool, id, None).await
}

/// The user with `id` acting in `workspace` when they are a member of it, else in their
/// first workspace (the one a removed member's session falls back to).
#[tracing::instrument(skip(pool))]
pub async fn find_current_in(
    pool: &PgPool,
    id: UserId,
    workspace: Option<WorkspaceId>,
) -> Result<Option<CurrentUser>, sqlx::Error> {
    sqlx::query_as!(
        CurrentUser,
        r#"SELECT u.id AS "id: UserId", u.email, u.role AS "role: Role",
                  w.id AS "workspace_id: WorkspaceId",
                  w.name AS workspace_name,
                  m.role AS "workspace_role: WorkspaceRole",
                  u.email_verified_at IS NOT NULL AS "email_verified!",
                  u.digest AS "digest: DigestFrequency"
           FROM users u
           JOIN workspace_members m ON m.user_id = u.id
           JOIN workspaces w ON w.id = m.workspace_id
           WHERE u.id = $1 AND u.suspended_at IS NULL
           ORDER BY m.workspace_id = $2 DESC NULLS LAST, m.created_at, w.id
           LIMIT 1"#,
        id as UserId,
        workspace.map(WorkspaceId::uuid),
    )
    .fetch_optional(pool)
    .await
}

/// The id and password hash of the user with `email`.
#[tracing::instrument(skip(pool, email))]
pub async fn find_credentials(
    pool: &PgPool,
    email: &Email,
) -> Result<Option<(UserId, String)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id AS "id: UserId", password_hash FROM users WHERE email = $1"#,
        email.as_ref(),
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| (row.id, row.password_hash)))
}

/// Creates a user with their personal workspace. `None` when the email is taken.
#[tracing::instrument(skip(pool, email, password_hash))]
pub async fn create(
    pool: &PgPool,
    email: &Email,
    password_hash: &str,
    role: Role,
) -> Result<Option<UserId>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let user_id = sqlx::query_scalar!(
        r#"INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3)
           ON CONFLICT (email) DO NOTHING
           RETURNING id AS "id: UserId""#,
        email.as_ref(),
        password_hash,
        role as Role,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let name = email.as_ref().split('@').next().unwrap_or("My");
    let workspace_id = sqlx::query_scalar!(
        "INSERT INTO workspaces (name) VALUES ($1) RETURNING id",
        format!("{name}'s workspace")
            .chars()
            .take(100)
            .collect::<String>(),
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'owner')",
        workspace_id,
        user_id as UserId,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(user_id))
}

#[tracing::instrument(skip(executor, password_hash))]
pub async fn set_password<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    id: UserId,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        id as UserId,
        password_hash,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Sets how often the user gets the digest email.
#[tracing::instrument(skip(executor))]
pub async fn set_digest<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    id: UserId,
    digest: DigestFrequency,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET digest = $2 WHERE id = $1",
        id as UserId,
        digest as DigestFrequency,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// How often the user gets the digest email; `None` when there is no such user.
#[tracing::instrument(skip(executor))]
pub async fn digest<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    id: UserId,
) -> Result<Option<DigestFrequency>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT digest AS "digest: DigestFrequency" FROM users WHERE id = $1"#,
        id as UserId,
    )
    .fetch_optional(executor)
    .await
}

/// Deletes the user, their sessions and memberships, and every workspace they were the
/// last member of, with everything in it.
#[tracing::instrument(skip(pool))]
pub async fn delete(pool: &PgPool, id: UserId) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    delete_in(&mut tx, id).await?;
    tx.commit().await
}

/// [`delete`] inside the caller's transaction.
pub async fn delete_in(tx: &mut sqlx::PgConnection, id: UserId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM workspaces w
         USING workspace_members m
         WHERE m.workspace_id = w.id AND m.user_id = $1
           AND NOT EXISTS (
               SELECT 1 FROM workspace_members other
               WHERE other.workspace_id = w.id AND other.user_id <> $1
           )",
        id as UserId,
    )
    .execute(&mut *tx)
    .await?;
    // Sessions and memberships go with the user (ON DELETE CASCADE).
    sqlx::query!("DELETE FROM users WHERE id = $1", id as UserId)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The id of the user with `email`, if any.
pub async fn find_id(pool: &PgPool, email: &Email) -> Result<Option<UserId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT id AS "id: UserId" FROM users WHERE email = $1"#,
        email.as_ref()
    )
    .fetch_optional(pool)
    .await
}

/// The password hash of the user with `id`, if they still exist.
pub async fn password_hash(pool: &PgPool, id: UserId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT password_hash FROM users WHERE id = $1",
        id as UserId
    )
    .fetch_optional(pool)
    .await
}

/// Whether the user is suspended.
pub async fn is_suspended(pool: &PgPool, id: UserId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT suspended_at IS NOT NULL AS "suspended!" FROM users WHERE id = $1"#,
        id as UserId,
    )
    .fetch_optional(pool)
    .await
    .map(|suspended| suspended.unwrap_or(false))
}

/// What became of an attempt to sign in to an existing account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    SignedIn,
    SignedUp,
    WrongPassword,
    Suspended,
}

impl SignInOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedIn => "signed_in",
            Self::SignedUp => "signed_up",
            Self::WrongPassword => "wrong_password",
            Self::Suspended => "suspended",
        }
    }
}

/// Deletes sign-in records older than a year (the admin's history of a user goes back
/// that far). Returns how many.
pub async fn delete_old_sign_ins(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!("DELETE FROM sign_ins WHERE at < now() - interval '1 year'")
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected())
}

/// Records an attempt to sign in to the account `id` (or its creation), with the address
/// and browser it came from, for the admin's history of the user.
pub async fn record_sign_in(
    pool: &PgPool,
    id: UserId,
    ip: &str,
    user_agent: Option<&str>,
    outcome: SignInOutcome,
) -> Result<(), sqlx::Error> {
    // A header is the client's to fill: keep a readable amount of it.
    let user_agent = user_agent.map(|agent| agent.chars().take(300).collect::<String>());
    sqlx::query!(
        "INSERT INTO sign_ins (user_id, ip, user_agent, outcome) VALUES ($1, $2, $3, $4)",
        id as UserId,
        ip,
        user_agent,
        outcome.as_str(),
    )
    .execute(pool)
    .await?;
    Ok(())
}
