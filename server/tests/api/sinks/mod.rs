//! Forwarding: sinks through the REST API and the Alerts page, and each kind receiving
//! what polls wrote: a real InfluxDB 1.x (`influxd`) and a real Graphite (`carbon-cache`),
//! started here on free ports with temporary folders, and a webhook; a sink down and
//! back loses nothing within the backlog's bound, and the bound drops the oldest.

mod daemons;
mod graphite;
mod influxdb;
mod influxdb2;
mod rest;
mod webhook;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use app::domain::TokenScope;
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::Value;

use crate::{
    helpers::{TestApp, TestUser, eventually, spawn_app_with_standin},
    standin::StandIn,
};

pub const LEPTOS: &str = "https://github.com/leptos-rs/leptos";
/// A secret key for the tests' apps: sinks' secrets are encrypted with it.
pub const SECRET_KEY: &str = "0123456789abcdef0123456789abcdef-sinks";

/// The app tracking leptos-rs/leptos (19,000 stars) in a member's workspace, allowed to
/// reach loopback sinks, with `env`: the stand-in, the app, the member's read-write
/// user, their token and the tracker's id.
pub async fn tracking_app(
    env: Vec<(&'static str, String)>,
) -> (StandIn, TestApp, TestUser, String, String) {
    let mut vars = vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".to_string()),
        ("UPCOUNT_SECRET_KEY", SECRET_KEY.to_string()),
        ("UPCOUNT_DISPATCH_INTERVAL_MS", "100".to_string()),
    ];
    vars.extend(env);
    let (standin, app) = spawn_app_with_standin(vars).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    let (user, token) = app.member_with_token(TokenScope::Write).await;
    let tracker = app.track(&token, LEPTOS).await;
    app.history_loaded().await;
    (standin, app, user, token, tracker)
}

/// Makes a sink; its JSON (with a webhook's secret).
pub async fn make_sink(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, answer) = app.api_post("/api/v1/sinks", token, body).await;
    assert_eq!(status, 201, "{answer}");
    answer["sink"].clone()
}

/// The first (only) sink of the token's workspace as the API lists it.
pub async fn listed(app: &TestApp, token: &str) -> Value {
    let (_, answer) = app.api_get("/api/v1/sinks", token).await;
    answer["sinks"][0].clone()
}

/// Makes every sink due now (past any backoff).
pub async fn make_sinks_due(app: &TestApp) {
    sqlx::query("UPDATE sinks SET next_attempt_at = now()")
        .execute(&app.pool)
        .await
        .expect("make the sinks due");
}

/// Waits until the sink, made due again and again, is listed as `check` wants.
pub async fn sink_until(
    app: &TestApp,
    token: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(Duration::from_secs(40), what, || async {
        make_sinks_due(app).await;
        let sink = listed(app, token).await;
        check(&sink).then_some(sink)
    })
    .await
}

/// Every polled sample of the stars metric (not the first, which adding the tracker took),
/// oldest first: what a sink of every tracker gets.
pub async fn polled_stars(app: &TestApp) -> Vec<(i64, f64)> {
    sqlx::query_as(
        "SELECT floor(extract(epoch FROM s.t) * 1000)::bigint, s.value FROM samples s
         JOIN source_metrics m ON m.id = s.metric_id AND m.name = 'stars'
         WHERE s.t > (SELECT min(t) FROM samples) ORDER BY s.t",
    )
    .fetch_all(&app.pool)
    .await
    .expect("the polled samples")
}

/// Polls now (the workers must run): the stars the stand-in answered.
pub async fn poll_with(app: &TestApp, standin: &StandIn, stars: u64) {
    standin.set_github_repo("leptos-rs/leptos", stars);
    crate::polling::poll_now(app).await;
}

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    down: AtomicBool,
}

/// A webhook endpoint on loopback that can be taken down (503) and brought back.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/sink", post(receive))
            .with_state(inner.clone());
        let address = crate::helpers::serve_on_loopback(app).await;
        Receiver {
            url: format!("http://{address}/sink"),
            inner,
        }
    }

    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    /// What it took (not what it answered 503 to).
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().expect("the receiver").clone()
    }

    /// The points of every batch taken, in order.
    pub fn points(&self) -> Vec<Value> {
        self.received()
            .iter()
            .flat_map(|received| {
                let body: Value = serde_json::from_slice(&received.body).expect("JSON");
                body["points"].as_array().cloned().unwrap_or_default()
            })
            .collect()
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if inner.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    inner
        .received
        .lock()
        .expect("the receiver")
        .push(Received { headers, body });
    StatusCode::OK
}
