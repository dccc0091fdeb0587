//! The account page: password changes, deleting the account, API tokens, the API's JSON
//! errors.

use super::*;

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
    // Shared by hand (invitations are tested in invitations.rs).
    sqlx::query(
        "INSERT INTO workspace_members (workspace_id, user_id, role)
         SELECT workspace_id, $2, 'editor' FROM workspace_members WHERE user_id = $1",
    )
    .bind(leaving.id)
    .bind(staying.id)
    .execute(&app.pool)
    .await
    .expect("share the workspace");
    let browser = app.signed_in(&leaving).await;
    // Its only owner cannot leave it ownerless: refused, naming the workspace.
    let response = browser.delete_account(&leaving.password).await;
    let page = browser.follow(response).await;
    assert!(page.contains("You are the only owner of"), "{page}");
    assert_eq!(app.count("SELECT count(*) FROM users").await, 2);
    // Once the other member is an owner too, the account goes.
    sqlx::query("UPDATE workspace_members SET role = 'owner' WHERE user_id = $1")
        .bind(staying.id)
        .execute(&app.pool)
        .await
        .expect("promote");
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
