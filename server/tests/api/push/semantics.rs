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

/// Asserts that every hourly, 3-hourly and daily rollup row of series `name` is what a
/// GROUP BY over its raw samples makes it (no row missing, none extra), and that its latest
/// value and time are its newest sample's.
async fn rollups_match_raw(app: &TestApp, name: &str) {
    for (table, width) in [
        ("samples_hourly", "1 hour"),
        ("samples_3h", "3 hours"),
        ("samples_daily", "1 day"),
    ] {
        let sql = format!(
            "WITH metric AS (SELECT id FROM source_metrics WHERE name = $1),
             raw AS (
                 SELECT metric_id, date_bin('{width}', t, timestamptz '2000-01-01 00:00:00+00') AS bucket,
                        min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count,
                        (array_agg(value ORDER BY t DESC))[1] AS last, max(t) AS last_t
                 FROM samples WHERE metric_id IN (SELECT id FROM metric) GROUP BY 1, 2
             ),
             stored AS (SELECT * FROM {table} WHERE metric_id IN (SELECT id FROM metric))
             SELECT count(*) FROM stored r FULL JOIN raw USING (metric_id, bucket)
             WHERE r.min IS DISTINCT FROM raw.min OR r.max IS DISTINCT FROM raw.max
                OR r.sum IS DISTINCT FROM raw.sum OR r.count IS DISTINCT FROM raw.count
                OR r.last IS DISTINCT FROM raw.last OR r.last_t IS DISTINCT FROM raw.last_t"
        );
        let wrong: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_one(&app.pool)
            .await
            .expect("compare the rollups");
        assert_eq!(wrong, 0, "{table} of `{name}` differs from its raw samples");
    }
    let wrong: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM source_metrics m
         WHERE m.name = $1
           AND (m.last_at IS DISTINCT FROM (SELECT max(t) FROM samples s WHERE s.metric_id = m.id)
                OR m.last_value IS DISTINCT FROM
                   (SELECT value FROM samples s WHERE s.metric_id = m.id ORDER BY t DESC LIMIT 1))",
    )
    .bind(name)
    .fetch_one(&app.pool)
    .await
    .expect("compare the latest value");
    assert_eq!(
        wrong, 0,
        "`{name}`'s latest value differs from its newest sample"
    );
}

/// A delta point of the series `sales`.
fn delta(value: f64, t: &str) -> Value {
    json!({ "metric": "sales", "value": value, "t": t, "type": "delta" })
}

#[tokio::test]
async fn deltas_with_times_add_in_order_and_late_ones_land_in_their_place() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Sales").await;
    // Out of order within a request: added in time order.
    let answer = push_ok(
        &app,
        &made.token,
        json!([
            delta(5.0, "2026-12-01T10:30:00Z"),
            delta(10.0, "2026-12-01T10:00:00Z"),
            delta(5.0, "2026-12-01T11:00:00Z"),
            delta(1.0, "2026-12-02T09:00:00Z"),
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 4);
    rollups_match_raw(&app, "sales").await;

    // Late ones, in the hour of recorded points, in an earlier hour, on an earlier day,
    // and a negative one, with one at a recorded time (a duplicate: a retried request
    // adds nothing twice) and one after the newest point.
    let late = json!([
        delta(3.0, "2026-12-01T10:15:00Z"),
        delta(100.0, "2026-12-01T11:00:00Z"),
        delta(2.0, "2026-12-01T09:00:00Z"),
        delta(-6.0, "2026-12-01T10:45:00Z"),
        delta(1.0, "2026-12-02T10:00:00Z"),
        delta(4.0, "2026-11-30T23:00:00Z"),
    ]);
    let answer = push_ok(&app, &made.token, late.clone()).await;
    assert_eq!(answer["accepted"], 5, "{answer}");
    assert_eq!(answer["duplicates"], 1, "{answer}");
    let expected = vec![
        ("2026-11-30T23:00:00.000000Z".to_string(), 4.0),
        ("2026-12-01T09:00:00.000000Z".to_string(), 6.0),
        ("2026-12-01T10:00:00.000000Z".to_string(), 16.0),
        ("2026-12-01T10:15:00.000000Z".to_string(), 19.0),
        ("2026-12-01T10:30:00.000000Z".to_string(), 24.0),
        ("2026-12-01T10:45:00.000000Z".to_string(), 18.0),
        ("2026-12-01T11:00:00.000000Z".to_string(), 23.0),
        ("2026-12-02T09:00:00.000000Z".to_string(), 24.0),
        ("2026-12-02T10:00:00.000000Z".to_string(), 25.0),
    ];
    assert_eq!(samples(&app, "sales").await, expected);
    assert_eq!(last_value(&app, "sales").await, Some(25.0));
    // The negative delta leaves the hour's last below its max.
    let hour = rollup(&app, "samples_hourly", "sales", "2026-12-01T10:00:00Z").await;
    assert_eq!(
        hour,
        (16.0, 24.0, 77.0, 4, 18.0, "2026-12-01T10:45:00Z".into())
    );
    let day = rollup(&app, "samples_daily", "sales", "2026-12-01T00:00:00Z").await;
    assert_eq!(
        day,
        (6.0, 24.0, 106.0, 6, 23.0, "2026-12-01T11:00:00Z".into())
    );
    rollups_match_raw(&app, "sales").await;

    // The same request again: every point a duplicate, nothing moves.
    let (status, answer) = push(&app, &made.token, late).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 0, "{answer}");
    assert_eq!(answer["duplicates"], 6, "{answer}");
    assert_eq!(samples(&app, "sales").await, expected);
    rollups_match_raw(&app, "sales").await;

    // Two late deltas at one time in one request: the second is a duplicate.
    let answer = push_ok(
        &app,
        &made.token,
        json!([
            delta(-1.0, "2026-12-01T12:00:00Z"),
            delta(-1.0, "2026-12-01T12:00:00Z"),
        ]),
    )
    .await;
    assert_eq!(
        (answer["accepted"].as_u64(), answer["duplicates"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(last_value(&app, "sales").await, Some(24.0));
    rollups_match_raw(&app, "sales").await;
}

#[tokio::test]
async fn late_deltas_are_refused_before_the_oldest_point_kept() {
    use upcount::jobs::Job as _;

    let app = spawn_app().await;
    let user = app.create_free_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    let made = make_source(&app, &token, "Sales").await;
    let now = chrono::Utc::now();
    let day = |days: i64| (now - chrono::TimeDelta::days(days)).to_rfc3339();
    push_ok(
        &app,
        &made.token,
        json!([
            delta(1.0, &day(40)),
            delta(1.0, &day(4)),
            delta(1.0, &day(1))
        ]),
    )
    .await;
    // Free keeps 30 days of raw points: the oldest goes, its rollups stay.
    let context = upcount::jobs::JobContext {
        pool: app.pool.clone(),
        retention: std::time::Duration::from_secs(14 * 86_400),
    };
    upcount::jobs::PruneSamples::default()
        .run(&context)
        .await
        .expect("prune");
    assert_eq!(samples(&app, "sales").await.len(), 2);

    // Before the oldest kept point's day: refused, saying why. In a later day: placed.
    let (status, answer) = push(
        &app,
        &made.token,
        json!([delta(5.0, &day(20)), delta(2.0, &day(2))]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 1, "{answer}");
    let refused = refusals(&answer);
    assert_eq!(refused.len(), 1, "{answer}");
    assert_eq!(refused[0].0, 1);
    assert!(
        refused[0]
            .1
            .contains("starts before `sales`'s oldest point still kept")
            && refused[0].1.contains("pruned by the plan's retention"),
        "{answer}"
    );
    assert_eq!(
        samples(&app, "sales")
            .await
            .iter()
            .map(|(_, v)| *v)
            .collect::<Vec<_>>(),
        vec![2.0, 4.0, 5.0]
    );
    assert_eq!(last_value(&app, "sales").await, Some(5.0));
}

#[tokio::test]
async fn the_points_a_late_delta_changes_are_queued_for_the_sinks() {
    let receiver = crate::sinks::Receiver::start().await;
    let app = crate::helpers::spawn_app_with_env(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".to_string()),
        ("UPCOUNT_SECRET_KEY", crate::sinks::SECRET_KEY.to_string()),
    ])
    .await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let made = make_source(&app, &token, "Sales").await;
    crate::sinks::make_sink(
        &app,
        &token,
        json!({"kind": "webhook", "url": receiver.url, "trackers": [made.tracker]}),
    )
    .await;
    push_ok(
        &app,
        &made.token,
        json!([
            delta(1.0, "2026-12-01T10:00:00Z"),
            delta(1.0, "2026-12-01T11:00:00Z")
        ]),
    )
    .await;
    // Late: its own point, and the later one whose total it moved.
    push_ok(
        &app,
        &made.token,
        json!([delta(-3.0, "2026-12-01T10:30:00Z")]),
    )
    .await;
    let queued: Vec<(String, f64)> = sqlx::query_as(
        r#"SELECT to_char(t AT TIME ZONE 'UTC', 'HH24:MI'), value FROM sink_backlog ORDER BY id"#,
    )
    .fetch_all(&app.pool)
    .await
    .expect("the backlog");
    assert_eq!(
        queued,
        vec![
            ("10:00".into(), 1.0),
            ("11:00".into(), 2.0),
            ("10:30".into(), -2.0),
            ("11:00".into(), -1.0),
        ]
    );
}
