//! Alerts: channels (where alerts go), deliveries (signed, retried, counted against a
//! channel that keeps failing), and the tracker page's rule forms.

mod channels;
mod deliveries;
mod email;
mod kinds;
mod page;
pub mod receiver;
mod rules;
mod silence;
mod tracker_page;

use app::domain::TokenScope;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with_env};
use receiver::Receiver;

/// The app, allowed to reach the loopback receiver (as a customer's endpoint on the
/// Internet would be), and a member's read-write token.
pub async fn app_and_receiver() -> (TestApp, String, Receiver) {
    let app = spawn_app_with_env(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("UPCOUNT_DISPATCH_INTERVAL_MS", "100".into()),
    ])
    .await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    (app, token, Receiver::start().await)
}

/// Makes a channel and returns its JSON (with its secret, for a webhook).
pub async fn channel(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, answer) = app.api_post("/api/v1/channels", token, body).await;
    assert_eq!(status, 201, "{answer}");
    answer["channel"].clone()
}

/// A webhook channel at the receiver's `path`.
pub async fn webhook(app: &TestApp, token: &str, receiver: &Receiver, path: &str) -> Value {
    channel(
        app,
        token,
        json!({ "kind": "webhook", "url": format!("{}{path}", receiver.base) }),
    )
    .await
}
