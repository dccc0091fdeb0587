//! Whose trackers are whose: workspace scoping, sessions on the API, one source for many
//! workspaces, public shares.

use super::*;

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
    app.history_loaded().await;
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
