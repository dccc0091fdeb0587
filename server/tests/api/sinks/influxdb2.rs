//! An `influxdb2` sink (`POST {url}/api/v2/write?org=…&bucket=…&precision=ms` with
//! `Authorization: Token …`) delivering to a real InfluxDB 1.x, checked with its own query
//! API.
//!
//! InfluxDB 1.8 and later take the v2 write as is (`bucket=db/rp`, `Token user:password`),
//! but Debian 12's `influxdb` is 1.6.7, which predates `/api/v2/write` (added in 1.8.0)
//! and answers it 404. So the sink writes to a stand-in at that path which checks exactly
//! what a v2 server is sent (the path under the sink's URL, the query string, the token
//! header, the body's type) and hands the body on to the real `influxd`'s v1 `/write`
//! with the database and retention policy the bucket names, answering with its answer.

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::json;

use super::{daemons::Influx, make_sink, poll_with, polled_stars, sink_until, tracking_app};
use crate::helpers::{eventually, serve_on_loopback};

/// The sink's token: InfluxDB 1.8 reads `Token user:password`.
const TOKEN: &str = "writer:s3cret-v2";
/// The query string a v2 write must carry (`/` in the bucket escaped).
const QUERY: &str = "org=acme&bucket=upcount%2Fautogen&precision=ms";

/// One request the stand-in got: path, query, `Authorization`, `Content-Type`.
type Seen = (String, Option<String>, Option<String>, Option<String>);

#[derive(Clone)]
struct V2 {
    /// `influxd`'s v1 write, for the database and retention policy of the bucket.
    write: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn v2_write(State(v2): State<V2>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(String::from)
    };
    v2.seen.lock().expect("the stand-in").push((
        uri.path().to_string(),
        uri.query().map(String::from),
        header("authorization"),
        header("content-type"),
    ));
    if uri.path() != "/influx/api/v2/write" || uri.query() != Some(QUERY) {
        return (StatusCode::NOT_FOUND, "404 page not found").into_response();
    }
    if header("authorization").as_deref() != Some(&format!("Token {TOKEN}")) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "authorization failed"})),
        )
            .into_response();
    }
    let answer = reqwest::Client::new()
        .post(&v2.write)
        .body(body)
        .send()
        .await
        .expect("influxd's answer");
    let status = StatusCode::from_u16(answer.status().as_u16()).expect("a status");
    let text = answer.text().await.unwrap_or_default();
    (status, text).into_response()
}

/// The stars points InfluxDB holds: (ms, value), oldest first.
async fn stars_in(influx: &Influx) -> Vec<(i64, f64)> {
    influx
        .rows(
            "upcount",
            "SELECT value FROM upcount.autogen.upcount WHERE metric = 'stars' ORDER BY time",
        )
        .await
        .iter()
        .filter_map(|row| Some((row.first()?.as_i64()?, row.get(1)?.as_f64()?)))
        .collect()
}

#[tokio::test]
async fn an_influxdb2_sink_writes_each_polled_sample_with_its_org_bucket_and_token() {
    let influx = Influx::start().await;
    let created = influx.query("", "CREATE DATABASE upcount").await;
    assert!(created["results"][0].get("error").is_none(), "{created}");
    // Debian's influxd has no v2 write: a v2 sink pointed straight at it is refused.
    let direct = reqwest::Client::new()
        .post(format!("{}/api/v2/write?{QUERY}", influx.url()))
        .body("x value=1")
        .send()
        .await
        .expect("influxd's answer");
    let v2 = V2 {
        write: format!("{}/write?db=upcount&rp=autogen&precision=ms", influx.url()),
        seen: Arc::default(),
    };
    let address = serve_on_loopback(
        Router::new()
            .route("/{*path}", post(v2_write))
            .with_state(v2.clone()),
    )
    .await;

    let (standin, app, _, token, tracker) = tracking_app(vec![]).await;
    let sink = make_sink(
        &app,
        &token,
        json!({"kind": "influxdb2", "url": format!("http://{address}/influx/"), "org": "acme",
               "bucket": "upcount/autogen", "token": TOKEN}),
    )
    .await;
    assert!(
        sink.get("token").is_none(),
        "the token is not shown: {sink}"
    );
    let (status, answer) = app
        .api_post(
            &format!("/api/v1/sinks/{}/test", sink["id"].as_str().expect("an id")),
            &token,
            json!({}),
        )
        .await;
    assert_eq!((status.as_u16(), &answer), (200, &json!({"sent": true})));

    let workers = app.start_workers();
    poll_with(&app, &standin, 19_100).await;
    poll_with(&app, &standin, 19_200).await;
    let expected = polled_stars(&app).await;
    assert_eq!(
        expected.iter().map(|(_, value)| *value).collect::<Vec<_>>(),
        vec![19_100.0, 19_200.0]
    );
    let got = eventually(
        std::time::Duration::from_secs(30),
        "the points in InfluxDB",
        || async {
            let got = stars_in(&influx).await;
            (got.len() == expected.len()).then_some(got)
        },
    )
    .await;
    assert_eq!(got, expected, "each sample at its time, in milliseconds");
    let healthy = sink_until(&app, &token, "the sink to be ok with no backlog", |sink| {
        sink["state"] == "ok" && sink["backlog"] == 0
    })
    .await;
    workers.stop().await;
    assert_eq!(healthy["dropped"], 0, "{healthy}");
    let tags = influx
        .query(
            "upcount",
            "SHOW TAG VALUES FROM upcount WITH KEY IN (\"tracker\", \"kind\", \"key\")",
        )
        .await
        .to_string();
    for value in [tracker.as_str(), "github.repo", "leptos-rs/leptos"] {
        assert!(tags.contains(value), "{value} in {tags}");
    }

    // Every request, the test's and the polls', was the v2 write exactly.
    let seen = v2.seen.lock().expect("the stand-in").clone();
    assert!(seen.len() >= 2, "{seen:?}");
    for request in &seen {
        assert_eq!(
            request,
            &(
                "/influx/api/v2/write".to_string(),
                Some(QUERY.to_string()),
                Some(format!("Token {TOKEN}")),
                Some("text/plain; charset=utf-8".to_string()),
            )
        );
    }
    assert_eq!(
        direct.status(),
        reqwest::StatusCode::NOT_FOUND,
        "influxd {} takes /api/v2/write now: point the sink at it directly",
        direct
            .headers()
            .get("x-influxdb-version")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("?")
    );
}
