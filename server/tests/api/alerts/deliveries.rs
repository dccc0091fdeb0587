//! Deliveries of fired alerts: sent by the workers, retried with backoff after a
//! temporary failure, given up after a permanent one, and a channel that keeps failing is
//! marked so.

use std::time::Duration;

use app::server::alerts::deliveries;
use chrono::Utc;
use serde_json::{Value, json};
use upcount::jobs::deliver_alert::{self, LEASE};

use super::{app_and_receiver, webhook};
use crate::helpers::{TestApp, eventually};

/// An alert event of the token's workspace, with one delivery to each of `channels`.
async fn fire(app: &TestApp, token: &str, channels: &[&str]) -> uuid::Uuid {
    let (_, me) = app.api_get("/api/v1/me", token).await;
    let workspace: uuid::Uuid = me["workspace"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a workspace in {me}"));
    let event: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO alert_events (workspace_id, metric, condition, value, previous, reason)
         VALUES ($1, 'stars', 'above', 20140, 19990, 'stars rose above 20,000 (now 20,140)')
         RETURNING id",
    )
    .bind(workspace)
    .fetch_one(&app.pool)
    .await
    .expect("an event");
    let channels: Vec<uuid::Uuid> = channels
        .iter()
        .map(|id| id.parse().expect("a channel id"))
        .collect();
    sqlx::query(
        "INSERT INTO alert_deliveries (event_id, channel_id) SELECT $1, unnest($2::uuid[])",
    )
    .bind(event)
    .bind(&channels)
    .execute(&app.pool)
    .await
    .expect("deliveries");
    event
}

/// Runs the deliveries that are due, as the job would; the errors they failed with.
async fn run_due(app: &TestApp) -> Vec<Option<String>> {
    let engine = upcount::startup::engine(&app.settings).expect("an engine");
    let claims = deliveries::claim_deliveries(&app.pool, 100, LEASE)
        .await
        .expect("claim");
    let mut outcomes = Vec::new();
    for claim in claims {
        outcomes.push(
            deliver_alert::deliver(&app.pool, &engine, "http://upcount.test", claim)
                .await
                .expect("a delivery runs"),
        );
    }
    outcomes
}

async fn delivery_row(app: &TestApp, event: uuid::Uuid) -> Value {
    let (state, attempts, error, wait): (String, i32, Option<String>, f64) = sqlx::query_as(
        "SELECT state, attempts, last_error,
                extract(epoch FROM next_attempt_at - now())::float8
         FROM alert_deliveries WHERE event_id = $1",
    )
    .bind(event)
    .fetch_one(&app.pool)
    .await
    .expect("a delivery");
    json!({ "state": state, "attempts": attempts, "error": error, "wait_secs": wait })
}

/// Makes the retrying deliveries due now.
async fn make_due(app: &TestApp) {
    sqlx::query("UPDATE alert_deliveries SET next_attempt_at = now() WHERE state = 'retrying'")
        .execute(&app.pool)
        .await
        .expect("due now");
}

#[tokio::test]
async fn workers_deliver_a_fired_alert_signed_with_the_event() {
    let (app, token, receiver) = app_and_receiver().await;
    let made = webhook(&app, &token, &receiver, "/alerts").await;
    let secret = made["secret"].as_str().expect("a secret").to_string();
    let event = fire(&app, &token, &[made["id"].as_str().expect("an id")]).await;
    let workers = app.start_workers();
    eventually(Duration::from_secs(60), "the delivery", || async {
        (receiver.received().len() == 1).then_some(())
    })
    .await;
    let delivery = &receiver.received()[0];
    let body = delivery.json();
    assert_eq!(body["event"], event.to_string());
    assert_eq!(
        (
            &body["metric"],
            &body["value"],
            &body["previous"],
            &body["condition"]
        ),
        (
            &json!("stars"),
            &json!(20140.0),
            &json!(19990.0),
            &json!("above")
        )
    );
    assert!(
        app::server::signature::verify_signature(
            &delivery.body,
            delivery.header("upcount-signature").as_deref(),
            &secret,
            Utc::now().timestamp()
        )
        .is_ok()
    );
    eventually(
        Duration::from_secs(60),
        "the delivery recorded as sent",
        || async { (delivery_row(&app, event).await["state"] == "sent").then_some(()) },
    )
    .await;
    workers.stop().await;
    // Sent once: nothing is due any more.
    assert!(run_due(&app).await.is_empty());
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_temporary_failure_is_retried_with_backoff_and_delivered_once() {
    let (app, token, receiver) = app_and_receiver().await;
    let made = webhook(&app, &token, &receiver, "/flaky").await;
    let event = fire(&app, &token, &[made["id"].as_str().expect("an id")]).await;
    receiver.answer(&[503, 429]);

    assert_eq!(
        run_due(&app).await,
        [Some("the channel answered 503 Service Unavailable".into())]
    );
    let row = delivery_row(&app, event).await;
    assert_eq!(
        (row["state"].as_str(), row["attempts"].as_i64()),
        (Some("retrying"), Some(1))
    );
    let wait = row["wait_secs"].as_f64().unwrap_or_default();
    assert!((50.0..=61.0).contains(&wait), "a minute: {row}");
    // Not due yet: nothing runs.
    assert!(run_due(&app).await.is_empty());

    make_due(&app).await;
    assert_eq!(run_due(&app).await.len(), 1);
    let row = delivery_row(&app, event).await;
    let wait = row["wait_secs"].as_f64().unwrap_or_default();
    assert!((110.0..=121.0).contains(&wait), "two minutes: {row}");

    make_due(&app).await;
    assert_eq!(run_due(&app).await, [None]);
    assert_eq!(delivery_row(&app, event).await["state"], "sent");
    assert_eq!(receiver.received().len(), 3);
    let (_, list) = app.api_get("/api/v1/channels", &token).await;
    assert_eq!(list["channels"][0]["failing_since"], Value::Null);
}

#[tokio::test]
async fn retries_stop_after_a_day_and_permanent_failures_mark_the_channel() {
    let (app, token, receiver) = app_and_receiver().await;
    let made = webhook(&app, &token, &receiver, "/gone").await;
    let id = made["id"].as_str().expect("an id").to_string();

    // A delivery that still fails 24 hours after its event is given up.
    let old = fire(&app, &token, &[&id]).await;
    sqlx::query("UPDATE alert_deliveries SET created_at = now() - interval '23 hours 59 minutes'")
        .execute(&app.pool)
        .await
        .expect("an old delivery");
    receiver.answer(&[500]);
    run_due(&app).await;
    assert_eq!(delivery_row(&app, old).await["state"], "failed");

    // 410 Gone: given up at once. Three in a row mark the channel failing.
    receiver.answer(&[410, 410]);
    for _ in 0..2 {
        let event = fire(&app, &token, &[&id]).await;
        run_due(&app).await;
        let row = delivery_row(&app, event).await;
        assert_eq!(
            (row["state"].as_str(), row["attempts"].as_i64()),
            (Some("failed"), Some(1))
        );
        assert_eq!(row["error"], "the channel answered 410 Gone");
    }
    let (_, list) = app.api_get("/api/v1/channels", &token).await;
    let channel = &list["channels"][0];
    assert!(channel["failing_since"].is_string(), "{channel}");
    assert_eq!(channel["last_error"], "the channel answered 410 Gone");

    // Delivering again clears it.
    let event = fire(&app, &token, &[&id]).await;
    run_due(&app).await;
    assert_eq!(delivery_row(&app, event).await["state"], "sent");
    let (_, list) = app.api_get("/api/v1/channels", &token).await;
    assert_eq!(list["channels"][0]["failing_since"], Value::Null);
}

#[tokio::test]
async fn alert_events_list_their_deliveries_in_their_own_workspace() {
    let (app, token, receiver) = app_and_receiver().await;
    let good = webhook(&app, &token, &receiver, "/good").await;
    let bad = webhook(&app, &token, &receiver, "/bad").await;
    let (good_id, bad_id) = (
        good["id"].as_str().expect("an id"),
        bad["id"].as_str().expect("an id"),
    );
    let event = fire(&app, &token, &[good_id, bad_id]).await;
    // The first delivery claimed is the first queued (the good channel's).
    receiver.answer(&[200, 404]);
    run_due(&app).await;

    let (status, body) = app.api_get("/api/v1/alert-events", &token).await;
    assert_eq!(status, 200, "{body}");
    let events = body["events"].as_array().expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["id"], event.to_string());
    assert_eq!(events[0]["reason"], "stars rose above 20,000 (now 20,140)");
    let deliveries = events[0]["deliveries"].as_array().expect("deliveries");
    let states: Vec<(&str, &str)> = deliveries
        .iter()
        .map(|d| {
            (
                d["channel"].as_str().unwrap_or_default(),
                d["state"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(states.contains(&(good_id, "sent")), "{states:?}");
    assert!(states.contains(&(bad_id, "failed")), "{states:?}");
    let failed = deliveries
        .iter()
        .find(|d| d["state"] == "failed")
        .expect("failed");
    assert_eq!(failed["error"], "the channel answered 404 Not Found");

    let later = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (_, body) = app
        .api_get(
            &format!("/api/v1/alert-events?from={}", later.replace('+', "%2B")),
            &token,
        )
        .await;
    assert_eq!(body["events"], json!([]));
    let (status, _) = app.api_get("/api/v1/alert-events?limit=0", &token).await;
    assert_eq!(status, 422);
    let (_, stranger) = app.member_with_token(app::domain::TokenScope::Read).await;
    let (_, body) = app.api_get("/api/v1/alert-events", &stranger).await;
    assert_eq!(body["events"], json!([]));
}

#[tokio::test]
async fn a_channel_failing_for_an_hour_is_marked_before_any_delivery_is_given_up() {
    let (app, token, receiver) = app_and_receiver().await;
    let made = webhook(&app, &token, &receiver, "/down").await;
    let event = fire(&app, &token, &[made["id"].as_str().expect("an id")]).await;
    receiver.answer(&[500, 500]);

    run_due(&app).await;
    assert_eq!(delivery_row(&app, event).await["state"], "retrying");
    let (_, list) = app.api_get("/api/v1/channels", &token).await;
    assert_eq!(
        list["channels"][0]["failing_since"],
        Value::Null,
        "one failed attempt is not a failing channel"
    );

    // Its failed attempts in a row began over an hour ago: the next one marks it.
    sqlx::query("UPDATE alert_channels SET failing_attempts_since = now() - interval '61 minutes'")
        .execute(&app.pool)
        .await
        .expect("an hour of failures");
    make_due(&app).await;
    run_due(&app).await;
    let row = delivery_row(&app, event).await;
    assert_eq!(row["state"], "retrying", "still retried: {row}");
    let (_, list) = app.api_get("/api/v1/channels", &token).await;
    let channel = &list["channels"][0];
    assert!(channel["failing_since"].is_string(), "{channel}");
    assert_eq!(
        channel["last_error"],
        "the channel answered 500 Internal Server Error"
    );
}
