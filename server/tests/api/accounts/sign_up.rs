//! Signing up: the user, the workspace, the cookie, and every bad field explained.

use super::*;

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

    // The page says what it says for a new account; the owner gets a message (see
    // `email::accounts`).
    let response = browser.sign_up(&owner.email, "someone else's guess").await;
    let html = browser.follow(response).await;
    assert!(
        html.contains(&format!(
            "Check your inbox: we sent a link to confirm {}.",
            owner.email
        )),
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
