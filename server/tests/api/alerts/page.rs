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

/// How many bells `html` shows, and the words of each.
fn bells(html: &str) -> Vec<String> {
    html.match_indices("class=\"alert-bell\"")
        .map(|(at, _)| {
            // The whole tag: Leptos writes `class` after the other attributes.
            let start = html[..at].rfind('<').unwrap_or(0);
            let tag = &html[start..html[at..].find('>').map_or(html.len(), |end| at + end)];
            tag.split("aria-label=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn the_dashboard_rings_a_bell_for_trackers_whose_rules_fired_in_the_last_day() {
    let (standin, app) = crate::helpers::spawn_app_with_standin(vec![(
        "UPCOUNT_ALLOW_PRIVATE_TARGETS",
        "true".into(),
    )])
    .await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    app.history_loaded().await;
    let user = app.create_user(Role::Member).await;
    let token = app.token(&user, app::domain::TokenScope::Write).await;
    let tracker = app
        .track(&token, "https://github.com/leptos-rs/leptos")
        .await;
    // Another workspace tracks the same source, without rules.
    let stranger = app.create_user(Role::Member).await;
    let stranger_token = app.token(&stranger, app::domain::TokenScope::Write).await;
    app.track(&stranger_token, "https://github.com/leptos-rs/leptos")
        .await;
    let (status, made) = app
        .api_post(
            &format!("/api/v1/trackers/{tracker}/alerts"),
            &token,
            serde_json::json!({ "metric": "stars", "condition": "milestone", "every": 1000,
                                "cooldown_secs": 0 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let browser = app.signed_in(&user).await;
    assert!(bells(&browser.html("/dashboard").await).is_empty());

    let workers = app.start_workers();
    crate::polling::poll_now(&app).await;
    for stars in [20_010, 21_010] {
        standin.set_github_repo("leptos-rs/leptos", stars);
        crate::polling::poll_now(&app).await;
    }
    app.wait_for_count(
        std::time::Duration::from_secs(10),
        "SELECT count(*) FROM alert_events",
        2,
    )
    .await;
    workers.stop().await;
    // A tracker of the workspace whose rules never fired.
    let source: i64 = sqlx::query_scalar(
        "INSERT INTO sources (kind, key, title, url) VALUES
         ('hackernews.item', '8863', 'An item', 'https://news.ycombinator.com/item?id=8863')
         RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a source");
    sqlx::query("INSERT INTO trackers (workspace_id, source_id, label) VALUES ($1, $2, 'Quiet')")
        .bind(app.workspace_of(&user).await)
        .bind(source)
        .execute(&app.pool)
        .await
        .expect("a tracker");

    let html = browser.html("/dashboard").await;
    assert!(html.contains("Quiet"), "{html}");
    assert_eq!(
        bells(&html),
        ["2 alerts fired in the last 24 hours"],
        "{html}"
    );
    assert!(html.contains("href=\"/alerts\""));
    assert!(
        html.contains("title=\"2 alerts fired in the last 24 hours\""),
        "{html}"
    );

    // An event older than a day no longer counts.
    sqlx::query(
        "UPDATE alert_events SET fired_at = now() - interval '25 hours'
         WHERE id = (SELECT id FROM alert_events ORDER BY fired_at, id LIMIT 1)",
    )
    .execute(&app.pool)
    .await
    .expect("age an event");
    let html = browser.html("/dashboard").await;
    assert_eq!(
        bells(&html),
        ["1 alert fired in the last 24 hours"],
        "{html}"
    );

    // The other workspace's tracker of the same source rings nothing.
    let theirs = app.signed_in(&stranger).await.html("/dashboard").await;
    assert!(theirs.contains("leptos"), "{theirs}");
    assert!(bells(&theirs).is_empty(), "{theirs}");
}
