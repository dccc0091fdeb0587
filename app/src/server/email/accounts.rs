//! The messages about accounts: the verification link, the password-reset link, and the
//! note to an address someone tried to sign up with. Each makes its link and queues its
//! message in one transaction.

use sqlx::PgPool;

use super::{
    Message,
    links::{self, Purpose},
    queue, templates,
};
use crate::domain::UserId;

/// Queues the link that confirms `email` for `user_id`. `event` names what caused it
/// (`sign-up`, or a fresh id for a "send it again"), for the dedupe key.
pub async fn send_verification(
    pool: &PgPool,
    origin: &str,
    user_id: UserId,
    email: &str,
    event: &str,
) -> Result<(), sqlx::Error> {
    send_link(pool, origin, Purpose::Verify, (user_id, email), event).await
}

/// Queues a link that sets a new password for `user_id`, whose address is `email`.
/// `event` names the request (a fresh id each).
pub async fn send_password_reset(
    pool: &PgPool,
    origin: &str,
    user_id: UserId,
    email: &str,
    event: &str,
) -> Result<(), sqlx::Error> {
    send_link(pool, origin, Purpose::Reset, (user_id, email), event).await
}

/// Issues a link of `purpose` for the account and queues its message, in one transaction.
async fn send_link(
    pool: &PgPool,
    origin: &str,
    purpose: Purpose,
    (user_id, email): (UserId, &str),
    event: &str,
) -> Result<(), sqlx::Error> {
    let (path, template, kind): (_, fn(&str, &str) -> Message, _) = match purpose {
        Purpose::Verify => ("verify-email", templates::verify_email, "verify_email"),
        Purpose::Reset => (
            "reset-password",
            templates::reset_password,
            "reset_password",
        ),
    };
    let mut tx = pool.begin().await?;
    let token = links::issue(&mut *tx, purpose, user_id, email).await?;
    let message = template(email, &format!("{origin}/{path}?token={token}"));
    queue(&mut *tx, &message, &format!("{kind}:{user_id}:{event}")).await?;
    tx.commit().await
}

/// Tells the owner of `email` that someone tried to sign up with it: at most one such
/// message an hour (`hour` names it), however often someone tries.
pub async fn send_sign_up_attempt(
    pool: &PgPool,
    origin: &str,
    user_id: UserId,
    email: &str,
    hour: i64,
) -> Result<(), sqlx::Error> {
    let message = templates::sign_up_attempt(
        email,
        &format!("{origin}/sign-in"),
        &format!("{origin}/forgot-password"),
    );
    queue(pool, &message, &format!("sign_up_attempt:{user_id}:{hour}")).await?;
    Ok(())
}
