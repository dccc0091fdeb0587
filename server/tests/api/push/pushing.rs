//! `POST /api/v1/push`: what is accepted, what is refused and why, tokens, labels, the
//! series cap, and pushed numbers on the tracker page, its chart and its alerts.

use super::*;

#[tokio::test]
async fn good_points_are_stored_and_each_bad_one_is_refused_with_its_reason() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Sales").await;
    let (status, answer) = push(
        &app,
        &made.token,
        json!([
            { "metric": "signups", "value": 3, "t": "2026-12-01T10:00:00Z" },
            { "metric": "9lives", "value": 1 },
            { "metric": "signups", "value": 1, "labels": { "bad-label": "x" } },
            { "metric": "signups", "value": 1, "labels": { "__name__": "x" } },
            { "value": 1 },
            { "metric": "signups", "value": "4" },
            { "metric": "signups", "value": 1, "t": "yesterday" },
            { "metric": "signups", "value": 1, "type": "histogram" },
            { "metric": "signups", "value": 1, "type": "counter" },
            "signups 1",
            { "metric": "mrr", "value": 1200.5, "t": "2026-12-01T10:00:00Z", "colour": "red" },
            { "metric": "mrr", "value": 1200.5, "t": "2026-12-01T10:00:00Z" },
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 2, "{answer}");
    assert_eq!(answer["duplicates"], 0);
    let refused = refusals(&answer);
    let expected: [(u64, &str); 10] = [
        (2, "`9lives` is not a valid metric name"),
        (3, "`bad-label` is not a valid label name"),
        (4, "the label name `__name__` is reserved"),
        (5, "`metric` is missing"),
        (6, "`value` must be a number, not a string (\"4\")"),
        (7, "`t` \"yesterday\" is not an RFC 3339 time"),
        (8, "`type` must be \"gauge\", \"counter\" or \"delta\""),
        (9, "`signups` is sent as a gauge earlier in this request"),
        (10, "a point must be an object"),
        (11, "unknown field `colour`"),
    ];
    assert_eq!(refused.len(), expected.len(), "{answer}");
    for ((line, reason), (want_line, want)) in refused.iter().zip(expected) {
        assert_eq!(*line, want_line, "{answer}");
        assert!(
            reason.contains(want),
            "line {line}: {reason:?} should say {want:?}"
        );
    }
    assert_eq!(
        samples(&app, "signups").await,
        vec![("2026-12-01T10:00:00.000000Z".to_string(), 3.0)]
    );
    assert_eq!(last_value(&app, "mrr").await, Some(1200.5));

    // A metric keeps its type across requests too.
    let (status, answer) = push(
        &app,
        &made.token,
        json!([{ "metric": "signups", "value": 1, "type": "delta" }]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        refusals(&answer)[0]
            .1
            .contains("`signups` is a gauge metric"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_push_storing_nothing_or_unreadable_is_a_400() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Sales").await;
    let (status, answer) = push(&app, &made.token, json!([{ "metric": "1x", "value": 1 }])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["code"], "all_refused");
    assert_eq!(answer["accepted"], 0);
    assert_eq!(refusals(&answer).len(), 1);

    for (body, part) in [
        ("", "the body is empty"),
        ("[{\"metric\": ", "the body is not valid JSON"),
        (
            "{\"metric\": \"x\", \"value\": 1}",
            "must be a JSON array of points",
        ),
    ] {
        let response = app
            .request(Method::POST, "/api/v1/push")
            .bearer_auth(&made.token)
            .body(body)
            .send()
            .await
            .expect("a response");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let answer: Value = response.json().await.expect("JSON");
        assert_eq!(answer["code"], "invalid_body", "{answer}");
        assert!(
            answer["error"].as_str().expect("error").contains(part),
            "{answer}"
        );
    }
    // Any content type (curl -d sends a form's): the body is read as JSON.
    let response = app
        .request(Method::POST, "/api/v1/push")
        .bearer_auth(&made.token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"[{"metric": "signups", "value": 1}]"#)
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    // An empty array stores nothing and refuses nothing.
    let answer = push_ok(&app, &made.token, json!([])).await;
    assert_eq!(
        answer,
        json!({ "accepted": 0, "duplicates": 0, "refused": [] })
    );
}

#[tokio::test]
async fn a_push_needs_its_push_sources_token() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Sales").await;
    let body = json!([{ "metric": "signups", "value": 1 }]);
    let response = app
        .request(Method::POST, "/api/v1/push")
        .json(&body)
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let answer: Value = response.json().await.expect("JSON");
    assert!(
        answer["error"]
            .as_str()
            .expect("error")
            .contains("Authorization: Bearer upp_")
    );
    for (wrong, part) in [
        (token.clone(), "This is an API token"),
        (format!("upp_{}", "x".repeat(43)), "Unknown push token"),
        ("upp_short".to_string(), "Unknown push token"),
    ] {
        let (status, answer) = push(&app, &wrong, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        assert!(
            answer["error"].as_str().expect("error").contains(part),
            "{answer}"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM samples").await, 0);

    // A paused tracker takes nothing, and says so.
    app.patch_tracker(&token, &made.tracker, json!({ "paused": true }))
        .await;
    let (status, answer) = push(&app, &made.token, body.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"].as_str().expect("error").contains("paused"),
        "{answer}"
    );
    app.patch_tracker(&token, &made.tracker, json!({ "paused": false }))
        .await;
    push_ok(&app, &made.token, body).await;
}

#[tokio::test]
async fn each_label_set_is_a_series_of_its_own() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    let made = make_source(&app, &token, "Sales").await;
    let answer = push_ok(
        &app,
        &made.token,
        json!([
            { "metric": "signups", "value": 3, "labels": { "plan": "pro" } },
            { "metric": "signups", "value": 5, "labels": { "plan": "free", "region": "eu" } },
            { "metric": "signups", "value": 8 },
            // An empty label value is no label: this is `signups` again, at the same time.
            { "metric": "signups", "value": 9, "labels": { "plan": "" } },
        ]),
    )
    .await;
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(answer["duplicates"], 1, "{answer}");
    let series = sqlx::query_as::<_, (String, String, Value)>(
        "SELECT name, family, labels FROM source_metrics ORDER BY position",
    )
    .fetch_all(&app.pool)
    .await
    .expect("series");
    assert_eq!(
        series,
        vec![
            (
                "signups{plan=\"pro\"}".into(),
                "signups".into(),
                json!({ "plan": "pro" })
            ),
            (
                "signups{plan=\"free\",region=\"eu\"}".into(),
                "signups".into(),
                json!({ "plan": "free", "region": "eu" })
            ),
            ("signups".into(), "signups".into(), json!({})),
        ]
    );
    assert_eq!(last_value(&app, "signups{plan=\"pro\"}").await, Some(3.0));
    assert_eq!(last_value(&app, "signups").await, Some(8.0));
    let (_, list) = app.api_get("/api/v1/push-sources", &token).await;
    assert_eq!(list["push_sources"][0]["series"], 3);

    // The tracker, its chart and its page show each series by its name.
    let (_, tracker) = app.tracker(&token, &made.tracker).await;
    let names: Vec<&str> = tracker["tracker"]["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|metric| metric["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        [
            "signups{plan=\"pro\"}",
            "signups{plan=\"free\",region=\"eu\"}",
            "signups"
        ]
    );
    let metric = "signups%7Bplan%3D%22pro%22%7D";
    let (status, series) = app
        .series(&token, &made.tracker, &format!("metric={metric}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{series}");
    assert_eq!(series["metric"], "signups{plan=\"pro\"}");
    assert_eq!(series["points"][0]["last"], 3.0);
    let browser = app.signed_in(&user).await;
    let page = browser.html(&format!("/trackers/{}", made.tracker)).await;
    assert!(page.contains("Sales"), "the tracker page");
    assert!(page.contains("a push source: its numbers arrive at /api/v1/push"));
    assert!(!page.contains("Poll now"), "nothing to poll");
    assert!(
        page.contains("signups{plan=&quot;pro&quot;}") || page.contains("signups{plan=\"pro\"}"),
        "its series"
    );
    // Another workspace's member does not see it.
    let stranger = app.signed_in(&app.create_user(Role::Member).await).await;
    let page = stranger.html(&format!("/trackers/{}", made.tracker)).await;
    assert!(
        !page.contains("signups"),
        "another workspace sees nothing of it"
    );
}

#[tokio::test]
async fn new_series_past_the_plans_cap_are_refused() {
    let app = spawn_app().await;
    let user = app.create_free_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    let made = make_source(&app, &token, "Sales").await;
    let points: Vec<Value> = (0..21)
        .map(|n| json!({ "metric": "signups", "value": n, "labels": { "n": n.to_string() } }))
        .collect();
    let (status, answer) = push(&app, &made.token, Value::Array(points)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 20);
    let refused = refusals(&answer);
    assert_eq!(refused.len(), 1, "{answer}");
    assert_eq!(refused[0].0, 21);
    assert!(
        refused[0]
            .1
            .contains("the Free plan allows 20 series per push source")
            && refused[0].1.contains("signups{n=\"20\"}"),
        "{}",
        refused[0].1
    );
    // Full: known series still take points, new ones do not.
    let (status, answer) = push(
        &app,
        &made.token,
        json!([
            { "metric": "signups", "value": 100, "labels": { "n": "0" }, "t": "2026-12-01T00:00:00Z" },
            { "metric": "refunds", "value": 1 },
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 1);
    assert!(
        refusals(&answer)[0].1.contains("and this one has 20"),
        "{answer}"
    );
    assert_eq!(app.count("SELECT count(*) FROM source_metrics").await, 20);
}

#[tokio::test]
async fn alerts_fire_on_pushed_numbers() {
    let (app, token) = setup().await;
    let made = make_source(&app, &token, "Sales").await;
    push_ok(
        &app,
        &made.token,
        json!([{ "metric": "signups", "value": 5 }]),
    )
    .await;
    let (status, rule) = app
        .api_post(
            &format!("/api/v1/trackers/{}/alerts", made.tracker),
            &token,
            json!({ "metric": "signups", "condition": "above", "value": 10 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    push_ok(
        &app,
        &made.token,
        json!([{ "metric": "signups", "value": 12 }]),
    )
    .await;
    let (_, events) = app
        .api_get(
            &format!("/api/v1/alert-events?tracker={}", made.tracker),
            &token,
        )
        .await;
    let events = events["events"].as_array().expect("events").clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["value"], 12.0);
    assert_eq!(events[0]["metric"], "signups");
    // And the source counts as heard from (for `no_data` rules).
    let heard = app
        .count("SELECT count(*) FROM sources WHERE kind = 'push' AND last_success_at IS NOT NULL")
        .await;
    assert_eq!(heard, 1);
}
