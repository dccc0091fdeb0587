//! The single-use links sent by email: a random 32-byte token (64 hex characters) in the
//! link, its SHA-256 in `email_tokens`, a purpose, an expiry, and `used_at` once it was
//! used. Redeeming is one statement, so a link works once however many tabs open it.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool};

use crate::domain::UserId;

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Purpose {
    /// Confirms the address of an account (24 hours).
    Verify,
    /// Sets a new password (1 hour).
    Reset,
}

impl Purpose {
    /// How long a link works.
    pub fn validity(self) -> Duration {
        match self {
            Purpose::Verify => Duration::from_secs(24 * 3_600),
            Purpose::Reset => Duration::from_secs(3_600),
        }
    }
}

/// The user and address a link was made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redeemed {
    pub user_id: UserId,
    pub email: String,
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

/// Whether `token` looks like one of ours at all (a cheap check before a lookup).
pub fn looks_like_token(token: &str) -> bool {
    let token = token.trim();
    token.len() == 64 && token.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Makes a link token for `user_id` and `email`, valid for [`Purpose::validity`]: the
/// token, to put in the link (only its hash is stored).
pub async fn issue<'e, E: PgExecutor<'e>>(
    executor: E,
    purpose: Purpose,
    user_id: UserId,
    email: &str,
) -> Result<String, sqlx::Error> {
    let bytes: [u8; 32] = rand::random();
    let token = hex::encode(bytes);
    let valid_secs = purpose.validity().as_secs_f64();
    sqlx::query!(
        "INSERT INTO email_tokens (token_hash, purpose, user_id, email, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        hash(&token),
        purpose as Purpose,
        user_id as UserId,
        email,
        valid_secs,
    )
    .execute(executor)
    .await?;
    Ok(token)
}

/// Whether `token` is a `purpose` link that still works (unused, unexpired, its user's
/// address unchanged), without using it: what the page behind the link shows.
pub async fn check(
    pool: &PgPool,
    purpose: Purpose,
    token: &str,
) -> Result<Option<Redeemed>, sqlx::Error> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"SELECT t.user_id AS "user_id: UserId", t.email
           FROM email_tokens t JOIN users u ON u.id = t.user_id AND u.email = t.email
           WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL
             AND t.expires_at > now()"#,
        hash(token),
        purpose as Purpose,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| Redeemed {
        user_id: row.user_id,
        email: row.email,
    }))
}

/// Uses `token` if it is a working `purpose` link: its user and address, or `None` when
/// it is unknown, expired, used, or its user's address changed since.
pub async fn redeem<'e, E: PgExecutor<'e>>(
    executor: E,
    purpose: Purpose,
    token: &str,
) -> Result<Option<Redeemed>, sqlx::Error> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"UPDATE email_tokens t SET used_at = now()
           FROM users u
           WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL
             AND t.expires_at > now() AND u.id = t.user_id AND u.email = t.email
           RETURNING t.user_id AS "user_id: UserId", t.email"#,
        hash(token),
        purpose as Purpose,
    )
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|row| Redeemed {
        user_id: row.user_id,
        email: row.email,
    }))
}

/// Marks `user_id`'s address `email` confirmed (unless it changed meanwhile); whether it
/// was.
pub async fn mark_verified<'e, E: PgExecutor<'e>>(
    executor: E,
    user_id: UserId,
    email: &str,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        "UPDATE users SET email_verified_at = coalesce(email_verified_at, now())
         WHERE id = $1 AND email = $2",
        user_id as UserId,
        email,
    )
    .execute(executor)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Deletes links that expired more than a day ago.
pub async fn delete_expired(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("DELETE FROM email_tokens WHERE expires_at < now() - interval '1 day'")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_64_hex_characters_look_like_a_token() {
        assert!(looks_like_token(&"ab".repeat(32)));
        assert!(!looks_like_token(&"ab".repeat(31)));
        assert!(!looks_like_token(&"zz".repeat(32)));
        assert!(!looks_like_token(""));
    }
}
