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
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{
        Process, TestApp, eventually, expect_error, expect_unprocessable, header,
        spawn_app_with_standin,
    },
    standin::{StandIn, fixtures},
};

mod expressions;
mod http;
mod outbound;
mod polls;
mod slow_clients;
mod throttles;

const LEPTOS: &str = "https://github.com/leptos-rs/leptos";

async fn setup() -> (StandIn, TestApp, String) {
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into())]).await;
    standin.set(
        "json/doc",
        json!({ "stats": { "members": 321 }, "list": [1, 2, 3] }),
    );
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    (standin, app, token)
}

/// Tracks leptos-rs/leptos (the stand-in knows it): the tracker's id.
async fn track_leptos(standin: &StandIn, app: &TestApp, token: &str) -> String {
    standin.set_github_repo("leptos-rs/leptos", 7);
    app.track(token, LEPTOS).await
}

/// The time of the newest sample.
async fn newest_sample(app: &TestApp) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT max(t) FROM samples")
        .fetch_one(&app.pool)
        .await
        .expect("a sample")
}

/// The process still answers, quickly.
async fn still_answers(app: &TestApp, token: &str) {
    let started = Instant::now();
    let (status, _) = app.api_get("/api/v1/trackers", token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(1));
}
