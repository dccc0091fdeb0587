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
    eventually(Duration::from_secs(20), "the poll", || async {
        let (_, body) = app.tracker(token, id).await;
        (latest(&body["tracker"], metric) == Some(value)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn adding_by_url_checks_existence_and_takes_the_first_sample() {
    let (_standin, app, token) = setup().await;
    let (status, body) = app.post_tracker(&token, json!({ "url": LEPTOS })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["created"], true);
    let tracker = &body["tracker"];
    assert_eq!(tracker["label"], "leptos-rs/leptos");
    assert_eq!(tracker["state"], "ok");
    assert_eq!(tracker["interval_secs"], 900);
    assert_eq!(tracker["source"]["kind"], "github.repo");
    assert_eq!(tracker["source"]["key"], "leptos-rs/leptos");
    assert_eq!(
        tracker["source"]["url"],
        "https://github.com/leptos-rs/leptos"
    );
    assert_eq!(latest(tracker, "stars"), Some(19_000.0));
    assert_eq!(latest(tracker, "watchers"), Some(42.0));
    let next_poll = chrono::DateTime::parse_from_rfc3339(
        tracker["source"]["next_poll_at"]
            .as_str()
            .expect("scheduled"),
    )
    .expect("a time");
    let in_secs = (next_poll.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    assert!(
        (790..=1000).contains(&in_secs),
        "next poll in {in_secs}s: 15 min ± 10%"
    );

    // Listed with its latest values, and its series has the first point.
    let (status, list) = app.api_get("/api/v1/trackers", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["trackers"].as_array().map(Vec::len), Some(1));
    let id = tracker["id"].as_str().expect("an id");
    let (status, series) = app.series(&token, id, "metric=stars").await;
    assert_eq!(status, StatusCode::OK, "{series}");
    assert_eq!(series["resolution"], "raw");
    assert_eq!(series["points"][0]["last"], 19_000.0);
    assert!(
        series["points"][0]["time"]
            .as_str()
            .expect("time")
            .ends_with('Z')
    );

    // Adding it again is not an error and makes no second tracker.
    let (status, again) = app
        .post_tracker(
            &token,
            json!({ "kind": "github.repo", "key": "Leptos-RS/leptos" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["created"], false);
    assert_eq!(again["tracker"]["id"], tracker["id"]);
}

#[tokio::test]
async fn what_cannot_be_tracked_gets_a_422_naming_why() {
    let (standin, app, token) = setup().await;
    let post = |body: Value| app.post_tracker(&token, body);

    let answer = post(json!({ "url": "https://example.com/some/page" })).await;
    let body = expect_unprocessable(answer, "does not recognise");
    assert_eq!(body["code"], "unrecognised_url");

    let (status, body) = post(json!({ "url": "not a url at all" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let answer = post(json!({ "url": "https://github.com/nobody/nothing" })).await;
    let body = expect_unprocessable(answer, "GitHub repository nobody/nothing does not exist");
    assert_eq!(body["code"], "not_found");

    standin.script("/hackernews/v0/item", vec![Canned::status(500); 3]);
    let answer = post(json!({ "url": "https://news.ycombinator.com/item?id=8863" })).await;
    let body = expect_unprocessable(answer, "Hacker News answered HTTP 500");
    assert_eq!(body["code"], "upstream_unavailable");

    let answer = post(json!({ "kind": "github.repo", "key": "no-slash" })).await;
    expect_unprocessable(answer, "owner/name");
    let answer = post(json!({ "kind": "myspace.page", "key": "x" })).await;
    expect_unprocessable(answer, "unknown kind");
    // A kind that cannot be one is refused while the body is read.
    let answer = post(json!({ "kind": "GitHub Repo", "key": "x" })).await;
    let body = expect_unprocessable(answer, "`GitHub Repo` is not a provider kind");
    assert_eq!(body["code"], "invalid");
    let answer = post(json!({ "url": LEPTOS, "interval_secs": 10 })).await;
    expect_unprocessable(answer, "interval_secs");

    let (status, _) = app
        .client
        .post(format!("{}/api/v1/trackers", app.address))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .map(|response| (response.status(), ()))
        .expect("send");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Nothing was stored by any of them.
    assert_eq!(app.count("SELECT count(*) FROM sources").await, 0);
}

#[tokio::test]
async fn a_provider_without_credentials_says_so_when_adding() {
    let (_standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_TWITCH_CLIENT_SECRET", String::new())]).await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let answer = app
        .post_tracker(&token, json!({ "url": "https://www.twitch.tv/afro" }))
        .await;
    let body = expect_unprocessable(answer, "UPCOUNT_TWITCH_CLIENT_SECRET");
    assert_eq!(body["code"], "not_configured");
}

#[tokio::test]
async fn json_sources_keep_secret_headers_secret() {
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into())]).await;
    standin.set("json/private", json!({ "stats": { "members": 321 } }));
    standin.set(
        "json-header/private",
        json!({ "name": "x-api-key", "value": "hunter2-very-secret" }),
    );
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let url = format!("{}/json/private", standin.base());

    // Without the header the upstream refuses, and the message says so.
    let answer = app
        .post_tracker(
            &token,
            json!({ "url": url, "metrics": { "members": "stats.members" } }),
        )
        .await;
    expect_unprocessable(answer, "HTTP 401");

    let (status, body) = app
        .post_tracker(
            &token,
            json!({
                "url": url,
                "label": "Members",
                "metrics": { "members": "stats.members" },
                "headers": [{ "name": "x-api-key", "value": "hunter2-very-secret", "secret": true }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["tracker"]["source"]["kind"], "json");
    assert_eq!(latest(&body["tracker"], "members"), Some(321.0));
    assert!(
        !body.to_string().contains("hunter2"),
        "never shown again: {body}"
    );
    let (_, list) = app.api_get("/api/v1/trackers", &token).await;
    assert!(!list.to_string().contains("hunter2"));
    let stored: String = sqlx::query_scalar("SELECT config::text FROM sources")
        .fetch_one(&app.pool)
        .await
        .expect("config");
    assert!(!stored.contains("hunter2"), "encrypted at rest: {stored}");
    assert!(stored.contains("\"secret\""), "{stored}");

    // The worker decrypts it to poll.
    standin.set("json/private", json!({ "stats": { "members": 400 } }));
    app.make_due().await;
    let workers = app.start_workers();
    let id = body["tracker"]["id"].as_str().expect("id");
    wait_for_latest(&app, &token, id, "members", 400.0).await;
    workers.stop().await;
}

#[tokio::test]
async fn trackers_are_scoped_to_their_workspace() {
    let (_standin, app, token) = setup().await;
    let id = app.track(&token, LEPTOS).await;

    let (_, other) = app.member_with_token(TokenScope::Write).await;
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/trackers/{id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/trackers/{id}"),
            Some(json!({ "paused": true })),
        ),
        (Method::DELETE, format!("/api/v1/trackers/{id}"), None),
        (Method::GET, format!("/api/v1/trackers/{id}/series"), None),
        (Method::GET, "/api/v1/trackers/not-a-uuid".to_string(), None),
    ] {
        let (status, answer) = app.api(method.clone(), &path, &other, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
    }
    let (_, list) = app.api_get("/api/v1/trackers", &other).await;
    assert_eq!(list["trackers"], json!([]));

    // Read-only tokens read but do not write; no credentials at all is a 401.
    let owner_id =
        sqlx::query_scalar::<_, app::domain::UserId>("SELECT created_by FROM api_tokens LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .expect("owner");
    let owner = crate::helpers::TestUser {
        id: owner_id,
        email: String::new(),
        password: String::new(),
    };
    let reader = app.token(&owner, TokenScope::Read).await;
    let (status, _) = app.tracker(&reader, &id).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .patch_tracker(&reader, &id, json!({ "paused": true }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let status = app.delete_tracker(&reader, &id).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let status = app.get("/api/v1/trackers").await.status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn session_cookies_work_for_the_api_too() {
    let (_standin, app, _token) = setup().await;
    let browser = app.signed_in(&app.create_user(Role::Member).await).await;
    let response = browser
        .client
        .post(format!("{}/api/v1/trackers", app.address))
        .header("origin", &app.address)
        .json(&json!({ "url": "https://news.ycombinator.com/item?id=8863" }))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = browser.get("/api/v1/trackers").await;
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["trackers"][0]["source"]["kind"], "hackernews.item");
    assert_eq!(latest(&body["trackers"][0], "score"), Some(111.0));
}

#[tokio::test]
async fn one_source_for_many_workspaces_with_the_shortest_interval() {
    let (standin, app, token) = setup().await;
    let (_, other) = app.member_with_token(TokenScope::Write).await;
    let add = |token: String, interval: i64| {
        let app = &app;
        async move {
            let (status, body) = app
                .post_tracker(&token, json!({ "url": LEPTOS, "interval_secs": interval }))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["tracker"]["id"].as_str().expect("id").to_string()
        }
    };
    let mine = add(token.clone(), 3_600).await;
    let theirs = add(other.clone(), 300).await;
    assert_eq!(
        app.count("SELECT count(*) FROM sources").await,
        1,
        "one source however many workspaces track it"
    );
    assert_eq!(source_row(&app).await.1, 300, "the shortest interval wins");

    // One poll serves both workspaces.
    standin.set_github_repo("leptos-rs/leptos", 20_000);
    app.make_due().await;
    let before = standin.hits_on("/github/repos");
    let workers = app.start_workers();
    wait_for_latest(&app, &token, &mine, "stars", 20_000.0).await;
    wait_for_latest(&app, &other, &theirs, "stars", 20_000.0).await;
    workers.stop().await;
    assert_eq!(
        standin.hits_on("/github/repos") - before,
        1,
        "polled once for both"
    );

    // Pausing one leaves the other's schedule; pausing both stops the source.
    let (status, body) = app
        .patch_tracker(&other, &theirs, json!({ "paused": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tracker"]["state"], "paused");
    assert_eq!(source_row(&app).await, ("ok".to_string(), 3_600, true));
    app.patch_tracker(&token, &mine, json!({ "paused": true }))
        .await;
    assert_eq!(source_row(&app).await, ("paused".to_string(), 3_600, false));
    // Resuming schedules it again at once.
    let (_, body) = app
        .patch_tracker(
            &token,
            &mine,
            json!({ "paused": false, "interval_secs": 600 }),
        )
        .await;
    assert_eq!(body["tracker"]["state"], "ok");
    assert_eq!(body["tracker"]["interval_secs"], 600);
    assert_eq!(source_row(&app).await, ("ok".to_string(), 600, true));

    // Deleting a tracker keeps the source and its data for the other workspace.
    let status = app.delete_tracker(&token, &mine).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.tracker(&token, &mine).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = app.tracker(&other, &theirs).await;
    assert_eq!(latest(&body["tracker"], "stars"), Some(20_000.0));
    assert_eq!(source_row(&app).await.0, "paused");
}

#[tokio::test]
async fn patch_validates_and_end_dates_end_tracking() {
    let (_standin, app, token) = setup().await;
    let (_, body) = app
        .post_tracker(
            &token,
            json!({ "url": "https://news.ycombinator.com/item?id=8863", "ends_at": "2999-01-01T00:00:00Z" }),
        )
        .await;
    let id = body["tracker"]["id"].as_str().expect("id").to_string();
    assert_eq!(body["tracker"]["ends_at"], "2999-01-01T00:00:00Z");
    let patch = |body: Value| app.patch_tracker(&token, &id, body);
    for bad in [
        json!({ "label": "" }),
        json!({ "interval_secs": 59 }),
        json!({ "ends_at": "2001-01-01T00:00:00Z" }),
        json!({ "ends_at": "tomorrow" }),
        json!({ "colour": "red" }),
    ] {
        let (status, answer) = patch(bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {answer}");
    }
    let (status, body) = patch(json!({ "label": "Dropbox launch", "ends_at": null })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["tracker"]["label"], "Dropbox launch");
    assert_eq!(body["tracker"]["ends_at"], Value::Null);

    // Past its end date (time passes: set it in the database) the tracker stops counting
    // and the dispatcher stops its source.
    sqlx::query("UPDATE trackers SET ends_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("end");
    app.make_due().await;
    let (_, body) = app.tracker(&token, &id).await;
    assert_eq!(body["tracker"]["state"], "ended");
    let workers = app.start_workers();
    eventually(Duration::from_secs(20), "the source to end", || async {
        let (state, _, scheduled) = source_row(&app).await;
        (state == "ended" && !scheduled).then_some(())
    })
    .await;
    workers.stop().await;
}

#[tokio::test]
async fn series_come_in_at_most_the_points_asked_for() {
    let (_standin, app, token) = setup().await;
    let id = app.track(&token, LEPTOS).await;
    let metric_id = app.metric_id("stars").await;
    // Thirty days of one sample a minute, in chunks.
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let points: Vec<_> = (0..30 * 1440)
        .map(|minute| (start + chrono::Duration::minutes(minute), minute as f64))
        .collect();
    app.write_points(metric_id, points.iter().copied()).await;
    // Writing them again adds nothing.
    let again = app
        .write_points(metric_id, points[..100].iter().copied())
        .await;
    assert_eq!(again, 0);

    let series = |query: String| {
        let (app, token, id) = (&app, &token, &id);
        async move {
            let (status, body) = app
                .series(token, id, &format!("metric=stars&{query}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            body
        }
    };
    // A day in 100 buckets of raw samples.
    let day = series("from=2026-01-02T00:00:00Z&to=2026-01-03T00:00:00Z&points=100".into()).await;
    let points = day["points"].as_array().expect("points");
    assert!(
        points.len() <= 100 && points.len() >= 90,
        "{}",
        points.len()
    );
    assert_eq!(day["resolution"], "samples");
    let total: i64 = points
        .iter()
        .map(|point| point["count"].as_i64().expect("count"))
        .sum();
    assert_eq!(total, 1441, "every sample of the day, both ends included");
    // The whole month from the hourly rollups: avg/min/max/last agree with the raw data.
    let month = series("from=2026-01-01T00:00:00Z&to=2026-01-30T23:59:00Z&points=30".into()).await;
    assert_eq!(month["resolution"], "daily");
    let points = month["points"].as_array().expect("points");
    assert_eq!(points.len(), 30);
    assert_eq!(points[0]["min"], 0.0);
    assert_eq!(points[0]["max"], 1439.0);
    assert_eq!(points[0]["last"], 1439.0);
    assert_eq!(points[0]["avg"], 719.5);
    assert_eq!(points[0]["count"], 1440);
    assert_eq!(points[0]["time"], "2026-01-01T00:00:00Z");
    let week = series("from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z&points=100".into()).await;
    assert_eq!(week["resolution"], "hourly");
    assert!(week["points"].as_array().expect("points").len() <= 100);
    // Few samples: raw points.
    let few = series("from=2026-01-01T00:00:00Z&to=2026-01-01T00:09:00Z&points=100".into()).await;
    assert_eq!(few["resolution"], "raw");
    assert_eq!(few["points"].as_array().map(Vec::len), Some(10));
    // An empty range is empty, not an error.
    let empty = series("from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z".into()).await;
    assert_eq!(empty["points"], json!([]));
    // Bad parameters are named.
    for query in [
        "from=yesterday",
        "points=0",
        "points=many",
        "metric=nope",
        "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    ] {
        let (status, body) = app.series(&token, &id, query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
    }
}

#[tokio::test]
async fn exports_stream_csv_and_json_of_a_range() {
    let (_standin, app, token) = setup().await;
    let id = app.track(&token, LEPTOS).await;
    // Ten days of minutes for stars (14,400 rows, several 64 KiB chunks), forks every hour.
    let start = chrono::DateTime::parse_from_rfc3339("2026-02-01T00:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let minute = |minute: i64| start + chrono::Duration::minutes(minute);
    let stars = (0..10 * 1440).map(|n| (minute(n), n as f64));
    app.write_points(app.metric_id("stars").await, stars).await;
    let forks = (0..10 * 1440).step_by(60).map(|n| (minute(n), 0.5));
    app.write_points(app.metric_id("forks").await, forks).await;

    let range = "from=2026-02-01T00:00:00Z&to=2026-02-10T23:59:00Z";
    let response = app
        .get_with_token(
            &format!("/api/v1/trackers/{id}/export.csv?metrics=stars,forks&{range}"),
            &token,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"leptos-rs-leptos.csv\""
    );
    let text = response.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        ["time", "stars", "forks"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), 10 * 1440);
    assert_eq!(
        &rows[0].iter().collect::<Vec<_>>(),
        &["2026-02-01T00:00:00Z", "0", "0.5"]
    );
    assert_eq!(
        &rows[1].iter().collect::<Vec<_>>(),
        &["2026-02-01T00:01:00Z", "1", ""]
    );
    assert_eq!(rows.last().expect("last").get(1), Some("14399"));

    let (status, export) = app
        .api_get(
            &format!("/api/v1/trackers/{id}/export.json?metrics=forks&{range}"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(export["tracker"]["kind"], "github.repo");
    assert_eq!(export["metrics"][0]["name"], "forks");
    let rows = export["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 10 * 24);
    assert_eq!(rows[0], json!(["2026-02-01T00:00:00Z", 0.5]));
    // Without a range: everything, the first sample (taken when added) included.
    let (status, all) = app
        .api_get(&format!("/api/v1/trackers/{id}/export.json"), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["rows"].as_array().map(Vec::len), Some(10 * 1440 + 1));

    // An empty range is a header (or no rows), not an error.
    let (status, empty) = app.api_get(&format!("/api/v1/trackers/{id}/export.json?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z"), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["rows"], json!([]));
    let (status, body) = app
        .api_get(
            &format!("/api/v1/trackers/{id}/export.csv?metrics=nope"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, other) = app.member_with_token(TokenScope::Read).await;
    let (status, _) = app
        .api_get(&format!("/api/v1/trackers/{id}/export.json"), &other)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_shared_tracker_has_a_public_page_and_badge_until_revoked() {
    let (_standin, app, token) = setup().await;
    let (_, body) = app
        .post_tracker(&token, json!({ "url": LEPTOS, "label": "Leptos <stars>" }))
        .await;
    let id = body["tracker"]["id"].as_str().expect("id").to_string();
    assert_eq!(body["tracker"]["share_token"], Value::Null);

    let (status, shared) = app.share(&token, &id).await;
    assert_eq!(status, StatusCode::OK, "{shared}");
    let share_token = shared["share"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    assert!(share_token.len() >= 22 && share_token.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        shared["share"]["page_url"],
        format!("{}/s/{share_token}", app.address)
    );
    assert_eq!(
        shared["share"]["badge_url"],
        format!("{}/badge/{share_token}.svg", app.address)
    );
    let (_, again) = app.share(&token, &id).await;
    assert_eq!(
        again["share"]["token"],
        share_token.as_str(),
        "sharing again keeps the link"
    );

    // Signed out: the page and the badge.
    let page = app.get(&format!("/s/{share_token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("Leptos &lt;stars&gt;"), "the label, escaped");
    assert!(html.contains("19,000"));
    assert!(!html.contains(&token), "nothing of the owner");
    let badge = app.get(&format!("/badge/{share_token}.svg")).await;
    assert_eq!(badge.status(), StatusCode::OK);
    assert_eq!(
        badge.headers()["content-type"],
        "image/svg+xml; charset=utf-8"
    );
    assert_eq!(badge.headers()["cache-control"], "public, max-age=300");
    let svg = badge.text().await.expect("svg");
    assert!(
        svg.starts_with("<svg")
            && svg.contains("19k stars")
            && svg.contains("Leptos &lt;stars&gt;"),
        "{svg}"
    );

    // Another workspace cannot share or revoke it.
    let (_, other) = app.member_with_token(TokenScope::Write).await;
    let (status, _) = app.share(&other, &id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.unshare(&other, &id).await, StatusCode::NOT_FOUND);

    // Revoked: both answer 404 at once.
    assert_eq!(app.unshare(&token, &id).await, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/s/{share_token}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/badge/{share_token}.svg")).await.status(),
        StatusCode::NOT_FOUND
    );
    for path in [
        "/s/nosuchshare",
        "/badge/nosuchshare.svg",
        "/badge/x.png",
        "/badge/..%2F.svg",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_dashboard_shows_changes_over_a_day_and_a_week_with_a_sparkline() {
    let (_standin, app, _token) = setup().await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let (_, body) = app.post_tracker(&token, json!({ "url": LEPTOS })).await;
    assert_eq!(latest(&body["tracker"], "stars"), Some(19_000.0));
    // Eight days of hourly history before the first sample: 10 fewer stars each hour back.
    let now = chrono::Utc::now();
    let history = (1..=192).map(|hours| {
        let t = now - chrono::Duration::hours(hours);
        (t, 19_000.0 - 10.0 * hours as f64)
    });
    app.write_points(app.metric_id("stars").await, history)
        .await;

    let browser = app.signed_in(&user).await;
    let html = browser.html("/dashboard").await;
    assert!(html.contains("stars"), "{html}");
    assert!(html.contains("+240 (+1.3%) in 24 h"), "{html}");
    assert!(html.contains("+1,680 (+9.7%) in 7 d"), "{html}");
    assert!(html.contains(r#"class="sparkline""#), "{html}");
    assert!(html.contains("polled "), "{html}");
}

#[tokio::test]
async fn the_dashboard_filters_searches_and_sorts_from_the_query_string() {
    let (standin, app, _token) = setup().await;
    standin.set("hn/item/1", fixtures::hn_story(1, 5, 0));
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    for url in [
        LEPTOS,
        "https://news.ycombinator.com/item?id=8863",
        "https://news.ycombinator.com/item?id=1",
    ] {
        app.track(&token, url).await;
    }
    let (_, list) = app.api_get("/api/v1/trackers", &token).await;
    let hn_ids: Vec<String> = list["trackers"]
        .as_array()
        .expect("trackers")
        .iter()
        .filter(|tracker| tracker["source"]["kind"] == "hackernews.item")
        .map(|tracker| tracker["id"].as_str().expect("id").to_string())
        .collect();
    app.patch_tracker(
        &token,
        &hn_ids[0],
        json!({ "label": "Zebra", "paused": true }),
    )
    .await;
    app.patch_tracker(&token, &hn_ids[1], json!({ "label": "Aardvark" }))
        .await;

    let browser = app.signed_in(&user).await;
    let page = |query: &'static str| {
        let browser = &browser;
        async move { browser.html(&format!("/dashboard{query}")).await }
    };
    let rows = |html: &str| -> Vec<String> {
        ["leptos-rs/leptos", "Zebra", "Aardvark"]
            .iter()
            .filter_map(|label| {
                html.find(&format!(">{label}</a>"))
                    .map(|at| (at, label.to_string()))
            })
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect()
    };
    let all = page("").await;
    assert!(all.contains("3 trackers"), "{all}");
    assert_eq!(
        rows(&page("?sort=name").await),
        ["Aardvark", "leptos-rs/leptos", "Zebra"]
    );
    assert_eq!(
        rows(&page("?sort=value").await),
        ["leptos-rs/leptos", "Aardvark", "Zebra"]
    );
    let hn = page("?kind=hackernews.item").await;
    assert!(hn.contains("2 of 3 trackers"), "{hn}");
    assert_eq!(rows(&hn).len(), 2);
    assert_eq!(rows(&page("?state=paused").await), ["Zebra"]);
    assert_eq!(rows(&page("?q=LEPTOS").await), ["leptos-rs/leptos"]);
    let none = page("?q=nothing-matches").await;
    assert!(none.contains("No tracker matches."), "{none}");
    assert!(!none.contains("Add your first tracker"));
}

#[tokio::test]
async fn a_tracker_page_shows_its_series_ranges_and_latest_polls() {
    let (_standin, app, _token) = setup().await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let id = app.track(&token, LEPTOS).await;
    let now = chrono::Utc::now();
    let history = (1..=2_000).map(|minutes| {
        let t = now - chrono::Duration::minutes(minutes * 5);
        (t, 19_000.0 - minutes as f64)
    });
    app.write_points(app.metric_id("stars").await, history)
        .await;

    let browser = app.browser();
    let signed_out = browser.get(&format!("/trackers/{id}")).await;
    assert_eq!(signed_out.status(), StatusCode::FOUND);
    assert_eq!(
        crate::helpers::location(&signed_out),
        format!("/sign-in?next=%2Ftrackers%2F{id}")
    );
    browser.sign_in(&user).await;
    let html = browser
        .html(&format!("/trackers/{id}?metric=stars&range=7d"))
        .await;
    assert!(
        html.contains(r#"id="tracker-chart-stars-7d-value-linear""#),
        "{html}"
    );
    assert!(html.contains("Chart data as a table"));
    assert!(
        html.contains(r#"aria-current="page" class="chip">7 d</a>"#)
            || html.contains(r#"class="chip" aria-current="page">7 d"#),
        "{html}"
    );
    assert!(
        html.contains("each point sums up"),
        "2,000 samples over a week come in buckets: {html}"
    );
    assert!(html.contains("Latest polls"));
    assert!(html.contains("19,000"));
    let rates = browser
        .html(&format!(
            "/trackers/{id}?metric=stars&range=7d&mode=per_day&scale=log"
        ))
        .await;
    assert!(
        rates.contains(r#"id="tracker-chart-stars-7d-per_day-log""#),
        "{rates}"
    );
    assert!(
        rates.contains(r#"aria-current="page" class="chip">Change per day</a>"#),
        "{rates}"
    );
    // One more star every five minutes: about 288 a day, all above zero, so log is fine.
    assert!(
        !rates.contains("Log scale needs values above zero"),
        "{rates}"
    );
    assert!(rates.contains("<td>28"), "rates near 288 a day: {rates}");
    let day = browser
        .html(&format!("/trackers/{id}?metric=forks&range=24h"))
        .await;
    assert!(
        day.contains("every poll"),
        "one sample of forks: raw points"
    );

    let other = app.signed_in(&app.create_user(Role::Member).await).await;
    assert_eq!(
        other.get(&format!("/trackers/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.get("/trackers/not-a-uuid").await.status(),
        StatusCode::NOT_FOUND
    );
}
