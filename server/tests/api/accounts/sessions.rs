//! Signing in and out: generic failures, redirects, rotated and renewed sessions, forged
//! cookies, CSRF, rate limits.

use super::*;

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
