//! The Prometheus scrape endpoint, `GET /api/v1/metrics`: its exact exposition, workspace
//! scoping, paused trackers, authentication (bearer and basic), `promtool check metrics`,
//! and a real `prometheus` server scraping it.

mod exposition;
mod prometheus;

use std::path::PathBuf;

use app::domain::TokenScope;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    helpers::{TestApp, spawn_app_with_standin},
    standin::{StandIn, fixtures},
};

const LEPTOS: &str = "https://github.com/leptos-rs/leptos";
const STORY: &str = "https://news.ycombinator.com/item?id=8863";
const SCRAPE: &str = "/api/v1/metrics";

/// The app with a stand-in GitHub (leptos-rs/leptos, 19,000 stars) and Hacker News (item
/// 8863: 111 points, 71 comments).
async fn setup() -> (StandIn, TestApp) {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    standin.set("hn/item/8863", fixtures::hn_story(8863, 111, 71));
    (standin, app)
}

/// A new workspace: a write token (to add trackers) and a read token (to scrape).
async fn workspace(app: &TestApp) -> (String, String) {
    let (user, write) = app.member_with_token(TokenScope::Write).await;
    let read = app.token(&user, TokenScope::Read).await;
    (write, read)
}

/// Tracks `url` with `label`: the tracker's id.
async fn track_labelled(app: &TestApp, token: &str, url: &str, label: &str) -> String {
    app.add_tracker(token, json!({ "url": url, "label": label }))
        .await
}

/// Sets the last successful poll of the source of tracker `id` (RFC 3339).
async fn set_last_success(app: &TestApp, id: &str, at: &str) {
    sqlx::query(
        "UPDATE sources SET last_success_at = $2::timestamptz
         WHERE id = (SELECT source_id FROM trackers WHERE id = $1::uuid)",
    )
    .bind(id)
    .bind(at)
    .execute(&app.pool)
    .await
    .expect("set the last poll");
}

/// `GET /api/v1/metrics` with `Authorization: Bearer token`: status, content type, body.
async fn scrape(app: &TestApp, token: &str) -> (StatusCode, String, String) {
    read(app.request(Method::GET, SCRAPE).bearer_auth(token)).await
}

/// The status, content type and body of `request`.
async fn read(request: reqwest::RequestBuilder) -> (StatusCode, String, String) {
    let response = request.send().await.expect("an answer");
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, response.text().await.expect("a body"))
}

/// The body of a scrape that must succeed.
async fn scraped(app: &TestApp, token: &str) -> String {
    let (status, content_type, body) = scrape(app, token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    body
}

/// Where Debian's `prometheus` package put `name` (`prometheus`, `promtool`): on the
/// `PATH`, or in `/usr/bin`. A test needing it fails, naming the setup, when it is missing.
pub(crate) fn installed(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: run `scripts/setup.sh test` (the setup `make test` \
                 runs first), which installs Debian's `prometheus` package"
            )
        })
}
