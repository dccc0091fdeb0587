//! The console's figures per provider: requests, errors, latency and credentials.

use super::*;

/// The figures of provider `name` in the console's live data.
fn provider<'a>(live: &'a Value, name: &str) -> &'a Value {
    live["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|provider| provider["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {live}"))
}

#[tokio::test]
async fn the_console_shows_each_providers_requests_errors_latency_and_credentials() {
    let (standin, app) = crate::helpers::spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    // Requests through an engine like a worker's: one repository found, one not.
    let engine = upcount::startup::engine(&app.settings).expect("engine");
    let workspace = app.workspace_of(&app.create_user(Role::Member).await).await;
    app::server::tracking::service::preview(
        &app.pool,
        &engine,
        workspace,
        "https://github.com/leptos-rs/leptos",
        Default::default(),
    )
    .await
    .expect("a preview");
    let missing = app::server::tracking::service::preview(
        &app.pool,
        &engine,
        workspace,
        "https://github.com/nobody/nothing-here",
        Default::default(),
    )
    .await;
    assert!(missing.is_err());
    upcount::jobs::poll::flush_tallies(&app.pool, &engine).await;

    let (_, admin) = admin(&app).await;
    let response = admin.press("/api/admin/live").await;
    assert_eq!(response.status(), StatusCode::OK);
    let live: Value = response.json().await.expect("JSON");
    let github = provider(&live, "github");
    let requests = github["requests_last_hour"].as_i64().unwrap_or_default();
    assert!(requests >= 3, "{github}");
    assert!(
        github["error_rate_percent"].as_f64().unwrap_or_default() > 0.0,
        "{github}"
    );
    assert!(github["p95_ms"].as_u64().is_some(), "{github}");
    assert_eq!(github["credentials"], "none (60 requests an hour)");
    assert_eq!(provider(&live, "youtube")["requests_last_hour"], 0);
    // Previews are not polls.
    assert_eq!(github["polls_last_hour"], 0, "{github}");
    assert_eq!(live["overview"]["polls_last_hour"], 0);

    // Scheduled polls by the workers: one repository that answers, one that is gone.
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    app.track(&token, "https://github.com/leptos-rs/leptos")
        .await;
    standin.set_github_repo("someone/vanishing", 3);
    app.track(&token, "https://github.com/someone/vanishing")
        .await;
    standin.remove("github/someone/vanishing");
    let workers = app.start_workers();
    let marker = app.make_due().await;
    app.wait_for_count_with(
        Duration::from_secs(30),
        "SELECT count(*) FROM sources WHERE last_poll_at >= $1",
        marker,
        2,
    )
    .await;
    // Stopping flushes the workers' figures (they also do every ten seconds).
    workers.stop().await;
    let live: Value = admin
        .press("/api/admin/live")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(live["overview"]["polls_last_hour"], 2, "{live}");
    assert_eq!(live["overview"]["errors_last_hour"], 1, "{live}");
    assert_eq!(live["overview"]["polls_last_day"], 2, "{live}");
    assert_eq!(live["overview"]["errors_last_day"], 1, "{live}");
    let github = provider(&live, "github");
    assert_eq!(github["polls_last_hour"], 2, "{github}");
    assert_eq!(github["failed_polls_last_hour"], 1, "{github}");
}
