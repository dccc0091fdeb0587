//! Making, listing and deleting push sources; their tokens; their trackers; the plan's
//! limit; the dashboard's form.

use super::*;

#[tokio::test]
async fn a_push_source_is_a_tracker_with_a_token_shown_once() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "  Sales  ").await;
    assert!(made.token.starts_with("upp_"), "{}", made.token);
    assert_eq!(made.token.len(), 47);

    // Stored as its hash only.
    let (hash, prefix) = sqlx::query_as::<_, (Vec<u8>, String)>(
        "SELECT token_hash, token_prefix FROM push_sources WHERE id = $1::uuid",
    )
    .bind(&made.id)
    .fetch_one(&app.pool)
    .await
    .expect("the push source");
    assert_eq!(hash, app::server::tokens::hash(&made.token));
    assert_eq!(prefix, &made.token[..9]);

    // Listed without the token.
    let response = app.get_with_token("/api/v1/push-sources", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("a body");
    assert!(!text.contains(&made.token), "{text}");
    let list: Value = serde_json::from_str(&text).expect("JSON");
    let listed = &list["push_sources"][0];
    assert_eq!(listed["id"], made.id.as_str());
    assert_eq!(listed["tracker_id"], made.tracker.as_str());
    assert_eq!(listed["name"], "Sales");
    assert_eq!(listed["token_prefix"], &made.token[..9]);
    assert_eq!(listed["series"], 0);
    assert!(listed.get("token").is_none(), "{listed}");

    // A tracker like any other, of kind `push`, that nothing polls, whatever schedules it.
    let (status, tracker) = app.tracker(&token, &made.tracker).await;
    assert_eq!(status, StatusCode::OK, "{tracker}");
    assert_eq!(tracker["tracker"]["label"], "Sales");
    assert_eq!(tracker["tracker"]["source"]["kind"], "push");
    assert_eq!(tracker["tracker"]["state"], "ok");
    let (_, all) = app.api_get("/api/v1/trackers", &token).await;
    assert_eq!(all["trackers"][0]["id"], made.tracker.as_str());
    app.make_due().await;
    let (status, _) = app
        .patch_tracker(&token, &made.tracker, json!({ "interval_secs": 300 }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let scheduled = app
        .count("SELECT count(*) FROM sources WHERE kind = 'push' AND (next_poll_at IS NOT NULL OR leased_until IS NOT NULL)")
        .await;
    assert_eq!(scheduled, 0, "a push source is never scheduled");
    let (status, body) = app
        .api_post(
            &format!("/api/v1/trackers/{}/poll", made.tracker),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Deleting it takes its tracker, series and samples, and its token stops working.
    push_ok(
        &app,
        &made.token,
        json!([{ "metric": "signups", "value": 1 }]),
    )
    .await;
    let (status, _) = app
        .api_delete(&format!("/api/v1/push-sources/{}", made.id), &token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = app.api_get("/api/v1/push-sources", &token).await;
    assert_eq!(list["push_sources"], json!([]));
    let (status, _) = app.tracker(&token, &made.tracker).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.count("SELECT count(*) FROM sources WHERE kind = 'push'")
            .await,
        0
    );
    assert_eq!(app.count("SELECT count(*) FROM samples").await, 0);
    let (status, body) = push(
        &app,
        &made.token,
        json!([{ "metric": "signups", "value": 1 }]),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = app
        .api_delete(&format!("/api/v1/push-sources/{}", made.id), &token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn push_sources_belong_to_their_workspace() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Sales").await;
    let (_, other) = app.member_with_token(TokenScope::Write).await;
    let (_, list) = app.api_get("/api/v1/push-sources", &other).await;
    assert_eq!(list["push_sources"], json!([]));
    for path in [
        format!("/api/v1/push-sources/{}", made.id),
        "/api/v1/push-sources/not-a-uuid".to_string(),
    ] {
        let (status, body) = app.api_delete(&path, &other).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = app.tracker(&other, &made.tracker).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT count(*) FROM push_sources").await, 1);

    // Read-only tokens list but do not make or delete; nobody is a 401; names are checked.
    let user = app.create_user(Role::Member).await;
    let reader = app.token(&user, TokenScope::Read).await;
    let (status, _) = app.api_get("/api/v1/push-sources", &reader).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .api_post("/api/v1/push-sources", &reader, json!({ "name": "x" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let status = app.get("/api/v1/push-sources").await.status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for bad in [
        json!({ "name": "  " }),
        json!({}),
        json!({ "name": "x".repeat(201) }),
    ] {
        crate::helpers::expect_unprocessable(
            app.api_post("/api/v1/push-sources", &token, bad).await,
            "`name` must be 1 to 200 characters",
        );
    }
    let (status, _) = app
        .api_post(
            "/api/v1/push-sources",
            &token,
            json!({ "name": "x", "colour": "red" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn push_sources_count_against_the_plans_trackers() {
    let app = spawn_app().await;
    let user = app.create_free_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    for n in 0..5 {
        make_source(&app, &token, &format!("source {n}")).await;
    }
    let (status, body) = app
        .api_post(
            "/api/v1/push-sources",
            &token,
            json!({ "name": "one too many" }),
        )
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["limit"], "trackers");
    assert!(
        body["message"]
            .as_str()
            .expect("a message")
            .contains("up to 5"),
        "{body}"
    );
    assert_eq!(app.count("SELECT count(*) FROM push_sources").await, 5);
    assert_eq!(
        app.count("SELECT count(*) FROM sources WHERE kind = 'push'")
            .await,
        5
    );
}

#[tokio::test]
async fn the_dashboard_form_makes_one_and_shows_its_token_once() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Member).await;
    let browser = app.signed_in(&user).await;
    let page = browser.html("/dashboard").await;
    assert!(
        page.contains("New push source"),
        "the form is on the dashboard"
    );
    assert!(page.contains("action=\"/dashboard/push-sources\""));

    let response = browser
        .post_form("/dashboard/push-sources", &[("name", "Sales")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.expect("a page");
    let marker = html
        .find("data-testid=\"new-push-token\"")
        .expect("the new token is shown");
    let start = marker + html[marker..].find('>').expect("the tag's end") + 1;
    let end = start + html[start..].find('<').expect("the token's end");
    let token = html[start..end].to_string();
    assert!(token.starts_with("upp_") && token.len() == 47, "{token}");
    assert!(
        html.contains(&format!("{}/api/v1/push", app.address)),
        "the curl line"
    );
    assert!(html.contains("curl -X POST"));
    // It works, and it is not shown again.
    push_ok(&app, &token, json!([{ "metric": "signups", "value": 2 }])).await;
    assert!(!browser.html("/dashboard").await.contains(&token));

    // A bad name comes back beside the field.
    let response = browser
        .post_form("/dashboard/push-sources", &[("name", "   ")])
        .await;
    let page = browser.follow(response).await;
    assert!(
        page.contains("`name` must be 1 to 200 characters"),
        "{page}"
    );
    assert_eq!(app.count("SELECT count(*) FROM push_sources").await, 1);
}
