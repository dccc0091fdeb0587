//! Hostile input and data that is never misdated: JMESPath bombs in previews, adds and
//! polls; samples stamped with the time the upstream answered; polls recorded once per
//! claim.

use std::time::{Duration, Instant};

use app::{
    domain::{Role, TokenScope},
    server::tracking::{
        Readings,
        store::{self, PollResult},
    },
};
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, eventually, spawn_app_with_standin},
    standin::{StandIn, fixtures},
};

async fn setup() -> (StandIn, TestApp, String) {
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into())]).await;
    standin.set(
        "json/doc",
        json!({ "stats": { "members": 321 }, "list": [1, 2, 3] }),
    );
    let user = app.create_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    (standin, app, token)
}

/// The process still answers, quickly.
async fn still_answers(app: &TestApp, token: &str) {
    let started = Instant::now();
    let (status, _) = app.api(Method::GET, "/api/v1/trackers", token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn jmespath_bombs_get_a_422_naming_the_limit_and_the_process_lives_on() {
    let (standin, app, token) = setup().await;
    let url = format!("{}/json/doc", standin.base());
    let exponential = format!("length({}@)", "[@,@][] | ".repeat(40));
    let bombs = [
        ("!".repeat(50_000) + "stats", "500 characters"),
        (
            "(".repeat(50_000) + "stats" + &")".repeat(50_000),
            "500 characters",
        ),
        ("!".repeat(100) + "stats", "32 levels"),
        ("(".repeat(200) + "stats" + &")".repeat(200), "32 levels"),
        (exponential.clone(), "cost limit"),
    ];
    for (bomb, limit) in &bombs {
        for path in ["/api/v1/trackers/preview", "/api/v1/trackers"] {
            let started = Instant::now();
            let (status, body) = app
                .api(
                    Method::POST,
                    path,
                    &token,
                    Some(json!({ "url": url, "metrics": { "members": bomb } })),
                )
                .await;
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{path} took {:?}",
                started.elapsed()
            );
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
            assert_eq!(body["code"], "invalid", "{path}: {body}");
            let message = body["error"].as_str().expect("a message");
            assert!(message.contains(limit), "{path}: {message}");
            assert!(
                message.len() < 400,
                "the bomb is not echoed back: {message}"
            );
            still_answers(&app, &token).await;
        }
    }

    // Too many metrics: the same limit for a preview as for an add.
    let metrics: serde_json::Map<String, Value> = (0..21)
        .map(|n| (format!("m{n}"), json!("stats.members")))
        .collect();
    for path in ["/api/v1/trackers/preview", "/api/v1/trackers"] {
        let (status, body) = app
            .api(
                Method::POST,
                path,
                &token,
                Some(json!({ "url": url, "metrics": metrics })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["code"], "invalid");
        assert!(
            body["error"]
                .as_str()
                .expect("message")
                .contains("20 metrics per source"),
            "{body}"
        );
    }

    // Ordinary expressions still preview and add.
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/trackers/preview",
            &token,
            Some(json!({ "url": url, "metrics": { "members": "stats.members", "n": "length(list[?@ > `1`])" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sources: i64 = sqlx::query_scalar("SELECT count(*) FROM sources")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(sources, 0, "no bomb was stored");
}

#[tokio::test]
async fn an_expression_that_turns_hostile_on_a_new_document_fails_that_poll_and_backs_off() {
    let (standin, app, token) = setup().await;
    standin.set("json/grows", json!([1, 2, 3]));
    let url = format!("{}/json/grows", standin.base());
    // Accepted: its worst case is a few hundred values per value of the document.
    let expression = "length([@,@,@,@][] | [@,@,@,@][] | [@,@,@,@][])";
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/trackers",
            &token,
            Some(json!({ "url": url, "metrics": { "copies": expression } })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The upstream's document grows to 100,000 values: the same expression would now
    // visit tens of millions.
    standin.set("json/grows", Value::Array(vec![json!(1); 100_000]));
    standin.set(
        "github/leptos-rs/leptos",
        fixtures::github_repo("leptos-rs/leptos", 7),
    );
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/trackers",
            &token,
            Some(json!({ "url": "https://github.com/leptos-rs/leptos" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let workers = app.start_workers();
    sqlx::query("UPDATE sources SET next_poll_at = now()")
        .execute(&app.pool)
        .await
        .expect("make due");
    let (state, error, failures, next_in): (String, Option<String>, i32, f64) =
        eventually(Duration::from_secs(30), "the hostile poll", || async {
            sqlx::query_as(
                "SELECT state, last_error, consecutive_failures,
                        extract(epoch FROM next_poll_at - now())::float8
                 FROM sources WHERE kind = 'json' AND last_error IS NOT NULL",
            )
            .fetch_optional(&app.pool)
            .await
            .expect("the source")
        })
        .await;
    assert_eq!(state, "backing_off");
    assert_eq!(failures, 1);
    let error = error.expect("an error");
    assert!(error.contains("over the limit"), "{error}");
    assert!(next_in > 900.0, "backs off past its interval: {next_in}");
    // The worker lives on: the other source was polled by the same workers, and the
    // process answers.
    eventually(Duration::from_secs(30), "the other poll", || async {
        let polled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sources WHERE kind = 'github.repo' AND last_poll_at IS NOT NULL
               AND last_error IS NULL",
        )
        .fetch_one(&app.pool)
        .await
        .expect("count");
        (polled == 1).then_some(())
    })
    .await;
    still_answers(&app, &token).await;
    workers.stop().await;
}

/// The time of the newest sample.
async fn newest_sample(app: &TestApp) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT max(t) FROM samples")
        .fetch_one(&app.pool)
        .await
        .expect("a sample")
}

#[tokio::test]
async fn a_late_poll_is_stamped_with_the_time_the_upstream_answered() {
    let (standin, app, token) = setup().await;
    standin.set(
        "github/leptos-rs/leptos",
        fixtures::github_repo("leptos-rs/leptos", 7),
    );
    app.add_tracker(
        &token,
        json!({ "url": "https://github.com/leptos-rs/leptos" }),
    )
    .await;
    // The workers were away for three hours: the source is three hours overdue.
    let due: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE sources SET next_poll_at = now() - interval '3 hours' RETURNING next_poll_at",
    )
    .fetch_one(&app.pool)
    .await
    .expect("overdue");
    let first = newest_sample(&app).await;
    let before = Utc::now() - chrono::TimeDelta::seconds(1);
    let workers = app.start_workers();
    let stamped = eventually(Duration::from_secs(30), "the late poll", || async {
        let newest = newest_sample(&app).await;
        (newest > first).then_some(newest)
    })
    .await;
    workers.stop().await;
    assert!(
        stamped >= before && stamped <= Utc::now(),
        "stamped {stamped}, due {due}, fetched after {before}"
    );
    let samples: i64 = sqlx::query_scalar("SELECT count(*) FROM samples WHERE t < $1")
        .bind(first)
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(samples, 0, "nothing is stamped with the old due time");
}

#[tokio::test]
async fn the_claim_not_the_timestamp_makes_recording_a_poll_idempotent() {
    let (standin, app, token) = setup().await;
    standin.set(
        "github/leptos-rs/leptos",
        fixtures::github_repo("leptos-rs/leptos", 7),
    );
    app.add_tracker(
        &token,
        json!({ "url": "https://github.com/leptos-rs/leptos" }),
    )
    .await;
    let (source_id, due): (i64, DateTime<Utc>) = sqlx::query_as(
        "UPDATE sources SET next_poll_at = now() - interval '1 minute' RETURNING id, next_poll_at",
    )
    .fetch_one(&app.pool)
    .await
    .expect("due");
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM samples")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    let poll = |due: DateTime<Utc>, observed_at: DateTime<Utc>, stars: f64| {
        let mut readings = Readings::default();
        readings.push("stars", stars);
        PollResult {
            source_id,
            due,
            observed_at,
            outcome: Ok(readings),
        }
    };
    // The job runs, then runs again (a retry after its worker died before the ack): each
    // answer came back at a different moment.
    let now = Utc::now();
    let written = store::record_polls(&app.pool, &[poll(due, now, 8.0)])
        .await
        .expect("record");
    assert_eq!(written, 1);
    let again = store::record_polls(
        &app.pool,
        &[poll(due, now + chrono::TimeDelta::seconds(5), 9.0)],
    )
    .await
    .expect("record again");
    assert_eq!(
        again, 0,
        "a second recording of the same claim writes nothing"
    );
    // Due again: two copies of the job race; one of them records.
    let due: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE sources SET next_poll_at = now() - interval '1 second' RETURNING next_poll_at",
    )
    .fetch_one(&app.pool)
    .await
    .expect("due again");
    let later = now + chrono::TimeDelta::seconds(10);
    let first = [poll(due, later, 10.0)];
    let second = [poll(due, later + chrono::TimeDelta::seconds(1), 11.0)];
    let (a, b) = tokio::join!(
        store::record_polls(&app.pool, &first),
        store::record_polls(&app.pool, &second),
    );
    assert_eq!(
        a.expect("a") + b.expect("b"),
        1,
        "exactly one of the racing copies"
    );
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM samples")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(after, before + 2);
}
