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

#[tokio::test]
async fn telegrafs_ping_and_create_database_are_answered_as_influxdb_does() {
    let (app, made) = source().await;
    // `/ping`, as InfluxDB 1.8 answers it: 204 and its version, to GET and HEAD, no token.
    for method in [Method::GET, Method::HEAD] {
        let (status, headers, body) =
            send(app.request(method.clone(), "/api/v1/push/influx/ping")).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{method}: {body}");
        assert_eq!(headers["x-influxdb-version"], "1.8.10", "{method}");
        assert_eq!(body, Value::Null, "{method}");
    }

    // What Telegraf's `outputs.influxdb` posts at start: `q` as a form, basic auth.
    let (status, headers, body) = send(
        app.request(Method::POST, "/api/v1/push/influx/query")
            .basic_auth("telegraf", Some(&made.token))
            .form(&[("q", r#"CREATE DATABASE "telegraf""#)]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"results": [{"statement_id": 0}]}));
    assert_eq!(headers["x-influxdb-version"], "1.8.10");
    // In the URL with `p=`, by GET too, several statements at once: one result each.
    let q: String = url::form_urlencoded::byte_serialize(
        b"create database a WITH DURATION 7d; CREATE DATABASE \"b;c\"",
    )
    .collect();
    for method in [Method::GET, Method::POST] {
        let (status, _, body) = send(app.request(
            method.clone(),
            &format!("/api/v1/push/influx/query?db=x&q={q}&p={}", made.token),
        ))
        .await;
        assert_eq!(status, StatusCode::OK, "{method}: {body}");
        assert_eq!(
            body,
            json!({"results": [{"statement_id": 0}, {"statement_id": 1}]}),
            "{method}"
        );
    }
    // A no-op: the push source gained no series.
    let series: i64 = sqlx::query_scalar("SELECT count(*) FROM source_metrics")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(series, 0);

    // Anything else: InfluxDB's error shape, naming the statement.
    let (status, headers, body) = send(
        app.request(Method::POST, "/api/v1/push/influx/query")
            .header("authorization", format!("Token {}", made.token))
            .form(&[("q", "CREATE DATABASE x; SHOW DATABASES")]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(headers["x-influxdb-version"], "1.8.10");
    let fields: Vec<&String> = body.as_object().expect("an object").keys().collect();
    assert_eq!(fields, vec!["error"], "{body}");
    let error = body["error"].as_str().expect("a message");
    assert!(
        error.contains("only `CREATE DATABASE`") && error.contains("not `SHOW DATABASES`"),
        "{error}"
    );
    let (status, _, body) = send(app.request(
        Method::GET,
        &format!(
            "/api/v1/push/influx/query?q=SELECT%20*%20FROM%20cpu&p={}",
            made.token
        ),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|error| error.contains("not `SELECT * FROM cpu`")),
        "{body}"
    );
    let (status, _, body) = send(
        app.request(Method::POST, "/api/v1/push/influx/query")
            .bearer_auth(&made.token),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "missing required parameter \"q\""}));

    // The token is checked as for a write.
    for request in [
        app.request(Method::POST, "/api/v1/push/influx/query")
            .form(&[("q", "CREATE DATABASE telegraf")]),
        app.request(Method::POST, "/api/v1/push/influx/query")
            .basic_auth("telegraf", Some("upp_nonsense"))
            .form(&[("q", "CREATE DATABASE telegraf")]),
        app.request(
            Method::GET,
            "/api/v1/push/influx/query?q=CREATE%20DATABASE%20x&p=upp_nonsense",
        ),
    ] {
        let (status, _, body) = send(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
}

/// A Prometheus text push with good and bad lines and a summary.
const MIXED: &str = r#"# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.05
rpc_seconds{quantile="0.99"} 0.2
rpc_seconds_sum 12.5
rpc_seconds_count 250
rpc_seconds{service="a"} 0.1
# TYPE temperature gauge
temperature{room="kitchen"} 21.5
temperature{room="hall"} NaN
temperature{room="attic",room="roof"} 3
temperature{room="cellar"} warm
rpc_seconds{quantile="fast"} 1
"#;

#[tokio::test]
async fn a_prometheus_push_answers_line_by_line_and_stores_a_summary_by_series() {
    let (app, made) = source().await;
    let (status, _, body) = send(
        app.request(Method::POST, "/api/v1/push/prometheus")
            .bearer_auth(&made.token)
            .header("content-type", "text/plain; version=0.0.4")
            .body(MIXED),
    )
    .await;
    // Some stored: 200, every bad line named with its number.
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["accepted"], &body["duplicates"]),
        (&json!(5), &json!(0)),
        "{body}"
    );
    assert_eq!(
        super::refusals(&body),
        vec![
            (
                7,
                "`rpc_seconds` is a summary sample and needs a `quantile` label".to_string()
            ),
            (
                10,
                "`temperature`'s value is NaN; only numbers are stored".to_string()
            ),
            (11, "the label `room` is given twice".to_string()),
            (
                12,
                "`temperature`'s value `warm` is not a number".to_string()
            ),
            (
                13,
                "`rpc_seconds`'s `quantile` label is `fast`, not a number".to_string()
            ),
        ],
        "{body}"
    );
    // The summary as its quantile series (gauges) and `_sum` and `_count` (counters).
    for (series, value, kind) in [
        (r#"rpc_seconds{quantile="0.5"}"#, 0.05, "gauge"),
        (r#"rpc_seconds{quantile="0.99"}"#, 0.2, "gauge"),
        ("rpc_seconds_sum", 12.5, "counter"),
        ("rpc_seconds_count", 250.0, "counter"),
        (r#"temperature{room="kitchen"}"#, 21.5, "gauge"),
    ] {
        let stored = samples(&app, series).await;
        assert_eq!(
            stored.iter().map(|(_, value)| *value).collect::<Vec<_>>(),
            vec![value],
            "{series}"
        );
        let stored_kind: String =
            sqlx::query_scalar("SELECT kind FROM source_metrics WHERE name = $1")
                .bind(series)
                .fetch_one(&app.pool)
                .await
                .expect("the series");
        assert_eq!(stored_kind, kind, "{series}");
    }
    let series: i64 = sqlx::query_scalar("SELECT count(*) FROM source_metrics")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(series, 5, "nothing of a refused line is stored");
}
