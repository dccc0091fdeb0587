//! Prometheus metrics: the process-wide recorder the `metrics` macros write to, the
//! `/metrics` endpoint (basic auth from `UPCOUNT_METRICS_USER`/`_PASSWORD`, 404 while
//! unset), HTTP request counts and latencies by route and status, and gauges read at
//! scrape time (job queues, the database pool).

use std::{sync::OnceLock, time::Instant};

use app::server::state::AppState;
use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, Method, StatusCode, header},
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

/// The route template a request matched (`/api/v1/trackers/{id}`, `/pkg/*`), or
/// `(unmatched)`: never the path itself, which may carry ids and tokens. Metrics label
/// requests with it and logs name requests by it, so series stay bounded and share and
/// badge tokens stay out of both.
pub fn route_template(extensions: &axum::http::Extensions) -> String {
    match extensions.get::<MatchedPath>() {
        Some(matched) => {
            let template = matched.as_str();
            match template.find("{*") {
                // A nested service (`/pkg`, `/vendor`): its prefix.
                Some(tail) => format!("{}*", &template[..tail]),
                None => template.to_string(),
            }
        }
        None => "(unmatched)".to_string(),
    }
}

/// The method label of a request: one of a fixed set, `other` for anything else.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request.
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = route_template(request.extensions());
    let response = next.run(request).await;
    let status = response.status();
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
    let queues = sqlx::query!(
        r#"SELECT job_type, status, count(*) AS "count!" FROM apalis.jobs GROUP BY job_type, status"#
    )
    .fetch_all(pool)
    .await;
    match queues {
        Ok(rows) => {
            for row in rows {
                let (queue, status, count) = (row.job_type, row.status, row.count);
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
    fn methods_come_from_a_fixed_set() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        let odd = Method::from_bytes(b"BREW").expect("a method");
        assert_eq!(method_label(&odd), "other");
        assert_eq!(method_label(&Method::CONNECT), "other");
    }

    #[test]
    fn requests_without_a_matched_route_are_unmatched() {
        assert_eq!(
            route_template(&axum::http::Extensions::new()),
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
