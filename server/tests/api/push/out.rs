//! Pushed numbers go out like polled ones: the scrape endpoint and the PromQL API show a
//! pushed series under its metric's name with its own labels, and sinks are forwarded
//! each pushed point.

use app::domain::TokenScope;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{make_source, push_ok};
use crate::{
    helpers::{eventually, spawn_app_with_env},
    sinks::{Receiver, SECRET_KEY, make_sink},
};

#[tokio::test]
async fn prometheus_reads_a_pushed_series_with_its_labels() {
    let app = spawn_app_with_env(vec![]).await;
    let (user, api_token) = app.member_with_token(TokenScope::Write).await;
    let made = make_source(&app, &api_token, "Sales").await;
    push_ok(
        &app,
        &made.token,
        json!([
            {"metric": "signups", "value": 3, "labels": {"plan": "pro"}},
            {"metric": "signups", "value": 5, "labels": {"plan": "free", "key": "k1"}},
            {"metric": "mrr", "value": 1200.5}
        ]),
    )
    .await;
    let reader = app.token(&user, TokenScope::Read).await;

    let response = app
        .request(reqwest::Method::GET, "/api/v1/metrics")
        .bearer_auth(&reader)
        .send()
        .await
        .expect("a scrape");
    let text = response.text().await.expect("the exposition");
    let line = |labels: &str, value: &str| {
        format!(
            "upcount_value{{tracker=\"{tracker}\",label=\"Sales\",kind=\"push\",key=\"{key}\",{labels}}} {value}",
            tracker = made.tracker,
            key = key_of(&text),
        )
    };
    for expected in [
        line(r#"metric="signups",plan="pro""#, "3"),
        // A pushed `key` would hide Upcount's own: it is exported as `exported_key`.
        line(r#"metric="signups",exported_key="k1",plan="free""#, "5"),
        line(r#"metric="mrr""#, "1200.5"),
    ] {
        assert!(text.contains(&expected), "{expected}\nin\n{text}");
    }

    let query: String = url::form_urlencoded::byte_serialize(
        br#"sum by (metric) (upcount_value{kind="push", metric="signups"})"#,
    )
    .collect();
    let (status, body) = app
        .api_get(&format!("/api/v1/prom/api/v1/query?query={query}"), &reader)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["result"],
        json!([{"metric": {"metric": "signups"}, "value": [body["data"]["result"][0]["value"][0], "8"]}])
    );
    let (_, body) = app
        .api_get("/api/v1/prom/api/v1/label/plan/values", &reader)
        .await;
    assert_eq!(body["data"], json!(["free", "pro"]));
}

/// The `key` label of the one push source in `exposition`.
fn key_of(exposition: &str) -> String {
    exposition
        .split("key=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn sinks_are_forwarded_pushed_points() {
    let receiver = Receiver::start().await;
    let app = spawn_app_with_env(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".to_string()),
        ("UPCOUNT_SECRET_KEY", SECRET_KEY.to_string()),
        ("UPCOUNT_DISPATCH_INTERVAL_MS", "100".to_string()),
    ])
    .await;
    let (_, api_token) = app.member_with_token(TokenScope::Write).await;
    let made = make_source(&app, &api_token, "Sales").await;
    make_sink(
        &app,
        &api_token,
        json!({"kind": "webhook", "url": receiver.url, "trackers": [made.tracker]}),
    )
    .await;
    let workers = app.start_workers();
    push_ok(
        &app,
        &made.token,
        json!([
            {"metric": "signups", "value": 1, "type": "delta", "t": "2026-12-01T10:00:00Z"},
            {"metric": "signups", "value": 2, "type": "delta", "t": "2026-12-01T10:01:00Z"},
            {"metric": "mrr", "value": 1200.5, "t": "2026-12-01T10:00:00Z"},
            {"metric": "mrr", "value": 99, "t": "2026-12-01T10:02:00Z", "labels": {"plan": "pro"}}
        ]),
    )
    .await;
    let points = eventually(std::time::Duration::from_secs(30), "the points", || async {
        let points = receiver.points();
        (points.len() == 4).then_some(points)
    })
    .await;
    workers.stop().await;
    // A labelled series comes as its metric and its labels.
    let shape: Vec<(String, String, f64)> = points
        .iter()
        .map(|point: &Value| {
            let labels = point["labels"].as_object().expect("labels");
            let labels: Vec<String> = labels
                .iter()
                .map(|(name, value)| format!("{name}={}", value.as_str().unwrap_or_default()))
                .collect();
            (
                format!(
                    "{}{}",
                    point["metric"].as_str().unwrap_or_default(),
                    if labels.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", labels.join(","))
                    }
                ),
                point["t"].as_str().unwrap_or_default().to_string(),
                point["value"].as_f64().unwrap_or_default(),
            )
        })
        .collect();
    // Each point, a delta as its series' running total.
    let mut got: Vec<(String, String, f64)> = shape;
    got.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    assert_eq!(
        got.iter()
            .map(|(metric, t, value)| (metric.as_str(), &t[..16], *value))
            .collect::<Vec<_>>(),
        vec![
            ("mrr", "2026-12-01T10:00", 1200.5),
            ("signups", "2026-12-01T10:00", 1.0),
            ("signups", "2026-12-01T10:01", 3.0),
            ("mrr plan=pro", "2026-12-01T10:02", 99.0)
        ],
        "{points:?}"
    );
    assert_eq!(points[0]["tracker"], json!(made.tracker));
}
