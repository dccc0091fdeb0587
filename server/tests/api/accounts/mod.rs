//! Sign-up, sign-in, sessions, the account page and its forms.

use app::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    SpawnOptions, TestApp, expect_error, header, location, spawn_app, spawn_app_with,
    spawn_app_with_env, spawn_app_with_member,
};

mod account;
mod sessions;
mod sign_up;

const SIGNED_IN_SESSIONS: &str = "SELECT count(*) FROM sessions WHERE user_id IS NOT NULL";
/// Days until the only session expires.
const SESSION_DAYS: &str =
    "SELECT (extract(epoch FROM expires_at - now()) / 86400)::float8 FROM sessions";

#[tokio::test]
async fn sign_up_creates_a_user_with_a_workspace_and_lands_on_the_dashboard() {
    let app = spawn_app().await;
    let browser = app.browser();
    let response = browser
        .sign_up("  Ada.Lovelace@Example.COM ", "correct horse battery")
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/dashboard");

    let cookie = header(&response, "set-cookie");
    assert!(cookie.starts_with("upcount_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");

    let dashboard = browser.get("/dashboard").await;
    assert_eq!(dashboard.status(), 200);
    let html = dashboard.text().await.expect("body");
    assert!(html.contains("Add your first tracker"), "{html}");
    assert!(
        html.contains("ada.lovelace&#x27;s workspace") || html.contains("ada.lovelace's workspace"),
        "{html}"
    );

    let (email, hash): (String, String) = sqlx::query_as("SELECT email, password_hash FROM users")
        .fetch_one(&app.pool)
        .await
        .expect("the user");
    assert_eq!(email, "ada.lovelace@example.com", "trimmed and lowercased");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains("correct horse"));
    assert_eq!(
        app.count("SELECT count(*) FROM workspace_members WHERE role = 'owner'")
            .await,
        1
    );

    // Rolling 30-day expiry.
    let days = app.scalar::<f64>(SESSION_DAYS).await;
    assert!((29.9..=30.0).contains(&days), "{days}");
}
