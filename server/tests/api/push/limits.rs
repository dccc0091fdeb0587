//! The 5,000 points a request: in each format, a longer request has its first 5,000
//! points stored and each one past them refused on its own line, with why.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{make_source, refusals, samples, setup};

/// Points a request may hold (`app::domain::push::MAX_POINTS_PER_REQUEST`).
const LIMIT: usize = 5_000;
/// Points sent: three past the limit.
const SENT: usize = LIMIT + 3;
/// 2026-12-01T10:00:00Z; point `i` (from 0) is `i` seconds after it.
const START: i64 = 1_796_119_200;
const REASON: &str = "a request holds at most 5000 points";

/// The refusals an answer past the limit must list: one for each point over, by line.
fn over_the_limit() -> Vec<(u64, String)> {
    (LIMIT + 1..=SENT)
        .map(|line| (line as u64, REASON.to_string()))
        .collect()
}

/// The series `name` holds the first 5,000 points, a second apart, values 0 to 4,999.
async fn holds_the_first_5000(app: &crate::helpers::TestApp, name: &str) {
    let stored = samples(app, name).await;
    assert_eq!(stored.len(), LIMIT, "{name}");
    assert_eq!(
        stored.first().map(|(t, value)| (t.as_str(), *value)),
        Some(("2026-12-01T10:00:00.000000Z", 0.0)),
        "{name}"
    );
    // 4,999 s after 10:00:00 is 11:23:19.
    assert_eq!(
        stored.last().map(|(t, value)| (t.as_str(), *value)),
        Some(("2026-12-01T11:23:19.000000Z", 4_999.0)),
        "{name}"
    );
}

async fn send_text(
    app: &crate::helpers::TestApp,
    path: &str,
    token: &str,
    body: String,
) -> (StatusCode, Value) {
    let response = app
        .request(Method::POST, path)
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .expect("a push");
    let status = response.status();
    (status, response.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn a_json_push_past_5000_points_stores_5000_and_refuses_each_other_item() {
    let (app, api_token) = setup().await;
    let made = make_source(&app, &api_token, "Bulk").await;
    let items: Vec<Value> = (0..SENT)
        .map(|i| {
            let t = chrono::DateTime::from_timestamp(START + i as i64, 0).expect("a time");
            json!({"metric": "bulk_json", "value": i, "t": t.to_rfc3339()})
        })
        .collect();
    let (status, body) = super::push(&app, &made.token, Value::Array(items)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["accepted"], &body["duplicates"]),
        (&json!(LIMIT), &json!(0))
    );
    // Items count from 1, as lines do.
    assert_eq!(refusals(&body), over_the_limit());
    holds_the_first_5000(&app, "bulk_json").await;
}

#[tokio::test]
async fn an_influx_write_past_5000_points_is_a_partial_write_naming_each_line_over() {
    let (app, api_token) = setup().await;
    let made = make_source(&app, &api_token, "Bulk").await;
    let body: String = (0..SENT)
        .map(|i| format!("bulk value={i} {}\n", START + i as i64))
        .collect();
    let (status, body) = send_text(
        &app,
        "/api/v1/push/influx/write?db=telegraf&precision=s",
        &made.token,
        body,
    )
    .await;
    // As InfluxDB answers a partial write: 400, the accepted points stored.
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "partial_write");
    assert_eq!(
        (&body["accepted"], &body["duplicates"]),
        (&json!(LIMIT), &json!(0))
    );
    assert_eq!(refusals(&body), over_the_limit());
    assert_eq!(
        body["error"],
        format!(
            "partial write: 3 refused (line 5001: {REASON}; line 5002: {REASON}; line 5003: {REASON}); 5000 accepted"
        )
    );
    holds_the_first_5000(&app, "bulk_value").await;
}

#[tokio::test]
async fn a_prometheus_push_past_5000_samples_stores_5000_and_refuses_each_line_over() {
    let (app, api_token) = setup().await;
    let made = make_source(&app, &api_token, "Bulk").await;
    // Untyped samples (gauges) with timestamps in milliseconds, a line each.
    let body: String = (0..SENT)
        .map(|i| format!("bulk_prom {i} {}000\n", START + i as i64))
        .collect();
    let (status, body) = send_text(&app, "/api/v1/push/prometheus", &made.token, body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["accepted"], &body["duplicates"]),
        (&json!(LIMIT), &json!(0))
    );
    assert_eq!(refusals(&body), over_the_limit());
    holds_the_first_5000(&app, "bulk_prom").await;
}
