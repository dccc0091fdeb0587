//! GitHub against the stand-in: users and organisations, releases (paged, empty, latest),
//! the budget its headers speak of, and conditional requests through the real poll path.

use std::time::Duration;

use app::server::tracking::providers::github::GITHUB;
use chrono::{DateTime, Utc};

use super::*;
use crate::polling::{poll_now, tracking_leptos};

/// A GitHub answer the stand-in is scripted with: `body`, and `headers`.
fn answer(status: u16, body: serde_json::Value, headers: &[(&str, &str)]) -> Canned {
    headers
        .iter()
        .fold(Canned::json(status, body), |canned, (name, value)| {
            canned.header(name, value)
        })
}

#[tokio::test]
async fn github_users_organisations_and_releases() {
    let standin = StandIn::start().await;
    standin.load_fixtures("github");
    let engine = engine_for(&standin, &[]);

    let outcomes = fetch(&engine, "github.user", &["torvalds", "rust-lang"]).await;
    assert_eq!(value(ok(&outcomes[0]), "followers"), Some(247_000.0));
    assert_eq!(value(ok(&outcomes[0]), "public_repos"), Some(8.0));
    assert_eq!(value(ok(&outcomes[1]), "public_repos"), Some(231.0));
    let organisation = metadata_of_link(&engine, "https://github.com/orgs/rust-lang/people").await;
    assert_eq!(organisation.title, "The Rust Programming Language");
    assert_eq!(organisation.tags, ["organisation"]);
    assert_gone(&engine, "github.user", "nobody-here-at-all").await;

    // Every asset of every release, drafts and prereleases too; the latest is the newest
    // that is neither. No releases at all is no downloads.
    let outcomes = fetch(
        &engine,
        "github.release",
        &["leptos-rs/leptos", "serde-rs/json", "nobody/nothing"],
    )
    .await;
    assert_eq!(value(ok(&outcomes[0]), "downloads"), Some(7_150.0));
    assert_eq!(value(ok(&outcomes[0]), "latest_downloads"), Some(2_000.0));
    assert_eq!(value(ok(&outcomes[1]), "downloads"), Some(0.0));
    assert_eq!(value(ok(&outcomes[1]), "latest_downloads"), None);
    assert!(gone(&outcomes[2]).contains("does not exist"));
    assert!(
        standin
            .hits()
            .iter()
            .any(|hit| hit == "/github/repos/leptos-rs/leptos/releases?per_page=100&page=1"),
        "{:?}",
        standin.hits()
    );
    let metadata =
        metadata_of_link(&engine, "https://github.com/serde-rs/json/releases/latest").await;
    assert_eq!(metadata.url, "https://github.com/serde-rs/json/releases");
    assert_eq!(metadata.title, "serde-rs/json releases");
}

#[tokio::test]
async fn releases_follow_the_next_links_and_stay_on_github() {
    let standin = StandIn::start().await;
    let engine = engine_for(&standin, &[]);
    let release = |downloads: u64| {
        json!({ "tag_name": "v1", "draft": false, "prerelease": false,
                "created_at": "2026-01-01T00:00:00Z", "published_at": "2026-01-01T00:00:00Z",
                "assets": [{ "name": "a.tar.gz", "download_count": downloads }] })
    };
    let page = |n: u32| {
        format!(
            "<{}/github/repositories/42/releases?per_page=100&page={n}>; rel=\"next\", \
             <{}/github/repositories/42/releases?per_page=100&page=3>; rel=\"last\"",
            standin.base(),
            standin.base()
        )
    };
    let first = answer(
        200,
        json!([release(10), release(1)]),
        &[("link", &page(2)), ("etag", "W/\"p1\"")],
    );
    standin.script("/github/repos/big/repo/releases", vec![first]);
    standin.script(
        "/github/repositories/42/releases",
        vec![
            answer(200, json!([release(100)]), &[("link", &page(3))]),
            answer(200, json!([release(1000)]), &[]),
        ],
    );
    let outcomes = fetch(&engine, "github.release", &["big/repo"]).await;
    let readings = ok(&outcomes[0]);
    assert_eq!(value(readings, "downloads"), Some(1_111.0));
    assert_eq!(
        readings.validator, None,
        "one page's ETag does not vouch for three"
    );
    assert_eq!(standin.hits_on("/github/repositories/42/releases"), 2);

    // One page: its ETag is the source's validator.
    standin.script(
        "/github/repos/one/page/releases",
        vec![answer(200, json!([release(5)]), &[("etag", "W/\"one\"")])],
    );
    let outcomes = fetch(&engine, "github.release", &["one/page"]).await;
    assert_eq!(ok(&outcomes[0]).validator.as_deref(), Some("W/\"one\""));

    // A next page elsewhere is not followed with our token.
    let elsewhere = "<https://evil.example/releases?page=2>; rel=\"next\"";
    standin.script(
        "/github/repos/odd/repo/releases",
        vec![answer(200, json!([release(1)]), &[("link", elsewhere)])],
    );
    let outcomes = fetch(&engine, "github.release", &["odd/repo"]).await;
    match &outcomes[0] {
        Err(FetchError::Invalid(message)) => assert!(message.contains("evil.example"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn only_the_core_budget_running_out_pauses_github() {
    let standin = StandIn::start().await;
    standin.load_fixtures("github");
    let engine = engine_for(&standin, &[]);
    let paused = || {
        engine
            .http()
            .rate_states()
            .into_iter()
            .any(|(service, state)| service == GITHUB && state.paused_until.is_some())
    };
    let user = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(crate::standin::fixtures_folder("github").join("user.json"))
            .expect("the fixture"),
    )
    .expect("JSON");
    let used_up = |resource: &str| {
        answer(
            200,
            user.clone(),
            &[
                ("x-ratelimit-limit", "5000"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-used", "5000"),
                ("x-ratelimit-reset", "4102444800"),
                ("x-ratelimit-resource", resource),
            ],
        )
    };
    standin.script("/github/users/torvalds", vec![used_up("search")]);
    ok(&fetch(&engine, "github.user", &["torvalds"]).await[0]);
    assert!(!paused(), "another budget's headers leave core alone");
    standin.script("/github/users/torvalds", vec![used_up("core")]);
    ok(&fetch(&engine, "github.user", &["torvalds"]).await[0]);
    assert!(paused(), "core used up: GitHub waits for the reset");
}

/// The samples of metric `name`, oldest first.
async fn samples_of(app: &crate::helpers::TestApp, name: &str) -> Vec<(DateTime<Utc>, f64)> {
    sqlx::query_as(
        "SELECT s.t, s.value FROM samples s JOIN source_metrics m ON m.id = s.metric_id
         WHERE m.name = $1 ORDER BY s.t",
    )
    .bind(name)
    .fetch_all(&app.pool)
    .await
    .expect("samples")
}

#[tokio::test]
async fn a_304_records_the_last_values_again_at_the_new_time() {
    let (standin, app) = tracking_leptos(100).await;
    let workers = app.start_workers();
    let not_modified = Canned {
        status: 304,
        headers: vec![
            ("etag".into(), "W/\"abc\"".into()),
            ("x-ratelimit-remaining".into(), "4990".into()),
            ("x-ratelimit-resource".into(), "core".into()),
        ],
        body: String::new(),
    };
    standin.script(
        "/github/repos/leptos-rs/leptos",
        vec![
            answer(
                200,
                fixtures::github_repo("leptos-rs/leptos", 120),
                &[("etag", "W/\"abc\"")],
            ),
            not_modified,
        ],
    );

    // A full answer: its ETag is kept with the source.
    poll_now(&app).await;
    let validator: Option<String> = sqlx::query_scalar("SELECT validator FROM sources")
        .fetch_one(&app.pool)
        .await
        .expect("the source");
    assert_eq!(validator.as_deref(), Some("W/\"abc\""));
    let stars = samples_of(&app, "stars").await;
    assert_eq!(stars.len(), 2, "the first sample and the poll: {stars:?}");
    assert_eq!(stars[1].1, 120.0);

    // Sent back; GitHub says nothing changed: the same values, at the new time.
    tokio::time::sleep(Duration::from_millis(20)).await;
    poll_now(&app).await;
    let sent = standin.headers_on("/github/repos/leptos-rs/leptos", "if-none-match");
    assert_eq!(
        sent.last(),
        Some(&Some("W/\"abc\"".to_string())),
        "{sent:?}"
    );
    assert_eq!(
        sent[sent.len() - 2],
        None,
        "the first poll had nothing to send"
    );
    let stars = samples_of(&app, "stars").await;
    assert_eq!(stars.len(), 3, "{stars:?}");
    assert_eq!(stars[2].1, 120.0);
    assert!(stars[2].0 > stars[1].0, "a new time: {stars:?}");
    assert_eq!(
        samples_of(&app, "forks").await.len(),
        3,
        "every metric again"
    );
    let (state, errors): (String, i32) =
        sqlx::query_as("SELECT state, consecutive_failures FROM sources")
            .fetch_one(&app.pool)
            .await
            .expect("the source");
    assert_eq!((state.as_str(), errors), ("ok", 0), "a 304 is a success");
    workers.stop().await;
}
