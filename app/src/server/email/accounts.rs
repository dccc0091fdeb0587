//! The messages about accounts: the verification link, the password-reset link, and the
//! note to an address someone tried to sign up with. Each makes its link and queues its
//! message in one transaction.

use sqlx::PgPool;

use super::{
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
    let mut tx = pool.begin().await?;
    let token = links::issue(&mut *tx, Purpose::Verify, user_id, email).await?;
    let link = format!("{origin}/verify-email?token={token}");
    let message = templates::verify_email(email, &link);
    queue(
        &mut *tx,
        &message,
        &format!("verify_email:{user_id}:{event}"),
    )
    .await?;
    tx.commit().await
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
    let mut tx = pool.begin().await?;
    let token = links::issue(&mut *tx, Purpose::Reset, user_id, email).await?;
    let link = format!("{origin}/reset-password?token={token}");
    let message = templates::reset_password(email, &link);
    queue(
        &mut *tx,
        &message,
        &format!("reset_password:{user_id}:{event}"),
    )
    .await?;
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
