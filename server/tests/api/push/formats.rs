//! The push formats other programs speak: InfluxDB line protocol at the v1 `/write` and v2
//! `/api/v2/write` shapes (as Telegraf sends it: gzip, `p=`, `Token`, basic auth, each
//! precision), and the Prometheus text format (as a Pushgateway client sends it, with the
//! grouping path), into a push source.

use std::io::Write;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Made, make_source, samples, setup};
use crate::helpers::TestApp;

/// A Telegraf batch: `cpu` and `mem` at one time in seconds, as `outputs.influxdb` sends
/// them (measurement, tags sorted, fields, timestamp).
const TELEGRAF: &str = "cpu,cpu=cpu-total,host=web-1 usage_idle=97.5,usage_user=1.25 1796119200
mem,host=web-1 used=1073741824i,available_percent=61.2 1796119200
";

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).expect("compress");
    encoder.finish().expect("compress")
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.expect("a push");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}"))
    };
    (status, headers, body)
}

async fn source() -> (TestApp, Made) {
    let (app, api_token) = setup().await;
    let made = make_source(&app, &api_token, "Servers").await;
    (app, made)
}

#[tokio::test]
async fn telegrafs_v1_write_is_stored_gzip_and_all() {
    let (app, made) = source().await;
    let (status, headers, body) = send(
        app.request(
            Method::POST,
            &format!(
                "/api/v1/push/influx/write?db=telegraf&precision=s&u=telegraf&p={}",
                made.token
            ),
        )
        .header("content-encoding", "gzip")
        .header("content-type", "text/plain; charset=utf-8")
        .body(gzip(TELEGRAF)),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(headers["x-upcount-accepted"], "4");
    assert_eq!(headers["x-upcount-duplicates"], "0");
    for (series, value) in [
        (r#"cpu_usage_idle{cpu="cpu-total",host="web-1"}"#, 97.5),
        (r#"cpu_usage_user{cpu="cpu-total",host="web-1"}"#, 1.25),
        (r#"mem_used{host="web-1"}"#, 1_073_741_824.0),
        (r#"mem_available_percent{host="web-1"}"#, 61.2),
    ] {
        assert_eq!(
            samples(&app, series).await,
            vec![("2026-12-01T10:00:00.000000Z".to_string(), value)],
            "{series}"
        );
    }
    // Sent again (Telegraf retries a batch it thinks failed): duplicates, nothing twice.
    let (status, headers, _) = send(
        app.request(
            Method::POST,
            "/api/v1/push/influx/write?db=telegraf&precision=s",
        )
        .basic_auth("telegraf", Some(&made.token))
        .body(TELEGRAF),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        (
            &headers["x-upcount-accepted"],
            &headers["x-upcount-duplicates"]
        ),
        (
            &"0".parse().expect("a header"),
            &"4".parse().expect("a header")
        )
    );
}

#[tokio::test]
async fn the_v2_write_takes_a_token_header_and_each_precision() {
    let (app, made) = source().await;
    for (precision, stamp, at) in [
        ("ms", "1796119200000", "2026-12-01T10:00:00.000000Z"),
        ("us", "1796119201000000", "2026-12-01T10:00:01.000000Z"),
        ("ns", "1796119202000000000", "2026-12-01T10:00:02.000000Z"),
    ] {
        let (status, _, body) = send(
            app.request(
                Method::POST,
                &format!(
                    "/api/v1/push/influx/api/v2/write?org=acme&bucket=b&precision={precision}"
                ),
            )
            .header("authorization", format!("Token {}", made.token))
            .body(format!("signups,plan=pro value=3 {stamp}\n")),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{precision}: {body}");
        assert!(
            samples(&app, r#"signups_value{plan="pro"}"#)
                .await
                .iter()
                .any(|(t, value)| t == at && *value == 3.0),
            "{precision}"
        );
    }
    let (status, _, body) = send(
        app.request(Method::POST, "/api/v1/push/influx?precision=fortnights")
            .bearer_auth(&made.token)
            .body("x value=1\n"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("`precision`:")),
        "{body}"
    );
}

#[tokio::test]
async fn a_partial_influx_write_says_which_lines_were_refused() {
    let (app, made) = source().await;
    let (status, _, body) = send(
        app.request(Method::POST, "/api/v1/push/influx")
            .bearer_auth(&made.token)
            .body("ok value=1\nlog message=\"hello\",level=3i\nthis is not a line\n"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "partial_write");
    assert_eq!(body["accepted"], 2, "{body}");
    let refused = body["refused"].as_array().expect("refusals");
    assert_eq!(
        refused
            .iter()
            .map(|r| r["line"].clone())
            .collect::<Vec<_>>(),
        vec![json!(2), json!(3)],
        "{body}"
    );
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|error| error.starts_with("partial write: 2 refused (line 2: ")),
        "{body}"
    );
    assert_eq!(samples(&app, "log_level").await.len(), 1);
    // No token, or an API token: 401 naming it.
    let (status, _, _) = send(
        app.request(Method::POST, "/api/v1/push/influx/write?db=x")
            .body("a value=1"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = send(
        app.request(
            Method::POST,
            "/api/v1/push/influx/write?db=x&p=upp_nonsense",
        )
        .body("a value=1"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("Unknown push token")),
        "{body}"
    );
}

/// What a Prometheus client library writes.
const EXPOSITION: &str = r#"# HELP jobs_processed_total Jobs processed.
# TYPE jobs_processed_total counter
jobs_processed_total{queue="mail"} 1027
# HELP queue_depth Jobs waiting.
# TYPE queue_depth gauge
queue_depth{queue="mail"} 12
# TYPE job_seconds histogram
job_seconds_bucket{le="0.5"} 7
job_seconds_bucket{le="+Inf"} 9
job_seconds_sum 3.25
job_seconds_count 9
"#;

#[tokio::test]
async fn prometheus_text_is_stored_by_series_with_the_pushgateways_grouping() {
    let (app, made) = source().await;
    let (status, _, body) = send(
        app.request(Method::POST, "/api/v1/push/prometheus")
            .bearer_auth(&made.token)
            .header("content-type", "text/plain; version=0.0.4")
            .body(EXPOSITION),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["accepted"], &body["refused"]),
        (&json!(6), &json!([])),
        "{body}"
    );
    for (series, value) in [
        (r#"jobs_processed_total{queue="mail"}"#, 1027.0),
        (r#"queue_depth{queue="mail"}"#, 12.0),
        (r#"job_seconds_bucket{le="+Inf"}"#, 9.0),
        ("job_seconds_sum", 3.25),
    ] {
        let stored = samples(&app, series).await;
        assert_eq!(stored.len(), 1, "{series}");
        assert_eq!(stored[0].1, value, "{series}");
    }
    let kind: String = sqlx::query_scalar(
        "SELECT kind FROM source_metrics WHERE name = 'jobs_processed_total{queue=\"mail\"}'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the series");
    assert_eq!(kind, "counter");

    // As `push_to_gateway(…, job="nightly", grouping_key={"instance": "a/b"})` sends it:
    // basic auth, PUT, the grouping in the path (a value with a slash in base64).
    let (status, _, body) = send(
        app.request(
            Method::PUT,
            "/api/v1/push/prometheus/metrics/job/nightly/instance@base64/YS9i",
        )
        .basic_auth("pusher", Some(&made.token))
        .body("# TYPE last_run_seconds gauge\nlast_run_seconds 42\n"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        samples(&app, r#"last_run_seconds{instance="a/b",job="nightly"}"#)
            .await
            .len(),
        1
    );

    // Protobuf, the Go client's default, is named, not misread.
    let (status, _, body) = send(
        app.request(Method::POST, "/api/v1/push/prometheus/metrics/job/x")
            .bearer_auth(&made.token)
            .header(
                "content-type",
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
            )
            .body(vec![0u8, 1, 2]),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, _, body) = send(
        app.request(Method::POST, "/api/v1/push/prometheus/metrics/job")
            .bearer_auth(&made.token)
            .body("x 1\n"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
