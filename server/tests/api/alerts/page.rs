//! The Alerts page: adding a channel (a webhook's secret shown once), sending it a test,
//! deleting it, and the events with their deliveries; forms work without the wasm.

use app::domain::Role;
use reqwest::StatusCode;

use super::app_and_receiver;
use crate::helpers::location;

#[tokio::test]
async fn channels_are_added_tested_and_deleted_from_the_alerts_page() {
    let (app, _, receiver) = app_and_receiver().await;
    let user = app.create_user(Role::Member).await;
    let browser = app.signed_in(&user).await;

    // A bad URL: back with the field's error and what was typed.
    let response = browser
        .post_form(
            "/alerts/channels",
            &[("kind", "webhook"), ("target", "ftp://x.example.com")],
        )
        .await;
    assert_eq!(location(&response), "/alerts");
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(html.contains("`url` must be http or https"), "{html}");
    assert!(html.contains("ftp://x.example.com"));

    let url = format!("{}/hooks/page", receiver.base);
    let response = browser
        .post_form("/alerts/channels", &[("kind", "webhook"), ("target", &url)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(html.contains("Channel added: Webhook"), "{html}");
    // The secret, shown once: `whsec_` and base62 characters.
    let secret = html
        .find("whsec_")
        .map(|start| {
            html[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .expect("the secret, shown once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    // Once: the next view of the page does not show it.
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(!html.contains(&secret));
    assert!(html.contains(&url), "the channel is listed");
    let id: String = sqlx::query_scalar("SELECT id::text FROM alert_channels")
        .fetch_one(&app.pool)
        .await
        .expect("the channel");

    let response = browser
        .post_form(&format!("/alerts/channels/{id}/test"), &[])
        .await;
    assert_eq!(location(&response), "/alerts");
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(html.contains("Test alert sent to Webhook"), "{html}");
    assert_eq!(receiver.received().len(), 1);
    assert!(
        app::server::signature::verify_signature(
            &receiver.received()[0].body,
            receiver.received()[0]
                .header("upcount-signature")
                .as_deref(),
            &secret,
            chrono::Utc::now().timestamp()
        )
        .is_ok()
    );

    // A failing test says why.
    receiver.answer(&[500]);
    browser
        .post_form(&format!("/alerts/channels/{id}/test"), &[])
        .await;
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(
        html.contains(
            "The test alert was not delivered: the channel answered 500 Internal Server Error."
        ),
        "{html}"
    );

    // Another user cannot touch it.
    let stranger = app.create_user(Role::Member).await;
    let stranger = app.signed_in(&stranger).await;
    stranger
        .post_form(&format!("/alerts/channels/{id}/delete"), &[])
        .await;
    let html = stranger
        .get("/alerts")
        .await
        .text()
        .await
        .expect("the page");
    assert!(html.contains("That channel no longer exists."));
    assert!(html.contains("No channels yet"));

    browser
        .post_form(&format!("/alerts/channels/{id}/delete"), &[])
        .await;
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(html.contains("Channel deleted."));
    assert!(html.contains("No channels yet"));
    assert!(html.contains("Nothing has fired yet."));
}

#[tokio::test]
async fn the_alerts_page_needs_signing_in() {
    let (app, _, _) = app_and_receiver().await;
    let response = app.browser().get("/alerts").await;
    let to = location(&response);
    assert!(to.starts_with("/sign-in"), "{} {to}", response.status());
    let response = app
        .browser()
        .post_form(
            "/alerts/channels",
            &[("kind", "webhook"), ("target", "https://a.example.com")],
        )
        .await;
    assert!(location(&response).starts_with("/sign-in"));
}
