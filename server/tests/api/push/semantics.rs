//! What pushed values mean: counters, deltas (concurrent senders, times, late ones), late
//! and out-of-order points in the rollups, and duplicates.

use super::*;

#[tokio::test]
async fn late_points_land_in_their_place_and_the_rollups_stay_right() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Sales").await;
    push_ok(
        &app,
        &made.token,
        json!([
            { "metric": "queue", "value": 5, "t": "2026-12-01T10:00:00Z" },
            { "metric": "queue", "value": 7, "t": "2026-12-01T10:30:00Z" },
        ]),
    )
    .await;
    // Late, and out of order within the request.
    let answer = push_ok(
        &app,
        &made.token,
        json!([
            { "metric": "queue", "value": 100, "t": "2026-12-01T10:15:00Z" },
            { "metric": "queue", "value": 1, "t": "2026-12-01T09:59:00Z" },
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 2);
    let hour = rollup(&app, "samples_hourly", "queue", "2026-12-01T10:00:00Z").await;
    assert_eq!(
        hour,
        (5.0, 100.0, 112.0, 3, 7.0, "2026-12-01T10:30:00Z".into())
    );
    let day = rollup(&app, "samples_daily", "queue", "2026-12-01T00:00:00Z").await;
    assert_eq!(
        day,
        (1.0, 100.0, 113.0, 4, 7.0, "2026-12-01T10:30:00Z".into())
    );
    let three = rollup(&app, "samples_3h", "queue", "2026-12-01T09:00:00Z").await;
    assert_eq!(three.3, 4);
    assert_eq!(three.4, 7.0);
    assert_eq!(last_value(&app, "queue").await, Some(7.0));
    assert_eq!(
        samples(&app, "queue")
            .await
            .iter()
            .map(|(_, v)| *v)
            .collect::<Vec<_>>(),
        vec![1.0, 5.0, 100.0, 7.0]
    );

    // A point already recorded is kept (first write wins), and counted as a duplicate;
    // the same within one request.
    let answer = push_ok(
        &app,
        &made.token,
        json!([
            { "metric": "queue", "value": 999, "t": "2026-12-01T10:30:00Z" },
            { "metric": "queue", "value": 8, "t": "2026-12-01T11:00:00Z" },
            { "metric": "queue", "value": 9, "t": "2026-12-01T11:00:00Z" },
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(answer["duplicates"], 2, "{answer}");
    let hour = rollup(&app, "samples_hourly", "queue", "2026-12-01T10:00:00Z").await;
    assert_eq!(
        hour,
        (5.0, 100.0, 112.0, 3, 7.0, "2026-12-01T10:30:00Z".into())
    );
    assert_eq!(last_value(&app, "queue").await, Some(8.0));
    // Every point a duplicate: nothing new, but not a failure.
    let (status, answer) = push(
        &app,
        &made.token,
        json!([{ "metric": "queue", "value": 1, "t": "2026-12-01T11:00:00Z" }]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["duplicates"], 1);
}

#[tokio::test]
async fn counters_are_stored_as_given() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Sales").await;
    push_ok(
        &app,
        &made.token,
        json!([
            { "metric": "requests_total", "value": 10, "t": "2026-12-01T10:00:00Z", "type": "counter" },
            { "metric": "requests_total", "value": 15, "t": "2026-12-01T10:01:00Z", "type": "counter" },
            // A reset: stored as it is, rates read it.
            { "metric": "requests_total", "value": 3, "t": "2026-12-01T10:02:00Z", "type": "counter" },
        ]),
    )
    .await;
    let kind: String =
        sqlx::query_scalar("SELECT kind FROM source_metrics WHERE name = 'requests_total'")
            .fetch_one(&app.pool)
            .await
            .expect("the series");
    assert_eq!(kind, "counter");
    assert_eq!(
        samples(&app, "requests_total")
            .await
            .iter()
            .map(|(_, v)| *v)
            .collect::<Vec<_>>(),
        vec![10.0, 15.0, 3.0]
    );
    let (status, answer) = push(
        &app,
        &made.token,
        json!([{ "metric": "requests_total", "value": 4 }]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["refused"][0]["reason"]
            .as_str()
            .expect("a reason")
            .contains("`requests_total` is a counter metric; a gauge point cannot go in it"),
        "{answer}"
    );
}

#[tokio::test]
async fn deltas_from_concurrent_senders_add_up_exactly() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Sales").await;
    let sends = (0..50).map(|_| {
        let (app, token) = (&app, made.token.clone());
        async move {
            push_ok(
                app,
                &token,
                json!([{ "metric": "jobs", "value": 1, "type": "delta" }]),
            )
            .await
        }
    });
    let answers = futures::future::join_all(sends).await;
    assert!(
        answers.iter().all(|answer| answer["accepted"] == 1),
        "{answers:?}"
    );
    assert_eq!(last_value(&app, "jobs").await, Some(50.0));
    let values: Vec<f64> = samples(&app, "jobs")
        .await
        .iter()
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(
        values,
        (1..=50).map(f64::from).collect::<Vec<_>>(),
        "one running total per send"
    );
    let kind: String = sqlx::query_scalar("SELECT kind FROM source_metrics WHERE name = 'jobs'")
        .fetch_one(&app.pool)
        .await
        .expect("the series");
    assert_eq!(kind, "delta");

    // Deltas without a time in one request add up into one point.
    let answer = push_ok(
        &app,
        &made.token,
        json!([
            { "metric": "jobs", "value": 2, "type": "delta" },
            { "metric": "jobs", "value": 3, "type": "delta" },
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 2);
    assert_eq!(last_value(&app, "jobs").await, Some(55.0));
    assert_eq!(samples(&app, "jobs").await.len(), 51);
}

#[tokio::test]
async fn deltas_with_times_add_in_order_and_late_ones_are_refused() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Sales").await;
    let delta =
        |value: f64, t: &str| json!({ "metric": "sales", "value": value, "t": t, "type": "delta" });
    // Out of order within a request: added in time order.
    let answer = push_ok(
        &app,
        &made.token,
        json!([
            delta(5.0, "2026-12-01T11:00:00Z"),
            delta(10.0, "2026-12-01T10:00:00Z")
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 2);
    assert_eq!(
        samples(&app, "sales").await,
        vec![
            ("2026-12-01T10:00:00.000000Z".to_string(), 10.0),
            ("2026-12-01T11:00:00.000000Z".to_string(), 15.0)
        ]
    );
    // Older than the newest point: refused, naming why; at a recorded time: a duplicate
    // (a retried request adds nothing twice); newer: added.
    let (status, answer) = push(
        &app,
        &made.token,
        json!([
            delta(1.0, "2026-12-01T10:30:00Z"),
            delta(1.0, "2026-12-01T11:00:00Z"),
            delta(2.0, "2026-12-01T12:00:00Z"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(answer["duplicates"], 1, "{answer}");
    assert_eq!(answer["refused"][0]["line"], 1);
    assert!(
        answer["refused"][0]["reason"]
            .as_str()
            .expect("a reason")
            .contains(
                "a delta must not be older than its series' newest point (2026-12-01T11:00:00Z)"
            ),
        "{answer}"
    );
    assert_eq!(last_value(&app, "sales").await, Some(17.0));
    let hour = rollup(&app, "samples_hourly", "sales", "2026-12-01T12:00:00Z").await;
    assert_eq!(
        hour,
        (17.0, 17.0, 17.0, 1, 17.0, "2026-12-01T12:00:00Z".into())
    );
}
