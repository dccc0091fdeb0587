//! The state every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;

use super::{billing::Billing, jobs::JobQueue, rate_limit::Quota, tracking::Engine};

/// Shared, cheap-to-clone state of the web process. Server functions get it with
/// `expect_context::<AppState>()`; axum handlers with `State<AppState>`.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub web: Arc<WebConfig>,
    /// The tracking engine: providers, the outbound HTTP client and its rate limits.
    pub engine: Arc<Engine>,
    /// Plans and payment: the Stripe client and its settings.
    pub billing: Arc<Billing>,
    /// The job queue: the console's figures, retrying and discarding jobs.
    pub jobs: Arc<dyn JobQueue>,
}

/// Settings of the web process that handlers need.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// `scheme://host[:port]` users reach the site at: state-changing requests must come
    /// from it (CSRF).
    pub public_origin: String,
    /// Mark cookies `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Sign-in (and sign-up) attempts allowed per email address.
    pub sign_in_per_email: Quota,
    /// Sign-in (and sign-up) attempts allowed per client address.
    pub sign_in_per_ip: Quota,
    /// Reverse proxies whose `X-Forwarded-For` header names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `UPCOUNT_METRICS_USER` / `UPCOUNT_METRICS_PASSWORD`: basic-auth credentials of
    /// `/metrics`, which answers 404 while they are unset.
    pub metrics_credentials: Option<(String, String)>,
    /// `UPCOUNT_REQUEST_TIMEOUT_SECS`: how long a request may take to produce its answer.
    pub request_timeout: std::time::Duration,
    /// Where email goes, for the admin console's outbox: the SMTP server without its
    /// password (`UPCOUNT_SMTP_URL`), or `None`: the log and the outbox only.
    pub email_delivery: Option<String>,
}
