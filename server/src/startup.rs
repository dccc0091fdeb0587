//! Building and running the processes: the web server and the background workers.

use std::{future::IntoFuture, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use app::server::{
    billing::{Billing, BillingConfig, BillingMode},
    state::{AppState, WebConfig},
    tracking::Engine,
};
use axum::Router;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    db, jobs,
    listener::{PeerAddr, TimeoutListener},
    router,
};

/// The web server, bound to its address but not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    write_timeout: Duration,
}

impl Application {
    /// Binds `LEPTOS_SITE_ADDR` (port 0 picks a free port, as tests do) and builds the router.
    pub async fn build(settings: &Settings, pool: PgPool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.site_addr)
            .await
            .with_context(|| {
                format!(
                    "could not listen on {} (LEPTOS_SITE_ADDR)",
                    settings.site_addr
                )
            })?;
        let address = listener
            .local_addr()
            .context("the listener has no local address")?;
        // Metrics are recorded from the start (the endpoint may stay closed).
        crate::metrics::handle();
        let web = web_config(settings, address);
        let billing = billing(settings, &web.public_origin)?;
        let state = AppState {
            leptos_options: leptos_options(settings, address),
            jobs: Arc::new(jobs::ApalisQueue::new(pool.clone())),
            pool,
            engine: engine(settings)?,
            billing,
            web: Arc::new(web),
        };
        Ok(Self {
            listener,
            router: router::build(state),
            write_timeout: settings.write_timeout,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish for at
    /// most `grace`.
    pub async fn run_until_stopped(
        self,
        shutdown: CancellationToken,
        grace: Duration,
    ) -> std::io::Result<()> {
        let listener = TimeoutListener::new(self.listener, self.write_timeout);
        serve(listener, self.router, shutdown, grace).await
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled. New connections are refused
/// from then on; requests already being handled get up to `grace` to finish.
pub async fn serve(
    listener: TimeoutListener,
    router: Router,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    if let Ok(address) = axum::serve::Listener::local_addr(&listener) {
        tracing::info!(%address, "web server listening");
    }
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<PeerAddr>(),
    )
    .with_graceful_shutdown(shutdown.clone().cancelled_owned())
    .into_future();
    let deadline = async {
        shutdown.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => {
            tracing::info!("web server stopped");
            result
        }
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the shutdown timeout; stopping anyway");
            Ok(())
        }
    }
}

/// The tracking engine the settings describe.
pub fn engine(settings: &Settings) -> anyhow::Result<Arc<Engine>> {
    Engine::new(settings.tracking.engine.clone())
        .map(Arc::new)
        .context("could not set up the HTTP client for upstream APIs")
}

/// The Stripe client and billing settings; `public_origin` is where the site (and the
/// stand-in, when no secret key is set) is reached.
pub fn billing(settings: &Settings, public_origin: &str) -> anyhow::Result<Arc<Billing>> {
    // Both of rustls's crypto back ends are compiled in (sqlx and reqwest each bring one):
    // Stripe's client needs the process default chosen. A second call changes nothing.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let billing = &settings.billing;
    let mode = match (&billing.secret_key, billing.standin) {
        (Some(_), _) => BillingMode::Stripe,
        (None, true) => BillingMode::StandIn,
        (None, false) => BillingMode::Off,
    };
    let api_url = match (&billing.api_url, mode) {
        (Some(url), _) => url.clone(),
        (None, BillingMode::StandIn) => {
            url::Url::parse(&format!("{public_origin}{}/", crate::stripe_standin::BASE))?
        }
        // Off: never called.
        (None, BillingMode::Stripe | BillingMode::Off) => {
            url::Url::parse("https://api.stripe.com/")?
        }
    };
    let webhook_secret = billing
        .webhook_secret
        .clone()
        .unwrap_or_else(|| format!("whsec_standin_{}", hex::encode(rand::random::<[u8; 24]>())));
    let config = BillingConfig {
        mode,
        secret_key: billing.secret_key.clone(),
        api_url,
        webhook_secret,
        prices: billing.prices.clone(),
        grace: chrono::TimeDelta::days(billing.grace_days as i64),
        public_origin: public_origin.to_string(),
    };
    Billing::new(config)
        .map(Arc::new)
        .context("could not set up the Stripe client")
}

/// The public origin of a process that does not serve the site (a worker): the public
/// URL, or `http://` and the address the web server listens on.
pub fn public_origin(settings: &Settings) -> String {
    web_config(settings, settings.site_addr).public_origin
}

/// The options Leptos renders with. The output name and file hashing are fixed when
/// cargo-leptos builds the binary; the rest comes from the settings.
pub fn leptos_options(settings: &Settings, address: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("upcount"))
        .site_root(settings.site_root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(address)
        .hash_files(assets_are_hashed())
        .build()
}

/// The web settings handlers need. Without `UPCOUNT_PUBLIC_URL`, the site's origin is
/// `http://` and the address the server listens on.
pub fn web_config(settings: &Settings, address: SocketAddr) -> WebConfig {
    let public_origin = match &settings.public_url {
        Some(url) => url.origin().ascii_serialization(),
        None => {
            let host = if address.ip().is_unspecified() {
                "127.0.0.1".to_string()
            } else {
                address.ip().to_string()
            };
            let host = if address.is_ipv6() && !address.ip().is_unspecified() {
                format!("[{host}]")
            } else {
                host
            };
            format!("http://{host}:{}", address.port())
        }
    };
    let (sign_in_per_email, sign_in_per_ip) = crate::routes::auth::quotas(&settings.auth);
    WebConfig {
        request_timeout: settings.request_timeout,
        secure_cookies: public_origin.starts_with("https://"),
        public_origin,
        sign_in_per_email,
        sign_in_per_ip,
        trusted_proxies: settings.auth.trusted_proxies.clone(),
        metrics_credentials: settings.metrics_credentials.clone(),
        email_delivery: settings.email.display_target(),
    }
}

/// cargo-leptos hashes the asset file names and writes them to `hash.txt` next to the
/// binary. Without that file (a binary copied without it, or a test binary) the pages link
/// the unhashed names instead of failing.
fn assets_are_hashed() -> bool {
    if option_env!("LEPTOS_HASH_FILES") != Some("true") {
        return false;
    }
    let hash_file = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")));
    match hash_file {
        Some(path) if path.is_file() => true,
        _ => {
            tracing::warn!("hash.txt is not next to the binary: pages link unhashed asset names");
            false
        }
    }
}

async fn serve_web(
    settings: &Settings,
    pool: PgPool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let application = Application::build(settings, pool).await?;
    application
        .run_until_stopped(shutdown, settings.shutdown_timeout)
        .await
        .context("the web server failed")
}

/// Which parts of the server a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The web server and the background workers.
    All,
    /// Only the web server.
    Web,
    /// Only the background workers.
    Worker,
}

/// Runs a long-lived process until `shutdown` is cancelled: applies migrations (unless
/// `UPCOUNT_RUN_MIGRATIONS=false`), then serves and/or works.
pub async fn run(
    settings: Settings,
    role: Role,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = db::pool(&settings.database);
    if settings.database.run_migrations {
        db::migrate(&pool).await.with_context(|| {
            format!(
                "could not migrate the database at {}",
                settings.database.display_target()
            )
        })?;
    }

    // Whichever part stops first (on a signal, or because it failed) stops the other, and
    // both get to finish what they are doing.
    let web = async {
        if role == Role::Worker {
            return Ok(());
        }
        let result = serve_web(&settings, pool.clone(), shutdown.clone()).await;
        shutdown.cancel();
        result
    };
    let workers = async {
        if role == Role::Web {
            return Ok(());
        }
        let result = match engine(&settings) {
            Ok(engine) => jobs::run(pool.clone(), &settings, engine, shutdown.clone()).await,
            Err(error) => Err(error),
        };
        shutdown.cancel();
        result
    };
    let (web, workers) = tokio::join!(web, workers);
    let result = web.and(workers);
    pool.close().await;
    result
}
