//! `no_data` and `gone` rules, judged on the clock: a source that stops answering fires
//! `no_data` once past its duration, re-armed by a successful poll; a source that went
//! away upstream fires `gone` once, through the `check_silence` job, and both are
//! delivered like any alert.

use std::time::Duration;

use app::{domain::TokenScope, server::alerts::silence};
use chrono::{TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::json;
use upcount::jobs::{CheckSilence, enqueue};

use super::{receiver::Receiver, webhook};
use crate::{
    helpers::{TestApp, eventually, spawn_app_with_standin},
    polling::poll_now,
};

const LEPTOS: &str = "https://github.com/leptos-rs/leptos";

/// The events of `condition`, oldest first: their reasons.
async fn fired(app: &TestApp, condition: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT reason FROM alert_events WHERE condition = $1 ORDER BY fired_at, id")
        .bind(condition)
        .fetch_all(&app.pool)
        .await
        .expect("events")
}

async fn check_at(app: &TestApp, at: chrono::DateTime<Utc>) -> usize {
    silence::check(&app.pool, at).await.expect("check").fired
}

#[tokio::test]
async fn a_silent_source_fires_no_data_once_and_a_vanished_one_fires_gone() {
    // The test moves the clock itself: the scheduler's own runs (on the real clock) wait
    // an hour, and `check_silence` runs when the test enqueues it.
    let (standin, app) = spawn_app_with_standin(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("UPCOUNT_SCHEDULER_TICK_SECS", "3600".into()),
    ])
    .await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    app.history_loaded().await;
    let receiver = Receiver::start().await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let tracker = app.track(&token, LEPTOS).await;
    let channel = webhook(&app, &token, &receiver, "/silence").await;
    for body in [
        json!({ "metric": "stars", "condition": "no_data", "duration_secs": 600,
                "cooldown_secs": 0, "channels": [channel["id"]] }),
        json!({ "metric": "stars", "condition": "gone", "channels": [channel["id"]] }),
    ] {
        let (status, made) = app
            .api_post(&format!("/api/v1/trackers/{tracker}/alerts"), &token, body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
    }
    let workers = app.start_workers();
    poll_now(&app).await;

    // Polled a moment ago: quiet. Ten minutes without a poll is not yet "for 600 s".
    let polled = Utc::now();
    assert_eq!(check_at(&app, polled).await, 0);
    assert_eq!(check_at(&app, polled + TimeDelta::seconds(590)).await, 0);
    // Past it: once, and not again while it stays silent.
    assert_eq!(check_at(&app, polled + TimeDelta::minutes(11)).await, 1);
    assert_eq!(check_at(&app, polled + TimeDelta::minutes(30)).await, 0);
    let reasons = fired(&app, "no_data").await;
    assert_eq!(reasons.len(), 1);
    assert!(
        reasons[0].starts_with("no successful poll of stars for"),
        "{reasons:?}"
    );

    // A successful poll re-arms it; the next silence fires again.
    poll_now(&app).await;
    let polled = Utc::now();
    assert_eq!(check_at(&app, polled).await, 0);
    assert_eq!(check_at(&app, polled + TimeDelta::minutes(11)).await, 1);
    assert_eq!(fired(&app, "no_data").await.len(), 2);
    assert!(fired(&app, "gone").await.is_empty());

    // The repository goes away: the job fires `gone`, once however often it runs.
    standin.remove("github/leptos-rs/leptos");
    poll_now(&app).await;
    enqueue(&app.pool, CheckSilence::default())
        .await
        .expect("enqueue");
    let gone = eventually(Duration::from_secs(60), "the gone event", || async {
        let gone = fired(&app, "gone").await;
        (!gone.is_empty()).then_some(gone)
    })
    .await;
    assert_eq!(gone, ["the source of stars went away upstream"]);
    assert_eq!(check_at(&app, Utc::now()).await, 0);
    assert_eq!(fired(&app, "gone").await.len(), 1);

    // Each event went to the webhook, once.
    let conditions = || {
        let mut conditions: Vec<String> = receiver
            .received()
            .iter()
            .map(|request| {
                request.json()["condition"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        conditions.sort();
        conditions
    };
    let expected = ["gone", "no_data", "no_data"];
    let delivered = eventually(Duration::from_secs(60), "three deliveries", || async {
        let conditions = conditions();
        (conditions.len() >= expected.len()).then_some(conditions)
    })
    .await;
    assert_eq!(delivered, expected);
    workers.stop().await;
    assert_eq!(conditions(), expected, "no delivery twice");
}

#[tokio::test]
async fn paused_rules_and_paused_trackers_stay_quiet() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    app.history_loaded().await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let tracker = app.track(&token, LEPTOS).await;
    let (_, made) = app
        .api_post(
            &format!("/api/v1/trackers/{tracker}/alerts"),
            &token,
            json!({ "metric": "stars", "condition": "no_data", "duration_secs": 600 }),
        )
        .await;
    let rule = made["alert"]["id"].as_str().expect("an id").to_string();
    let later = Utc::now() + TimeDelta::days(2);
    // Pauses (or resumes) what `path` is: the API answers 200.
    let pause = |path: String, paused: bool| {
        let (app, token) = (&app, &token);
        async move {
            let body = json!({ "paused": paused });
            let (status, answer) = app.api(Method::PATCH, &path, token, Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
    };
    let (rule, tracker) = (
        format!("/api/v1/alerts/{rule}"),
        format!("/api/v1/trackers/{tracker}"),
    );

    pause(rule.clone(), true).await;
    assert_eq!(check_at(&app, later).await, 0);
    pause(rule, false).await;
    pause(tracker.clone(), true).await;
    assert_eq!(check_at(&app, later).await, 0);
    // Both unpaused, two days without a poll: it fires.
    pause(tracker, false).await;
    assert_eq!(check_at(&app, later).await, 1);
}
