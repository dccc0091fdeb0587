use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{SpawnOptions, eventually, spawn_app, spawn_app_behind_proxy, spawn_app_with};

#[tokio::test]
async fn healthz_answers_json() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") })
    );
}

#[tokio::test]
async fn readyz_is_ready_once_migrated() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body, json!({ "status": "ready" }));
}

#[tokio::test]
async fn readyz_tells_the_public_only_that_the_database_is_unavailable_until_migrated() {
    let app = spawn_app_with(SpawnOptions {
        unmigrated: true,
        ..SpawnOptions::default()
    })
    .await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["status"], "unavailable");
    // Which migrations are missing is for the log, not for anyone who asks.
    assert_eq!(body["reason"], "database unavailable");

    upcount::db::migrate(&app.pool).await.expect("migrate");
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn readyz_reports_a_database_outage_and_recovers_without_a_restart() {
    let (proxy, app) = spawn_app_behind_proxy().await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    proxy.go_down();
    let body: Value = eventually(
        Duration::from_secs(60),
        "/readyz to report the outage",
        || async {
            let response = app.get("/readyz").await;
            (response.status() == 503).then_some(response)
        },
    )
    .await
    .json()
    .await
    .expect("JSON");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["reason"], "database unavailable");
    // The process itself is still alive.
    assert_eq!(app.get("/healthz").await.status(), 200);
    // Pages that need no database still render.
    assert_eq!(app.get("/").await.status(), 200);

    proxy.come_back();
    eventually(Duration::from_secs(60), "/readyz to recover", || async {
        (app.get("/readyz").await.status() == 200).then_some(())
    })
    .await;
}
