//! `GET /healthz` (the process is alive) and `GET /readyz` (it can serve: the database
//! answers and every migration is applied). Both answer JSON and are never cached.

use std::time::Duration;

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use sqlx::PgPool;

use crate::db;

/// How long `/readyz` waits for the database before it reports it as down.
const READINESS_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

pub async fn healthz() -> Response {
    no_store(
        StatusCode::OK,
        Json(Health {
            status: "ok",
            version: env!("CARGO_PKG_VERSION"),
        }),
    )
}

pub async fn readyz(State(pool): State<PgPool>) -> Response {
    match db::readiness(&pool, READINESS_TIMEOUT).await {
        Ok(()) => no_store(
            StatusCode::OK,
            Json(Readiness {
                status: "ready",
                reason: None,
            }),
        ),
        Err(not_ready) => {
            // The reason (connection errors, migration names) goes to the log only.
            tracing::warn!(reason = %not_ready, "not ready");
            no_store(
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Readiness {
                    status: "unavailable",
                    reason: Some("database unavailable"),
                }),
            )
        }
    }
}

fn no_store(status: StatusCode, body: impl IntoResponse) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}
