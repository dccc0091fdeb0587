//! Sign-up, sign-in, sessions, the account page and its forms.

use app::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    SpawnOptions, TestApp, expect_error, header, location, spawn_app, spawn_app_with,
    spawn_app_with_env, spawn_app_with_member,
};

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

#[tokio::test]
async fn the_session_cookie_is_secure_when_the_public_url_is_https() {
    let app = spawn_app_with_env(vec![(
        "UPCOUNT_PUBLIC_URL",
        "https://upcount.example".into(),
    )])
    .await;
    let browser = app.browser();
    let response = browser
        .post_form_from(
            "/sign-up",
            &[
                ("email", "grace@example.com"),
                ("password", "correct horse battery"),
            ],
            Some("https://upcount.example"),
        )
        .await;
    assert_eq!(response.status(), 303);
    let cookie = header(&response, "set-cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    // Its own origin is now the only one accepted.
    let refused = browser.press("/sign-out").await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn sign_up_explains_every_bad_field_and_keeps_the_email() {
    let app = spawn_app().await;
    let browser = app.browser();
    let huge = "x".repeat(10 * 1024);
    let cases: [(&str, &str, &[&str]); 5] = [
        ("", "", &["Enter your email address.", "Enter a password."]),
        (
            "not-an-email",
            "correct horse battery",
            &["Enter an email address like name@example.com."],
        ),
        ("ada@example.com", "short", &["Use at least 10 characters."]),
        (
            &huge,
            &huge,
            &[
                "An email address has at most 254 characters.",
                "Use at most 128 characters.",
            ],
        ),
        ("ada@example.com", "", &["Enter a password."]),
    ];
    for (email, password, messages) in cases {
        let response = browser.sign_up(email, password).await;
        assert_eq!(location(&response), "/sign-up?next=%2Fdashboard");
        let html = browser.follow(response).await;
        for message in messages {
            assert!(
                html.contains(message),
                "{message} for {email:.20}/{password:.20}:\n{html}"
            );
        }
        if email == "not-an-email" {
            assert!(html.contains("value=\"not-an-email\""), "the email is kept");
        }
        assert!(!html.contains(&huge), "10 KB are not echoed back");
        assert!(
            !html.contains("correct horse"),
            "passwords are never echoed"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM users").await, 0);
}

#[tokio::test]
async fn sign_up_with_a_taken_email_does_not_say_so() {
    let (app, owner) = spawn_app_with_member().await;
    let browser = app.browser();

    let response = browser.sign_up(&owner.email, "someone else's guess").await;
    let html = browser.follow(response).await;
    assert!(
        html.contains("We could not create an account with this email and password."),
        "{html}"
    );
    for revealing in ["already exists", "already registered", "is taken", "in use"] {
        assert!(!html.contains(revealing), "{revealing}");
    }
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
    assert_eq!(
        browser.get("/dashboard").await.status(),
        303,
        "not signed in"
    );

    // The owner, with the right password, simply gets in.
    let response = browser.sign_up(&owner.email, &owner.password).await;
    assert_eq!(location(&response), "/dashboard");
    assert_eq!(browser.get("/dashboard").await.status(), 200);
}

#[tokio::test]
async fn wrong_credentials_get_one_generic_message() {
    let (app, user) = spawn_app_with_member().await;
    let browser = app.browser();
    for (email, password) in [
        (user.email.as_str(), "wrong password!"),
        ("nobody@example.com", user.password.as_str()),
        (user.email.as_str(), &"x".repeat(10 * 1024)),
    ] {
        let response = browser
            .submit_sign_in(email, password, Some("/account"))
            .await;
        assert_eq!(location(&response), "/sign-in?next=%2Faccount");
        let html = browser.follow(response).await;
        assert!(
            html.contains("That email and password do not match an account."),
            "{html}"
        );
        assert!(
            html.contains(&format!("value=\"{email}\"")),
            "the email is kept"
        );
    }
    let response = browser.submit_sign_in("", "", None).await;
    let html = browser.follow(response).await;
    assert!(html.contains("Enter your email address.") && html.contains("Enter your password."));
}

#[tokio::test]
async fn signed_in_pages_send_visitors_to_sign_in_and_back() {
    let (app, user) = spawn_app_with_member().await;
    let browser = app.browser();
    let response = browser.get("/account").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/sign-in?next=%2Faccount");

    let response = browser
        .submit_sign_in(&user.email, &user.password, Some("/account"))
        .await;
    assert_eq!(location(&response), "/account");
    assert_eq!(browser.get("/account").await.status(), 200);
    // Signed in, the sign-in page sends you on.
    assert_eq!(location(&browser.get("/sign-in").await), "/dashboard");

    // `next` never leads off the site.
    let other = app.browser();
    for next in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
        let response = other
            .submit_sign_in(&user.email, &user.password, Some(next))
            .await;
        assert_eq!(location(&response), "/dashboard", "{next}");
    }
}

#[tokio::test]
async fn signing_in_rotates_the_session_id_and_signing_out_deletes_the_session() {
    let (app, user) = spawn_app_with_member().await;
    let browser = app.browser();
    // A failed attempt leaves an (anonymous) session with a flash message.
    browser
        .submit_sign_in(&user.email, "nope nope nope", None)
        .await;
    let before = browser.session_cookie().expect("an anonymous session");

    browser.sign_in(&user).await;
    let after = browser.session_cookie().expect("a session");
    assert_ne!(before, after, "a new session id after signing in");
    let stale = app
        .count_with("SELECT count(*) FROM sessions WHERE id = $1", &before)
        .await;
    assert_eq!(stale, 0, "the old id is gone");

    let response = browser.press("/sign-out").await;
    assert_eq!(location(&response), "/");
    assert_eq!(app.count(SIGNED_IN_SESSIONS).await, 0);
    // The old cookie no longer opens anything.
    let thief = app.browser();
    thief.set_session_cookie(&after);
    assert_eq!(thief.get("/dashboard").await.status(), 303);
}

#[tokio::test]
async fn expired_and_forged_session_cookies_count_as_signed_out() {
    let (app, user) = spawn_app_with_member().await;
    let browser = app.signed_in(&user).await;
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .expect("expire");
    assert_eq!(
        location(&browser.get("/dashboard").await),
        "/sign-in?next=%2Fdashboard"
    );

    for forged in [
        "garbage",
        "AAAAAAAAAAAAAAAAAAAAAA",
        "%00%ff",
        &"A".repeat(4000),
    ] {
        let browser = app.browser();
        browser.set_session_cookie(forged);
        let response = browser.get("/dashboard").await;
        assert_eq!(response.status(), 303, "{forged:.20}");
        let api = browser.fetch("/api/v1/me").await;
        assert_eq!(api.status(), 401, "{forged:.20}");
    }
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let (app, user) = spawn_app_with_member().await;
    let browser = app.signed_in(&user).await;
    let fields = [("name", "CI"), ("scope", "write")];
    for origin in [
        None,
        Some("https://evil.example"),
        Some("null"),
        Some("http://127.0.0.1:1"),
    ] {
        let response = browser
            .post_form_from("/account/tokens", &fields, origin)
            .await;
        assert_eq!(response.status(), 403, "Origin {origin:?}");
        let body = response.text().await.expect("body");
        assert!(body.contains("did not come from Upcount"), "{body}");
    }
    // The same goes for cookie-authenticated API calls.
    let response = browser
        .client
        .patch(format!("{}/api/v1/workspace", app.address))
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({ "name": "pwned" }))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(response.status(), 403);
    assert!(response.json::<serde_json::Value>().await.expect("JSON")["error"].is_string());
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM workspaces WHERE name = 'pwned'")
            .await,
        0
    );

    // A Referer from the site itself is accepted when there is no Origin.
    let response = browser
        .client
        .post(format!("{}/account/tokens", app.address))
        .header("referer", format!("{}/account", app.address))
        .form(&fields)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 1);
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_email_across_restarts() {
    let (app, user) = spawn_app_with_member().await;
    let browser = app.browser();
    for _ in 0..10 {
        let response = browser
            .submit_sign_in(&user.email, "wrong password", None)
            .await;
        assert_eq!(response.status(), 303);
    }
    let response = browser
        .submit_sign_in(&user.email, &user.password, None)
        .await;
    let html = browser.follow(response).await;
    assert!(
        html.contains("Too many sign-in attempts. Try again in 2 minutes."),
        "{html}"
    );

    // The limit lives in PostgreSQL: a new process on the same database still refuses.
    let restarted = spawn_app_with(SpawnOptions {
        database_name: Some(app.database_name.clone()),
        ..SpawnOptions::default()
    })
    .await;
    let browser = restarted.browser();
    let response = browser
        .submit_sign_in(&user.email.to_uppercase(), &user.password, None)
        .await;
    let html = browser.follow(response).await;
    assert!(
        html.contains("Too many sign-in attempts. Try again in"),
        "{html}"
    );
    assert_eq!(browser.get("/dashboard").await.status(), 303);

    // Other accounts are not affected.
    let other = app.create_user(Role::Member).await;
    app.browser().sign_in(&other).await;
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_client_address() {
    let app = spawn_app_with_env(vec![("UPCOUNT_SIGN_IN_ATTEMPTS_PER_IP", "3".into())]).await;
    let browser = app.browser();
    for attempt in 0..3 {
        let email = format!("guess{attempt}@example.com");
        let response = browser.submit_sign_in(&email, "wrong password", None).await;
        let html = browser.follow(response).await;
        assert!(html.contains("do not match"), "{html}");
    }
    let response = browser
        .submit_sign_in("fresh@example.com", "wrong password", None)
        .await;
    let html = browser.follow(response).await;
    assert!(
        html.contains("Too many sign-in attempts. Try again in"),
        "{html}"
    );
    // Sign-up counts too: it can be used to guess passwords of taken emails.
    let response = browser
        .sign_up("new@example.com", "correct horse battery")
        .await;
    let html = browser.follow(response).await;
    assert!(html.contains("Too many sign-in attempts"), "{html}");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_other_sessions() {
    let (app, user) = spawn_app_with_member().await;
    let laptop = app.signed_in(&user).await;
    let phone = app.signed_in(&user).await;

    let cases = [
        (
            ("wrong current pw", "a new password!"),
            "That is not your current password.",
        ),
        (("", "a new password!"), "Enter your current password."),
        (
            (user.password.as_str(), "short"),
            "Use at least 10 characters.",
        ),
    ];
    for ((current, new), message) in cases {
        let response = laptop
            .post_form(
                "/account/password",
                &[("current_password", current), ("new_password", new)],
            )
            .await;
        let html = laptop.follow(response).await;
        assert!(html.contains(message), "{message}:\n{html}");
    }

    let response = laptop
        .post_form(
            "/account/password",
            &[
                ("current_password", &user.password),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    let html = laptop.follow(response).await;
    assert!(
        html.contains("Password changed. Your other sessions were signed out."),
        "{html}"
    );
    assert_eq!(
        laptop.get("/account").await.status(),
        200,
        "this session stays signed in"
    );
    assert_eq!(
        phone.get("/account").await.status(),
        303,
        "the other one is signed out"
    );

    let old = app.browser();
    let response = old.submit_sign_in(&user.email, &user.password, None).await;
    assert!(old.follow(response).await.contains("do not match"));
    let mut renewed = user.clone();
    renewed.password = "a brand new password".into();
    app.browser().sign_in(&renewed).await;
}

#[tokio::test]
async fn deleting_the_account_removes_its_user_sessions_workspace_and_tokens() {
    let (app, user) = spawn_app_with_member().await;
    let browser = app.signed_in(&user).await;
    browser.submit_token("CI", "read").await;

    let response = browser.delete_account("not my password").await;
    assert!(
        browser
            .follow(response)
            .await
            .contains("That is not your password.")
    );
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);

    let response = browser.delete_account(&user.password).await;
    assert_eq!(location(&response), "/sign-in");
    let html = browser.follow(response).await;
    assert!(html.contains("Your account was deleted."), "{html}");
    for table in ["users", "workspaces", "workspace_members", "api_tokens"] {
        let sql = format!("SELECT count(*) FROM {table}");
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&app.pool)
            .await
            .expect("count");
        assert_eq!(left, 0, "{table}");
    }
    assert_eq!(app.count(SIGNED_IN_SESSIONS).await, 0);
    assert_eq!(browser.get("/dashboard").await.status(), 303);
}

#[tokio::test]
async fn a_workspace_with_other_members_outlives_a_deleted_account() {
    let app = spawn_app().await;
    let leaving = app.create_user(Role::Member).await;
    let staying = app.create_user(Role::Member).await;
    // Teams come later; today a shared workspace is made by hand.
    sqlx::query(
        "INSERT INTO workspace_members (workspace_id, user_id, role)
         SELECT workspace_id, $2, 'member' FROM workspace_members WHERE user_id = $1",
    )
    .bind(leaving.id)
    .bind(staying.id)
    .execute(&app.pool)
    .await
    .expect("share the workspace");
    let browser = app.signed_in(&leaving).await;
    let response = browser.delete_account(&leaving.password).await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
    // The shared workspace stays with its remaining member, as does the other's own.
    assert_eq!(app.count("SELECT count(*) FROM workspaces").await, 2);
    assert_eq!(app.count("SELECT count(*) FROM workspace_members").await, 2);
}

#[tokio::test]
async fn api_tokens_are_shown_once_stored_hashed_scoped_and_revocable() {
    let (app, user) = spawn_app_with_member().await;
    let browser = app.signed_in(&user).await;

    let read = browser.create_token("Grafana", "read").await;
    let page = browser.html("/account").await;
    assert!(!page.contains(&read), "shown once only");
    assert!(page.contains("Grafana") && page.contains("read-only") && page.contains(&read[..9]));
    let write = browser.create_token("CI", "write").await;

    let in_sessions = app
        .count("SELECT count(*) FROM sessions WHERE data::text LIKE '%upc_%'")
        .await;
    assert_eq!(in_sessions, 0, "the token never sits in a session");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(&app.pool)
        .await
        .expect("hashes");
    assert_eq!(stored.len(), 2);
    let dump: String = sqlx::query_scalar("SELECT string_agg(t::text, ' ') FROM api_tokens t")
        .fetch_one(&app.pool)
        .await
        .expect("dump");
    assert!(
        !dump.contains(&read) && !dump.contains(&write),
        "only hashes are stored"
    );

    let (status, body) = app.api_get("/api/v1/me", &read).await;
    assert_eq!(status, 200);
    assert_eq!(body["scope"], "read");
    assert_eq!(body["via"]["name"], "Grafana");
    assert_eq!(
        app.count("SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL")
            .await,
        1
    );

    let rename = Some(json!({ "name": "Renamed" }));
    let refused = app
        .api(Method::PATCH, "/api/v1/workspace", &read, rename.clone())
        .await;
    expect_error(refused, StatusCode::FORBIDDEN, "read-only");
    let (status, _) = app
        .api(Method::PATCH, "/api/v1/workspace", &write, rename)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.count("SELECT count(*) FROM workspaces WHERE name = 'Renamed'")
            .await,
        1
    );

    // Revoke the read token from the account page.
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'Grafana'")
        .fetch_one(&app.pool)
        .await
        .expect("id");
    let response = browser.press(&format!("/account/tokens/{id}/revoke")).await;
    assert!(browser.follow(response).await.contains("Token revoked."));
    let (status, body) = app.api_get("/api/v1/me", &read).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "Unknown or revoked API token.");
    assert_eq!(app.api_get("/api/v1/me", &write).await.0, 200);
}

#[tokio::test]
async fn token_forms_explain_bad_input() {
    let (app, user) = spawn_app_with_member().await;
    let browser = app.signed_in(&user).await;
    for (name, scope, message) in [
        ("", "read", "Give the token a name"),
        (
            &"n".repeat(10 * 1024) as &str,
            "read",
            "Use at most 100 characters.",
        ),
        ("CI", "admin", "Choose read-only or read-write."),
    ] {
        let response = browser.submit_token(name, scope).await;
        let html = browser.follow(response).await;
        assert!(html.contains(message), "{message}");
    }
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 0);
    let response = browser.press("/account/tokens/not-a-uuid/revoke").await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_api_answers_bad_requests_with_json_errors() {
    let app: TestApp = spawn_app().await;
    let browser = app.signed_in(&app.create_user(Role::Member).await).await;
    let write = browser.create_token("CI", "write").await;
    let api = reqwest::Client::new();
    let url = format!("{}/api/v1/workspace", app.address);
    let cases = [
        (
            api.patch(&url)
                .bearer_auth(&write)
                .header("content-type", "application/json")
                .body("{not json"),
            400,
        ),
        (
            api.patch(&url)
                .bearer_auth(&write)
                .json(&serde_json::json!({})),
            422,
        ),
        (
            api.patch(&url)
                .bearer_auth(&write)
                .json(&serde_json::json!({ "name": "" })),
            422,
        ),
        (
            api.patch(&url)
                .bearer_auth(&write)
                .json(&serde_json::json!({ "name": "x".repeat(10 * 1024) })),
            422,
        ),
        (api.patch(&url).bearer_auth(&write).body("name=x"), 415),
        (
            api.patch(&url)
                .bearer_auth("upc_unknownunknownunknownunknownunknownunknown1"),
            401,
        ),
        (
            api.patch(&url)
                .header("authorization", "Basic dXNlcjpwYXNz"),
            401,
        ),
        (
            api.patch(&url).json(&serde_json::json!({ "name": "x" })),
            401,
        ),
        (api.get(format!("{}/api/v1/nothing-here", app.address)), 404),
    ];
    for (request, status) in cases {
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: serde_json::Value = response.json().await.expect("JSON");
        let message = body["error"].as_str().expect("an error message");
        assert!(
            !message.is_empty() && !message.contains("sqlx") && !message.contains("panicked"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn signed_in_sessions_are_renewed_once_a_day_and_saved_only_when_changed() {
    let (app, user) = spawn_app_with_member().await;
    let browser = app.signed_in(&user).await;
    assert_eq!(browser.get("/dashboard").await.status(), 200);

    // The last renewal two days ago: the next request starts the 30 days again.
    sqlx::query(
        "UPDATE sessions SET expires_at = now() + interval '28 days',
                data = jsonb_set(data::jsonb, '{renewed_at}',
                                 to_jsonb(extract(epoch FROM now() - interval '2 days')::bigint))",
    )
    .execute(&app.pool)
    .await
    .expect("age the session");
    assert_eq!(browser.get("/dashboard").await.status(), 200);
    let days = app.scalar::<f64>(SESSION_DAYS).await;
    assert!((29.9..=30.0).contains(&days), "renewed: {days}");

    // Renewed within the day: requests leave the stored session alone.
    sqlx::query("UPDATE sessions SET expires_at = now() + interval '29 days'")
        .execute(&app.pool)
        .await
        .expect("set the expiry");
    assert_eq!(browser.get("/dashboard").await.status(), 200);
    let days = app.scalar::<f64>(SESSION_DAYS).await;
    assert!((28.9..29.1).contains(&days), "not saved again: {days}");
}
