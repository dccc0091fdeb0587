//! Adding trackers: by URL or kind and key, what cannot be tracked and why, credentials,
//! secret headers.

use super::*;

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
