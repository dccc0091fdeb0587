//! Email channels: alerts and tests go through the outbox to a real SMTP server, and a
//! channel that keeps failing is told to the workspace's owner once.

use std::time::Duration;

use app::domain::{Role, TokenScope};
use serde_json::json;

use super::{receiver::Receiver, webhook};
use crate::{
    helpers::{SmtpSink, TestApp, eventually, spawn_app_with_standin},
    polling::poll_now,
    standin::StandIn,
};

async fn setup() -> (StandIn, TestApp, SmtpSink, Receiver) {
    let sink = SmtpSink::start().await;
    let (standin, app) = spawn_app_with_standin(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("UPCOUNT_SMTP_URL", sink.url()),
        (
            "UPCOUNT_EMAIL_FROM",
            "Upcount Tests <upcount@example.com>".into(),
        ),
    ])
    .await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    app.history_loaded().await;
    (standin, app, sink, Receiver::start().await)
}

#[tokio::test]
async fn an_email_channel_gets_its_test_and_the_alert_with_a_link_to_the_chart() {
    let (standin, app, sink, _) = setup().await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let tracker = app
        .track(&token, "https://github.com/leptos-rs/leptos")
        .await;
    // Unconfirmed: only their own address.
    let answer = app
        .api_post(
            "/api/v1/channels",
            &token,
            json!({ "kind": "email", "address": "alerts@example.com" }),
        )
        .await;
    let refused = crate::helpers::expect_error(
        answer,
        reqwest::StatusCode::FORBIDDEN,
        "Confirm your own email address first",
    );
    assert_eq!(refused["code"], "unverified");
    super::channel(
        &app,
        &token,
        json!({ "kind": "email", "address": user.email }),
    )
    .await;
    sqlx::query("UPDATE users SET email_verified_at = now() WHERE id = $1")
        .bind(user.id.uuid())
        .execute(&app.pool)
        .await
        .expect("confirmed");
    // Confirmed: still never a stranger's address (a test button would mail anyone).
    let answer = app
        .api_post(
            "/api/v1/channels",
            &token,
            json!({ "kind": "email", "address": "alerts@example.com" }),
        )
        .await;
    let refused = crate::helpers::expect_error(
        answer,
        reqwest::StatusCode::FORBIDDEN,
        "confirmed addresses of this workspace's members",
    );
    assert_eq!(refused["code"], "not_a_member");
    // A member's confirmed address is fine.
    let colleague = app.create_user(Role::Member).await;
    sqlx::query(
        "UPDATE users SET email = 'alerts@example.com', email_verified_at = now() WHERE id = $1",
    )
    .bind(colleague.id.uuid())
    .execute(&app.pool)
    .await
    .expect("a colleague");
    sqlx::query(
        "INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'viewer')",
    )
    .bind(app.workspace_of(&user).await.uuid())
    .bind(colleague.id.uuid())
    .execute(&app.pool)
    .await
    .expect("a member");
    let channel = super::channel(
        &app,
        &token,
        json!({ "kind": "email", "address": "Alerts@Example.com" }),
    )
    .await;
    let workers = app.start_workers();

    let id = channel["id"].as_str().expect("an id");
    let (status, body) = app
        .api_post(&format!("/api/v1/channels/{id}/test"), &token, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let test = sink.wait_for("alerts@example.com", 1).await;
    assert!(
        test[0].subject().contains("a test alert"),
        "{}",
        test[0].subject()
    );

    let (status, body) = app
        .api_post(
            &format!("/api/v1/trackers/{tracker}/alerts"),
            &token,
            json!({ "metric": "stars", "condition": "milestone", "every": 1000, "channels": [id] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    poll_now(&app).await;
    standin.set_github_repo("leptos-rs/leptos", 20_010);
    poll_now(&app).await;
    let delivered = sink.wait_for("alerts@example.com", 2).await;
    let alert = &delivered[1];
    assert!(alert.subject().contains("20,000"), "{}", alert.subject());
    assert!(
        alert.text().contains(&format!("/trackers/{tracker}")),
        "{}",
        alert.text()
    );
    assert!(alert.html().contains("See the chart"));
    workers.stop().await;
    // Delivered once: the delivery is sent, the outbox holds one alert for it.
    let alerts: i64 = sqlx::query_scalar("SELECT count(*) FROM email_outbox WHERE kind = 'alert'")
        .fetch_one(&app.pool)
        .await
        .expect("the outbox");
    assert_eq!(alerts, 2, "the test and the alert");
    assert_eq!(sink.messages_to("alerts@example.com").len(), 2);
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM alert_deliveries ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .expect("deliveries");
    assert_eq!(states, ["sent"], "sent once the mail server took it");
}

#[tokio::test]
async fn an_email_delivery_is_sent_only_when_the_mail_server_takes_it() {
    let (standin, app, sink, _) = setup().await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let tracker = app
        .track(&token, "https://github.com/leptos-rs/leptos")
        .await;
    let channel = super::channel(
        &app,
        &token,
        json!({ "kind": "email", "address": user.email }),
    )
    .await;
    let id = channel["id"].as_str().expect("an id");
    let (status, body) = app
        .api_post(
            &format!("/api/v1/trackers/{tracker}/alerts"),
            &token,
            json!({ "metric": "stars", "condition": "milestone", "every": 1000,
                    "cooldown_secs": 0, "channels": [id] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // The mail server refuses the address for good.
    sink.refuse(&user.email);
    let workers = app.start_workers();
    poll_now(&app).await;
    standin.set_github_repo("leptos-rs/leptos", 20_010);
    poll_now(&app).await;
    let delivery = eventually(
        Duration::from_secs(60),
        "the delivery's outcome from the mail server",
        || async {
            let row: Option<(String, Option<String>)> = sqlx::query_as(
                "SELECT state, last_error FROM alert_deliveries WHERE state = 'failed'",
            )
            .fetch_optional(&app.pool)
            .await
            .expect("deliveries");
            row
        },
    )
    .await;
    workers.stop().await;
    let error = delivery.1.unwrap_or_default();
    assert!(error.contains("550"), "{error}");
    // The channel shows it, and counts it against the channel.
    let (_, list) = app.api_get("/api/v1/channels", &token).await;
    let shown = &list["channels"][0];
    assert!(
        shown["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("550"),
        "{shown}"
    );
    assert!(
        shown["suppressed"]
            .as_str()
            .unwrap_or_default()
            .contains("550"),
        "the address refuses mail: {shown}"
    );
    let html = app.signed_in(&user).await.html("/alerts").await;
    assert!(html.contains("refuses mail"), "{html}");
}

#[tokio::test]
async fn a_channel_that_keeps_failing_is_told_to_the_owner_once() {
    let (standin, app, sink, receiver) = setup().await;
    let owner = app.create_user(Role::Member).await;
    let token = app.token(&owner, TokenScope::Write).await;
    let tracker = app
        .track(&token, "https://github.com/leptos-rs/leptos")
        .await;
    let hook = webhook(&app, &token, &receiver, "/dead").await;
    let (status, _) = app
        .api_post(
            &format!("/api/v1/trackers/{tracker}/alerts"),
            &token,
            json!({ "metric": "stars", "condition": "milestone", "every": 100,
                    "cooldown_secs": 0, "channels": [hook["id"]] }),
        )
        .await;
    assert_eq!(status, 201);
    receiver.answer(&[410; 5]);
    let workers = app.start_workers();
    poll_now(&app).await;
    for stars in [19_100, 19_200, 19_300, 19_400] {
        standin.set_github_repo("leptos-rs/leptos", stars);
        poll_now(&app).await;
    }
    let told = sink.wait_for(&owner.email, 1).await;
    assert!(
        told[0].subject().contains("keeps failing"),
        "{}",
        told[0].subject()
    );
    assert!(told[0].text().contains("410 Gone"), "{}", told[0].text());
    tokio::time::sleep(Duration::from_secs(2)).await;
    workers.stop().await;
    assert_eq!(
        sink.messages_to(&owner.email).len(),
        1,
        "once per failing spell"
    );
}
