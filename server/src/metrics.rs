//! Prometheus metrics: the process-wide recorder the `metrics` macros write to, the
//! `/metrics` endpoint (basic auth from `UPCOUNT_METRICS_USER`/`_PASSWORD`, 404 while
//! unset), HTTP request counts and latencies by route and status, and gauges read at
//! scrape time (job queues, the database pool).

use std::{sync::OnceLock, time::Instant};

use app::server::state::AppState;
use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};

/// Latency buckets (seconds): 1 ms to 30 s.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The recorder, installed on first use (once per process, however many servers a test
/// process starts).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(error) => {
                    tracing::warn!(error = %error, "no metrics: the recorder could not be installed");
                    None
                }
            }
        })
        .as_ref()
}

/// The route label of a request: its path with ids replaced by `{id}`, so that the
/// number of series stays bounded; a 404 is `(unmatched)` whatever its path.
pub fn route_label(path: &str, status: StatusCode) -> String {
    if status == StatusCode::NOT_FOUND {
        return "(unmatched)".into();
    }
    for prefix in ["/pkg/", "/vendor/", "/stripe-standin/", "/badge/", "/s/"] {
        if path.starts_with(prefix) {
            return format!("{}*", prefix);
        }
    }
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| {
            let id_like = segment.len() >= 16
                || (!segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit()));
            if id_like { "{id}" } else { segment }
        })
        .collect();
    segments.join("/")
}

/// Counts and times every request.
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    let route = route_label(&path, status);
    metrics::counter!(
        "upcount_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.as_u16().to_string()
    )
    .increment(1);
    metrics::histogram!("upcount_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Whether `Authorization: Basic …` carries `user:password` (compared as digests, so the
/// time taken says nothing about how much of it matched).
fn authorised(headers: &HeaderMap, user: &str, password: &str) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let given = String::from_utf8_lossy(&decoded);
    digest(&given) == digest(&format!("{user}:{password}"))
}

/// `GET /metrics`: the Prometheus text format.
pub async fn endpoint(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some((user, password)) = &state.web.metrics_credentials else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !authorised(&headers, user, password) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"upcount metrics\"")],
            "Metrics need the user and password of UPCOUNT_METRICS_USER/_PASSWORD.",
        )
            .into_response();
    }
    let Some(handle) = handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "Metrics are not being recorded.",
        )
            .into_response();
    };
    record_gauges(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Gauges read when scraped: the database pool and the job queues.
async fn record_gauges(state: &AppState) {
    let pool = &state.pool;
    metrics::gauge!("upcount_db_pool_connections", "state" => "open").set(f64::from(pool.size()));
    metrics::gauge!("upcount_db_pool_connections", "state" => "idle").set(pool.num_idle() as f64);
    let queues: Result<Vec<(String, String, i64)>, sqlx::Error> = sqlx::query_as(
        "SELECT job_type, status, count(*) FROM apalis.jobs GROUP BY job_type, status",
    )
    .fetch_all(pool)
    .await;
    match queues {
        Ok(rows) => {
            for (queue, status, count) in rows {
                metrics::gauge!("upcount_jobs", "queue" => queue, "status" => status)
                    .set(count as f64);
            }
        }
        Err(error) => tracing::warn!(error = %error, "could not count the job queues"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_labelled_without_ids() {
        let ok = StatusCode::OK;
        assert_eq!(
            route_label(
                "/api/v1/trackers/0b6e3c1e-6f1a-4c2e-9d7e-1a2b3c4d5e6f/series",
                ok
            ),
            "/api/v1/trackers/{id}/series"
        );
        assert_eq!(
            route_label("/admin/sources/42/pause", ok),
            "/admin/sources/{id}/pause"
        );
        assert_eq!(route_label("/pkg/upcount.abc.wasm", ok), "/pkg/*");
        assert_eq!(route_label("/dashboard", ok), "/dashboard");
        assert_eq!(
            route_label("/wp-login.php", StatusCode::NOT_FOUND),
            "(unmatched)"
        );
    }

    #[test]
    fn basic_auth_must_match_exactly() {
        let mut headers = HeaderMap::new();
        assert!(!authorised(&headers, "prom", "secret password"));
        let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {}", encode("prom:secret password"))
                .parse()
                .expect("header"),
        );
        assert!(authorised(&headers, "prom", "secret password"));
        assert!(!authorised(&headers, "prom", "secret passwor"));
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {}", encode("prom:wrong"))
                .parse()
                .expect("header"),
        );
        assert!(!authorised(&headers, "prom", "secret password"));
    }
}
