//! Alert rules through the REST API, and firing through the real poll path: after a poll
//! writes its samples, the rules of the source are evaluated, fire once, re-arm, and each
//! workspace on the source gets its own alert.

use app::domain::TokenScope;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{receiver::Receiver, webhook};
use crate::{
    helpers::{TestApp, eventually, expect_error, spawn_app_with_standin},
    polling::poll_now,
    standin::StandIn,
};

const LEPTOS: &str = "https://github.com/leptos-rs/leptos";

async fn setup() -> (StandIn, TestApp, Receiver) {
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into())]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    app.history_loaded().await;
    (standin, app, Receiver::start().await)
}

async fn rule(app: &TestApp, token: &str, tracker: &str, body: Value) -> (StatusCode, Value) {
    app.api_post(&format!("/api/v1/trackers/{tracker}/alerts"), token, body)
        .await
}

/// The events once there are `count` (the rules are evaluated right after the poll is
/// recorded, so a moment after `poll_now` returns).
async fn events_once(app: &TestApp, count: usize) -> Vec<(String, f64)> {
    eventually(std::time::Duration::from_secs(60), "the events", || async {
        let found = events(app).await;
        (found.len() == count).then_some(found)
    })
    .await
}

async fn events(app: &TestApp) -> Vec<(String, f64)> {
    sqlx::query_as::<_, (String, f64)>(
        "SELECT reason, value FROM alert_events ORDER BY fired_at, id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("events")
}

#[tokio::test]
async fn rules_are_made_listed_changed_and_deleted_in_their_workspace() {
    let (_standin, app, receiver) = setup().await;
    // On the Free plan, to meet its limit.
    let user = app.create_free_user(app::domain::Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    let tracker = app.track(&token, LEPTOS).await;
    let channel = webhook(&app, &token, &receiver, "/rules").await;
    let channel_id = channel["id"].as_str().expect("an id");

    let (status, made) = rule(
        &app,
        &token,
        &tracker,
        json!({ "metric": "stars", "condition": "above", "value": 20000, "channels": [channel_id] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let alert = &made["alert"];
    assert_eq!(
        (
            &alert["metric"],
            &alert["condition"],
            &alert["value"],
            &alert["tracker"]
        ),
        (
            &json!("stars"),
            &json!("above"),
            &json!(20000.0),
            &json!(tracker)
        )
    );
    assert_eq!(alert["channels"], json!([channel_id]));
    assert_eq!(alert["armed"], true);
    let id = alert["id"].as_str().expect("an id").to_string();

    // Bad rules, each named.
    let (_, stranger) = app.member_with_token(TokenScope::Write).await;
    let foreign = webhook(&app, &stranger, &receiver, "/theirs").await;
    for (body, problem) in [
        (
            json!({ "metric": "stars", "condition": "soars" }),
            "is not a condition",
        ),
        (
            json!({ "metric": "stars", "condition": "above" }),
            "`value` is required for `above`",
        ),
        (
            json!({ "metric": "likes", "condition": "above", "value": 1 }),
            "its metrics are stars",
        ),
        (
            json!({ "metric": "stars", "condition": "change", "amount": 5, "percent": 5, "window": "24h" }),
            "exactly one of `amount` and `percent`",
        ),
        (
            json!({ "metric": "stars", "condition": "above", "value": 1, "channels": [foreign["id"]] }),
            "is not a channel of this workspace",
        ),
    ] {
        let answer = rule(&app, &token, &tracker, body.clone()).await;
        expect_error(answer, StatusCode::UNPROCESSABLE_ENTITY, problem);
    }
    // Another workspace's tracker and rule are not there.
    let answer = rule(
        &app,
        &stranger,
        &tracker,
        json!({ "metric": "stars", "condition": "gone" }),
    )
    .await;
    assert_eq!(answer.0, StatusCode::NOT_FOUND);
    let answer = app
        .api(
            Method::PATCH,
            &format!("/api/v1/alerts/{id}"),
            &stranger,
            Some(json!({ "paused": true })),
        )
        .await;
    expect_error(
        answer,
        StatusCode::NOT_FOUND,
        "There is no such alert rule.",
    );

    let (status, changed) = app
        .api(
            Method::PATCH,
            &format!("/api/v1/alerts/{id}"),
            &token,
            Some(json!({ "value": 25000, "paused": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (&changed["alert"]["value"], &changed["alert"]["paused"]),
        (&json!(25000.0), &json!(true))
    );
    let answer = app
        .api(
            Method::PATCH,
            &format!("/api/v1/alerts/{id}"),
            &token,
            Some(json!({ "percent": 5 })),
        )
        .await;
    expect_error(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "`percent` does not apply to `above`",
    );

    let (_, list) = app
        .api_get(&format!("/api/v1/trackers/{tracker}/alerts"), &token)
        .await;
    assert_eq!(list["alerts"].as_array().map(Vec::len), Some(1));
    // The Free plan allows 3 rules: the fourth is a 402.
    for value in [1, 2] {
        let (status, _) = rule(
            &app,
            &token,
            &tracker,
            json!({ "metric": "stars", "condition": "below", "value": value }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, body) = rule(
        &app,
        &token,
        &tracker,
        json!({ "metric": "stars", "condition": "new_high" }),
    )
    .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["limit"], "alert_rules");

    let (status, _) = app
        .api_delete(&format!("/api/v1/alerts/{id}"), &token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .api_delete(&format!("/api/v1/alerts/{id}"), &token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_threshold_fires_once_after_the_poll_that_crosses_it_and_again_only_when_rearmed() {
    let (standin, app, receiver) = setup().await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let tracker = app.track(&token, LEPTOS).await;
    let channel = webhook(&app, &token, &receiver, "/stars").await;
    let (status, made) = rule(
        &app,
        &token,
        &tracker,
        json!({ "metric": "stars", "condition": "above", "value": 20000, "margin": 100,
                "cooldown_secs": 0, "channels": [channel["id"]] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let rule_id = made["alert"]["id"].as_str().expect("an id").to_string();
    let workers = app.start_workers();

    // Below: nothing.
    poll_now(&app).await;
    assert!(events(&app).await.is_empty());
    // Crossing it: one event, delivered to the webhook.
    standin.set_github_repo("leptos-rs/leptos", 20_140);
    poll_now(&app).await;
    events_once(&app, 1).await;
    eventually(
        std::time::Duration::from_secs(60),
        "the delivery",
        || async { (receiver.received().len() == 1).then_some(()) },
    )
    .await;
    let body = receiver.received()[0].json();
    assert_eq!(
        (
            &body["condition"],
            &body["value"],
            &body["previous"],
            &body["rule"],
            &body["metric"]
        ),
        (
            &json!("above"),
            &json!(20140.0),
            &json!(19000.0),
            &json!(rule_id),
            &json!("stars")
        )
    );
    assert_eq!(body["tracker"]["id"], json!(tracker));
    assert_eq!(body["tracker"]["url"], LEPTOS);

    // Still above, and then inside the margin: no second alert.
    standin.set_github_repo("leptos-rs/leptos", 20_300);
    poll_now(&app).await;
    standin.set_github_repo("leptos-rs/leptos", 19_950);
    poll_now(&app).await;
    events_once(&app, 1).await;
    // Below the margin re-arms it; above again fires again.
    standin.set_github_repo("leptos-rs/leptos", 19_800);
    poll_now(&app).await;
    standin.set_github_repo("leptos-rs/leptos", 20_001);
    poll_now(&app).await;
    let fired = events_once(&app, 2).await;
    assert_eq!(fired[1].1, 20_001.0);
    workers.stop().await;

    // The events list them with their deliveries.
    let (_, listed) = app
        .api_get(&format!("/api/v1/alert-events?tracker={tracker}"), &token)
        .await;
    assert_eq!(listed["events"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn two_workspaces_on_one_source_each_get_their_own_alert_from_one_poll() {
    let (standin, app, receiver) = setup().await;
    let mut workspaces = Vec::new();
    for path in ["/first", "/second"] {
        let (_, token) = app.member_with_token(TokenScope::Write).await;
        let tracker = app.track(&token, LEPTOS).await;
        let channel = webhook(&app, &token, &receiver, path).await;
        let (status, _) = rule(
            &app,
            &token,
            &tracker,
            json!({ "metric": "stars", "condition": "milestone", "every": 1000, "channels": [channel["id"]] }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        workspaces.push(token);
    }
    let workers = app.start_workers();
    poll_now(&app).await;
    standin.set_github_repo("leptos-rs/leptos", 21_050);
    poll_now(&app).await;
    eventually(
        std::time::Duration::from_secs(60),
        "both deliveries",
        || async { (receiver.received().len() == 2).then_some(()) },
    )
    .await;
    workers.stop().await;
    let mut paths: Vec<String> = receiver.received().iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["/first", "/second"]);
    for token in &workspaces {
        let (_, listed) = app.api_get("/api/v1/alert-events", token).await;
        let events = listed["events"].as_array().expect("events");
        assert_eq!(events.len(), 1, "{listed}");
        assert!(
            events[0]["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("21,000"),
            "{listed}"
        );
    }
}

#[tokio::test]
async fn each_kind_fires_once_through_real_polls_and_a_cooldown_holds_the_next() {
    let (standin, app, _receiver) = setup().await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let tracker = app.track(&token, LEPTOS).await;
    let mut rules = Vec::new();
    for (name, body) in [
        (
            "below",
            json!({ "condition": "below", "value": 18500, "cooldown_secs": 0 }),
        ),
        (
            "new_high",
            json!({ "condition": "new_high", "cooldown_secs": 0 }),
        ),
        (
            "milestone",
            json!({ "condition": "milestone", "every": 1000, "cooldown_secs": 0 }),
        ),
        // The default cooldown, an hour: it fires once in this test however often it
        // re-arms.
        ("above", json!({ "condition": "above", "value": 19500 })),
    ] {
        let mut body = body;
        body["metric"] = json!("stars");
        let (status, made) = rule(&app, &token, &tracker, body).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        rules.push((
            name,
            made["alert"]["id"].as_str().expect("an id").to_string(),
        ));
    }
    let workers = app.start_workers();
    let fired = |rule: &str| {
        let rule = rule.to_string();
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT reason FROM alert_events WHERE rule_id::text = $1 ORDER BY fired_at, id",
            )
            .bind(rule)
            .fetch_all(&pool)
            .await
            .expect("events")
        }
    };

    // 19,000 → 19,600 → 20,100 → 18,000 → 19,700 → 18,400.
    let mut total = 0;
    for (stars, new_events) in [
        (19_600, 2),
        (20_100, 1),
        (18_000, 1),
        (19_700, 0),
        (18_400, 1),
    ] {
        standin.set_github_repo("leptos-rs/leptos", stars);
        poll_now(&app).await;
        total += new_events;
        events_once(&app, total).await;
    }
    workers.stop().await;

    let mut seen = Vec::new();
    for (name, id) in &rules {
        seen.push((*name, fired(id).await));
    }
    assert_eq!(
        seen,
        vec![
            (
                "below",
                vec![
                    "stars fell below 18,500 (now 18,000)".to_string(),
                    "stars fell below 18,500 (now 18,400)".to_string()
                ]
            ),
            (
                "new_high",
                vec![
                    "stars reached a new all-time high of 19,600 (the previous high was 19,000)"
                        .to_string()
                ]
            ),
            (
                "milestone",
                vec!["stars passed 20,000 (now 20,100)".to_string()]
            ),
            // Re-armed at 18,000, true again at 19,700, but inside its hour.
            (
                "above",
                vec!["stars rose above 19,500 (now 19,600)".to_string()]
            ),
        ]
    );
}
