//! What administrators do, each action with its audit record in the same transaction:
//! suspend and unsuspend users, set a workspace's plan, pause, resume, poll or reset a
//! source, process a Stripe event again. And what the console reads.

mod actions;
mod console;
mod figures;

pub use actions::*;
pub use console::*;
pub use figures::*;

use serde_json::Value;
use sqlx::{PgConnection, Postgres, Transaction};

use crate::{
    domain::UserId,
    server::{auth::CurrentUser, billing},
};

/// Who did it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: UserId,
    pub email: String,
}

impl From<&CurrentUser> for Actor {
    fn from(user: &CurrentUser) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
        }
    }
}

/// Why an admin action was not done.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Writes an audit record.
pub async fn audit(
    connection: &mut PgConnection,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO audit_log (actor_id, actor_email, action, target, detail)
         VALUES ($1, $2, $3, $4, $5)",
        actor.id as UserId,
        &actor.email,
        action,
        target,
        detail,
    )
    .execute(&mut *connection)
    .await?;
    tracing::info!(actor = %actor.email, action, target, "admin action");
    Ok(())
}

/// Writes the audit record of an action done in `transaction`, and commits both.
pub async fn commit_audited(
    mut transaction: Transaction<'_, Postgres>,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Value,
) -> Result<(), sqlx::Error> {
    audit(&mut transaction, actor, action, target, detail).await?;
    transaction.commit().await
}
