//! Hostile input and data that is never misdated: JMESPath bombs in previews, adds and
//! polls; samples stamped with the time the upstream answered; polls recorded once per
//! claim.

use std::time::{Duration, Instant};

use app::{
    domain::{Role, TokenScope},
    server::tracking::{
        Readings,
        store::{self, PollResult},
    },
};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{
        Process, TestApp, eventually, expect_error, expect_unprocessable, header,
        spawn_app_with_standin,
    },
    standin::{StandIn, fixtures},
};

const LEPTOS: &str = "https://github.com/leptos-rs/leptos";

async fn setup() -> (StandIn, TestApp, String) {
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into())]).await;
    standin.set(
        "json/doc",
        json!({ "stats": { "members": 321 }, "list": [1, 2, 3] }),
    );
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    (standin, app, token)
}

/// Tracks leptos-rs/leptos (the stand-in knows it): the tracker's id.
async fn track_leptos(standin: &StandIn, app: &TestApp, token: &str) -> String {
    standin.set_github_repo("leptos-rs/leptos", 7);
    app.track(token, LEPTOS).await
}

/// The time of the newest sample.
async fn newest_sample(app: &TestApp) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT max(t) FROM samples")
        .fetch_one(&app.pool)
        .await
        .expect("a sample")
}

/// The process still answers, quickly.
async fn still_answers(app: &TestApp, token: &str) {
    let started = Instant::now();
    let (status, _) = app.api_get("/api/v1/trackers", token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(1));
}

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

#[tokio::test]
async fn a_late_poll_is_stamped_with_the_time_the_upstream_answered() {
    let (standin, app, token) = setup().await;
    track_leptos(&standin, &app, &token).await;
    // The workers were away for three hours: the source is three hours overdue.
    let due: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE sources SET next_poll_at = now() - interval '3 hours' RETURNING next_poll_at",
    )
    .fetch_one(&app.pool)
    .await
    .expect("overdue");
    let first = newest_sample(&app).await;
    let before = Utc::now() - chrono::TimeDelta::seconds(1);
    let workers = app.start_workers();
    let stamped = eventually(Duration::from_secs(30), "the late poll", || async {
        let newest = newest_sample(&app).await;
        (newest > first).then_some(newest)
    })
    .await;
    workers.stop().await;
    assert!(
        stamped >= before && stamped <= Utc::now(),
        "stamped {stamped}, due {due}, fetched after {before}"
    );
    assert_eq!(
        app.count_with("SELECT count(*) FROM samples WHERE t < $1", first)
            .await,
        0,
        "nothing is stamped with the old due time"
    );
}

#[tokio::test]
async fn the_claim_not_the_timestamp_makes_recording_a_poll_idempotent() {
    let (standin, app, token) = setup().await;
    track_leptos(&standin, &app, &token).await;
    let (source_id, due): (app::domain::SourceId, DateTime<Utc>) = sqlx::query_as(
        "UPDATE sources SET next_poll_at = now() - interval '1 minute' RETURNING id, next_poll_at",
    )
    .fetch_one(&app.pool)
    .await
    .expect("due");
    let before = app.count("SELECT count(*) FROM samples").await;
    let poll = |due: DateTime<Utc>, observed_at: DateTime<Utc>, stars: f64| {
        let mut readings = Readings::default();
        readings.push("stars", stars);
        PollResult {
            source_id,
            due,
            observed_at,
            outcome: Ok(readings),
        }
    };
    // The job runs, then runs again (a retry after its worker died before the ack): each
    // answer came back at a different moment.
    let now = Utc::now();
    let written = store::record_polls(&app.pool, &[poll(due, now, 8.0)])
        .await
        .expect("record");
    assert_eq!(written, 1);
    let again = store::record_polls(
        &app.pool,
        &[poll(due, now + chrono::TimeDelta::seconds(5), 9.0)],
    )
    .await
    .expect("record again");
    assert_eq!(
        again, 0,
        "a second recording of the same claim writes nothing"
    );
    // Due again: two copies of the job race; one of them records.
    let due: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE sources SET next_poll_at = now() - interval '1 second' RETURNING next_poll_at",
    )
    .fetch_one(&app.pool)
    .await
    .expect("due again");
    let later = now + chrono::TimeDelta::seconds(10);
    let first = [poll(due, later, 10.0)];
    let second = [poll(due, later + chrono::TimeDelta::seconds(1), 11.0)];
    let (a, b) = tokio::join!(
        store::record_polls(&app.pool, &first),
        store::record_polls(&app.pool, &second),
    );
    assert_eq!(
        a.expect("a") + b.expect("b"),
        1,
        "exactly one of the racing copies"
    );
    assert_eq!(app.count("SELECT count(*) FROM samples").await, before + 2);
}

#[tokio::test]
async fn the_public_page_shows_a_json_sources_host_and_path_only() {
    let (standin, app, token) = setup().await;
    let address = standin
        .base()
        .replacen("http://", "http://reader:pa55word@", 1);
    let url = format!("{address}/json/doc?api_key=s3cr3t-key&plan=x");
    let (status, body) = app
        .post_tracker(
            &token,
            json!({ "url": url, "metrics": { "members": "stats.members" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["tracker"]["id"].as_str().expect("id");
    let share = app.share_token(&token, id).await;
    for path in [format!("/s/{share}"), format!("/badge/{share}.svg")] {
        let page = app.get(&path).await.text().await.expect("the page");
        for secret in ["s3cr3t-key", "api_key", "pa55word", "reader"] {
            assert!(!page.contains(secret), "{path} shows {secret}");
        }
    }
    let page = app
        .get(&format!("/s/{share}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("/json/doc"),
        "the host and path are shown: {page}"
    );
    // The owner still sees the whole address.
    let (_, mine) = app.tracker(&token, id).await;
    assert!(mine.to_string().contains("s3cr3t-key"), "{mine}");
}

#[tokio::test]
async fn connection_headers_low_ports_and_metadata_addresses_are_refused() {
    let (standin, app, token) = setup().await;
    let url = format!("{}/json/doc", standin.base());
    // What the HTTP client sets itself: the message's framing, the hop-by-hop headers,
    // and the rest of the client's own.
    let framing = ["Host", "Content-Length", "Transfer-Encoding"];
    let hop_by_hop = ["Connection", "TE", "Upgrade", "Trailer"];
    let client = ["Expect", "Proxy-Authorization"];
    for name in framing.into_iter().chain(hop_by_hop).chain(client) {
        let answer = app
            .post_tracker(
                &token,
                json!({
                    "url": url, "metrics": { "members": "stats.members" },
                    "headers": [{ "name": name, "value": "x" }]
                }),
            )
            .await;
        expect_unprocessable(answer, "cannot be set");
    }
    // The default policy (this app lets loopback through for the stand-in).
    let (_standin, strict) = spawn_app_with_standin(vec![]).await;
    let (_, strict_token) = strict.member_with_token(TokenScope::Write).await;
    for (url, why) in [
        ("http://example.com:22/stats", "port 22"),
        ("https://example.com:25/stats", "port 25"),
        ("http://168.63.129.16/machine", "metadata"),
    ] {
        let answer = strict
            .preview(
                &strict_token,
                json!({ "url": url, "metrics": { "n": "n" } }),
            )
            .await;
        expect_unprocessable(answer, why);
    }
}

/// A server on its own port (so its own origin) answering every request with `answer`,
/// and the headers of every request it got.
async fn origin(
    answer: impl Fn() -> axum::response::Response + Clone + Send + Sync + 'static,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<axum::http::HeaderMap>>>,
) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let router = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let answer = answer.clone();
        let recorded = recorded.clone();
        async move {
            recorded.lock().expect("lock").push(headers);
            answer()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}"), seen)
}

#[tokio::test]
async fn secret_headers_never_follow_a_redirect_to_another_origin() {
    let (_standin, app, token) = setup().await;
    let (elsewhere, seen_elsewhere) =
        origin(|| axum::Json(json!({ "stats": { "members": 1 } })).into_response()).await;
    let target = format!("{elsewhere}/stats");
    let (first, _) =
        origin(move || axum::response::Redirect::temporary(&target).into_response()).await;
    let add = |headers: Value| {
        app.post_tracker(
            &token,
            json!({
                "url": format!("{first}/stats"), "metrics": { "members": "stats.members" },
                "headers": headers
            }),
        )
    };
    let answer = add(json!([{ "name": "X-Api-Key", "value": "top-secret", "secret": true }])).await;
    expect_unprocessable(answer, "another origin");
    assert!(
        seen_elsewhere.lock().expect("lock").is_empty(),
        "nothing reached the other origin"
    );
    // A plain header follows the redirect as before.
    let (status, body) = add(json!([{ "name": "X-Plain", "value": "hello" }])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let seen = seen_elsewhere.lock().expect("lock");
    assert!(
        seen.iter()
            .all(|headers| headers.get("x-api-key").is_none())
    );
    assert!(seen.iter().any(|headers| headers.get("x-plain").is_some()));
}

/// The series of the HTTP metrics in a `/metrics` answer.
fn http_series(metrics: &str) -> Vec<String> {
    metrics
        .lines()
        .filter(|line| {
            line.starts_with("upcount_http_requests_total{")
                || line.starts_with("upcount_http_request_duration_seconds_count{")
        })
        .map(|line| {
            line.rsplit_once(' ')
                .map_or(line, |(series, _)| series)
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn random_methods_and_paths_add_no_metric_series_and_tokens_stay_out_of_logs() {
    use crate::helpers::{TestDatabase, http_client};
    let database = TestDatabase::create().await;
    let mut process = Process::serve(
        &["web"],
        &database.url(),
        &[
            ("UPCOUNT_METRICS_USER", "prom"),
            ("UPCOUNT_METRICS_PASSWORD", "scrape-secret"),
        ],
    );
    let migrated =
        crate::helpers::run_binary(&["migrate"], &[("DATABASE_URL", &database.url())]).await;
    assert_eq!(migrated.0, 0, "{}", migrated.2);
    let address = process.web_address().await;
    let client = http_client();
    let mut sent = Vec::new();
    let mut send = |round: usize| {
        let client = client.clone();
        let address = address.clone();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let method = match round % 5 {
            0 => reqwest::Method::GET,
            1 => reqwest::Method::POST,
            2 => reqwest::Method::from_bytes(format!("X{}", &token[..8]).as_bytes())
                .expect("a method"),
            3 => reqwest::Method::from_bytes(b"PURGE").expect("a method"),
            _ => reqwest::Method::DELETE,
        };
        let path = match round % 7 {
            0 => format!("/{token}"),
            1 => format!("/api/v1/trackers/{token}"),
            2 => format!("/s/{token}"),
            3 => format!("/badge/{token}.svg"),
            4 => format!("/pkg/{token}.wasm"),
            5 => format!("/admin/users/{token}"),
            _ => format!("/api/{token}/{token}"),
        };
        sent.push(token);
        async move {
            client
                .request(method, format!("{address}{path}"))
                .send()
                .await
                .expect("a request")
                .status()
        }
    };
    let scrape = || async {
        http_client()
            .get(format!("{address}/metrics"))
            .basic_auth("prom", Some("scrape-secret"))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("metrics")
    };
    for round in 0..70 {
        send(round).await;
    }
    // The scrape itself is a series too: scrape once before counting.
    scrape().await;
    let before = http_series(&scrape().await);
    for round in 0..1_000 {
        send(round).await;
    }
    let metrics = scrape().await;
    let after = http_series(&metrics);
    assert_eq!(
        before.len(),
        after.len(),
        "new series: {:?}",
        after
            .iter()
            .filter(|s| !before.contains(s))
            .collect::<Vec<_>>()
    );
    for line in &after {
        let method = line
            .split("method=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next());
        if let Some(method) = method {
            assert!(
                [
                    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"
                ]
                .contains(&method),
                "{line}"
            );
        }
    }
    let logs = process.seen.join("\n");
    for token in &sent {
        assert!(!metrics.contains(token.as_str()), "a token in /metrics");
        assert!(!logs.contains(token.as_str()), "a token in the request log");
    }
    process.signal(libc::SIGTERM);
    process.exit_code().await;
}

#[tokio::test]
async fn dates_that_overflow_get_a_400_not_a_panic() {
    let (standin, app, token) = setup().await;
    let id = track_leptos(&standin, &app, &token).await;
    for (query, expected) in [
        ("to=%2B262143-12-31T00:00:00Z", StatusCode::BAD_REQUEST),
        ("to=%2B262143-12-31", StatusCode::BAD_REQUEST),
        ("from=-262143-01-01T00:00:00Z", StatusCode::BAD_REQUEST),
        ("from=10000-01-01T00:00:00Z", StatusCode::BAD_REQUEST),
        ("from=0000-01-01T00:00:00Z", StatusCode::BAD_REQUEST),
        (
            "to=9999-12-31T23:59:59Z&from=0001-01-01T00:00:00Z",
            StatusCode::OK,
        ),
    ] {
        for path in ["series", "export.csv"] {
            let response = app
                .get_with_token(
                    &format!("/api/v1/trackers/{id}/{path}?metric=stars&{query}"),
                    &token,
                )
                .await;
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, expected, "{path}?{query}: {body}");
            if expected == StatusCode::BAD_REQUEST {
                assert!(body.contains("out of range"), "{path}?{query}: {body}");
            }
        }
    }
    still_answers(&app, &token).await;
}

/// An app with a tracker of a year of minutely samples (far more than sockets buffer),
/// and the raw request of its CSV export.
async fn app_with_a_long_export(write_timeout_secs: &str) -> (StandIn, TestApp, String, String) {
    let (standin, app) = spawn_app_with_standin(vec![
        ("UPCOUNT_DB_MAX_CONNECTIONS", "10".into()),
        ("UPCOUNT_WRITE_TIMEOUT_SECS", write_timeout_secs.into()),
    ])
    .await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    let id = track_leptos(&standin, &app, &token).await;
    sqlx::query(
        "INSERT INTO samples (metric_id, t, value)
         SELECT m.id, now() - make_interval(mins => g), g
         FROM source_metrics m, generate_series(1, 525600) g
         WHERE m.name = 'stars'
         ON CONFLICT DO NOTHING",
    )
    .execute(&app.pool)
    .await
    .expect("samples");
    sqlx::query("ANALYZE samples")
        .execute(&app.pool)
        .await
        .expect("analyze");
    let address = app.address.trim_start_matches("http://").to_string();
    let request = format!(
        "GET /api/v1/trackers/{id}/export.csv HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    (standin, app, token, request)
}

/// A connection that sent `request` and will never read the answer.
async fn stalled_client(app: &TestApp, request: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let address = app.address.trim_start_matches("http://");
    let mut stream = socket
        .connect(address.parse().expect("an address"))
        .await
        .expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_an_export_starve_nobody() {
    let (_standin, app, token, request) = app_with_a_long_export("600").await;
    let mut stalled = Vec::new();
    for _ in 0..30 {
        stalled.push(stalled_client(&app, &request).await);
    }
    // Once every export has filled what the network and the server buffer, each waits
    // on its client holding no database connection.
    eventually(
        Duration::from_secs(60),
        "the exports to wait on their clients",
        || async {
            let mut quiet = 0;
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if app.pool.num_idle() >= 5 {
                    quiet += 1;
                }
            }
            (quiet == 5).then_some(())
        },
    )
    .await;
    for _ in 0..3 {
        let started = Instant::now();
        let page = app.get("/").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the page took {:?}",
            started.elapsed()
        );
        still_answers(&app, &token).await;
    }
    drop(stalled);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_after_the_write_timeout() {
    use tokio::io::AsyncReadExt;
    let (_standin, app, _token, request) = app_with_a_long_export("2").await;
    let mut stream = stalled_client(&app, &request).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    // Whatever was in flight arrives, then the end: the server closed the connection.
    let mut received = 0usize;
    let mut buffer = vec![0u8; 64 * 1024];
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => received += read,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection is closed");
    assert!(
        received < 4 << 20,
        "the download was cut short: {received} bytes"
    );
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_a_503_saying_so() {
    let (_standin, app) = spawn_app_with_standin(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("UPCOUNT_REQUEST_TIMEOUT_SECS", "1".into()),
    ])
    .await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    // An upstream that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/stats", silent.local_addr().expect("address"));
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let started = Instant::now();
    let answer = app
        .preview(&token, json!({ "url": url, "metrics": { "n": "n" } }))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let body = expect_error(
        answer,
        StatusCode::SERVICE_UNAVAILABLE,
        "longer than 1 seconds",
    );
    assert_eq!(body["code"], "timeout");
    still_answers(&app, &token).await;
}

#[tokio::test]
async fn pages_carry_a_csp_with_a_fresh_nonce_on_their_scripts() {
    let (_standin, app, _token) = setup().await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let response = app.get("/").await;
        let csp = header(&response, "content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce")
            .to_string();
        assert!(nonce.len() >= 16, "{nonce}");
        let script_src = csp
            .split(';')
            .find(|directive| directive.trim().starts_with("script-src"))
            .expect("script-src");
        assert!(!script_src.contains("'unsafe-inline'"), "{csp}");
        assert!(!script_src.contains("'unsafe-eval'"), "{csp}");
        let page = response.text().await.expect("page");
        // Every inline script carries the nonce; scripts from files come from the site.
        for tag in page.split("<script").skip(1) {
            let tag = tag.split('>').next().unwrap_or_default();
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")) || tag.contains("src=\"/"),
                "a script without the nonce: <script{tag}>"
            );
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a new nonce for every response");
    // No HSTS over plain http.
    assert!(
        app.get("/")
            .await
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
}

#[tokio::test]
async fn https_sites_send_hsts() {
    let (_standin, app) = spawn_app_with_standin(vec![(
        "UPCOUNT_PUBLIC_URL",
        "https://upcount.example".into(),
    )])
    .await;
    let response = app.get("/").await;
    let hsts = header(&response, "strict-transport-security");
    assert!(hsts.contains("max-age=31536000"), "{hsts}");
}

#[tokio::test]
async fn responses_any_cache_may_keep_never_set_a_cookie() {
    let (standin, app, token) = setup().await;
    let id = track_leptos(&standin, &app, &token).await;
    let share = app.share_token(&token, &id).await;
    let browser = app.signed_in(&app.create_user(Role::Member).await).await;
    // Any other answer renews the session cookie…
    let renewed = browser.get("/api/v1/trackers").await;
    assert!(
        renewed.headers().get("set-cookie").is_some(),
        "the session is renewed"
    );
    // …but not one a cache may keep.
    for path in [
        format!("/badge/{share}.svg"),
        "/vendor/echarts-5.5.1.min.js".to_string(),
    ] {
        let response = browser.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let cache = header(&response, "cache-control");
        assert!(cache.contains("public"), "{path}: {cache}");
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{path} set a cookie on a public response"
        );
    }
}

#[tokio::test]
async fn previews_and_adds_are_throttled_per_workspace() {
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_PREVIEWS_PER_MIN", "5".into())]).await;
    standin.set_github_repo("leptos-rs/leptos", 7);
    let (_, busy_token) = app.member_with_token(TokenScope::Write).await;
    let leptos = json!({ "url": LEPTOS });
    for _ in 0..5 {
        let (status, body) = app.preview(&busy_token, leptos.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let answer = app.preview(&busy_token, leptos.clone()).await;
    let body = expect_error(answer, StatusCode::TOO_MANY_REQUESTS, "previews and adds");
    assert_eq!(body["code"], "rate_limited");
    // An add counts too.
    let (status, _) = app.post_tracker(&busy_token, leptos.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another workspace is not held back.
    let (_, other_token) = app.member_with_token(TokenScope::Write).await;
    let (status, body) = app.preview(&other_token, leptos).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn one_workspaces_previews_leave_the_upstream_budget_to_everyones_polls() {
    // GitHub's budget here: 60 requests a minute; previews may use 20% of it.
    let (standin, app) =
        spawn_app_with_standin(vec![("UPCOUNT_GITHUB_RATE_PER_MIN", "60".into())]).await;
    for repo in ["a/one", "a/two", "a/three"] {
        standin.set(&format!("github/{repo}"), fixtures::github_repo(repo, 1));
    }
    for n in 0..400 {
        standin.set(
            &format!("github/busy/r{n}"),
            fixtures::github_repo(&format!("busy/r{n}"), 1),
        );
    }
    let (_, owner_token) = app.member_with_token(TokenScope::Write).await;
    for repo in ["a/one", "a/two", "a/three"] {
        app.track(&owner_token, &format!("https://github.com/{repo}"))
            .await;
    }
    let (_, busy_token) = app.member_with_token(TokenScope::Write).await;
    let workers = app.start_workers();
    // One workspace previews as fast as it can…
    let stop = tokio_util::sync::CancellationToken::new();
    let previews = tokio::spawn({
        let (client, address, token, stop) = (
            app.client.clone(),
            app.address.clone(),
            busy_token.clone(),
            stop.clone(),
        );
        async move {
            let (mut answered, mut refused) = (0, 0);
            let mut n = 0;
            while !stop.is_cancelled() {
                n += 1;
                let response = client
                    .post(format!("{address}/api/v1/trackers/preview"))
                    .bearer_auth(&token)
                    .json(&json!({ "url": format!("https://github.com/busy/r{}", n % 400) }))
                    .send()
                    .await
                    .expect("a preview");
                match response.status() {
                    StatusCode::OK => answered += 1,
                    StatusCode::TOO_MANY_REQUESTS => refused += 1,
                    other => panic!("a preview answered {other}"),
                }
            }
            (answered, refused)
        }
    });
    // …while the other's sources fall due again and again, and are polled on time.
    for _ in 0..4 {
        let marker: DateTime<Utc> = sqlx::query_scalar(
            "UPDATE sources SET next_poll_at = now() WHERE key LIKE 'a/%' RETURNING now()",
        )
        .fetch_one(&app.pool)
        .await
        .expect("due");
        app.wait_for_count_with(
            Duration::from_secs(10),
            "SELECT count(*) FROM sources WHERE key LIKE 'a/%' AND last_success_at >= $1",
            marker,
            3,
        )
        .await;
    }
    stop.cancel();
    let (answered, refused) = previews.await.expect("the previews");
    workers.stop().await;
    assert!(
        refused > 0,
        "the previews were held to their share ({answered} answered)"
    );
    // 20% of 60 a minute, plus a first burst: far fewer than the minute's budget.
    assert!(answered <= 30, "{answered} previews answered");
}

#[tokio::test]
async fn sources_nobody_tracks_go_after_thirty_days_and_secret_ones_at_once() {
    let (standin, app, token) = setup().await;
    standin.set(
        "json-header/doc",
        json!({ "name": "x-api-key", "value": "k3y" }),
    );
    let public = track_leptos(&standin, &app, &token).await;
    let secret = app
        .add_tracker(
            &token,
            json!({
                "url": format!("{}/json/doc", standin.base()),
                "metrics": { "members": "stats.members" },
                "headers": [{ "name": "x-api-key", "value": "k3y", "secret": true }]
            }),
        )
        .await;
    let sources = || async {
        sqlx::query_as::<_, (String, Option<DateTime<Utc>>)>(
            "SELECT kind, orphaned_at FROM sources ORDER BY kind",
        )
        .fetch_all(&app.pool)
        .await
        .expect("sources")
    };
    assert_eq!(sources().await.len(), 2);
    for id in [&secret, &public] {
        let status = app.delete_tracker(&token, id).await;
        assert!(status.is_success(), "{status}");
    }
    // The secret one went with its tracker, samples and all; the other waits.
    let left = sources().await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].0, "github.repo");
    assert!(left[0].1.is_some(), "orphaned since now");
    assert!(
        app.count("SELECT count(*) FROM samples").await >= 1,
        "its samples stay for now"
    );
    // The console shows it.
    let console = app.signed_in(&app.create_user(Role::Admin).await).await;
    let page = console.html("/admin?state=orphaned").await;
    assert!(page.contains("No tracker since"), "{page}");
    assert!(page.contains("leptos-rs/leptos"), "{page}");
    // Tracked again, it is no orphan; untracked, 29 days is not enough, 31 is.
    let again = app.track(&token, LEPTOS).await;
    assert!(sources().await[0].1.is_none());
    app.delete_tracker(&token, &again).await;
    let now = Utc::now();
    assert_eq!(
        store::delete_orphaned_sources(&app.pool, now + chrono::TimeDelta::days(29))
            .await
            .expect("delete"),
        0
    );
    assert_eq!(
        store::delete_orphaned_sources(&app.pool, now + chrono::TimeDelta::days(31))
            .await
            .expect("delete"),
        1
    );
    assert!(sources().await.is_empty());
    assert_eq!(app.count("SELECT count(*) FROM samples").await, 0);
}
