//! The digest email: opted-in, confirmed users get one per period (the previous UTC day,
//! or the previous ISO week) with their trackers' numbers and alerts, through the
//! outbox to the SMTP sink, however often (or however concurrently) the job runs; the
//! account page's form chooses it.

use app::{
    domain::{MetricId, Role, TokenScope},
    server::email::digests::{self, Sent},
};
use chrono::{DateTime, Datelike, TimeDelta, Utc};
use reqwest::StatusCode;

use super::*;
use crate::helpers::{TestUser, location};

/// Midnight UTC, `days` after today's.
fn midnight_in(days: i64) -> DateTime<Utc> {
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    today + TimeDelta::days(days)
}

/// A user who confirmed their address and chose `digest`.
async fn user_with_digest(app: &TestApp, digest: &str, verified: bool) -> TestUser {
    let user = app.create_user(Role::Member).await;
    sqlx::query(
        "UPDATE users SET digest = $2,
                          email_verified_at = CASE WHEN $3 THEN now() END
         WHERE id = $1",
    )
    .bind(user.id.uuid())
    .bind(digest)
    .bind(verified)
    .execute(&app.pool)
    .await
    .expect("set the digest");
    user
}

/// A tracker of `user`'s workspace on a source of its own (never polled), with `metrics`
/// in order: its id and its metrics' ids.
async fn tracker(
    app: &TestApp,
    user: &TestUser,
    label: &str,
    metrics: &[&str],
) -> (uuid::Uuid, Vec<MetricId>) {
    let key = uuid::Uuid::new_v4().simple().to_string();
    let source: i64 = sqlx::query_scalar(
        "INSERT INTO sources (kind, key, title, url) VALUES ('github.repo', $1, $1, 'https://github.com/a/b')
         RETURNING id",
    )
    .bind(&key)
    .fetch_one(&app.pool)
    .await
    .expect("a source");
    let mut ids = Vec::new();
    for (position, name) in metrics.iter().enumerate() {
        let id: i32 = sqlx::query_scalar(
            "INSERT INTO source_metrics (source_id, name, kind, position) VALUES ($1, $2, 'gauge', $3)
             RETURNING id",
        )
        .bind(source)
        .bind(name)
        .bind(position as i16)
        .fetch_one(&app.pool)
        .await
        .expect("a metric");
        ids.push(MetricId(id));
    }
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO trackers (workspace_id, source_id, label) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(app.workspace_of(user).await)
    .bind(source)
    .bind(label)
    .fetch_one(&app.pool)
    .await
    .expect("a tracker");
    (id, ids)
}

/// An alert event of `tracker` fired `at`.
async fn fired(
    app: &TestApp,
    user: &TestUser,
    tracker: uuid::Uuid,
    reason: &str,
    at: DateTime<Utc>,
) {
    sqlx::query(
        "INSERT INTO alert_events (workspace_id, tracker_id, metric, condition, value, reason, fired_at)
         VALUES ($1, $2, 'stars', 'above', 1, $3, $4)",
    )
    .bind(app.workspace_of(user).await)
    .bind(tracker)
    .bind(reason)
    .bind(at)
    .execute(&app.pool)
    .await
    .expect("an event");
}

async fn send_due(app: &TestApp, now: DateTime<Utc>) -> Sent {
    digests::send_due(&app.pool, &app.address, now)
        .await
        .expect("send the digests")
}

/// The digests queued for `user`.
async fn queued_for(app: &TestApp, user: &TestUser) -> i64 {
    app.count_with(
        "SELECT count(*) FROM email_outbox WHERE kind = 'digest' AND to_address = $1",
        user.email.clone(),
    )
    .await
}

#[tokio::test]
async fn a_daily_digest_is_sent_once_with_the_days_numbers_and_alerts() {
    let (sink, app) = spawn_app_with_sink().await;
    let daily = user_with_digest(&app, "daily", true).await;
    let off = user_with_digest(&app, "off", true).await;
    let unverified = user_with_digest(&app, "daily", false).await;
    // A day to come, so that nothing the workers do on the real clock falls in it.
    let day = midnight_in(3);
    let (leptos, metrics) = tracker(&app, &daily, "Leptos", &["stars", "forks"]).await;
    let (quiet, _) = tracker(&app, &daily, "Quiet <one>", &["stars"]).await;
    let (stars, forks) = (metrics[0], metrics[1]);
    app.write_points(
        stars,
        [
            (day - TimeDelta::hours(2), 100.0),
            (day + TimeDelta::hours(6), 120.0),
            (day + TimeDelta::hours(20), 150.0),
            // After the day: not in it.
            (day + TimeDelta::days(1) + TimeDelta::minutes(5), 999.0),
        ],
    )
    .await;
    app.write_points(forks, [(day + TimeDelta::hours(3), 7.0)])
        .await;
    fired(
        &app,
        &daily,
        leptos,
        "stars rose above 110 (now 120)",
        day + TimeDelta::hours(6),
    )
    .await;
    fired(
        &app,
        &daily,
        leptos,
        "stars rose above 140 (now 150)",
        day + TimeDelta::hours(20),
    )
    .await;
    fired(
        &app,
        &daily,
        leptos,
        "the day before",
        day - TimeDelta::minutes(30),
    )
    .await;
    fired(
        &app,
        &daily,
        leptos,
        "the day after",
        day + TimeDelta::days(1) + TimeDelta::minutes(1),
    )
    .await;
    // The others track something too: they are skipped for their choice, not for that.
    for user in [&off, &unverified] {
        let (id, metrics) = tracker(&app, user, "Theirs", &["stars"]).await;
        app.write_points(metrics[0], [(day + TimeDelta::hours(1), 1.0)])
            .await;
        fired(&app, user, id, "theirs", day + TimeDelta::hours(1)).await;
    }
    let workers = app.start_workers();

    // The job runs twice, then twice at once: one digest.
    let now = day + TimeDelta::days(1) + TimeDelta::minutes(15);
    assert_eq!(send_due(&app, now).await.queued, 1);
    assert_eq!(send_due(&app, now + TimeDelta::hours(5)).await.queued, 0);
    let (first, second) = tokio::join!(send_due(&app, now), send_due(&app, now));
    assert_eq!(first.queued + second.queued, 0);

    let mail = sink.wait_for(&daily.email, 1).await.remove(0);
    assert_eq!(
        mail.subject(),
        "Your Upcount daily digest: 2 trackers, 2 alerts"
    );
    let text = mail.text();
    let weekday = day.format("%A %-d %B %Y").to_string();
    assert!(text.contains(&weekday), "{text}");
    assert!(
        text.contains("stars: 150 (+50, +50% over the day)"),
        "{text}"
    );
    assert!(text.contains("forks: 7 (no earlier value)"), "{text}");
    assert!(text.contains("stars rose above 110 (now 120)"), "{text}");
    assert!(text.contains("stars rose above 140 (now 150)"), "{text}");
    assert!(
        !text.contains("the day before") && !text.contains("the day after"),
        "{text}"
    );
    // Not a bare "999": the links carry random ids and ports, which may hold one.
    assert!(!text.contains(": 999"), "{text}");
    assert!(text.contains("Quiet <one>\n"), "{text}");
    assert!(
        text.contains(&format!("{}/trackers/{leptos}", app.address)),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}/trackers/{quiet}", app.address)),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}/dashboard", app.address)),
        "{text}"
    );
    assert!(text.contains(&format!("{}/account", app.address)), "{text}");
    let html = mail.html();
    assert!(html.contains("Quiet &lt;one&gt;"), "{html}");
    assert!(!html.contains("Quiet <one>"), "{html}");
    assert!(html.contains("+50, +50% over the day"), "{html}");
    assert!(html.contains("Open your dashboard"), "{html}");
    assert!(html.contains("your account page"), "{html}");

    // Nothing more arrives, and nothing went to the others.
    tokio::time::sleep(Duration::from_secs(1)).await;
    workers.stop().await;
    assert_eq!(sink.messages_to(&daily.email).len(), 1);
    assert_eq!(queued_for(&app, &daily).await, 1);
    for user in [&off, &unverified] {
        assert!(sink.messages_to(&user.email).is_empty(), "{}", user.email);
        assert_eq!(queued_for(&app, user).await, 0);
    }
    let key: String = app
        .scalar("SELECT dedupe_key FROM email_outbox WHERE kind = 'digest'")
        .await;
    assert_eq!(
        key,
        format!("digest:{}:daily:{}", daily.id, day.format("%Y-%m-%d"))
    );

    // The next day is another digest.
    assert_eq!(send_due(&app, now + TimeDelta::days(1)).await.queued, 1);
    assert_eq!(queued_for(&app, &daily).await, 2);
}

#[tokio::test]
async fn a_weekly_digest_covers_monday_to_monday() {
    let (sink, app) = spawn_app_with_sink().await;
    let weekly = user_with_digest(&app, "weekly", true).await;
    // A Monday at least a week away.
    let soon = midnight_in(8);
    let monday = soon + TimeDelta::days(i64::from((7 - soon.weekday().num_days_from_monday()) % 7));
    assert_eq!(monday.weekday(), chrono::Weekday::Mon);
    let next_monday = monday + TimeDelta::days(7);
    let (tracker_id, metrics) = tracker(&app, &weekly, "Leptos", &["stars"]).await;
    app.write_points(
        metrics[0],
        [
            (monday - TimeDelta::hours(1), 1_000.0),
            (monday + TimeDelta::days(3), 1_100.0),
            // Sunday night, the week's last value.
            (next_monday - TimeDelta::hours(2), 1_200.0),
            // Monday morning: the next week's.
            (next_monday + TimeDelta::hours(1), 1_300.0),
        ],
    )
    .await;
    fired(
        &app,
        &weekly,
        tracker_id,
        "before the week",
        monday - TimeDelta::minutes(30),
    )
    .await;
    fired(
        &app,
        &weekly,
        tracker_id,
        "in the week",
        monday + TimeDelta::days(1),
    )
    .await;
    fired(
        &app,
        &weekly,
        tracker_id,
        "the next week",
        next_monday + TimeDelta::minutes(30),
    )
    .await;
    let workers = app.start_workers();

    // Any time of the following week: the same digest, once.
    let wednesday = next_monday + TimeDelta::days(2);
    assert_eq!(send_due(&app, wednesday).await.queued, 1);
    assert_eq!(
        send_due(
            &app,
            next_monday + TimeDelta::days(6) + TimeDelta::hours(23)
        )
        .await
        .queued,
        0
    );
    let mail = sink.wait_for(&weekly.email, 1).await.remove(0);
    assert_eq!(
        mail.subject(),
        "Your Upcount weekly digest: 1 tracker, 1 alert"
    );
    let text = mail.text();
    assert!(
        text.contains(&format!("the week of {}", monday.format("%-d %B %Y"))),
        "{text}"
    );
    assert!(
        text.contains("stars: 1,200 (+200, +20% over the week)"),
        "{text}"
    );
    assert!(text.contains("in the week"), "{text}");
    assert!(
        !text.contains("before the week") && !text.contains("the next week"),
        "{text}"
    );

    // The Monday after: the next week's digest.
    assert_eq!(
        send_due(&app, next_monday + TimeDelta::days(7))
            .await
            .queued,
        1
    );
    let mails = sink.wait_for(&weekly.email, 2).await;
    assert_eq!(
        mails[1].subject(),
        "Your Upcount weekly digest: 1 tracker, 1 alert"
    );
    let text = mails[1].text();
    assert!(
        text.contains("stars: 1,300 (+100, +8.3% over the week)"),
        "{text}"
    );
    assert!(text.contains("the next week"), "{text}");
    workers.stop().await;
    assert_eq!(sink.messages_to(&weekly.email).len(), 2);
}

#[tokio::test]
async fn users_with_nothing_tracked_get_no_digest() {
    let (_sink, app) = spawn_app_with_sink().await;
    let user = user_with_digest(&app, "daily", true).await;
    let now = midnight_in(2) + TimeDelta::minutes(15);
    assert_eq!(
        send_due(&app, now).await,
        Sent {
            queued: 0,
            skipped: 1
        }
    );
    // A tracker made after the day it would cover is not in it either.
    tracker(&app, &user, "Later", &["stars"]).await;
    // Today's sending covers yesterday (`now + 5 min` would cover today just before midnight).
    let yesterday = midnight_in(0) + TimeDelta::minutes(15);
    assert_eq!(send_due(&app, yesterday).await.queued, 0);
    assert_eq!(queued_for(&app, &user).await, 0);
    // Once it existed for the day: a digest.
    assert_eq!(send_due(&app, now).await.queued, 1);
}

#[tokio::test]
async fn the_account_page_chooses_the_digest() {
    let (_sink, app) = spawn_app_with_sink().await;
    let user = app.create_user(Role::Member).await;
    let browser = app.signed_in(&user).await;
    let html = browser.html("/account").await;
    assert!(html.contains("Digest email"), "{html}");
    assert!(html.contains("action=\"/account/digest\""), "{html}");
    assert!(html.contains("name=\"digest\""), "{html}");

    let response = browser
        .post_form("/account/digest", &[("digest", "weekly")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account");
    let html = browser.follow(response).await;
    assert!(html.contains("Digest email: weekly."), "{html}");
    assert!(
        html.contains("<option value=\"weekly\" selected"),
        "the choice is shown: {html}"
    );
    let stored: String = app.scalar("SELECT digest FROM users").await;
    assert_eq!(stored, "weekly");

    // The API says so too.
    let token = app.token(&user, TokenScope::Read).await;
    let (status, me) = app.api_get("/api/v1/me", &token).await;
    assert_eq!(status, 200);
    assert_eq!(me["digest"], "weekly");

    // A value that is not a choice: the field's error, and nothing changes.
    let response = browser
        .post_form("/account/digest", &[("digest", "hourly")])
        .await;
    assert_eq!(location(&response), "/account");
    let html = browser.follow(response).await;
    assert!(html.contains("Choose off, daily or weekly."), "{html}");
    assert!(!html.contains("Digest email: "), "{html}");
    let stored: String = app.scalar("SELECT digest FROM users").await;
    assert_eq!(stored, "weekly");

    browser
        .post_form("/account/digest", &[("digest", "off")])
        .await;
    let (_, me) = app.api_get("/api/v1/me", &token).await;
    assert_eq!(me["digest"], "off");

    // Signed out: to sign in first.
    let response = app
        .browser()
        .post_form("/account/digest", &[("digest", "daily")])
        .await;
    assert!(location(&response).starts_with("/sign-in"));
}
