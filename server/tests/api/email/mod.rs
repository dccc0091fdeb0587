//! Email: the outbox, sending over SMTP to a real (test) SMTP server, retries,
//! suppressed addresses, logging without a server; sign-up's verification link and
//! password resets; the daily and weekly digests.

use std::time::Duration;

use app::server::email::{self, Message};

use crate::helpers::{SmtpSink, TestApp, spawn_app_with_env};

mod accounts;
mod digests;
mod outbox;

/// The app sending mail to a fresh sink.
async fn spawn_app_with_sink() -> (SmtpSink, TestApp) {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_env(vec![
        ("UPCOUNT_SMTP_URL", sink.url()),
        (
            "UPCOUNT_EMAIL_FROM",
            "Upcount Tests <upcount@example.com>".into(),
        ),
    ])
    .await;
    (sink, app)
}

fn message(to: &str) -> Message {
    email::templates::verify_email(to, "http://127.0.0.1/verify-email?token=abc")
}

/// The state of the only message to `to`, once it is `state`.
async fn wait_for_state(app: &TestApp, to: &str, state: &str) {
    crate::helpers::eventually(
        Duration::from_secs(60),
        &format!("the message to {to} is {state}"),
        || async {
            let current: Option<String> = sqlx::query_scalar(
                "SELECT state FROM email_outbox WHERE to_address = $1 ORDER BY created_at DESC LIMIT 1",
            )
            .bind(to)
            .fetch_optional(&app.pool)
            .await
            .expect("the outbox");
            (current.as_deref() == Some(state)).then_some(())
        },
    )
    .await;
}
