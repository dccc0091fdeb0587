//! The admin console: every action does what it says and leaves an audit record, and
//! nobody but an administrator reaches any of it.

use std::time::Duration;

use app::domain::{Role, TokenScope};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{
    Browser, TestApp, TestUser, eventually, header, location, spawn_app, spawn_app_with_env,
    spawn_app_with_member,
};

mod access;
mod figures;
mod operations;
mod users;

/// (actor, action, target) of the newest audit record.
async fn last_audit(app: &TestApp) -> (String, String, String) {
    sqlx::query_as("SELECT actor_email, action, target FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .expect("an audit record")
}

/// Checks that the newest audit record says `actor` did `action` to `target`.
async fn assert_audited(app: &TestApp, actor: &TestUser, action: &str, target: String) {
    assert_eq!(
        last_audit(app).await,
        (actor.email.clone(), action.to_string(), target)
    );
}

/// Presses the console's button at `path` as `admin` (signed in as `browser`), and checks
/// that it redirects and is audited as `action` on `target`: where it redirects.
async fn act(
    app: &TestApp,
    (admin, browser): (&TestUser, &Browser),
    path: &str,
    action: &str,
    target: &str,
) -> String {
    let response = browser.press(path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    assert_audited(app, admin, action, target.to_string()).await;
    location(&response)
}

/// [`act`] on `user` with the button `verb` of their row (`suspend`, `view-as`, …).
async fn act_on_user(
    app: &TestApp,
    acting: (&TestUser, &Browser),
    user: &TestUser,
    verb: &str,
) -> String {
    let path = format!("/admin/users/{}/{verb}", user.id);
    let action = format!("user.{}", verb.replace('-', "_"));
    act(app, acting, &path, &action, &format!("user:{}", user.id)).await
}

/// The app with an administrator signed in: the app, the administrator, their browser.
async fn console() -> (TestApp, TestUser, Browser) {
    let app = spawn_app().await;
    let (admin_user, admin) = admin(&app).await;
    (app, admin_user, admin)
}

async fn admin(app: &TestApp) -> (TestUser, Browser) {
    let admin = app.create_user(Role::Admin).await;
    let browser = app.signed_in(&admin).await;
    (admin, browser)
}

/// The status of job `id` in the queue.
async fn job_status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM apalis.jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("status")
}

/// The console's data, from its server function.
async fn console_data(browser: &Browser) -> reqwest::Response {
    browser
        .post_form(
            "/api/admin/console",
            &[("query", ""), ("provider", ""), ("state", "")],
        )
        .await
}

/// A source with one tracker of the workspace of `user`, due now.
async fn source_for(app: &TestApp, user: &TestUser) -> i64 {
    let workspace = app.workspace_of(user).await;
    sqlx::query_scalar(
        "WITH source AS (
             INSERT INTO sources (kind, key, title, url, next_poll_at, interval_secs)
             VALUES ('hackernews.item', $1, 'An item', 'https://news.ycombinator.com/', now(), 900)
             RETURNING id
         ), tracker AS (
             INSERT INTO trackers (workspace_id, source_id, label)
             SELECT $2, id, 'Item' FROM source
         )
         SELECT id FROM source",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(workspace)
    .fetch_one(&app.pool)
    .await
    .expect("a source with a tracker")
}

async fn source_state(
    app: &TestApp,
    source: i64,
) -> (String, bool, Option<chrono::DateTime<chrono::Utc>>) {
    sqlx::query_as("SELECT state, paused_by_admin, next_poll_at FROM sources WHERE id = $1")
        .bind(source)
        .fetch_one(&app.pool)
        .await
        .expect("source")
}
