//! `POST /api/v1/events`: counting events per type and per chosen property into counter
//! series, concurrent senders, late events and the rollups, the series cap, bad items,
//! the exports of the raw events (scoped to the workspace) and their pruning.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use upcount::jobs::{Job, JobContext, PruneSamples};

use super::*;

/// `POST /api/v1/events` of `body` with `Authorization: Bearer token`.
async fn send(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    post(app, "/api/v1/events", token, body).await
}

/// Sends `body`, which must be accepted whole: the answer.
async fn send_ok(app: &TestApp, token: &str, body: Value) -> Value {
    post_ok(app, "/api/v1/events", token, body).await
}

/// Every series of the workspace's push sources with its latest value, by name.
async fn series(app: &TestApp) -> Vec<(String, Option<f64>, String)> {
    sqlx::query_as(
        "SELECT m.name, m.last_value, m.kind FROM source_metrics m
         JOIN sources s ON s.id = m.source_id WHERE s.kind = 'push' ORDER BY m.name",
    )
    .fetch_all(&app.pool)
    .await
    .expect("series")
}

/// Asserts that every rollup row of every series is what its raw samples make it.
async fn rollups_match_samples(app: &TestApp) {
    for (table, width) in [
        ("samples_hourly", "1 hour"),
        ("samples_3h", "3 hours"),
        ("samples_daily", "1 day"),
    ] {
        let sql = format!(
            "WITH raw AS (
                 SELECT metric_id, date_bin('{width}', t, timestamptz '2000-01-01 00:00:00+00') AS bucket,
                        min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count,
                        (array_agg(value ORDER BY t DESC))[1] AS last, max(t) AS last_t
                 FROM samples GROUP BY 1, 2
             )
             SELECT count(*) FROM {table} r FULL JOIN raw USING (metric_id, bucket)
             WHERE r.min IS DISTINCT FROM raw.min OR r.max IS DISTINCT FROM raw.max
                OR r.sum IS DISTINCT FROM raw.sum OR r.count IS DISTINCT FROM raw.count
                OR r.last IS DISTINCT FROM raw.last OR r.last_t IS DISTINCT FROM raw.last_t"
        );
        let wrong: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&app.pool)
            .await
            .expect("compare the rollups");
        assert_eq!(wrong, 0, "{table} differs from the raw samples");
    }
    let wrong: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM source_metrics m
         WHERE m.last_at IS DISTINCT FROM (SELECT max(t) FROM samples s WHERE s.metric_id = m.id)
            OR m.last_value IS DISTINCT FROM
               (SELECT value FROM samples s WHERE s.metric_id = m.id ORDER BY t DESC LIMIT 1)",
    )
    .fetch_one(&app.pool)
    .await
    .expect("compare the latest values");
    assert_eq!(
        wrong, 0,
        "a series' latest value differs from its newest sample"
    );
}

/// The latest value of push source `id`'s series `name`.
async fn source_total(app: &TestApp, id: &str, name: &str) -> f64 {
    sqlx::query_scalar(
        "SELECT m.last_value FROM source_metrics m JOIN push_sources p ON p.source_id = m.source_id
         WHERE p.id = $1::uuid AND m.name = $2",
    )
    .bind(id)
    .bind(name)
    .fetch_one(&app.pool)
    .await
    .expect("the total")
}

/// `PATCH /api/v1/push-sources/{id}` with `body`.
async fn patch_source(app: &TestApp, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    app.api(
        Method::PATCH,
        &format!("/api/v1/push-sources/{id}"),
        token,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn events_are_counted_per_type_and_per_chosen_property() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Product").await;
    let (status, body) =
        patch_source(&app, &token, &made.id, json!({ "event_labels": ["plan"] })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["push_source"]["event_labels"], json!(["plan"]));
    let (_, list) = app.api_get("/api/v1/push-sources", &token).await;
    assert_eq!(list["push_sources"][0]["event_labels"], json!(["plan"]));

    let answer = send_ok(
        &app,
        &made.token,
        json!([
            { "type": "file_uploaded", "properties": { "plan": "pro", "size": 10 } },
            { "type": "file_uploaded", "properties": { "plan": "pro", "size": 20 } },
            { "type": "file_uploaded" },
            { "type": "page.view", "properties": { "plan": "free", "path": "/" } },
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 4, "{answer}");
    assert_eq!(answer["duplicates"], 0, "{answer}");
    send_ok(
        &app,
        &made.token,
        json!([{ "type": "file_uploaded", "properties": { "plan": "pro" } }]),
    )
    .await;
    assert_eq!(
        series(&app).await,
        vec![
            (
                r#"events_total{plan="free",type="page.view"}"#.into(),
                Some(1.0),
                "counter".into()
            ),
            (
                r#"events_total{plan="pro",type="file_uploaded"}"#.into(),
                Some(3.0),
                "counter".into()
            ),
            (
                r#"events_total{type="file_uploaded"}"#.into(),
                Some(1.0),
                "counter".into()
            ),
        ]
    );
    // Each series is labelled as a pushed one is, so the tracker's label picker reads it.
    let labels: Value = sqlx::query_scalar(
        r#"SELECT labels FROM source_metrics WHERE name = 'events_total{plan="free",type="page.view"}'"#,
    )
    .fetch_one(&app.pool)
    .await
    .expect("labels");
    assert_eq!(labels, json!({ "plan": "free", "type": "page.view" }));
    // The tracker shows the counts like any other metric.
    let (_, tracker) = app.tracker(&token, &made.tracker).await;
    let shown = tracker["tracker"]["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|metric| metric["name"] == r#"events_total{plan="pro",type="file_uploaded"}"#)
        .map(|metric| metric["latest"].clone());
    assert_eq!(shown, Some(json!(3.0)), "{tracker}");
    assert_eq!(
        app.count("SELECT count(*) FROM push_events").await,
        5,
        "the raw events are kept"
    );

    // A chosen property that cannot be a label refuses its event only.
    let (status, answer) = send(
        &app,
        &made.token,
        json!([
            { "type": "file_uploaded", "properties": { "plan": ["pro"] } },
            { "type": "file_uploaded", "properties": { "plan": 2 } },
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 1);
    let refused = refusals(&answer);
    assert_eq!(refused.len(), 1, "{answer}");
    assert_eq!(refused[0].0, 1);
    assert!(
        refused[0]
            .1
            .contains("property `plan` is a label of this push source's events"),
        "{}",
        refused[0].1
    );
    assert_eq!(
        last_value(&app, r#"events_total{plan="2",type="file_uploaded"}"#).await,
        Some(1.0)
    );

    // Bad event labels are refused with the rule; another workspace's push source is not
    // found.
    let (status, body) =
        patch_source(&app, &token, &made.id, json!({ "event_labels": ["type"] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("`type`"),
        "{body}"
    );
    let (status, body) =
        patch_source(&app, &token, &made.id, json!({ "event_labels": ["a-b"] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) =
        patch_source(&app, &token, &made.id, json!({ "event_labels": "plan" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, other) = app.member_with_token(TokenScope::Write).await;
    let (status, _) = patch_source(&app, &other, &made.id, json!({ "event_labels": [] })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.api_get("/api/v1/push-sources", &token).await;
    assert_eq!(list["push_sources"][0]["event_labels"], json!(["plan"]));
    // A read-only token cannot change it.
    let (_, reader) = app.member_with_token(TokenScope::Read).await;
    let (status, _) = patch_source(&app, &reader, &made.id, json!({ "event_labels": [] })).await;
    assert_ne!(status, StatusCode::OK);

    // Labels can be given when the push source is made, and dropped later.
    let (status, body) = app
        .api_post(
            "/api/v1/push-sources",
            &token,
            json!({ "name": "Other", "event_labels": ["region"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["push_source"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let (status, body) = patch_source(&app, &token, &id, json!({ "event_labels": [] })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["push_source"]["event_labels"], json!([]));
    assert_eq!(body["push_source"]["name"], "Other");
}

#[tokio::test]
async fn two_senders_at_once_never_double_or_under_count() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Product").await;
    // Two senders, each sending 20 requests of 5 events as fast as they can, at once.
    let sender = |n: usize| {
        let (app, token) = (&app, made.token.clone());
        async move {
            let mut accepted = 0;
            for _ in 0..20 {
                let events: Vec<Value> = (0..5)
                    .map(|_| json!({ "type": "ping", "properties": { "sender": n } }))
                    .collect();
                let answer = send_ok(app, &token, Value::Array(events)).await;
                accepted += answer["accepted"].as_u64().expect("accepted");
            }
            accepted
        }
    };
    let (first, second) = tokio::join!(sender(1), sender(2));
    assert_eq!((first, second), (100, 100));
    assert_eq!(
        last_value(&app, r#"events_total{type="ping"}"#).await,
        Some(200.0)
    );
    let values: Vec<f64> = samples(&app, r#"events_total{type="ping"}"#)
        .await
        .iter()
        .map(|(_, v)| *v)
        .collect();
    assert!(
        values.windows(2).all(|pair| pair[0] < pair[1]),
        "a running total: {values:?}"
    );
    assert_eq!(values.last(), Some(&200.0));
    assert_eq!(app.count("SELECT count(*) FROM push_events").await, 200);
    rollups_match_samples(&app).await;

    // Late events sent at once by both, into the same past, count exactly too.
    let late = |n: u32| {
        let (app, token) = (&app, made.token.clone());
        async move {
            for minute in 0..10 {
                send_ok(
                    app,
                    &token,
                    json!([{ "type": "ping", "t": format!("2020-01-01T10:{minute:02}:0{n}Z") }]),
                )
                .await;
            }
        }
    };
    tokio::join!(late(1), late(2));
    assert_eq!(
        last_value(&app, r#"events_total{type="ping"}"#).await,
        Some(220.0)
    );
    rollups_match_samples(&app).await;
}

#[tokio::test]
async fn late_events_land_in_their_place_and_the_rollups_stay_right() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Product").await;
    let name = r#"events_total{type="download"}"#;
    send_ok(
        &app,
        &made.token,
        json!([
            { "type": "download", "t": "2026-12-01T10:00:00Z" },
            { "type": "download", "t": "2026-12-01T10:30:00Z" },
            { "type": "download", "t": "2026-12-01T11:30:00Z" },
        ]),
    )
    .await;
    assert_eq!(
        samples(&app, name)
            .await
            .iter()
            .map(|(_, v)| *v)
            .collect::<Vec<_>>(),
        vec![1.0, 2.0, 3.0]
    );
    // Late, out of order, and two at once at an instant already recorded.
    let answer = send_ok(
        &app,
        &made.token,
        json!([
            { "type": "download", "t": "2026-12-01T10:15:00Z" },
            { "type": "download", "t": "2026-12-01T09:59:00Z" },
            { "type": "download", "t": "2026-12-01T10:30:00Z" },
            { "type": "download", "t": "2026-12-01T10:30:00Z" },
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 4, "{answer}");
    assert_eq!(
        samples(&app, name).await,
        vec![
            ("2026-12-01T09:59:00.000000Z".into(), 1.0),
            ("2026-12-01T10:00:00.000000Z".into(), 2.0),
            ("2026-12-01T10:15:00.000000Z".into(), 3.0),
            ("2026-12-01T10:30:00.000000Z".into(), 6.0),
            ("2026-12-01T11:30:00.000000Z".into(), 7.0),
        ]
    );
    for (table, bucket, (min, max, sum, count, last)) in [
        (
            "samples_hourly",
            "2026-12-01T09:00:00Z",
            (1.0, 1.0, 1.0, 1, 1.0),
        ),
        (
            "samples_hourly",
            "2026-12-01T10:00:00Z",
            (2.0, 6.0, 11.0, 3, 6.0),
        ),
        (
            "samples_hourly",
            "2026-12-01T11:00:00Z",
            (7.0, 7.0, 7.0, 1, 7.0),
        ),
        (
            "samples_3h",
            "2026-12-01T09:00:00Z",
            (1.0, 7.0, 19.0, 5, 7.0),
        ),
        (
            "samples_daily",
            "2026-12-01T00:00:00Z",
            (1.0, 7.0, 19.0, 5, 7.0),
        ),
    ] {
        let row = rollup(&app, table, name, bucket).await;
        assert_eq!(
            (row.0, row.1, row.2, row.3, row.4),
            (min, max, sum, count, last),
            "{table} at {bucket}"
        );
    }
    assert_eq!(last_value(&app, name).await, Some(7.0));
    // A day earlier: every later bucket moves by one.
    send_ok(
        &app,
        &made.token,
        json!([{ "type": "download", "t": "2026-11-30T23:00:00Z" }]),
    )
    .await;
    let day = rollup(&app, "samples_daily", name, "2026-12-01T00:00:00Z").await;
    assert_eq!(
        (day.0, day.1, day.2, day.3, day.4),
        (2.0, 8.0, 24.0, 5, 8.0)
    );
    assert_eq!(last_value(&app, name).await, Some(8.0));
    rollups_match_samples(&app).await;
}

#[tokio::test]
async fn the_points_events_change_are_queued_for_the_workspaces_sinks() {
    let receiver = crate::sinks::Receiver::start().await;
    let app = crate::helpers::spawn_app_with_env(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".to_string()),
        ("UPCOUNT_SECRET_KEY", crate::sinks::SECRET_KEY.to_string()),
    ])
    .await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let made = make_source(&app, &token, "Product").await;
    crate::sinks::make_sink(
        &app,
        &token,
        json!({"kind": "webhook", "url": receiver.url, "trackers": [made.tracker]}),
    )
    .await;
    send_ok(
        &app,
        &made.token,
        json!([
            { "type": "signup", "t": "2026-12-01T10:00:00Z" },
            { "type": "signup", "t": "2026-12-01T11:00:00Z" },
        ]),
    )
    .await;
    // Late: its own point, and the later one whose total it moved.
    send_ok(
        &app,
        &made.token,
        json!([{ "type": "signup", "t": "2026-12-01T10:30:00Z" }]),
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
            ("10:30".into(), 2.0),
            ("11:00".into(), 3.0),
        ]
    );
}

#[tokio::test]
async fn events_past_the_plans_series_cap_are_refused_by_name() {
    let app = spawn_app().await;
    let user = app.create_free_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    let made = make_source(&app, &token, "Product").await;
    let events: Vec<Value> = (0..21)
        .map(|n| json!({ "type": format!("kind{n}") }))
        .chain([json!({ "type": "kind0" })])
        .collect();
    let (status, answer) = send(&app, &made.token, Value::Array(events)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 21, "{answer}");
    let refused = refusals(&answer);
    assert_eq!(refused.len(), 1, "{answer}");
    assert_eq!(refused[0].0, 21);
    assert!(
        refused[0]
            .1
            .contains("the Free plan allows 20 series per push source")
            && refused[0].1.contains(r#"events_total{type="kind20"}"#),
        "{}",
        refused[0].1
    );
    assert_eq!(app.count("SELECT count(*) FROM source_metrics").await, 20);
    assert_eq!(
        last_value(&app, r#"events_total{type="kind0"}"#).await,
        Some(2.0)
    );
    assert_eq!(
        app.count("SELECT count(*) FROM push_events").await,
        21,
        "a refused event is not kept"
    );
    // Full: only new series are refused; every refusal says why.
    let (status, answer) = send(&app, &made.token, json!([{ "type": "kind99" }])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["code"], "all_refused");
    assert!(
        refusals(&answer)[0].1.contains("and this one has 20"),
        "{answer}"
    );
}

#[tokio::test]
async fn bad_items_are_refused_one_by_one_and_garbage_as_a_whole() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Product").await;
    let (status, answer) = send(
        &app,
        &made.token,
        json!([
            { "type": "ok" },
            { "type": "" },
            { "type": "no spaces" },
            { "type": "x".repeat(101) },
            { "type": "ok", "properties": "plan=pro" },
            { "type": "ok", "t": "yesterday" },
            { "type": "ok", "value": 3 },
            42,
            { "properties": {} },
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 1);
    let refused = refusals(&answer);
    assert_eq!(
        refused.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
        vec![2, 3, 4, 5, 6, 7, 8, 9]
    );
    for (reason, part) in refused.iter().map(|(_, r)| r).zip([
        "`type` is empty",
        "is not a valid event type",
        "longer than 100 characters",
        "`properties` must be an object",
        "is not an RFC 3339 time",
        "unknown field `value`",
        "an event must be an object",
        "`type` is missing",
    ]) {
        assert!(reason.contains(part), "{reason} should say {part}");
    }
    assert_eq!(app.count("SELECT count(*) FROM push_events").await, 1);

    // Garbage: 400 with a sentence, nothing stored.
    for (body, part) in [
        ("[{\"type\": ", "the body is not valid JSON"),
        ("", "the body is empty"),
        ("{\"type\": \"ok\"}", "must be a JSON array of events"),
    ] {
        let response = app
            .request(Method::POST, "/api/v1/events")
            .bearer_auth(&made.token)
            .body(body)
            .send()
            .await
            .expect("a response");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let answer: Value = response.json().await.expect("JSON");
        assert_eq!(answer["code"], "invalid_body", "{answer}");
        assert!(
            answer["error"].as_str().unwrap_or_default().contains(part),
            "{answer}"
        );
    }
    // Every event refused: 400, each with its reason.
    let (status, answer) = send(&app, &made.token, json!([{ "type": "1st" }])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["code"], "all_refused");
    // The push source's token only.
    let (status, answer) = send(&app, &token, json!([{ "type": "ok" }])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("API token"),
        "{answer}"
    );
    let (status, _) = send(&app, "upp_nonsense", json!([{ "type": "ok" }])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The events' metric is theirs: a push into it is refused.
    let (status, answer) = push(
        &app,
        &made.token,
        json!([{ "metric": "events_total", "value": 5, "type": "counter" }]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["refused"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("`POST /api/v1/events`"),
        "{answer}"
    );
    assert_eq!(
        last_value(&app, r#"events_total{type="ok"}"#).await,
        Some(1.0)
    );
}

/// `GET path` with `token`: the status and the body's text.
async fn get_text(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, String) {
    let response = app.get_with_token(path, token).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, response.text().await.expect("a body"))
}

#[tokio::test]
async fn the_raw_events_export_as_csv_and_json_to_their_workspace_only() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Product").await;
    send_ok(
        &app,
        &made.token,
        json!([
            { "type": "file_uploaded", "t": "2026-12-01T10:00:00Z", "properties": { "name": "a, \"b\".txt", "size": 3 } },
            { "type": "page.view", "t": "2026-12-01T09:00:00Z" },
            { "type": "file_uploaded", "t": "2026-12-02T10:00:00Z", "properties": { "nested": { "x": [1, 2] } } },
        ]),
    )
    .await;
    let base = format!("/api/v1/push-sources/{}/events", made.id);

    let (status, content_type, text) = get_text(&app, &format!("{base}.csv"), &token).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader
            .headers()
            .expect("a header")
            .iter()
            .collect::<Vec<_>>(),
        vec!["time", "type", "properties"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|record| {
            record
                .expect("a record")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(
        rows[0][..2],
        ["2026-12-01T09:00:00Z".to_string(), "page.view".into()]
    );
    assert_eq!(rows[0][2], "{}");
    assert_eq!(rows[1][1], "file_uploaded");
    let properties: Value = serde_json::from_str(&rows[1][2]).expect("JSON properties");
    assert_eq!(properties, json!({ "name": "a, \"b\".txt", "size": 3 }));
    assert_eq!(rows[2][0], "2026-12-02T10:00:00Z");

    let (status, content_type, text) = get_text(
        &app,
        &format!("{base}.json?from=2026-12-01T09:30:00Z&to=2026-12-02T10:00:00Z"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(body["push_source"]["id"], made.id.as_str());
    assert_eq!(body["push_source"]["name"], "Product");
    assert_eq!(
        body["events"],
        json!([
            { "t": "2026-12-01T10:00:00Z", "type": "file_uploaded", "properties": { "name": "a, \"b\".txt", "size": 3 } },
            { "t": "2026-12-02T10:00:00Z", "type": "file_uploaded", "properties": { "nested": { "x": [1, 2] } } },
        ])
    );
    let (status, _, text) = get_text(
        &app,
        &format!("{base}.json?from=2026-12-03T00:00:00Z&to=2026-12-02T00:00:00Z"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");

    // Another workspace cannot export them, nor tell them from a missing one.
    let (_, other) = app.member_with_token(TokenScope::Read).await;
    for path in [format!("{base}.csv"), format!("{base}.json")] {
        let (status, _, text) = get_text(&app, &path, &other).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
        assert!(!text.contains("file_uploaded"));
    }
    let (status, _, _) = get_text(&app, "/api/v1/push-sources/not-an-id/events.csv", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = get_text(&app, &format!("{base}.csv"), "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn many_events_export_across_pages_in_time_order() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Product").await;
    let start: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().expect("time");
    let events: Vec<Value> = (0..5_000)
        .map(|n| {
            json!({
                "type": "tick",
                "t": (start + TimeDelta::seconds(n / 2)).to_rfc3339(),
                "properties": { "n": n },
            })
        })
        .collect();
    let answer = send_ok(&app, &made.token, Value::Array(events)).await;
    assert_eq!(answer["accepted"], 5_000);
    assert_eq!(
        last_value(&app, r#"events_total{type="tick"}"#).await,
        Some(5_000.0)
    );
    let (status, _, text) = get_text(
        &app,
        &format!("/api/v1/push-sources/{}/events.json", made.id),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_str(&text).expect("JSON");
    let numbers: Vec<i64> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["properties"]["n"].as_i64().expect("n"))
        .collect();
    assert_eq!(numbers, (0..5_000).collect::<Vec<_>>());
    rollups_match_samples(&app).await;
}

#[tokio::test]
async fn raw_events_past_the_plans_retention_are_pruned_and_their_counts_stay() {
    let app = spawn_app().await;
    let user = app.create_free_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    let made = make_source(&app, &token, "Product").await;
    let now = Utc::now();
    let day = |days: i64| (now - TimeDelta::days(days)).to_rfc3339();
    send_ok(
        &app,
        &made.token,
        json!([
            { "type": "signup", "t": day(40) },
            { "type": "signup", "t": day(31) },
            { "type": "signup", "t": day(1) },
        ]),
    )
    .await;
    // Another workspace's old events are its own plan's business (Business keeps 3 years).
    let (_, business) = app.member_with_token(TokenScope::Write).await;
    let kept = make_source(&app, &business, "Kept").await;
    send_ok(
        &app,
        &kept.token,
        json!([{ "type": "signup", "t": day(40) }]),
    )
    .await;

    let context = JobContext {
        pool: app.pool.clone(),
        retention: Duration::from_secs(14 * 86_400),
    };
    PruneSamples::default().run(&context).await.expect("prune");
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT p.name FROM push_events e JOIN push_sources p ON p.id = e.push_source_id ORDER BY e.t",
    )
    .fetch_all(&app.pool)
    .await
    .expect("events");
    assert_eq!(
        left,
        vec!["Kept", "Product"],
        "Free keeps 30 days of raw events"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM push_events WHERE t < now() - interval '30 days'")
            .await,
        1
    );
    // The counts stay in the series (its raw points past the retention go, its rollups stay).
    let name = r#"events_total{type="signup"}"#;
    let total = source_total(&app, &made.id, name).await;
    assert_eq!(total, 3.0);
    // An event older than the series' oldest kept point cannot be placed any more, and
    // is refused saying so; a new one counts on from the total.
    let (status, answer) = send(
        &app,
        &made.token,
        json!([{ "type": "signup", "t": day(20) }, { "type": "signup" }]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 1);
    let refused = refusals(&answer);
    assert!(
        refused[0]
            .1
            .contains("older points were pruned by the plan's retention"),
        "{answer}"
    );
    let total = source_total(&app, &made.id, name).await;
    assert_eq!(total, 4.0);
}

#[tokio::test]
async fn the_dashboard_form_takes_the_event_labels() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Member).await;
    let browser = app.signed_in(&user).await;
    let page = browser.html("/dashboard").await;
    assert!(
        page.contains("name=\"event_labels\""),
        "the field is on the form"
    );

    let response = browser
        .post_form(
            "/dashboard/push-sources",
            &[("name", "Product"), ("event_labels", "plan, region")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let labels: Vec<String> = sqlx::query_scalar("SELECT event_labels FROM push_sources")
        .fetch_one(&app.pool)
        .await
        .expect("the push source");
    assert_eq!(labels, vec!["plan", "region"]);

    // Bad labels come back beside their field, and nothing is made.
    let response = browser
        .post_form(
            "/dashboard/push-sources",
            &[("name", "Other"), ("event_labels", "type")],
        )
        .await;
    let page = browser.follow(response).await;
    assert!(
        page.contains("is the label of the event&#x27;s type already")
            || page.contains("is the label of the event's type already"),
        "{page}"
    );
    assert_eq!(app.count("SELECT count(*) FROM push_sources").await, 1);
}
