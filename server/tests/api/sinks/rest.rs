//! Sinks through the REST API and the Alerts page: made, listed and deleted within the
//! workspace, secrets never shown back (nor stored in clear), bad bodies refused naming
//! the field.

use app::domain::TokenScope;
use reqwest::StatusCode;
use serde_json::json;

use super::{Receiver, SECRET_KEY, make_sink};
use crate::helpers::{expect_error, location, spawn_app_with_env};

async fn app() -> crate::helpers::TestApp {
    spawn_app_with_env(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("UPCOUNT_SECRET_KEY", SECRET_KEY.into()),
    ])
    .await
}

#[tokio::test]
async fn sinks_are_made_listed_and_deleted_in_their_workspace_without_showing_secrets() {
    let app = app().await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;

    let influx = make_sink(
        &app,
        &token,
        json!({"kind": "influxdb", "url": "http://127.0.0.1:8086", "database": "up",
               "username": "writer", "password": "hunter2-influx"}),
    )
    .await;
    assert_eq!(
        (
            &influx["kind"],
            &influx["url"],
            &influx["database"],
            &influx["username"]
        ),
        (
            &json!("influxdb"),
            &json!("http://127.0.0.1:8086/"),
            &json!("up"),
            &json!("writer")
        )
    );
    assert_eq!(
        (
            &influx["state"],
            &influx["backlog"],
            &influx["dropped"],
            &influx["trackers"]
        ),
        (&json!("ok"), &json!(0), &json!(0), &json!(null))
    );
    let v2 = make_sink(
        &app,
        &token,
        json!({"kind": "influxdb2", "url": "http://127.0.0.1:8086", "org": "acme",
               "bucket": "up", "token": "tok-secret-v2"}),
    )
    .await;
    let graphite = make_sink(
        &app,
        &token,
        json!({"kind": "graphite", "address": "127.0.0.1:2003"}),
    )
    .await;
    assert_eq!(graphite["prefix"], "upcount");
    let webhook = make_sink(
        &app,
        &token,
        json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook"}),
    )
    .await;
    let secret = webhook["secret"]
        .as_str()
        .expect("the signing secret, once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    for made in [&influx, &v2, &graphite] {
        assert!(made.get("secret").is_none(), "{made}");
    }

    let (status, list) = app.api_get("/api/v1/sinks", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["sinks"].as_array().map(Vec::len), Some(4));
    let text = list.to_string();
    for secret in [
        "hunter2-influx",
        "tok-secret-v2",
        secret,
        "password",
        "\"token\"",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // Stored encrypted: the table holds no secret in clear.
    let stored: Vec<Option<String>> = sqlx::query_scalar("SELECT secret FROM sinks")
        .fetch_all(&app.pool)
        .await
        .expect("the sinks");
    assert_eq!(stored.iter().filter(|secret| secret.is_some()).count(), 3);
    let stored = format!("{stored:?}");
    for secret in ["hunter2-influx", "tok-secret-v2", secret] {
        assert!(!stored.contains(secret));
    }

    // Another workspace sees none of them and cannot touch them.
    let (_, other) = app.member_with_token(TokenScope::Write).await;
    let (_, theirs) = app.api_get("/api/v1/sinks", &other).await;
    assert_eq!(theirs["sinks"], json!([]));
    let id = influx["id"].as_str().expect("an id");
    let (status, _) = app.api_delete(&format!("/api/v1/sinks/{id}"), &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .api_post(&format!("/api/v1/sinks/{id}/test"), &other, json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.api_delete("/api/v1/sinks/not-an-id", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A read-only token reads but does not write.
    let (user, _) = app.member_with_token(TokenScope::Write).await;
    let reader = app.token(&user, TokenScope::Read).await;
    let (status, _) = app
        .api_post(
            "/api/v1/sinks",
            &reader,
            json!({"kind": "webhook", "url": "http://x.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = app.api_delete(&format!("/api/v1/sinks/{id}"), &token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = app.api_get("/api/v1/sinks", &token).await;
    assert_eq!(list["sinks"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn bad_sinks_are_refused_naming_what_is_wrong() {
    let (_, app, _, token, _) = super::tracking_app(vec![]).await;
    let (_, other) = app.member_with_token(TokenScope::Write).await;
    let theirs = app.track(&other, super::LEPTOS).await;
    for (body, needle) in [
        (
            json!({"kind": "kafka", "url": "http://x"}),
            "`kafka` is not a sink kind",
        ),
        (
            json!({"kind": "influxdb", "url": "http://x:8086"}),
            "needs `database`",
        ),
        (
            json!({"kind": "influxdb2", "url": "http://x", "org": "o", "bucket": "b"}),
            "needs `token`",
        ),
        (
            json!({"kind": "graphite", "address": "carbon"}),
            "`address` must be host:port",
        ),
        (
            json!({"kind": "graphite", "address": "c:2003", "url": "http://x"}),
            "takes no `url`",
        ),
        (
            json!({"kind": "webhook", "url": "file:///etc/passwd"}),
            "http or https",
        ),
        (
            json!({"kind": "webhook", "url": "http://x", "colour": "red"}),
            "unknown field `colour`",
        ),
        (
            json!({"kind": "webhook", "url": "http://x", "trackers": ["nope"]}),
            "trackers",
        ),
        (
            json!({"kind": "webhook", "url": "http://x", "trackers": [theirs]}),
            "not in this workspace",
        ),
    ] {
        let (status, answer) = app.api_post("/api/v1/sinks", &token, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body}: {message}");
    }
    let (_, list) = app.api_get("/api/v1/sinks", &token).await;
    assert_eq!(list["sinks"], json!([]));

    // Secrets need the server's key.
    let keyless = spawn_app_with_env(vec![]).await;
    let (_, token) = keyless.member_with_token(TokenScope::Write).await;
    let answer = keyless
        .api_post(
            "/api/v1/sinks",
            &token,
            json!({"kind": "influxdb2", "url": "http://x", "org": "o", "bucket": "b", "token": "t"}),
        )
        .await;
    let body = expect_error(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "UPCOUNT_SECRET_KEY",
    );
    assert_eq!(body["code"], "not_configured");
}

#[tokio::test]
async fn sinks_are_added_tested_and_deleted_from_the_alerts_page() {
    let app = app().await;
    let receiver = Receiver::start().await;
    let user = app.create_user(app::domain::Role::Member).await;
    let browser = app.signed_in(&user).await;

    let response = browser
        .post_form(
            "/alerts/sinks",
            &[
                ("kind", "influxdb"),
                ("url", "http://127.0.0.1:8086"),
                ("database", ""),
                ("password", "pw-form"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/alerts#sinks");
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(html.contains("a influxdb sink needs `database`"), "{html}");
    assert!(
        html.contains("http://127.0.0.1:8086"),
        "what was typed comes back"
    );
    assert!(!html.contains("pw-form"), "but never a password");

    let response = browser
        .post_form(
            "/alerts/sinks",
            &[
                ("kind", "webhook"),
                ("url", &receiver.url),
                ("database", ""),
            ],
        )
        .await;
    assert_eq!(location(&response), "/alerts#sinks");
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(html.contains("Sink added: Webhook"), "{html}");
    assert!(html.contains("whsec_"), "the signing secret, once");
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(!html.contains("whsec_"));
    assert!(
        html.contains(r#"data-testid="sinks""#) && html.contains(&receiver.url),
        "{html}"
    );

    let id: String = sqlx::query_scalar("SELECT id::text FROM sinks")
        .fetch_one(&app.pool)
        .await
        .expect("the sink");
    browser
        .post_form(&format!("/alerts/sinks/{id}/test"), &[])
        .await;
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(html.contains("The sink took a test batch."), "{html}");
    let test = receiver.received();
    assert_eq!(test.len(), 1);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&test[0].body).expect("JSON")["points"],
        json!([])
    );

    receiver.set_down(true);
    browser
        .post_form(&format!("/alerts/sinks/{id}/test"), &[])
        .await;
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(
        html.contains("The test batch was not taken: the sink answered 503"),
        "{html}"
    );

    browser
        .post_form(&format!("/alerts/sinks/{id}/delete"), &[])
        .await;
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(html.contains("Sink deleted."), "{html}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sinks")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(left, 0);
}
