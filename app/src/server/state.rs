//! The state every request handler and server function can reach.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;

/// Shared, cheap-to-clone state of the web process. Server functions get it with
/// `expect_context::<AppState>()`; axum handlers with `State<AppState>`.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
}
