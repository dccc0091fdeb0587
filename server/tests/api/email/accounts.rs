//! The messages of sign-up and password reset, read from the SMTP sink, and their links.

use super::*;
use crate::helpers::{Browser, location};

/// Signs up a new account in `browser` and returns its verification link (a path).
async fn sign_up_and_read_the_link(sink: &SmtpSink, browser: &Browser, email: &str) -> String {
    let response = browser.sign_up(email, "correct horse battery").await;
    assert_eq!(location(&response), "/dashboard");
    let html = browser.follow(response).await;
    assert!(
        html.contains(&format!(
            "Check your inbox: we sent a link to confirm {email}."
        )),
        "{html}"
    );
    let mail = sink.wait_for(email, 1).await.remove(0);
    assert_eq!(mail.subject(), "Confirm your email address for Upcount");
    assert!(mail.html().contains("Confirm my email address"));
    mail.link_path("/verify-email?token=")
}

fn token_of(path: &str) -> String {
    path.split("token=").nth(1).expect("a token").to_string()
}

#[tokio::test]
async fn the_verification_link_works_once() {
    let (sink, app) = spawn_app_with_sink().await;
    let workers = app.start_workers();
    let browser = app.browser();
    let link = sign_up_and_read_the_link(&sink, &browser, "vera@example.com").await;

    let dashboard = browser.html("/dashboard").await;
    assert!(
        dashboard.contains("data-testid=\"verify-banner\""),
        "{dashboard}"
    );
    assert!(dashboard.contains("Confirm your email address: we sent a link to"));

    // Opening the link changes nothing: it shows one button.
    let page = browser.html(&link).await;
    assert!(page.contains("Confirm my email address"), "{page}");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email_verified_at IS NOT NULL")
            .await,
        0
    );
    let token = token_of(&link);
    let stored: Vec<u8> = app.scalar("SELECT token_hash FROM email_tokens").await;
    assert_ne!(stored, token.as_bytes(), "only the hash is kept");

    let response = browser
        .post_form("/verify-email", &[("token", &token)])
        .await;
    let html = browser.follow(response).await;
    assert!(html.contains("Your email address is confirmed"), "{html}");
    assert!(!html.contains("data-testid=\"verify-banner\""), "{html}");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email_verified_at IS NOT NULL")
            .await,
        1
    );

    // Twice: refused, with the way to a new link.
    let response = browser
        .post_form("/verify-email", &[("token", &token)])
        .await;
    let html = browser.follow(response).await;
    assert!(
        html.contains("This link has expired or was already used"),
        "{html}"
    );
    assert!(html.contains("Send it again"), "{html}");
    workers.stop().await;
}

#[tokio::test]
async fn the_verification_link_expires_after_a_day_and_can_be_sent_again() {
    let (sink, app) = spawn_app_with_sink().await;
    let workers = app.start_workers();
    let browser = app.browser();
    let link = sign_up_and_read_the_link(&sink, &browser, "late@example.com").await;
    let valid_hours: f64 = app
        .scalar(
            "SELECT extract(epoch FROM expires_at - created_at)::float8 / 3600 FROM email_tokens",
        )
        .await;
    assert!((23.9..=24.1).contains(&valid_hours), "{valid_hours}");
    sqlx::query("UPDATE email_tokens SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("a day passes");
    let response = browser
        .post_form("/verify-email", &[("token", &token_of(&link))])
        .await;
    let html = browser.follow(response).await;
    assert!(
        html.contains("This link has expired or was already used"),
        "{html}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email_verified_at IS NOT NULL")
            .await,
        0
    );

    // The banner's button sends a new one, which works.
    let response = browser.press_on("/dashboard", "/verify-email/resend").await;
    assert_eq!(location(&response), "/dashboard");
    let mails = sink.wait_for("late@example.com", 2).await;
    let fresh = mails[1].link_path("/verify-email?token=");
    assert_ne!(fresh, link);
    let response = browser
        .post_form("/verify-email", &[("token", &token_of(&fresh))])
        .await;
    assert!(
        browser
            .follow(response)
            .await
            .contains("Your email address is confirmed")
    );
    workers.stop().await;
}

#[tokio::test]
async fn a_taken_email_gets_a_note_and_the_page_says_the_same() {
    let (sink, app) = spawn_app_with_sink().await;
    let owner = app.create_user(app::domain::Role::Member).await;
    let workers = app.start_workers();
    let browser = app.browser();
    let response = browser.sign_up(&owner.email, "someone else's guess").await;
    assert_eq!(location(&response), "/check-inbox");
    let html = browser.follow(response).await;
    assert!(
        html.contains(&format!(
            "Check your inbox: we sent a link to confirm {}.",
            owner.email
        )),
        "{html}"
    );
    let mail = sink.wait_for(&owner.email, 1).await.remove(0);
    assert_eq!(mail.subject(), "Someone tried to sign up with your address");
    assert!(
        mail.text().contains("If it was you, sign in"),
        "{}",
        mail.text()
    );
    assert!(
        mail.links()
            .iter()
            .any(|link| link.ends_with("/forgot-password"))
    );
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
    assert_eq!(
        browser.get("/dashboard").await.status(),
        303,
        "not signed in"
    );

    // Trying again within the hour sends nothing more.
    browser.sign_up(&owner.email, "another wrong guess").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sink.messages_to(&owner.email).len(), 1);
    workers.stop().await;
}

#[tokio::test]
async fn forgot_password_answers_the_same_and_the_link_works_once_signing_out_the_rest() {
    let (sink, app) = spawn_app_with_sink().await;
    let owner = app.create_user(app::domain::Role::Member).await;
    let workers = app.start_workers();
    let elsewhere = app.signed_in(&owner).await;

    let browser = app.browser();
    assert!(
        browser
            .html("/sign-in")
            .await
            .contains("href=\"/forgot-password\"")
    );
    let mut answers = Vec::new();
    for email in ["nobody@example.com", owner.email.as_str()] {
        let response = browser
            .post_form("/forgot-password", &[("email", email)])
            .await;
        assert_eq!(location(&response), "/check-inbox");
        answers.push(browser.follow(response).await);
    }
    assert!(answers[0].contains(
        "If an account uses this address, we sent a link to reset its password. Check your inbox."
    ));
    let main = |html: &str| {
        let start = html.find("<main").expect("a main");
        let end = html.find("</main>").expect("its end");
        html[start..end].to_string()
    };
    assert_eq!(
        main(&answers[0]),
        main(&answers[1]),
        "the same page either way"
    );

    let mail = sink.wait_for(&owner.email, 1).await.remove(0);
    assert_eq!(mail.subject(), "Reset your Upcount password");
    let link = mail.link_path("/reset-password?token=");
    assert!(sink.messages_to("nobody@example.com").is_empty());
    let valid_mins: f64 = app
        .scalar("SELECT extract(epoch FROM expires_at - created_at)::float8 / 60 FROM email_tokens")
        .await;
    assert!((59.9..=60.1).contains(&valid_mins), "{valid_mins}");

    let page = browser.html(&link).await;
    assert!(page.contains("Choose a new password"), "{page}");
    let token = token_of(&link);
    let short = browser
        .post_form(
            "/reset-password",
            &[("token", &token), ("password", "short")],
        )
        .await;
    assert!(
        browser
            .follow(short)
            .await
            .contains("Use at least 10 characters.")
    );

    let response = browser
        .post_form(
            "/reset-password",
            &[("token", &token), ("password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(location(&response), "/dashboard");
    let html = browser.follow(response).await;
    assert!(
        html.contains("Your password was changed and you are signed in."),
        "{html}"
    );
    assert_eq!(
        elsewhere.get("/dashboard").await.status(),
        303,
        "the other session ended"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM sessions WHERE user_id IS NOT NULL")
            .await,
        1
    );

    // The new password works, the old one not; the link works once.
    let fresh = app.browser();
    let refused = fresh
        .submit_sign_in(&owner.email, &owner.password, None)
        .await;
    assert_ne!(location(&refused), "/dashboard");
    let signed = fresh
        .submit_sign_in(&owner.email, "a brand new passphrase", Some("/dashboard"))
        .await;
    assert_eq!(location(&signed), "/dashboard");
    let again = browser
        .post_form(
            "/reset-password",
            &[("token", &token), ("password", "yet another passphrase")],
        )
        .await;
    assert_eq!(location(&again), "/forgot-password");
    assert!(
        browser
            .follow(again)
            .await
            .contains("This link has expired or was already used")
    );
    workers.stop().await;
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let (sink, app) = spawn_app_with_sink().await;
    let owner = app.create_user(app::domain::Role::Member).await;
    let workers = app.start_workers();
    let browser = app.browser();
    browser
        .post_form("/forgot-password", &[("email", &owner.email)])
        .await;
    let link = sink.wait_for(&owner.email, 1).await[0].link_path("/reset-password?token=");
    sqlx::query("UPDATE email_tokens SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("an hour passes");
    let response = browser
        .post_form(
            "/reset-password",
            &[
                ("token", &token_of(&link)),
                ("password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/forgot-password");
    let fresh = app.browser();
    let signed = fresh
        .submit_sign_in(&owner.email, &owner.password, Some("/dashboard"))
        .await;
    assert_eq!(
        location(&signed),
        "/dashboard",
        "the old password still works"
    );
    workers.stop().await;
}

#[tokio::test]
async fn forgot_password_is_rate_limited_per_email() {
    let app = spawn_app_with_env(vec![("UPCOUNT_SIGN_IN_ATTEMPTS_PER_EMAIL", "2".into())]).await;
    let browser = app.browser();
    for _ in 0..2 {
        let response = browser
            .post_form("/forgot-password", &[("email", "limit@example.com")])
            .await;
        assert_eq!(location(&response), "/check-inbox");
        browser.follow(response).await;
    }
    let response = browser
        .post_form("/forgot-password", &[("email", "limit@example.com")])
        .await;
    assert_eq!(location(&response), "/forgot-password");
    let html = browser.follow(response).await;
    assert!(html.contains("Too many"), "{html}");
}
