//! Watches: a container's new items become trackers by themselves. Against the stand-in,
//! a YouTube channel publishes videos between reads; the trackers made end after the
//! template's period; the plan's limit lists an item as skipped; a deleted tracker is not
//! added again; two workspaces watching one channel read it once; GitHub owners and
//! Hacker News users are watched the same way; bad requests get clear answers.

use std::time::Duration;

use app::domain::{Role, TokenScope};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, eventually, expect_error, expect_unprocessable, spawn_app_with_standin},
    standin::{StandIn, fixtures},
};

const CHANNEL: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";
const UPLOADS: &str = "UUuAXFkgsw1L7xaCfnd5JJOw";
const HANDLE: &str = "@RickAstleyYT";

/// A channel with `videos` already published (ids of 11 characters), newest first.
fn youtube_channel(standin: &StandIn, videos: &[&str]) {
    standin.set(
        &format!("youtube/channel/{CHANNEL}"),
        fixtures::youtube_channel(CHANNEL, HANDLE, 4_000_000),
    );
    standin.set(&format!("youtube/handle/{HANDLE}"), json!(CHANNEL));
    standin.set(&format!("youtube/playlist/{UPLOADS}"), json!([]));
    for video in videos.iter().rev() {
        publish(standin, video);
    }
}

/// The channel publishes video `id` (with 1,000 views): first in its uploads.
fn publish(standin: &StandIn, id: &str) {
    let mut video = fixtures::youtube_video(id, 1_000);
    video["snippet"]["title"] = json!(format!("Video {id}"));
    standin.set(&format!("youtube/video/{id}"), video);
    let key = format!("youtube/playlist/{UPLOADS}");
    let mut items = match standin.get(&key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let at = Utc::now().to_rfc3339();
    items.insert(
        0,
        fixtures::youtube_playlist_item(CHANNEL, id, &format!("Video {id}"), &at),
    );
    standin.set(&key, Value::Array(items));
}

async fn watch(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, answer) = app.api_post("/api/v1/watches", token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer
}

/// Looks now, as "look now" does; the once-a-minute limit is lifted first, as a minute
/// passing would.
async fn look(app: &TestApp, token: &str, id: &str) -> Value {
    sqlx::query("UPDATE watches SET poll_now_at = NULL")
        .execute(&app.pool)
        .await
        .expect("lift the limit");
    let (status, answer) = app
        .api_post(&format!("/api/v1/watches/{id}/poll"), token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// Every watch due now, as an hour passing would make it.
async fn make_watches_due(app: &TestApp) {
    sqlx::query(
        "WITH w AS (UPDATE watches SET next_poll_at = now())
         UPDATE watch_containers SET next_read_at = now()",
    )
    .execute(&app.pool)
    .await
    .expect("make the watches due");
}

fn keys(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item["key"].as_str().expect("a key").to_string())
        .collect()
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("a time: {value}"))
}

#[tokio::test]
async fn a_channel_publishing_three_videos_gets_three_trackers_that_end_after_their_period() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    youtube_channel(&standin, &["old-video-1", "old-video-2"]);
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let started = watch(
        &app,
        &token,
        json!({
            "url": format!("https://www.youtube.com/{HANDLE}"),
            "track_for_days": 30,
            "label": "{container}: {title}",
            "alerts": [{ "metric": "views", "condition": "above", "value": 1_000_000 }],
        }),
    )
    .await;
    let id = started["watch"]["id"].as_str().expect("an id").to_string();
    assert_eq!(started["watch"]["kind"], "youtube.uploads");
    assert_eq!(started["watch"]["title"], "Rick Astley");
    let rule = &started["watch"]["alerts"][0];
    assert_eq!(
        (
            rule["metric"].clone(),
            rule["condition"].clone(),
            rule["value"].clone()
        ),
        (json!("views"), json!("above"), json!(1_000_000.0)),
        "{started}"
    );
    assert_eq!(
        started["trackers"],
        json!([]),
        "what was there is not tracked"
    );
    assert_eq!(
        keys(&started["history"]),
        ["old-video-1", "old-video-2"],
        "{started}"
    );
    assert!(
        started["history"]
            .as_array()
            .expect("a list")
            .iter()
            .all(|item| item["state"] == "existing")
    );

    // The first new video, by "look now".
    publish(&standin, "new-video-1");
    let looked = look(&app, &token, &id).await;
    assert_eq!(
        (looked["listed"].as_u64(), looked["tracked"].as_u64()),
        (Some(3), Some(1)),
        "{looked}"
    );
    let made = &looked["trackers"][0];
    assert_eq!(made["key"], "new-video-1");
    assert_eq!(made["url"], "https://www.youtube.com/watch?v=new-video-1");
    assert_eq!(made["title"], "Video new-video-1");
    let tracker = made["tracker_id"]
        .as_str()
        .expect("its tracker")
        .to_string();
    let (_, shown) = app.tracker(&token, &tracker).await;
    assert_eq!(
        shown["tracker"]["label"], "Rick Astley: Video new-video-1",
        "{shown}"
    );
    // Tracked for 30 days from now, then it ends by itself.
    let ends = time(&made["ends_at"]);
    let expected = Utc::now() + chrono::Duration::days(30);
    assert!(
        (ends - expected).num_seconds().abs() < 120,
        "{ends} vs {expected}"
    );
    // The template's rule was copied onto it.
    let (_, rules) = app
        .api_get(&format!("/api/v1/trackers/{tracker}/alerts"), &token)
        .await;
    assert_eq!(rules["alerts"].as_array().map(Vec::len), Some(1), "{rules}");
    assert_eq!(rules["alerts"][0]["condition"], "above", "{rules}");
    assert_eq!(rules["alerts"][0]["value"], 1_000_000.0, "{rules}");
    // Again within a minute: refused, with when to come back.
    let (status, answer) = app
        .api_post(&format!("/api/v1/watches/{id}/poll"), &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");

    // Two more across the watch's own reads, by the workers.
    let workers = app.start_workers();
    publish(&standin, "new-video-2");
    make_watches_due(&app).await;
    app.wait_for_count(
        Duration::from_secs(20),
        "SELECT count(*) FROM watch_items WHERE state = 'tracked'",
        2,
    )
    .await;
    publish(&standin, "new-video-3");
    make_watches_due(&app).await;
    app.wait_for_count(
        Duration::from_secs(20),
        "SELECT count(*) FROM watch_items WHERE state = 'tracked'",
        3,
    )
    .await;
    let (_, detail) = app.api_get(&format!("/api/v1/watches/{id}"), &token).await;
    assert_eq!(
        keys(&detail["trackers"]),
        ["new-video-3", "new-video-2", "new-video-1"],
        "{detail}"
    );
    assert_eq!(detail["watch"]["trackers"], 3);
    // Read again with nothing new: nothing more.
    make_watches_due(&app).await;
    eventually(Duration::from_secs(20), "another read", || async {
        let next: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT next_read_at FROM watch_containers")
                .fetch_one(&app.pool)
                .await
                .expect("the container");
        next.filter(|next| *next > Utc::now()).map(|_| ())
    })
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM trackers").await,
        3,
        "no item is tracked twice"
    );

    // Thirty days later each tracker ends by itself: its source is no longer polled.
    sqlx::query("UPDATE trackers SET ends_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("let 30 days pass");
    app.make_due().await;
    app.wait_for_count(
        Duration::from_secs(20),
        "SELECT count(*) FROM sources WHERE state = 'ended' AND next_poll_at IS NULL",
        3,
    )
    .await;
    workers.stop().await;
}

#[tokio::test]
async fn at_the_plan_limit_a_new_item_is_listed_as_skipped_not_lost() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    youtube_channel(&standin, &[]);
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    sqlx::query("UPDATE plans SET max_trackers = 1 WHERE id = 'business'")
        .execute(&app.pool)
        .await
        .expect("a small plan");
    let started = watch(
        &app,
        &token,
        json!({ "url": format!("https://www.youtube.com/channel/{CHANNEL}") }),
    )
    .await;
    let id = started["watch"]["id"].as_str().expect("an id").to_string();
    publish(&standin, "first-video");
    publish(&standin, "other-video");
    let looked = look(&app, &token, &id).await;
    assert_eq!(
        (looked["tracked"].as_u64(), looked["skipped"].as_u64()),
        (Some(1), Some(1)),
        "{looked}"
    );
    assert_eq!(keys(&looked["trackers"]), ["first-video"]);
    let skipped = &looked["history"][0];
    assert_eq!(skipped["key"], "other-video", "{looked}");
    assert_eq!(skipped["state"], "skipped");
    assert!(
        skipped["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("tracks up to 1"),
        "{skipped}"
    );
    let (_, list) = app.api_get("/api/v1/watches", &token).await;
    assert_eq!(list["watches"][0]["skipped"], 1, "{list}");
    // The watch's page says so, and another workspace cannot see it.
    let owner = app.signed_in(&user).await;
    let page = owner.html(&format!("/watches/{id}")).await;
    assert!(page.contains("skipped: limit reached"), "{page}");
    assert!(page.contains("Video first-video"), "{page}");
    let stranger = app.create_user(Role::Member).await;
    let other = app.signed_in(&stranger).await;
    let page = other.html(&format!("/watches/{id}")).await;
    assert!(
        !page.contains("other-video"),
        "another workspace's watch is not shown"
    );

    // Still at the limit, the next look leaves it skipped (and says nothing new).
    let looked = look(&app, &token, &id).await;
    assert_eq!(
        (looked["tracked"].as_u64(), looked["skipped"].as_u64()),
        (Some(0), Some(0)),
        "{looked}"
    );
    // Once there is room (an upgrade, a tracker deleted), the next look tracks it.
    sqlx::query("UPDATE plans SET max_trackers = 5 WHERE id = 'business'")
        .execute(&app.pool)
        .await
        .expect("a bigger plan");
    let looked = look(&app, &token, &id).await;
    assert_eq!(looked["tracked"], 1, "{looked}");
    let mut tracked = keys(&looked["trackers"]);
    tracked.sort();
    assert_eq!(tracked, ["first-video", "other-video"], "{looked}");
    let (_, list) = app.api_get("/api/v1/watches", &token).await;
    assert_eq!(list["watches"][0]["skipped"], 0, "{list}");
}

#[tokio::test]
async fn a_tracker_the_workspace_deleted_is_not_added_again() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    youtube_channel(&standin, &[]);
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let started = watch(
        &app,
        &token,
        json!({ "url": format!("https://www.youtube.com/{HANDLE}") }),
    )
    .await;
    let id = started["watch"]["id"].as_str().expect("an id").to_string();
    publish(&standin, "kept-video1");
    let looked = look(&app, &token, &id).await;
    let tracker = looked["trackers"][0]["tracker_id"]
        .as_str()
        .expect("a tracker")
        .to_string();
    assert_eq!(
        app.delete_tracker(&token, &tracker).await,
        StatusCode::NO_CONTENT
    );
    publish(&standin, "later-video");
    let looked = look(&app, &token, &id).await;
    assert_eq!(looked["tracked"], 1, "only the new one: {looked}");
    assert_eq!(keys(&looked["trackers"]), ["later-video"]);
    let deleted = looked["history"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|item| item["key"] == "kept-video1")
        .cloned()
        .expect("the deleted one in the history");
    assert_eq!(
        (deleted["state"].clone(), deleted["tracker_id"].clone()),
        (json!("tracked"), Value::Null)
    );
    assert_eq!(app.count("SELECT count(*) FROM trackers").await, 1);
}

#[tokio::test]
async fn two_workspaces_watching_one_channel_read_it_once() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    youtube_channel(&standin, &["old-video-1"]);
    let (_, first) = app.member_with_token(TokenScope::Write).await;
    let (_, second) = app.member_with_token(TokenScope::Write).await;
    let url = format!("https://www.youtube.com/{HANDLE}");
    watch(&app, &first, json!({ "url": url })).await;
    // The second watch starts from what the first read: no read of its own.
    let started = watch(
        &app,
        &second,
        json!({ "url": format!("https://www.youtube.com/channel/{CHANNEL}") }),
    )
    .await;
    assert_eq!(keys(&started["history"]), ["old-video-1"]);
    let reads = "/youtube/youtube/v3/playlistItems";
    assert_eq!(standin.hits_on(reads), 1, "{:?}", standin.hits());
    // Watching it again is the same watch.
    let (status, again) = app
        .api_post("/api/v1/watches", &first, json!({ "url": url }))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");

    publish(&standin, "new-video-1");
    let workers = app.start_workers();
    make_watches_due(&app).await;
    app.wait_for_count(
        Duration::from_secs(20),
        "SELECT count(*) FROM watch_items WHERE state = 'tracked'",
        2,
    )
    .await;
    workers.stop().await;
    assert_eq!(
        standin.hits_on(reads),
        2,
        "one read for both: {:?}",
        standin.hits()
    );
    assert_eq!(
        app.count("SELECT count(DISTINCT workspace_id) FROM trackers")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT count(*) FROM sources").await,
        1,
        "one source for both"
    );
}

#[tokio::test]
async fn a_github_owner_and_a_hacker_news_user_are_watched_too() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.load_fixtures("github");
    let listed: Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::standin::fixtures_folder("github").join("repositories.json"),
        )
        .expect("the fixture"),
    )
    .expect("JSON");
    standin.set("github/users/rust-lang/repos", listed.clone());
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let started = watch(
        &app,
        &token,
        json!({ "url": "https://github.com/rust-lang" }),
    )
    .await;
    let id = started["watch"]["id"].as_str().expect("an id").to_string();
    assert_eq!(started["watch"]["kind"], "github.repositories");
    // A fork is not the owner's work.
    assert_eq!(keys(&started["history"]), ["rust-lang/rust"]);
    let mut repos = listed.as_array().cloned().expect("a list");
    let mut new = repos[1].clone();
    new["full_name"] = json!("rust-lang/new-thing");
    new["name"] = json!("new-thing");
    new["html_url"] = json!("https://github.com/rust-lang/new-thing");
    new["created_at"] = json!(Utc::now().to_rfc3339());
    repos.insert(0, new);
    standin.set("github/users/rust-lang/repos", Value::Array(repos));
    standin.set_github_repo("rust-lang/new-thing", 12);
    let looked = look(&app, &token, &id).await;
    assert_eq!(
        keys(&looked["trackers"]),
        ["rust-lang/new-thing"],
        "{looked}"
    );
    assert_eq!(looked["trackers"][0]["metric"], "stars");
    assert_eq!(looked["trackers"][0]["value"], 12.0);
    let hits = standin.hits();
    assert!(
        hits.iter()
            .any(|hit| hit.starts_with("/github/users/rust-lang/repos?")
                && hit.contains("sort=created")
                && hit.contains("direction=desc")),
        "{hits:?}"
    );

    // Hacker News: the user's newest submissions that are stories.
    let mut user = fixtures::hn_user("pg", 155_000);
    user["submitted"] = json!([301, 300]);
    standin.set("hn/user/pg", user.clone());
    standin.set("hn/item/300", fixtures::hn_story(300, 50, 3));
    let mut comment = fixtures::hn_story(301, 0, 0);
    comment["type"] = json!("comment");
    standin.set("hn/item/301", comment);
    let started = watch(
        &app,
        &token,
        json!({ "url": "https://news.ycombinator.com/submitted?id=pg" }),
    )
    .await;
    assert_eq!(
        keys(&started["history"]),
        ["300"],
        "comments are not stories"
    );
    let id = started["watch"]["id"].as_str().expect("an id").to_string();
    user["submitted"] = json!([302, 301, 300]);
    standin.set("hn/user/pg", user);
    standin.set("hn/item/302", fixtures::hn_story(302, 7, 0));
    let looked = look(&app, &token, &id).await;
    assert_eq!(keys(&looked["trackers"]), ["302"], "{looked}");
    assert_eq!(
        looked["trackers"][0]["url"],
        "https://news.ycombinator.com/item?id=302"
    );
}

#[tokio::test]
async fn bad_watches_get_clear_answers_and_the_free_plan_has_none() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    youtube_channel(&standin, &[]);
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let post = |body: Value| {
        let (app, token) = (&app, &token);
        async move { app.api_post("/api/v1/watches", token, body).await }
    };
    expect_unprocessable(
        post(json!({ "url": "https://example.com/feed" })).await,
        "not something Upcount can watch",
    );
    expect_unprocessable(post(json!({ "url": "" })).await, "`url` is empty");
    expect_unprocessable(
        post(json!({ "url": "https://www.youtube.com/@nobody-here" })).await,
        "does not exist",
    );
    expect_unprocessable(
        post(json!({ "url": format!("https://www.youtube.com/{HANDLE}"), "label": "{views}" }))
            .await,
        "`{views}` is not a placeholder",
    );
    expect_unprocessable(
        post(json!({ "url": format!("https://www.youtube.com/{HANDLE}"),
                     "alerts": [{ "metric": "stars", "condition": "above", "value": 1 }] }))
        .await,
        "videos have no metric `stars`",
    );
    expect_unprocessable(
        post(json!({ "url": format!("https://www.youtube.com/{HANDLE}"), "top_per_day": 5 })).await,
        "`top_per_day`: videos have no score",
    );
    expect_unprocessable(
        post(json!({ "url": format!("https://www.youtube.com/{HANDLE}"), "min_score": 5 })).await,
        "`min_score`: videos have no score",
    );
    expect_unprocessable(
        post(json!({ "url": format!("https://www.youtube.com/{HANDLE}"), "track_for_days": 0 }))
            .await,
        "`track_for_days`",
    );
    expect_unprocessable(post(json!({ "url": 5 })).await, "url");
    // The upstream failing (past the client's retries): said so, nothing saved.
    standin.script(
        "/youtube/youtube/v3/playlistItems",
        vec![crate::standin::Canned::status(500); 3],
    );
    expect_unprocessable(
        post(json!({ "url": format!("https://www.youtube.com/{HANDLE}") })).await,
        "could not be read",
    );
    assert_eq!(app.count("SELECT count(*) FROM watches").await, 0);
    // An unknown watch.
    let missing = uuid::Uuid::new_v4();
    expect_error(
        app.api_get(&format!("/api/v1/watches/{missing}"), &token)
            .await,
        StatusCode::NOT_FOUND,
        "",
    );
    // Free: no watches.
    let free = app.create_free_user(Role::Member).await;
    let free_token = app.token(&free, TokenScope::Write).await;
    let (status, answer) = app
        .api_post(
            "/api/v1/watches",
            &free_token,
            json!({ "url": format!("https://www.youtube.com/{HANDLE}") }),
        )
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{answer}");
    assert_eq!(answer["limit"], "watches", "{answer}");
}

#[tokio::test]
async fn the_watches_pages_start_a_watch_look_now_pause_and_stop_it() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    youtube_channel(&standin, &["old-video-1"]);
    let user = app.create_user(Role::Member).await;
    let browser = app.signed_in(&user).await;
    let page = browser.html("/watches").await;
    assert!(page.contains("No watches yet."), "{page}");
    assert!(
        page.contains("YouTube channel (videos"),
        "the form names what can be watched"
    );

    // A link that is not watchable: said on the form, with the link kept.
    let refused = browser
        .post_form(
            "/watches",
            &[
                ("url", "https://example.com/x"),
                ("poll_every_secs", "3600"),
            ],
        )
        .await;
    let page = browser.follow(refused).await;
    assert!(page.contains("not something Upcount can watch"), "{page}");
    assert!(page.contains("https://example.com/x"), "{page}");

    let started = browser
        .post_form(
            "/watches",
            &[
                ("url", &format!("https://www.youtube.com/{HANDLE}")),
                ("poll_every_secs", "3600"),
                ("track_for_days", "30"),
                ("interval_secs", ""),
                ("label", ""),
                ("min_score", ""),
            ],
        )
        .await;
    let path = crate::helpers::location(&started);
    assert!(path.starts_with("/watches/"), "{path}");
    let page = browser.follow(started).await;
    assert!(page.contains("Watching Rick Astley"), "{page}");
    assert!(page.contains("there before the watch"), "{page}");

    publish(&standin, "new-video-1");
    let looked = browser.press_on(&path, &format!("{path}/poll")).await;
    let page = browser.follow(looked).await;
    assert!(page.contains("Looked now: 1 new, now tracked."), "{page}");
    assert!(page.contains("Video new-video-1"), "{page}");
    // Sorted by the last 7 days, as a link.
    let page = browser.html(&format!("{path}?sort=week")).await;
    assert!(page.contains("Video new-video-1"), "{page}");

    let paused = browser.press_on(&path, &format!("{path}/pause")).await;
    let page = browser.follow(paused).await;
    assert!(
        page.contains("Paused: the watch looks at nothing until resumed."),
        "{page}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM watch_containers WHERE next_read_at IS NULL")
            .await,
        1,
        "a paused watch reads nothing"
    );
    let refused = browser.press_on(&path, &format!("{path}/poll")).await;
    let page = browser.follow(refused).await;
    assert!(
        page.contains("This watch is paused; resume it first."),
        "{page}"
    );
    let resumed = browser.press_on(&path, &format!("{path}/resume")).await;
    browser.follow(resumed).await;

    let stopped = browser.press_on(&path, &format!("{path}/delete")).await;
    assert_eq!(crate::helpers::location(&stopped), "/watches");
    let page = browser.follow(stopped).await;
    assert!(
        page.contains("Stopped watching; the trackers it made stay."),
        "{page}"
    );
    assert_eq!(app.count("SELECT count(*) FROM watches").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM trackers").await, 1);
}

#[tokio::test]
async fn a_subreddit_watch_waits_an_hour_and_tracks_only_posts_above_its_score() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set(
        "reddit/sub/rust",
        fixtures::reddit_about("rust", 350_000, 1_200),
    );
    let listing = |posts: Vec<Value>| fixtures::reddit_listing(posts);
    standin.set(
        "reddit/r/rust/new.json",
        listing(vec![fixtures::reddit_post("old1", 40, 2)]),
    );
    standin.set("reddit/r/rust/top.json", listing(vec![]));
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let started = watch(
        &app,
        &token,
        json!({ "url": "https://www.reddit.com/r/rust/", "min_score": 50 }),
    )
    .await;
    let id = started["watch"]["id"].as_str().expect("an id").to_string();
    assert_eq!(started["watch"]["kind"], "reddit.new_posts");
    assert_eq!(keys(&started["history"]), ["old1"]);

    for (post, score) in [("low1", 3), ("high1", 80)] {
        standin.set(
            &format!("reddit/post/{post}"),
            fixtures::reddit_post(post, score, 1),
        );
    }
    standin.set(
        "reddit/r/rust/new.json",
        listing(vec![
            fixtures::reddit_post("high1", 80, 1),
            fixtures::reddit_post("low1", 3, 0),
            fixtures::reddit_post("old1", 40, 2),
        ]),
    );
    // Just posted: judged an hour after they appeared.
    let looked = look(&app, &token, &id).await;
    assert_eq!(
        (looked["tracked"].as_u64(), looked["failed"].as_u64()),
        (Some(0), Some(0)),
        "{looked}"
    );
    sqlx::query("UPDATE container_items SET first_seen_at = now() - interval '61 minutes'")
        .execute(&app.pool)
        .await
        .expect("let an hour pass");
    let looked = look(&app, &token, &id).await;
    assert_eq!(keys(&looked["trackers"]), ["high1"], "{looked}");
    assert_eq!(looked["trackers"][0]["metric"], "score");
    let low = looked["history"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|item| item["key"] == "low1")
        .cloned()
        .expect("the low one");
    assert_eq!(low["state"], "failed");
    assert!(
        low["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("below 50"),
        "{low}"
    );
    assert!(
        standin
            .hits()
            .iter()
            .any(|hit| hit.starts_with("/reddit/r/rust/new.json?limit=25")),
        "{:?}",
        standin.hits()
    );
}

/// A post of r/rust made `hours_ago`.
fn post_made(id: &str, score: i64, hours_ago: i64) -> Value {
    let mut post = fixtures::reddit_post(id, score, 0);
    let made = (Utc::now() - chrono::TimeDelta::hours(hours_ago)).timestamp() as f64;
    post["created_utc"] = json!(made);
    post["created"] = json!(made);
    post
}

#[tokio::test]
async fn a_subreddit_watch_keeps_the_days_top_posts_and_lets_the_rest_go_after_a_day() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set(
        "reddit/sub/rust",
        fixtures::reddit_about("rust", 350_000, 1_200),
    );
    let listing = |posts: Vec<Value>| fixtures::reddit_listing(posts);
    standin.set(
        "reddit/r/rust/new.json",
        listing(vec![post_made("old1", 40, 3)]),
    );
    standin.set("reddit/r/rust/top.json", listing(vec![]));
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let started = watch(
        &app,
        &token,
        json!({ "url": "https://www.reddit.com/r/rust/", "top_per_day": 2 }),
    )
    .await;
    let id = started["watch"]["id"].as_str().expect("an id").to_string();
    assert_eq!(started["watch"]["top_per_day"], 2, "{started}");
    assert_eq!(keys(&started["history"]), ["old1"]);

    // Three new posts, and one from this morning that only the day's top still lists.
    let posts = [("p1", 5, 2), ("p2", 50, 2), ("p3", 30, 2), ("t1", 90, 20)];
    for (post, score, hours) in posts {
        standin.set(
            &format!("reddit/post/{post}"),
            post_made(post, score, hours),
        );
    }
    let newest = |hours: i64| {
        listing(
            posts[..3]
                .iter()
                .map(|(post, score, _)| post_made(post, *score, hours))
                .chain([post_made("old1", 40, 3)])
                .collect(),
        )
    };
    standin.set("reddit/r/rust/new.json", newest(2));
    standin.set(
        "reddit/r/rust/top.json",
        listing(vec![
            post_made("t1", 90, 20),
            post_made("p2", 50, 2),
            post_made("p3", 30, 2),
        ]),
    );
    let looked = look(&app, &token, &id).await;
    let mut tracked = keys(&looked["trackers"]);
    tracked.sort();
    assert_eq!(tracked, ["p2", "t1"], "the day's top two: {looked}");
    assert_eq!(looked["failed"], 0, "the others may still climb: {looked}");

    // A day later, the two that never made the top are let go, with why.
    standin.set("reddit/r/rust/new.json", newest(25));
    standin.set("reddit/r/rust/top.json", listing(vec![]));
    let looked = look(&app, &token, &id).await;
    assert_eq!(looked["failed"], 2, "{looked}");
    let history = looked["history"].as_array().expect("a list");
    for post in ["p1", "p3"] {
        let item = history
            .iter()
            .find(|item| item["key"] == post)
            .unwrap_or_else(|| panic!("{post} in {looked}"));
        assert_eq!(item["state"], "failed", "{item}");
        assert!(
            item["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("not among the day's top 2"),
            "{item}"
        );
    }
    assert_eq!(keys(&looked["trackers"]).len(), 2, "{looked}");
    assert!(
        standin
            .hits()
            .iter()
            .any(|hit| hit.starts_with("/reddit/r/rust/top.json?t=day&limit=25")),
        "{:?}",
        standin.hits()
    );

    // The option can be changed and cleared.
    let (status, edited) = app
        .api_patch(
            &format!("/api/v1/watches/{id}"),
            &token,
            json!({ "top_per_day": null }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["watch"]["top_per_day"], Value::Null, "{edited}");
    let (status, refused) = app
        .api_patch(
            &format!("/api/v1/watches/{id}"),
            &token,
            json!({ "top_per_day": 26 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
}

#[tokio::test]
async fn a_twitch_channel_watch_tracks_its_new_videos_and_clips() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set("twitch/user/afro", fixtures::twitch_user("afro"));
    let user_id = "141981764";
    standin.set(
        &format!("twitch/videos_of/{user_id}"),
        json!([fixtures::twitch_video("100", 5)]),
    );
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let started = watch(&app, &token, json!({ "url": "https://www.twitch.tv/afro" })).await;
    let id = started["watch"]["id"].as_str().expect("an id").to_string();
    assert_eq!(started["watch"]["kind"], "twitch.published");
    assert_eq!(keys(&started["history"]), ["video:100"]);

    let mut video = fixtures::twitch_video("200", 9);
    video["created_at"] = json!(Utc::now().to_rfc3339());
    standin.set("twitch/video/200", video.clone());
    standin.set(
        &format!("twitch/videos_of/{user_id}"),
        json!([video, fixtures::twitch_video("100", 5)]),
    );
    let clip_id = "AwkwardHelplessSalamanderSwiftRage";
    let clip = fixtures::twitch_clip(clip_id, 77);
    standin.set(&format!("twitch/clip/{clip_id}"), clip.clone());
    standin.set(&format!("twitch/clips_of/{user_id}"), json!([clip]));
    let looked = look(&app, &token, &id).await;
    let mut made = keys(&looked["trackers"]);
    made.sort();
    assert_eq!(
        made,
        [format!("clip:{clip_id}"), "video:200".to_string()],
        "{looked}"
    );
    let hits = standin.hits();
    assert!(
        hits.iter()
            .any(|hit| hit.contains("/helix/videos?user_id=141981764&sort=time")),
        "{hits:?}"
    );
    assert!(
        hits.iter()
            .any(|hit| hit.contains("/helix/clips?broadcaster_id=141981764")),
        "{hits:?}"
    );
}

#[tokio::test]
async fn an_npm_scope_watch_tracks_the_packages_it_publishes() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.load_fixtures("npm");
    let search = "npm_registry/-/v1/search?text=scope%3Atypes";
    // The search also ranks near matches (another scope): not the scope's.
    standin.set(
        search,
        fixtures::npm_search(
            &[
                ("@types/node", "2026-11-01T10:00:00.000Z"),
                ("@typescript/vfs", "2026-11-20T10:00:00.000Z"),
            ],
            "types",
        ),
    );
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let started = watch(
        &app,
        &token,
        json!({ "url": "https://www.npmjs.com/org/types" }),
    )
    .await;
    let id = started["watch"]["id"].as_str().expect("an id").to_string();
    assert_eq!(started["watch"]["kind"], "npm.packages");
    assert_eq!(started["watch"]["title"], "@types");
    assert_eq!(started["watch"]["url"], "https://www.npmjs.com/org/types");
    assert_eq!(keys(&started["history"]), ["@types/node"], "{started}");

    let fresh = "@types/brand-new";
    for period in ["last-day", "last-week", "last-month"] {
        standin.set(
            &format!("npm/downloads/point/{period}/{fresh}"),
            json!({ "downloads": 3, "start": "2026-12-06", "end": "2026-12-06", "package": fresh }),
        );
    }
    let now = Utc::now().to_rfc3339();
    standin.set(
        search,
        fixtures::npm_search(
            &[
                ("@types/node", "2026-11-01T10:00:00.000Z"),
                (fresh, &now),
                ("@typescript/vfs", "2026-11-20T10:00:00.000Z"),
            ],
            "types",
        ),
    );
    let looked = look(&app, &token, &id).await;
    assert_eq!(keys(&looked["trackers"]), [fresh], "{looked}");
    assert_eq!(
        looked["trackers"][0]["url"],
        "https://www.npmjs.com/package/@types/brand-new"
    );
    assert!(
        standin
            .hits()
            .iter()
            .any(|hit| hit == "/npm_registry/-/v1/search?text=scope%3Atypes&size=250"),
        "{:?}",
        standin.hits()
    );

    // A user's packages: those they maintain.
    standin.set(
        "npm_registry/-/v1/search?text=maintainer%3Asindresorhus",
        fixtures::npm_search(&[("left-pad", "2026-10-01T10:00:00.000Z")], "sindresorhus"),
    );
    let user = watch(
        &app,
        &token,
        json!({ "url": "https://www.npmjs.com/~sindresorhus" }),
    )
    .await;
    assert_eq!(user["watch"]["title"], "~sindresorhus");
    assert_eq!(keys(&user["history"]), ["left-pad"], "{user}");

    // A scope with nothing public is refused, saying so.
    standin.set(
        "npm_registry/-/v1/search?text=scope%3Anobody",
        fixtures::npm_search(&[], "nobody"),
    );
    expect_unprocessable(
        app.api_post(
            "/api/v1/watches",
            &token,
            json!({ "url": "https://www.npmjs.com/org/nobody" }),
        )
        .await,
        "npm scope @nobody has no public packages",
    );
}

#[tokio::test]
async fn a_hugging_face_author_watch_tracks_its_new_models() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.load_fixtures("huggingface");
    standin.set(
        "huggingface/api/organizations/openai-community/overview",
        json!({
            "_id": "65c1a9b5f6b7a2d3e4f50617",
            "name": "openai-community",
            "fullname": "OpenAI community",
            "avatarUrl": "https://cdn-avatars.huggingface.co/v1/production/uploads/openai.png",
            "isVerified": false,
            "numModels": 2,
            "numFollowers": 1200,
        }),
    );
    let listing = "huggingface/api/models?author=openai-community";
    standin.set(
        listing,
        json!([fixtures::huggingface_listed(
            "openai-community/gpt2",
            "2022-03-02T23:29:04.000Z"
        )]),
    );
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let started = watch(
        &app,
        &token,
        json!({ "url": "https://huggingface.co/openai-community" }),
    )
    .await;
    let id = started["watch"]["id"].as_str().expect("an id").to_string();
    assert_eq!(started["watch"]["kind"], "huggingface.models");
    assert_eq!(started["watch"]["title"], "OpenAI community");
    assert_eq!(keys(&started["history"]), ["openai-community/gpt2"]);

    let mut model = standin
        .get("huggingface/api/models/openai-community/gpt2")
        .expect("the fixture");
    model["id"] = json!("openai-community/gpt-next");
    standin.set("huggingface/api/models/openai-community/gpt-next", model);
    let mut private =
        fixtures::huggingface_listed("openai-community/secret", "2026-12-07T09:00:00.000Z");
    private["private"] = json!(true);
    standin.set(
        listing,
        json!([
            fixtures::huggingface_listed("openai-community/gpt-next", &Utc::now().to_rfc3339()),
            private,
            fixtures::huggingface_listed("openai-community/gpt2", "2022-03-02T23:29:04.000Z"),
        ]),
    );
    let looked = look(&app, &token, &id).await;
    assert_eq!(
        keys(&looked["trackers"]),
        ["openai-community/gpt-next"],
        "{looked}"
    );
    assert!(
        standin.hits().iter().any(|hit| hit
            == "/huggingface/api/models?author=openai-community&sort=createdAt&direction=-1&limit=50"),
        "{:?}",
        standin.hits()
    );

    // A user (no organisation of that name), by the short link.
    standin.set(
        "huggingface/api/users/julien-c/overview",
        json!({
            "_id": "5dd96eb166059660ed1ee413",
            "avatarUrl": "https://cdn-avatars.huggingface.co/v1/production/uploads/julien.png",
            "isPro": true,
            "fullname": "Julien Chaumond",
            "user": "julien-c",
            "type": "user",
            "numModels": 0,
        }),
    );
    standin.set("huggingface/api/models?author=julien-c", json!([]));
    let user = watch(&app, &token, json!({ "url": "https://hf.co/julien-c" })).await;
    assert_eq!(user["watch"]["title"], "Julien Chaumond");
    assert_eq!(user["watch"]["url"], "https://huggingface.co/julien-c");

    expect_unprocessable(
        app.api_post(
            "/api/v1/watches",
            &token,
            json!({ "url": "https://huggingface.co/nobody-at-all" }),
        )
        .await,
        "Hugging Face author nobody-at-all does not exist",
    );
}
