//! Who reaches the console and the metrics: administrators only, Prometheus with its
//! credentials.

use super::*;

#[tokio::test]
async fn nobody_but_an_admin_reaches_any_admin_page_function_or_action() {
    let app = spawn_app().await;
    let member_user = app.create_user(Role::Member).await;
    let member = app.signed_in(&member_user).await;
    let anonymous = app.browser();
    let target = app.create_user(Role::Member).await;
    let workspace = app.workspace_of(&target).await;
    let source = source_for(&app, &target).await;
    let before = app.count("SELECT count(*) FROM audit_log").await;

    // The pages.
    for page in ["/admin".to_string(), format!("/admin/users/{}", target.id)] {
        assert_eq!(
            member.get(&page).await.status(),
            StatusCode::FORBIDDEN,
            "{page}"
        );
        let response = anonymous.get(&page).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
        assert!(location(&response).starts_with("/sign-in"), "{page}");
    }
    // The server function.
    for (who, browser, expected) in [
        ("member", &member, StatusCode::FORBIDDEN),
        ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
    ] {
        let response = console_data(browser).await;
        assert_eq!(response.status(), expected, "{who}");
        let body = response.text().await.unwrap_or_default();
        assert!(!body.contains(&target.email), "{who}: {body}");
        let response = browser.press("/api/admin/live").await;
        assert_eq!(response.status(), expected, "{who}: live");
        let response = browser
            .post_form("/api/admin/user", &[("id", &target.id.to_string())])
            .await;
        assert_eq!(response.status(), expected, "{who}: user");
        let body = response.text().await.unwrap_or_default();
        assert!(!body.contains(&target.email), "{who}: {body}");
    }
    // Every action.
    let actions = [
        format!("/admin/users/{}/suspend", target.id),
        format!("/admin/users/{}/unsuspend", target.id),
        format!("/admin/workspaces/{workspace}/plan"),
        format!("/admin/sources/{source}/pause"),
        format!("/admin/sources/{source}/resume"),
        format!("/admin/sources/{source}/poll-now"),
        format!("/admin/sources/{source}/reset-backoff"),
        "/admin/stripe-events/evt_x/reprocess".to_string(),
        format!("/admin/users/{}/view-as", target.id),
        format!("/admin/users/{}/delete", target.id),
        "/admin/jobs/job_x/retry".to_string(),
        "/admin/jobs/job_x/discard".to_string(),
    ];
    for action in &actions {
        let response = member.post_form(action, &[("plan", "business")]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "member: {action}");
        let response = anonymous.post_form(action, &[("plan", "business")]).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "anonymous: {action}"
        );
        let location = location(&response);
        assert!(
            location.starts_with("/sign-in"),
            "anonymous: {action}: {location}"
        );
    }
    // Nothing happened.
    assert_eq!(app.count("SELECT count(*) FROM audit_log").await, before);
    let suspended: bool =
        sqlx::query_scalar("SELECT suspended_at IS NOT NULL FROM users WHERE id = $1")
            .bind(target.id)
            .fetch_one(&app.pool)
            .await
            .expect("user");
    assert!(!suspended);
    // An admin gets the console's data from the same function.
    let (_, admin) = admin(&app).await;
    let response = console_data(&admin).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["users"]
            .as_array()
            .is_some_and(|users| users.len() >= 3),
        "{body}"
    );
    // And the live figures, with their history once snapshots are recorded.
    let now = chrono::Utc::now();
    let jobs = upcount::jobs::ApalisQueue::new(app.pool.clone());
    app::server::admin::record_snapshot(&app.pool, &jobs, now)
        .await
        .expect("snapshot");
    app::server::admin::record_snapshot(&app.pool, &jobs, now)
        .await
        .expect("snapshot again, same period");
    app::server::admin::record_snapshot(&app.pool, &jobs, now + chrono::TimeDelta::minutes(5))
        .await
        .expect("next snapshot");
    let response = admin.press("/api/admin/live").await;
    assert_eq!(response.status(), StatusCode::OK);
    let live: Value = response.json().await.expect("JSON");
    assert!(
        live["overview"]["users"].as_i64().unwrap_or_default() >= 3,
        "{live}"
    );
    let history = live["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "one snapshot per five minutes: {live}");
    assert!(history[0]["users"].as_i64().unwrap_or_default() >= 3);
}

#[tokio::test]
async fn metrics_are_served_to_prometheus_with_basic_auth_and_not_at_all_without_credentials() {
    let closed = spawn_app().await;
    assert_eq!(closed.get("/metrics").await.status(), StatusCode::NOT_FOUND);

    let app = spawn_app_with_env(vec![
        ("UPCOUNT_METRICS_USER", "prometheus".to_string()),
        (
            "UPCOUNT_METRICS_PASSWORD",
            "a long scrape password".to_string(),
        ),
    ])
    .await;
    // Some traffic to count, and a job to time.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let _workers = app.start_workers();
    upcount::jobs::enqueue(&app.pool, upcount::jobs::CleanUpSessions::default())
        .await
        .expect("enqueue");
    eventually(Duration::from_secs(60), "the job done", || async {
        let done = app
            .count("SELECT count(*) FROM apalis.jobs WHERE job_type = 'clean_up_sessions' AND status = 'Done'")
            .await;
        (done > 0).then_some(())
    })
    .await;
    let anonymous = app.get("/metrics").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let scrape = |password: &'static str| {
        let request = app.request(reqwest::Method::GET, "/metrics");
        request.basic_auth("prometheus", Some(password)).send()
    };
    let wrong = scrape("not it").await.expect("GET");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let scraped = scrape("a long scrape password").await.expect("GET");
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(header(&scraped, "content-type").starts_with("text/plain; version=0.0.4"));
    let text = scraped.text().await.expect("text");
    for series in [
        "upcount_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}",
        "upcount_http_request_duration_seconds_bucket",
        "upcount_db_pool_connections{state=\"open\"}",
        "upcount_job_duration_seconds_count{job=\"clean_up_sessions\"}",
    ] {
        assert!(text.contains(series), "{series}: {text}");
    }
}
