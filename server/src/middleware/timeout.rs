//! A time limit on producing an answer: a request whose handler has not answered within
//! `UPCOUNT_REQUEST_TIMEOUT_SECS` gets a 503 saying so (its work is dropped). A streamed
//! body (an export) may take longer to send; the listener's write timeout covers that.

use std::time::Duration;

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};

pub async fn limit(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    let route = crate::metrics::route_template(request.extensions());
    let api = request.uri().path().starts_with("/api/");
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                route = %route,
                timeout_secs = timeout.as_secs(),
                "a request took too long and was stopped"
            );
            let message = format!(
                "This request took longer than {} seconds and was stopped. Please try again.",
                timeout.as_secs()
            );
            let status = StatusCode::SERVICE_UNAVAILABLE;
            if api {
                let body = serde_json::json!({ "error": message, "code": "timeout" });
                (status, axum::Json(body)).into_response()
            } else {
                (status, message).into_response()
            }
        }
    }
}
