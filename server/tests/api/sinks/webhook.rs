//! A webhook sink: signed JSON batches of at most `UPCOUNT_SINK_BATCH` points; down, it
//! keeps at most `UPCOUNT_SINK_BACKLOG_LIMIT` points, dropping the oldest and showing how
//! many, and sends the rest in order once it is back.

use chrono::Utc;
use serde_json::{Value, json};

use super::{Receiver, make_sink, poll_with, sink_until, tracking_app};
use crate::helpers::eventually;

/// Every polled sample (not the first), oldest first, as (metric, value), in the order
/// they were queued.
async fn polled(app: &crate::helpers::TestApp) -> Vec<(String, f64)> {
    sqlx::query_as(
        "SELECT m.name, s.value FROM samples s JOIN source_metrics m ON m.id = s.metric_id
         WHERE s.t > (SELECT min(t) FROM samples) ORDER BY s.t, m.id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("the samples")
}

fn shape(points: &[Value]) -> Vec<(String, f64)> {
    points
        .iter()
        .map(|point| {
            (
                point["metric"].as_str().unwrap_or_default().to_string(),
                point["value"].as_f64().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn webhook_batches_are_signed_and_hold_at_most_the_batch_size() {
    let receiver = Receiver::start().await;
    let (standin, app, _, token, tracker) =
        tracking_app(vec![("UPCOUNT_SINK_BATCH", "3".into())]).await;
    let made = make_sink(
        &app,
        &token,
        json!({"kind": "webhook", "url": receiver.url, "trackers": [tracker]}),
    )
    .await;
    let secret = made["secret"].as_str().expect("a secret").to_string();
    let workers = app.start_workers();
    poll_with(&app, &standin, 19_100).await;
    let expected = polled(&app).await;
    assert!(
        expected.len() > 3,
        "a poll writes more than a batch: {expected:?}"
    );
    eventually(
        std::time::Duration::from_secs(30),
        "every point",
        || async { (receiver.points().len() == expected.len()).then_some(()) },
    )
    .await;
    workers.stop().await;
    let batches = receiver.received();
    assert_eq!(batches.len(), expected.len().div_ceil(3));
    for batch in &batches {
        let signature = batch
            .headers
            .get("upcount-signature")
            .and_then(|value| value.to_str().ok());
        assert_eq!(
            app::server::signature::verify_signature(
                &batch.body,
                signature,
                &secret,
                Utc::now().timestamp()
            ),
            Ok(())
        );
        let body: Value = serde_json::from_slice(&batch.body).expect("JSON");
        assert_eq!(body["sink"], made["id"]);
        assert!(body["points"].as_array().map(Vec::len).unwrap_or_default() <= 3);
    }
    let points = receiver.points();
    assert_eq!(shape(&points), expected);
    assert_eq!(
        (&points[0]["tracker"], &points[0]["kind"], &points[0]["key"]),
        (
            &json!(tracker),
            &json!("github.repo"),
            &json!("leptos-rs/leptos")
        )
    );
    assert!(
        points[0]["t"]
            .as_str()
            .is_some_and(|t| t.parse::<chrono::DateTime<Utc>>().is_ok())
    );

    // A sink of other trackers gets nothing of this one.
    standin.set_github_repo("serde-rs/json", 9_000);
    let other = app.track(&token, "https://github.com/serde-rs/json").await;
    let quiet = Receiver::start().await;
    make_sink(
        &app,
        &token,
        json!({"kind": "webhook", "url": quiet.url, "trackers": [other]}),
    )
    .await;
    app.history_loaded().await;
    let workers = app.start_workers();
    poll_with(&app, &standin, 19_200).await;
    eventually(
        std::time::Duration::from_secs(30),
        "the other tracker's points",
        || async { (!quiet.points().is_empty()).then_some(()) },
    )
    .await;
    workers.stop().await;
    // Each sink got only its trackers' samples.
    assert!(
        quiet
            .points()
            .iter()
            .all(|point| point["tracker"] == json!(other))
    );
    assert!(
        quiet
            .points()
            .iter()
            .all(|point| point["key"] == "serde-rs/json")
    );
    assert!(
        receiver
            .points()
            .iter()
            .all(|point| point["tracker"] == json!(tracker))
    );
}

#[tokio::test]
async fn a_sink_down_keeps_its_newest_points_up_to_the_bound_and_shows_what_it_dropped() {
    let receiver = Receiver::start().await;
    let (standin, app, user, token, _) =
        tracking_app(vec![("UPCOUNT_SINK_BACKLOG_LIMIT", "6".into())]).await;
    make_sink(
        &app,
        &token,
        json!({"kind": "webhook", "url": receiver.url}),
    )
    .await;
    receiver.set_down(true);
    let workers = app.start_workers();
    for stars in [19_100, 19_200, 19_300] {
        poll_with(&app, &standin, stars).await;
    }
    let all = polled(&app).await;
    assert!(all.len() > 6, "{all:?}");
    let failing = sink_until(&app, &token, "the sink to be failing and bounded", |sink| {
        sink["state"] == "failing" && sink["backlog"] == 6
    })
    .await;
    assert_eq!(failing["dropped"], json!(all.len() - 6));
    assert!(
        failing["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("503"),
        "{failing}"
    );

    // The Alerts page shows it: failing, what waits, what was dropped, the error.
    let browser = app.signed_in(&user).await;
    let html = browser.get("/alerts").await.text().await.expect("the page");
    assert!(html.contains(r#"<tr data-state="failing">"#), "{html}");
    assert!(
        html.contains(&format!(
            r#"<td class="sink-dropped">{}</td>"#,
            all.len() - 6
        )),
        "{html}"
    );
    assert!(
        html.contains(r#"<td class="sink-backlog">6</td>"#),
        "{html}"
    );
    assert!(html.contains("the sink answered 503"), "{html}");

    // Back: the newest six arrive, in order.
    receiver.set_down(false);
    let healthy = sink_until(&app, &token, "the backlog to drain", |sink| {
        sink["state"] == "ok" && sink["backlog"] == 0
    })
    .await;
    workers.stop().await;
    assert_eq!(shape(&receiver.points()), all[all.len() - 6..].to_vec());
    assert_eq!(
        (&healthy["sent"], &healthy["dropped"]),
        (&json!(6), &json!(all.len() - 6))
    );
}
