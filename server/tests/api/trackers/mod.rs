//! `/api/v1/trackers`: adding by URL, by kind and key and as a JSON source; clear 422s;
//! workspace scoping; shared sources; pause, resume, end dates and intervals; series.

use std::time::Duration;

use app::domain::{Role, TokenScope};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, eventually, expect_unprocessable, latest, spawn_app_with_standin},
    standin::{Canned, StandIn, fixtures},
};

mod adding;
mod pages;
mod polling_now;
mod reading;
mod sharing;

const LEPTOS: &str = "https://github.com/leptos-rs/leptos";

async fn setup() -> (StandIn, TestApp, String) {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    standin.set("hn/item/8863", fixtures::hn_story(8863, 111, 71));
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    (standin, app, token)
}

/// (state, interval, scheduled) of the one source.
async fn source_row(app: &TestApp) -> (String, i32, bool) {
    sqlx::query_as::<_, (String, i32, bool)>(
        "SELECT state, interval_secs, next_poll_at IS NOT NULL FROM sources",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the source")
}

/// Waits up to 20 s for a poll to bring `metric` of tracker `id` to `value`.
async fn wait_for_latest(app: &TestApp, token: &str, id: &str, metric: &str, value: f64) {
    eventually(Duration::from_secs(60), "the poll", || async {
        let (_, body) = app.tracker(token, id).await;
        (latest(&body["tracker"], metric) == Some(value)).then_some(())
    })
    .await;
}
