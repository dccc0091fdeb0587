//! `/api/v1/channels`: making, listing, testing and deleting channels, in the caller's
//! workspace only; a webhook's deliveries are signed with the secret shown once.

use app::{domain::TokenScope, server::signature::verify_signature};
use reqwest::StatusCode;
use serde_json::json;

use super::{app_and_receiver, channel, webhook};
use crate::helpers::{expect_error, spawn_app};

#[tokio::test]
async fn a_webhooks_test_alert_is_signed_with_the_secret_shown_once() {
    let (app, token, receiver) = app_and_receiver().await;
    let made = webhook(&app, &token, &receiver, "/hooks/upcount?key=abc").await;
    let secret = made["secret"]
        .as_str()
        .expect("the secret, once")
        .to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    assert_eq!(made["kind"], "webhook");
    // The query (which may hold a key) is not shown again.
    assert_eq!(made["target"], format!("{}/hooks/upcount?…", receiver.base));

    let (status, list) = app.api_get("/api/v1/channels", &token).await;
    assert_eq!(status, 200);
    assert_eq!(list["channels"].as_array().map(Vec::len), Some(1));
    assert!(list["channels"][0].get("secret").is_none(), "{list}");
    assert!(!list.to_string().contains(&secret));

    let id = made["id"].as_str().expect("an id");
    let (status, answer) = app
        .api_post(&format!("/api/v1/channels/{id}/test"), &token, json!({}))
        .await;
    assert_eq!(
        (status, &answer),
        (StatusCode::OK, &json!({ "sent": true }))
    );
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let delivery = &received[0];
    assert_eq!(delivery.path, "/hooks/upcount");
    assert_eq!(
        delivery.header("content-type").as_deref(),
        Some("application/json")
    );
    let signature = delivery.header("upcount-signature");
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        verify_signature(&delivery.body, signature.as_deref(), &secret, now),
        Ok(()),
        "{signature:?}"
    );
    assert!(verify_signature(&delivery.body, signature.as_deref(), "whsec_other", now).is_err());
    let body = delivery.json();
    for field in [
        "event",
        "tracker",
        "metric",
        "value",
        "previous",
        "condition",
        "rule",
        "fired_at",
    ] {
        assert!(body.get(field).is_some(), "{field} in {body}");
    }
    assert_eq!(body["condition"], "test");
}

#[tokio::test]
async fn slack_and_discord_get_a_line_in_their_own_shape() {
    let (app, token, receiver) = app_and_receiver().await;
    let slack = channel(
        &app,
        &token,
        json!({ "kind": "slack", "url": format!("{}/services/T000/B000/SECRETSECRET", receiver.base) }),
    )
    .await;
    let discord = channel(
        &app,
        &token,
        json!({ "kind": "discord", "url": format!("{}/api/webhooks/1/SECRETSECRET", receiver.base) }),
    )
    .await;
    assert!(slack.get("secret").is_none());
    // The URL is the secret: shown only in part.
    assert!(
        !slack["target"]
            .as_str()
            .unwrap_or_default()
            .contains("SECRETSECRET"),
        "{slack}"
    );
    assert!(
        !discord["target"]
            .as_str()
            .unwrap_or_default()
            .contains("SECRETSECRET")
    );
    for made in [&slack, &discord] {
        let id = made["id"].as_str().expect("an id");
        let (status, answer) = app
            .api_post(&format!("/api/v1/channels/{id}/test"), &token, json!({}))
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    let text = received[0].json()["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(text.contains("a test alert"), "{text}");
    assert!(received[0].header("upcount-signature").is_none());
    let content = received[1].json()["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(content, text);
}

#[tokio::test]
async fn bad_channels_are_refused_naming_the_problem() {
    let app = spawn_app().await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    for (body, problem) in [
        (
            json!({ "kind": "sms", "url": "https://x.example.com" }),
            "not a channel kind",
        ),
        (json!({ "kind": "webhook" }), "needs a `url`"),
        (
            json!({ "kind": "webhook", "url": "ftp://files.example.com/x" }),
            "http or https",
        ),
        (
            json!({ "kind": "slack", "url": "hooks.slack.com/services/x" }),
            "is not a URL",
        ),
        (json!({ "kind": "email" }), "needs an `address`"),
        (
            json!({ "kind": "email", "address": "not-an-address" }),
            "name@example.com",
        ),
        (
            json!({ "kind": "webhook", "url": "https://a.example.com", "secret": "x" }),
            "unknown field",
        ),
    ] {
        let answer = app.api_post("/api/v1/channels", &token, body.clone()).await;
        let error = expect_error(answer, StatusCode::UNPROCESSABLE_ENTITY, problem);
        assert_eq!(error["code"], "invalid", "{body}");
    }
    let body = json!({ "kind": "discord", "url": "https://discord.com/api/webhooks/1/x" });
    let (status, _) = app.api_post("/api/v1/channels", &token, body.clone()).await;
    assert_eq!(status, 201);
    let answer = app.api_post("/api/v1/channels", &token, body).await;
    expect_error(answer, StatusCode::CONFLICT, "already has this channel");

    // A read-only token cannot make one.
    let (user, _) = app.member_with_token(TokenScope::Read).await;
    let read_only = app.token(&user, TokenScope::Read).await;
    let (status, _) = app
        .api_post(
            "/api/v1/channels",
            &read_only,
            json!({ "kind": "webhook", "url": "https://a.example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn another_workspaces_channel_is_not_there() {
    let (app, token, receiver) = app_and_receiver().await;
    let made = webhook(&app, &token, &receiver, "/mine").await;
    let id = made["id"].as_str().expect("an id");
    let (_, stranger) = app.member_with_token(TokenScope::Write).await;
    let (status, list) = app.api_get("/api/v1/channels", &stranger).await;
    assert_eq!((status, &list["channels"]), (StatusCode::OK, &json!([])));
    for answer in [
        app.api_post(&format!("/api/v1/channels/{id}/test"), &stranger, json!({}))
            .await,
        app.api_delete(&format!("/api/v1/channels/{id}"), &stranger)
            .await,
        app.api_delete("/api/v1/channels/not-an-id", &token).await,
    ] {
        expect_error(answer, StatusCode::NOT_FOUND, "There is no such channel.");
    }
    assert!(receiver.received().is_empty());
    let (status, _) = app
        .api_delete(&format!("/api/v1/channels/{id}"), &token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = app.api_get("/api/v1/channels", &token).await;
    assert_eq!(list["channels"], json!([]));
}

#[tokio::test]
async fn a_webhook_on_a_private_address_is_refused_when_sent() {
    // The default policy: loopback and private networks are not reachable.
    let app = spawn_app().await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let receiver = super::receiver::Receiver::start().await;
    let made = webhook(&app, &token, &receiver, "/internal").await;
    let id = made["id"].as_str().expect("an id");
    let answer = app
        .api_post(&format!("/api/v1/channels/{id}/test"), &token, json!({}))
        .await;
    let error = expect_error(answer, StatusCode::BAD_GATEWAY, "refused to connect");
    assert_eq!(error["code"], "channel_failed");
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("loopback"),
        "{error}"
    );
    assert!(receiver.received().is_empty());
}
