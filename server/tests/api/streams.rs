//! Twitch streams as sessions: the polls of a channel recorded as what they saw of its
//! stream, a live channel polled at its plan's shortest interval, and the sessions and
//! figures the API and the Streams pages derive from a known sequence of polls.

use app::domain::{Role, TokenScope};
use chrono::{DateTime, Duration, DurationRound, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, expect_error, spawn_app_with_standin},
    polling::poll_now,
    standin::fixtures,
};

/// A live stream of `login` with stream id `id`.
fn live(login: &str, id: &str, viewers: u64, game: &str, tags: &[&str]) -> Value {
    let mut stream = fixtures::twitch_stream(login, viewers);
    stream["id"] = json!(id);
    stream["game_name"] = json!(game);
    stream["tags"] = json!(tags);
    stream["title"] = json!(format!("Stream {id}"));
    stream
}

async fn next_poll_in(app: &TestApp) -> f64 {
    sqlx::query_scalar("SELECT extract(epoch FROM next_poll_at - now())::float8 FROM sources")
        .fetch_one(&app.pool)
        .await
        .expect("the next poll")
}

#[tokio::test]
async fn polls_of_a_channel_become_sessions_and_a_live_channel_is_polled_often() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set("twitch/user/afro", fixtures::twitch_user("afro"));
    standin.set(
        "twitch/stream/afro",
        live("afro", "s1", 100, "Chess", &["English"]),
    );
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let tracker = app
        .add_tracker(
            &token,
            json!({ "url": "https://www.twitch.tv/afro", "interval_secs": 3600 }),
        )
        .await;
    // Adding it read the stream once; live, the next poll is at the plan's shortest
    // interval (Business: a minute), not the tracker's hour.
    let recorded: i64 = app
        .count_with(
            "SELECT count(*) FROM stream_polls WHERE stream_id = $1",
            "s1".to_string(),
        )
        .await;
    assert_eq!(recorded, 1, "the first poll's stream");
    assert!(
        next_poll_in(&app).await <= 61.0,
        "live: polled every minute"
    );

    let workers = app.start_workers();
    standin.set(
        "twitch/stream/afro",
        live("afro", "s1", 300, "Chess", &["English", "Chill"]),
    );
    poll_now(&app).await;
    assert!(next_poll_in(&app).await <= 61.0);
    // Offline: missing from `data`; the tracker's own interval again.
    standin.remove("twitch/stream/afro");
    poll_now(&app).await;
    assert!(next_poll_in(&app).await > 3_000.0, "offline: hourly");
    standin.set("twitch/stream/afro", live("afro", "s2", 40, "Go", &[]));
    poll_now(&app).await;
    drop(workers);

    let (status, body) = app
        .api_get(&format!("/api/v1/trackers/{tracker}/streams"), &token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let streams = body["streams"].as_array().expect("streams");
    let ids: Vec<&str> = streams
        .iter()
        .map(|stream| stream["stream_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ids, ["s1", "s2"], "{body}");
    let first = &streams[0];
    assert_eq!(first["peak_viewers"], 300.0);
    assert_eq!(
        first["started_at"], "2021-03-10T03:18:11Z",
        "Twitch's started_at"
    );
    assert!(first["ended_at"].is_string(), "ended by the offline poll");
    assert_eq!(first["tags"], json!(["English", "Chill"]));
    assert_eq!(first["titles"], json!(["Stream s1"]));
    assert_eq!(first["viewers"].as_array().map(Vec::len), Some(2));
    assert!(streams[1]["ended_at"].is_null(), "s2 is live");
    assert_eq!(streams[1]["games"][0]["game"], "Go");
}

/// A poll as a test writes it: (minutes from the start, stream id or offline, viewers,
/// game, tags).
type Poll<'a> = (i64, Option<&'a str>, f64, &'a str, &'a [&'a str]);

/// Tracks the Twitch channel `login` for `token` (offline, so that adding it records no
/// stream) and replaces its stream polls by `polls`: (minutes from `start`, stream id or
/// offline, viewers, game, tags). Returns the tracker's id.
async fn channel_with_polls(
    app: &TestApp,
    standin: &crate::standin::StandIn,
    token: &str,
    login: &str,
    start: DateTime<Utc>,
    polls: &[Poll<'_>],
) -> String {
    standin.set(
        &format!("twitch/user/{login}"),
        fixtures::twitch_user(login),
    );
    let tracker = app
        .track(token, &format!("https://www.twitch.tv/{login}"))
        .await;
    let source: i64 = sqlx::query_scalar("SELECT source_id FROM trackers WHERE id = $1::uuid")
        .bind(&tracker)
        .fetch_one(&app.pool)
        .await
        .expect("the source");
    sqlx::query("DELETE FROM stream_polls WHERE source_id = $1")
        .bind(source)
        .execute(&app.pool)
        .await
        .expect("clear");
    for (minute, id, viewers, game, tags) in polls {
        sqlx::query(
            "INSERT INTO stream_polls (source_id, at, stream_id, viewers, title, game, tags)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(source)
        .bind(start + Duration::minutes(*minute))
        .bind(id)
        .bind(if id.is_some() { *viewers } else { 0.0 })
        .bind(id.map(|id| format!("Stream {id}")).unwrap_or_default())
        .bind(id.map(|_| game.to_string()))
        .bind(tags.iter().map(|tag| tag.to_string()).collect::<Vec<_>>())
        .execute(&app.pool)
        .await
        .expect("a poll");
    }
    tracker
}

#[tokio::test]
async fn sessions_and_figures_match_a_hand_computation() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    // Whole seconds, as the API writes times.
    let start = (Utc::now() - Duration::days(3))
        .duration_trunc(Duration::seconds(1))
        .expect("a time");
    // live, live, offline; a new id; a new id while live; a one-poll flap; offline twice.
    let busy = channel_with_polls(
        &app,
        &standin,
        &token,
        "busy",
        start,
        &[
            (0, Some("a"), 100.0, "Chess", &["English"]),
            (15, Some("a"), 300.0, "Chess", &["English", "Chill"]),
            (30, None, 0.0, "", &[]),
            (45, Some("b"), 50.0, "Go", &["English"]),
            (60, Some("b"), 150.0, "Go", &[]),
            (75, Some("c"), 10.0, "Chess", &[]),
            (90, None, 0.0, "", &[]),
            (105, Some("c"), 30.0, "Just Chatting", &["Chill"]),
            (120, None, 0.0, "", &[]),
            (135, None, 0.0, "", &[]),
        ],
    )
    .await;
    // A quieter channel, with one stream 20 days ago and one now.
    let quiet = channel_with_polls(
        &app,
        &standin,
        &token,
        "quiet",
        Utc::now() - Duration::days(20),
        &[
            (0, Some("q1"), 1000.0, "Go", &["Korean"]),
            (60, None, 0.0, "", &[]),
            (
                20 * 24 * 60 - 30,
                Some("q2"),
                500.0,
                "Go",
                &["Korean", "Chill"],
            ),
        ],
    )
    .await;

    let (status, body) = app
        .api_get(&format!("/api/v1/trackers/{busy}/streams"), &token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let streams = body["streams"].as_array().expect("streams");
    let figures: Vec<(String, f64, f64, f64, i64)> = streams
        .iter()
        .map(|stream| {
            (
                stream["stream_id"].as_str().unwrap_or_default().to_string(),
                stream["peak_viewers"].as_f64().unwrap_or_default(),
                stream["average_viewers"].as_f64().unwrap_or_default(),
                stream["hours_watched"].as_f64().unwrap_or_default(),
                stream["duration_secs"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        figures,
        [
            ("a".to_string(), 300.0, 200.0, 100.0, 30 * 60),
            ("b".to_string(), 150.0, 100.0, 50.0, 30 * 60),
            (
                "c".to_string(),
                30.0,
                (10.0 * 30.0 + 30.0 * 15.0) / 45.0,
                (10.0 * 30.0 + 30.0 * 15.0) / 60.0,
                45 * 60
            ),
        ],
        "{body}"
    );
    let ended = |index: usize| {
        streams[index]["ended_at"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let minute = |m: i64| {
        (start + Duration::minutes(m)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    };
    assert_eq!(
        (ended(0), ended(1), ended(2)),
        (minute(30), minute(75), minute(120))
    );
    // A range that ends before the second stream lists only the first.
    let to = (start + Duration::minutes(40)).to_rfc3339();
    let (_, body) = app
        .api_get(
            &format!(
                "/api/v1/trackers/{busy}/streams?to={}",
                url::form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>()
            ),
            &token,
        )
        .await;
    assert_eq!(body["streams"].as_array().map(Vec::len), Some(1), "{body}");

    let (status, stats) = app
        .api_get(
            &format!("/api/v1/trackers/{busy}/stream-stats?range=7d"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["range"], "7d");
    assert_eq!(stats["streams"], 3);
    assert_eq!(stats["hours_streamed"], 105.0 / 60.0);
    let watched = 100.0 + 50.0 + (10.0 * 30.0 + 30.0 * 15.0) / 60.0;
    assert_eq!(stats["hours_watched"], watched);
    assert_eq!(stats["average_viewers"], watched * 60.0 / 105.0);
    assert_eq!(stats["peak_viewers"], 300.0);
    assert_eq!(
        stats["top_games"],
        json!([
            { "game": "Chess", "secs": 60 * 60 },
            { "game": "Go", "secs": 30 * 60 },
            { "game": "Just Chatting", "secs": 15 * 60 }
        ])
    );
    assert_eq!(
        stats["top_tags"],
        json!([{ "tag": "Chill", "streams": 2 }, { "tag": "English", "streams": 2 }])
    );

    // Across the workspace: 30 days, by hours streamed and by average viewers.
    let (status, ranking) = app.api_get("/api/v1/streams?range=30d", &token).await;
    assert_eq!(status, StatusCode::OK, "{ranking}");
    let order = |ranking: &Value| -> Vec<String> {
        ranking["channels"]
            .as_array()
            .expect("channels")
            .iter()
            .map(|channel| {
                channel["tracker_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        order(&ranking),
        [busy.clone(), quiet.clone()],
        "busy streamed more"
    );
    assert_eq!(ranking["channels"][1]["stats"]["streams"], 2);
    assert_eq!(
        ranking["top_tags"][0],
        json!({ "tag": "Chill", "streams": 3 })
    );
    let (_, by_viewers) = app
        .api_get("/api/v1/streams?range=30d&by=average", &token)
        .await;
    assert_eq!(order(&by_viewers), [quiet.clone(), busy.clone()]);
    // The last week holds only the quiet channel's current stream.
    let (_, week) = app.api_get("/api/v1/streams?range=7d", &token).await;
    assert_eq!(week["channels"][1]["stats"]["streams"], 1, "{week}");

    // Bad ranges, other kinds and other workspaces.
    expect_error(
        app.api_get(
            &format!("/api/v1/trackers/{busy}/stream-stats?range=1y"),
            &token,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "7d, 30d or 90d",
    );
    expect_error(
        app.api_get("/api/v1/streams?by=loudest", &token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "hours or average",
    );
    standin.set_github_repo("leptos-rs/leptos", 10);
    let repo = app
        .track(&token, "https://github.com/leptos-rs/leptos")
        .await;
    expect_error(
        app.api_get(&format!("/api/v1/trackers/{repo}/streams"), &token)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a Twitch channel",
    );
    let stranger = app.create_user(Role::Member).await;
    let strangers = app.token(&stranger, TokenScope::Read).await;
    let (status, _) = app
        .api_get(&format!("/api/v1/trackers/{busy}/streams"), &strangers)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The pages: the Streams tab and the ranking.
    let owner = app.signed_in(&user).await;
    let html = owner
        .html(&format!("/trackers/{busy}/streams?range=7d"))
        .await;
    for expected in [
        "Streams of",
        "stream-timeline",
        "Just Chatting",
        "Most common tags",
        "Stream c",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    let html = owner.html(&format!("/trackers/{busy}")).await;
    assert!(
        html.contains(&format!("/trackers/{busy}/streams")),
        "a Streams tab"
    );
    let html = owner.html("/dashboard").await;
    assert!(
        html.contains(r#"href="/streams""#),
        "the dashboard links to the ranking: {html}"
    );
    let html = owner.html("/streams?range=30d&by=average").await;
    assert!(html.contains("Most average viewers"), "{html}");
    assert!(html.contains("Korean"), "{html}");
    let html = owner.html(&format!("/trackers/{repo}/streams")).await;
    assert!(html.contains("Page not found"), "{html}");
}

#[tokio::test]
async fn stream_polls_are_kept_as_long_as_the_plans_raw_samples_and_at_least_90_days() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let now = Utc::now();
    let day = 24 * 60;
    // Polls 10, 89, 91 and 400 days ago: a Free workspace's 30 days give way to the 90.
    let start = now - Duration::days(400);
    channel_with_polls(
        &app,
        &standin,
        &token,
        "keeper",
        start,
        &[
            (0, Some("old"), 5.0, "Go", &[]),
            ((400 - 91) * day, Some("a"), 5.0, "Go", &[]),
            ((400 - 89) * day, Some("b"), 5.0, "Go", &[]),
            ((400 - 10) * day, Some("c"), 5.0, "Go", &[]),
        ],
    )
    .await;
    sqlx::query("UPDATE workspaces SET plan_id = 'free'")
        .execute(&app.pool)
        .await
        .expect("the Free plan");
    let deleted = app::server::tracking::store::prune_stream_polls(&app.pool, now)
        .await
        .expect("prune");
    assert_eq!(deleted, 2);
    let kept: Vec<String> = sqlx::query_scalar("SELECT stream_id FROM stream_polls ORDER BY at")
        .fetch_all(&app.pool)
        .await
        .expect("the polls");
    assert_eq!(kept, ["b", "c"]);
    // A plan keeping raw samples for a year keeps the polls of the year.
    sqlx::query("UPDATE plans SET raw_retention_days = 365 WHERE id = 'free'")
        .execute(&app.pool)
        .await
        .expect("a longer retention");
    let deleted =
        app::server::tracking::store::prune_stream_polls(&app.pool, now + Duration::days(100))
            .await
            .expect("prune");
    assert_eq!(deleted, 0, "100 days on, within the year");
}
