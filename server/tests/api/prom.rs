//! The Prometheus-compatible query API under `/api/v1/prom/`: a workspace's series through
//! Prometheus's own endpoints and answer shapes, with values computed by hand from the
//! samples real polls wrote, Grafana's form POSTs, basic auth, errors in Prometheus's
//! shape, and `promtool` (from Debian's `prometheus` package) querying it.

use app::domain::TokenScope;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_with_standin},
    polling::poll_now,
};

const LEPTOS: &str = "https://github.com/leptos-rs/leptos";
const CARGO_LEPTOS: &str = "https://github.com/leptos-rs/cargo-leptos";
const BASE: &str = "/api/v1/prom/api/v1";

/// `GET {BASE}/{path}` with `token`.
async fn prom(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    app.api_get(&format!("{BASE}/{path}"), token).await
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Milliseconds as the API takes a time: seconds with three decimals.
fn at(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// The stars samples of leptos, in time order (ms, value).
async fn stars(app: &TestApp) -> Vec<(i64, f64)> {
    sqlx::query_as::<_, (chrono::DateTime<chrono::Utc>, f64)>(
        "SELECT s.t, s.value FROM samples s
         JOIN source_metrics m ON m.id = s.metric_id
         JOIN sources src ON src.id = m.source_id
         WHERE src.key = 'leptos-rs/leptos' AND m.name = 'stars' ORDER BY s.t",
    )
    .fetch_all(&app.pool)
    .await
    .expect("samples")
    .into_iter()
    .map(|(t, value)| (t.timestamp_millis(), value))
    .collect()
}

fn one_value(body: &Value) -> f64 {
    let result = body["data"]["result"].as_array().expect("a result");
    assert_eq!(result.len(), 1, "{body}");
    result[0]["value"][1]
        .as_str()
        .and_then(|value| value.parse().ok())
        .expect("a value")
}

#[tokio::test]
async fn queries_answer_with_the_workspaces_series_in_prometheus_shapes() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    standin.set_github_repo("leptos-rs/cargo-leptos", 500);
    let (user, writer) = app.member_with_token(TokenScope::Write).await;
    let leptos = app.track(&writer, LEPTOS).await;
    app.track(&writer, CARGO_LEPTOS).await;
    app.history_loaded().await;
    let token = app.token(&user, TokenScope::Read).await;
    // Adding the tracker recorded 19,000; two polls add 19,100 and 19,400.
    let workers = app.start_workers();
    for value in [19_100, 19_400] {
        standin.set_github_repo("leptos-rs/leptos", value);
        poll_now(&app).await;
    }
    workers.stop().await;
    let samples: Vec<(i64, f64)> = stars(&app).await.into_iter().collect();
    assert_eq!(
        samples.iter().map(|(_, value)| *value).collect::<Vec<_>>(),
        vec![19_000.0, 19_100.0, 19_400.0]
    );
    let last = samples[2].0;
    let when = at(last);

    // The newest value, with every label.
    let (status, body) = prom(
        &app,
        &format!(
            "query?query={}&time={when}",
            encode(r#"upcount_value{metric="stars", key="leptos-rs/leptos"}"#)
        ),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["resultType"], "vector");
    assert_eq!(
        body["data"]["result"][0]["metric"],
        json!({
            "__name__": "upcount_value", "tracker": leptos, "label": "leptos-rs/leptos",
            "kind": "github.repo", "key": "leptos-rs/leptos", "metric": "stars"
        })
    );
    assert_eq!(body["data"]["result"][0]["value"][1], "19400");

    // Functions, by hand: over the last hour, the three samples.
    let query = |text: &str| format!("query?query={}&time={when}", encode(text));
    let selector = r#"upcount_value{metric="stars", key="leptos-rs/leptos"}[1h]"#;
    for (function, expected) in [
        ("max_over_time", 19_400.0),
        ("min_over_time", 19_000.0),
        ("avg_over_time", (19_000.0 + 19_100.0 + 19_400.0) / 3.0),
        // 400 over the samples; the range starts far before the first (more than 1.1
        // average gaps), so Prometheus extrapolates half a gap there, and none at the end
        // (the last sample is at the query's time): 400 × (2 + 0.5) / 2 = 500.
        ("increase", 500.0),
        ("rate", 500.0 / 3600.0),
        ("delta", 500.0),
    ] {
        let (status, body) = prom(&app, &query(&format!("{function}({selector})")), &token).await;
        assert_eq!(status, StatusCode::OK, "{function}: {body}");
        let value = one_value(&body);
        assert!(
            (value - expected).abs() < 1e-9,
            "{function}: {value} ≠ {expected}"
        );
        assert!(
            body["data"]["result"][0]["metric"]
                .get("__name__")
                .is_none()
        );
    }
    // Summed across trackers by metric.
    let (_, body) = prom(
        &app,
        &query(r#"sum by (metric) (upcount_value{metric="stars"})"#),
        &token,
    )
    .await;
    assert_eq!(
        body["data"]["result"][0]["metric"],
        json!({ "metric": "stars" })
    );
    assert_eq!(one_value(&body), 19_400.0 + 500.0);
    // A number alone, as Grafana's health check asks.
    let (_, body) = prom(&app, &query("1+1"), &token).await;
    assert_eq!(body["data"]["resultType"], "scalar");
    assert_eq!(body["data"]["result"][1], "2");

    // A range query from the first sample to the last, every 100 ms: one series, each
    // point the newest sample at or before it.
    let first = samples[0].0;
    let (status, body) = prom(
        &app,
        &format!(
            "query_range?query={}&start={}&end={when}&step=0.1",
            encode(r#"upcount_value{metric="stars", key="leptos-rs/leptos"}"#),
            at(first),
        ),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["resultType"], "matrix");
    let values = body["data"]["result"][0]["values"]
        .as_array()
        .expect("values");
    assert_eq!(values.len() as i64, (last - first) / 100 + 1, "{body}");
    for point in values {
        let t = (point[0].as_f64().expect("a time") * 1000.0).round() as i64;
        let newest = samples
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .expect("a sample");
        assert_eq!(point[1], newest.1.to_string(), "at {t}: {body}");
    }

    // Grafana POSTs forms.
    let response = app
        .request(reqwest::Method::POST, &format!("{BASE}/query"))
        .bearer_auth(&token)
        .form(&[
            (
                "query",
                r#"upcount_value{metric="stars", key="leptos-rs/leptos"}"#,
            ),
            ("time", when.as_str()),
        ])
        .send()
        .await
        .expect("a POST");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(one_value(&body), 19_400.0);

    // Series, labels and label values.
    let (_, body) = prom(
        &app,
        &format!(
            "series?match[]={}",
            encode(r#"upcount_value{metric="stars"}"#)
        ),
        &token,
    )
    .await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(2), "{body}");
    let (_, body) = prom(&app, "labels", &token).await;
    assert_eq!(
        body["data"],
        json!(["__name__", "key", "kind", "label", "metric", "tracker"])
    );
    let (_, body) = prom(&app, "label/key/values", &token).await;
    assert_eq!(
        body["data"],
        json!(["leptos-rs/cargo-leptos", "leptos-rs/leptos"])
    );
    let (_, body) = prom(&app, "label/__name__/values", &token).await;
    assert_eq!(body["data"], json!(["upcount_value"]));

    // Another workspace sees none of it.
    let (_, stranger) = app.member_with_token(TokenScope::Read).await;
    let (_, body) = prom(&app, &query("upcount_value"), &stranger).await;
    assert_eq!(body["data"]["result"], json!([]), "{body}");
    let (_, body) = prom(&app, "label/key/values", &stranger).await;
    assert_eq!(body["data"], json!([]));
}

#[tokio::test]
async fn bad_and_unsupported_queries_answer_in_prometheus_error_shape() {
    let (_standin, app) = spawn_app_with_standin(vec![]).await;
    let (_, token) = app.member_with_token(TokenScope::Read).await;
    for (path, status, kind, says) in [
        (
            format!("query?query={}", encode("upcount_value{")),
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"query\"",
        ),
        (
            "query".to_string(),
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"query\": missing",
        ),
        (
            format!("query?query={}", encode("topk(3, upcount_value)")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "execution",
            "the aggregation topk is not supported",
        ),
        (
            format!(
                "query?query={}",
                encode("histogram_quantile(0.9, upcount_value)")
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "execution",
            "the function histogram_quantile() is not supported",
        ),
        (
            "query?query=upcount_value&time=yesterday".to_string(),
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"time\"",
        ),
        (
            "query_range?query=upcount_value&start=0&end=100000&step=1".to_string(),
            StatusCode::BAD_REQUEST,
            "bad_data",
            "exceeded maximum resolution of 11000 points",
        ),
        (
            "series".to_string(),
            StatusCode::BAD_REQUEST,
            "bad_data",
            "no match[] parameter provided",
        ),
        (
            format!("series?match[]={}", encode("rate(upcount_value[5m])")),
            StatusCode::BAD_REQUEST,
            "bad_data",
            "is not a series selector",
        ),
    ] {
        let (got, body) = prom(&app, &path, &token).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["status"], "error", "{path}");
        assert_eq!(body["errorType"], kind, "{path}");
        let message = body["error"].as_str().expect("a message");
        assert!(message.contains(says), "{path}: {message}");
    }
    // Without a token: refused.
    let response = app
        .request(reqwest::Method::GET, &format!("{BASE}/query?query=1"))
        .send()
        .await
        .expect("a GET");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn promtool_queries_the_api_as_it_queries_prometheus() {
    let promtool = crate::scrape::installed("promtool");
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    let (user, writer) = app.member_with_token(TokenScope::Write).await;
    app.track(&writer, LEPTOS).await;
    app.history_loaded().await;
    let token = app.token(&user, TokenScope::Read).await;
    let workers = app.start_workers();
    poll_now(&app).await;
    workers.stop().await;

    // promtool sends the token as Go's HTTP client does with credentials in the URL:
    // basic auth, the token as the password.
    let address = app
        .address
        .replacen("http://", &format!("http://promtool:{token}@"), 1);
    let server = format!("{address}/api/v1/prom");
    // Run apart from the test's runtime, which serves the app promtool asks.
    let run = |args: Vec<String>| {
        let promtool = promtool.clone();
        async move {
            let output = tokio::process::Command::new(promtool)
                .args(args)
                .output()
                .await
                .expect("run promtool");
            (
                output.status.success(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        }
    };
    let selector = r#"upcount_value{metric="stars"}"#.to_string();
    let (ok, out, err) = run(vec![
        "query".into(),
        "instant".into(),
        server.clone(),
        selector.clone(),
    ])
    .await;
    assert!(ok, "promtool query instant: {err}");
    assert!(out.contains("=> 19000 @"), "{out}");
    assert!(out.contains(r#"key="leptos-rs/leptos""#), "{out}");

    let now = chrono::Utc::now();
    let (ok, out, err) = run(vec![
        "query".into(),
        "range".into(),
        format!(
            "--start={}",
            (now - chrono::TimeDelta::minutes(2)).to_rfc3339()
        ),
        format!("--end={}", now.to_rfc3339()),
        "--step=30s".into(),
        server.clone(),
        selector,
    ])
    .await;
    assert!(ok, "promtool query range: {err}");
    assert!(out.contains("19000 @["), "{out}");

    // Without the token, promtool reports the refusal.
    let anonymous = format!("{}/api/v1/prom", app.address);
    let (ok, _, _) = run(vec![
        "query".into(),
        "instant".into(),
        anonymous,
        "1".into(),
    ])
    .await;
    assert!(!ok);
}

/// A push source made with `api_token`: its push token.
async fn push_source(app: &TestApp, api_token: &str) -> String {
    let (status, body) = app
        .api_post(
            "/api/v1/push-sources",
            api_token,
            json!({ "name": "Pushed" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["push_source"]["token"]
        .as_str()
        .expect("the push token")
        .to_string()
}

/// Pushes `points` (JSON push items), all of which must be accepted.
async fn push(app: &TestApp, push_token: &str, points: Value) {
    let (status, body) = app.api_post("/api/v1/push", push_token, points).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["refused"], json!([]), "{body}");
}

/// The one value of an instant query's vector answer.
async fn value_of(app: &TestApp, token: &str, query: &str, time: &str) -> f64 {
    let (status, body) = prom(
        app,
        &format!("query?query={}&time={time}", encode(query)),
        token,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    one_value(&body)
}

#[tokio::test]
async fn increase_and_rate_add_a_pushed_counters_reset_back() {
    let app = spawn_app().await;
    let (user, writer) = app.member_with_token(TokenScope::Write).await;
    let push_token = push_source(&app, &writer).await;
    // A counter at T − 45, − 30, − 15 and T minutes: 10, 20, 5 (a reset), 15.
    let now = chrono::Utc::now().timestamp();
    let t = now - now % 60 - 60;
    let minutes = |m: i64| chrono::DateTime::from_timestamp(t - m * 60, 0).expect("a time");
    let points: Vec<Value> = [(45, 10), (30, 20), (15, 5), (0, 15)]
        .into_iter()
        .map(|(m, value)| {
            json!({
                "metric": "jobs_done", "value": value, "type": "counter",
                "t": minutes(m).to_rfc3339(),
            })
        })
        .collect();
    push(&app, &push_token, Value::Array(points)).await;
    let token = app.token(&user, TokenScope::Read).await;
    let when = at(t * 1000);
    let selector = |range: &str| format!(r#"upcount_value{{metric="jobs_done"}}[{range}]"#);

    // By hand, as Prometheus computes it (`extrapolatedRate`):
    // - the raw increase: 20 − 10, then the drop to 5 is a reset (the counter restarted
    //   from 0, so the 5 counts whole), then 15 − 5: 10 + 5 + 10 = 25 (last − first, 5,
    //   plus the value before the reset, 20);
    // - the samples span 45 min in 3 gaps: on average 15 min; an end less than 1.1 gaps
    //   (16.5 min) from its nearest sample is extrapolated to all the way, a farther one
    //   half a gap (7.5 min); a counter is not extrapolated back past where it would be
    //   zero: 45 min × 10 / 25 = 18 min before the first sample;
    // - `[1h]` at T: the range (T − 60 min, T] starts 15 min before the first sample
    //   (< 16.5: all of it, and < 18) and ends at the last: 25 × (45 + 15) / 45 = 100/3;
    // - `[2h]`: it starts 75 min before the first sample (≥ 16.5: 7.5 min, < 18):
    //   25 × (45 + 7.5) / 45 = 175/6;
    // - `rate` is the increase per second of the range; `delta` takes the drop as it is:
    //   15 − 10 = 5, × 60/45.
    for (function, range, expected) in [
        ("increase", "1h", 25.0 * 60.0 / 45.0),
        ("rate", "1h", 25.0 * 60.0 / 45.0 / 3_600.0),
        ("increase", "2h", 25.0 * 52.5 / 45.0),
        ("rate", "2h", 25.0 * 52.5 / 45.0 / 7_200.0),
        ("delta", "1h", 5.0 * 60.0 / 45.0),
    ] {
        let query = format!("{function}({})", selector(range));
        let value = value_of(&app, &token, &query, &when).await;
        assert!(
            (value - expected).abs() < 1e-9,
            "{query}: {value} ≠ {expected}"
        );
    }
    // Over the samples after the reset only, (T − 20 min, T]: 5 → 15 over 15 min, one
    // gap; the start is 5 min before the first sample (< 16.5, and zero would be
    // 15 × 5 / 10 = 7.5 min back, farther): 10 × (15 + 5) / 15 = 40/3.
    let value = value_of(
        &app,
        &token,
        &format!("increase({})", selector("20m")),
        &when,
    )
    .await;
    assert!((value - 40.0 / 3.0).abs() < 1e-9, "{value}");
}

#[tokio::test]
async fn selectors_match_labels_by_not_equal_and_by_regex() {
    let app = spawn_app().await;
    let (user, writer) = app.member_with_token(TokenScope::Write).await;
    let push_token = push_source(&app, &writer).await;
    push(
        &app,
        &push_token,
        json!([
            {"metric": "signups", "value": 1, "labels": {"plan": "pro"}},
            {"metric": "signups", "value": 2, "labels": {"plan": "free"}},
            {"metric": "signups", "value": 4, "labels": {"plan": "team"}},
            {"metric": "mrr", "value": 8},
        ]),
    )
    .await;
    let token = app.token(&user, TokenScope::Read).await;
    // The series a selector picks, as (metric, plan), sorted.
    let picked = |selector: &'static str| {
        let app = &app;
        let token = &token;
        async move {
            let (status, body) =
                prom(app, &format!("query?query={}", encode(selector)), token).await;
            assert_eq!(status, StatusCode::OK, "{selector}: {body}");
            let mut picked: Vec<(String, String, String)> = body["data"]["result"]
                .as_array()
                .expect("a vector")
                .iter()
                .map(|item| {
                    let label =
                        |name: &str| item["metric"][name].as_str().unwrap_or("").to_string();
                    (
                        label("metric"),
                        label("plan"),
                        item["value"][1].as_str().expect("a value").to_string(),
                    )
                })
                .collect();
            picked.sort();
            picked
        }
    };
    let series = |items: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        items
            .iter()
            .map(|(metric, plan, value)| (metric.to_string(), plan.to_string(), value.to_string()))
            .collect()
    };
    let (mrr, free, pro, team) = (
        ("mrr", "", "8"),
        ("signups", "free", "2"),
        ("signups", "pro", "1"),
        ("signups", "team", "4"),
    );
    for (selector, expected) in [
        (r#"upcount_value{plan!="pro"}"#, vec![mrr, free, team]),
        (
            r#"upcount_value{metric="signups", plan!="pro"}"#,
            vec![free, team],
        ),
        (r#"upcount_value{plan=~"pro|team"}"#, vec![pro, team]),
        // Regexes are anchored at both ends, as in Prometheus.
        (r#"upcount_value{plan=~"pr"}"#, vec![]),
        (r#"upcount_value{plan=~"t.*|"}"#, vec![mrr, team]),
        // A series without the label has it empty: `!~` and `!=` pick it.
        (r#"upcount_value{plan!~"f.*"}"#, vec![mrr, pro, team]),
        (r#"upcount_value{plan!~".+"}"#, vec![mrr]),
        (
            r#"upcount_value{metric!="mrr", plan!~"pro|free"}"#,
            vec![team],
        ),
    ] {
        assert_eq!(picked(selector).await, series(&expected), "{selector}");
    }
    // Summed across the label, by the same matchers.
    let (_, body) = prom(
        &app,
        &format!(
            "query?query={}",
            encode(r#"sum(upcount_value{metric=~"sign.*", plan!="free"})"#)
        ),
        &token,
    )
    .await;
    assert_eq!(one_value(&body), 5.0, "{body}");
}
