//! Hostile JMESPath expressions: refused with a 422 naming the limit, and a poll that turns
//! hostile fails alone.

use super::*;

#[tokio::test]
async fn jmespath_bombs_get_a_422_naming_the_limit_and_the_process_lives_on() {
    let (standin, app, token) = setup().await;
    let url = format!("{}/json/doc", standin.base());
    let exponential = format!("length({}@)", "[@,@][] | ".repeat(40));
    let bombs = [
        ("!".repeat(50_000) + "stats", "500 characters"),
        (
            "(".repeat(50_000) + "stats" + &")".repeat(50_000),
            "500 characters",
        ),
        ("!".repeat(100) + "stats", "32 levels"),
        ("(".repeat(200) + "stats" + &")".repeat(200), "32 levels"),
        (exponential.clone(), "cost limit"),
    ];
    for (bomb, limit) in &bombs {
        for path in ["/api/v1/trackers/preview", "/api/v1/trackers"] {
            let started = Instant::now();
            let (status, body) = app
                .api_post(
                    path,
                    &token,
                    json!({ "url": url, "metrics": { "members": bomb } }),
                )
                .await;
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{path} took {:?}",
                started.elapsed()
            );
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
            assert_eq!(body["code"], "invalid", "{path}: {body}");
            let message = body["error"].as_str().expect("a message");
            assert!(message.contains(limit), "{path}: {message}");
            assert!(
                message.len() < 400,
                "the bomb is not echoed back: {message}"
            );
            still_answers(&app, &token).await;
        }
    }

    // Too many metrics: the same limit for a preview as for an add.
    let metrics: serde_json::Map<String, Value> = (0..21)
        .map(|n| (format!("m{n}"), json!("stats.members")))
        .collect();
    for path in ["/api/v1/trackers/preview", "/api/v1/trackers"] {
        let answer = app
            .api_post(path, &token, json!({ "url": url, "metrics": metrics }))
            .await;
        let body = expect_unprocessable(answer, "20 metrics per source");
        assert_eq!(body["code"], "invalid");
    }

    // Ordinary expressions still preview and add.
    let metrics = json!({ "members": "stats.members", "n": "length(list[?@ > `1`])" });
    let (status, body) = app
        .preview(&token, json!({ "url": url, "metrics": metrics }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.count("SELECT count(*) FROM sources").await,
        0,
        "no bomb was stored"
    );
}

#[tokio::test]
async fn an_expression_that_turns_hostile_on_a_new_document_fails_that_poll_and_backs_off() {
    let (standin, app, token) = setup().await;
    standin.set("json/grows", json!([1, 2, 3]));
    let url = format!("{}/json/grows", standin.base());
    // Accepted: its worst case is a few hundred values per value of the document.
    let expression = "length([@,@,@,@][] | [@,@,@,@][] | [@,@,@,@][])";
    let (status, body) = app
        .post_tracker(
            &token,
            json!({ "url": url, "metrics": { "copies": expression } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The upstream's document grows to 100,000 values: the same expression would now
    // visit tens of millions.
    standin.set("json/grows", Value::Array(vec![json!(1); 100_000]));
    standin.set_github_repo("leptos-rs/leptos", 7);
    let (status, body) = app.post_tracker(&token, json!({ "url": LEPTOS })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let workers = app.start_workers();
    app.make_due().await;
    let (state, error, failures, next_in): (String, Option<String>, i32, f64) =
        eventually(Duration::from_secs(30), "the hostile poll", || async {
            sqlx::query_as(
                "SELECT state, last_error, consecutive_failures,
                        extract(epoch FROM next_poll_at - now())::float8
                 FROM sources WHERE kind = 'json' AND last_error IS NOT NULL",
            )
            .fetch_optional(&app.pool)
            .await
            .expect("the source")
        })
        .await;
    assert_eq!(state, "backing_off");
    assert_eq!(failures, 1);
    let error = error.expect("an error");
    assert!(error.contains("over the limit"), "{error}");
    assert!(next_in > 900.0, "backs off past its interval: {next_in}");
    // The worker lives on: the other source was polled by the same workers, and the
    // process answers.
    app.wait_for_count(
        Duration::from_secs(30),
        "SELECT count(*) FROM sources WHERE kind = 'github.repo' AND last_poll_at IS NOT NULL
           AND last_error IS NULL",
        1,
    )
    .await;
    still_answers(&app, &token).await;
    workers.stop().await;
}
