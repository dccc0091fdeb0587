//! `POST /api/v1/trackers/{id}/poll`: "poll now", at most once a minute per source.

use super::*;

#[tokio::test]
async fn poll_now_reads_the_upstream_within_seconds_at_most_once_a_minute() {
    let (standin, app, token) = setup().await;
    app.history_loaded().await;
    let id = app.track(&token, LEPTOS).await;
    let workers = app.start_workers();
    standin.set_github_repo("leptos-rs/leptos", 19_250);

    let (status, body) = app
        .api(
            Method::POST,
            &format!("/api/v1/trackers/{id}/poll"),
            &token,
            None,
        )
        .await;
    assert_eq!(
        (status, &body),
        (StatusCode::ACCEPTED, &json!({ "polling": true }))
    );
    // The interval is 15 minutes: only polling now brings the new count.
    wait_for_latest(&app, &token, &id, "stars", 19_250.0).await;

    // Again within the minute, from this workspace or another: 429 with Retry-After.
    let (_, other) = app.member_with_token(TokenScope::Write).await;
    let other_id = app.track(&other, LEPTOS).await;
    for (token, id) in [(&token, &id), (&other, &other_id)] {
        let response = app
            .request(Method::POST, &format!("/api/v1/trackers/{id}/poll"))
            .bearer_auth(token)
            .send()
            .await
            .expect("a response");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: i64 = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&wait), "{wait}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["code"], "rate_limited");
    }
    // A minute later it may poll again.
    sqlx::query("UPDATE sources SET poll_now_at = now() - interval '61 seconds'")
        .execute(&app.pool)
        .await
        .expect("a minute later");
    let (status, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/trackers/{other_id}/poll"),
            &other,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    workers.stop().await;

    // Not this workspace's; paused.
    let (status, _) = app
        .api(
            Method::POST,
            &format!("/api/v1/trackers/{other_id}/poll"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .patch_tracker(&token, &id, json!({ "paused": true }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, other_paused) = app
        .patch_tracker(&other, &other_id, json!({ "paused": true }))
        .await;
    assert_eq!(other_paused["tracker"]["paused"], true);
    sqlx::query("UPDATE sources SET poll_now_at = NULL, next_poll_at = NULL")
        .execute(&app.pool)
        .await
        .expect("ended as the dispatcher would");
    let (status, body) = app
        .api(
            Method::POST,
            &format!("/api/v1/trackers/{id}/poll"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "not_polled");
}

#[tokio::test]
async fn the_tracker_pages_poll_now_button_says_what_happened() {
    let (_standin, app, _) = setup().await;
    app.history_loaded().await;
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let id = app.track(&token, LEPTOS).await;
    let browser = app.signed_in(&user).await;
    let page = format!("/trackers/{id}");

    let response = browser.post_form(&format!("{page}/poll"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(crate::helpers::location(&response), page);
    let html = browser.get(&page).await.text().await.expect("the page");
    assert!(
        html.contains("Polling now: the new values show here in a few seconds."),
        "{html}"
    );
    assert!(html.contains("Poll now"));

    let response = browser.post_form(&format!("{page}/poll"), &[]).await;
    assert_eq!(crate::helpers::location(&response), page);
    let html = browser.get(&page).await.text().await.expect("the page");
    assert!(
        html.contains("It was polled on demand less than a minute ago; try again in"),
        "{html}"
    );

    // Another workspace's tracker, or none: back to the dashboard, told so.
    let stranger = app.create_user(Role::Member).await;
    let stranger = app.signed_in(&stranger).await;
    for path in [format!("{page}/poll"), "/trackers/nope/poll".to_string()] {
        let response = stranger.post_form(&path, &[]).await;
        assert_eq!(crate::helpers::location(&response), "/dashboard");
    }
    // From another site: refused (CSRF).
    let response = browser
        .post_form_from(&format!("{page}/poll"), &[], Some("https://evil.example"))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
