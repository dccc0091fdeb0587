//! The tracking engine: every upstream service's URL, rate limit and credentials (from
//! the provider registry), the outbound guard, and polling.

use std::time::Duration;

use app::server::tracking::{TrackingConfig, config::IpNet, providers};
use sha2::{Digest, Sha256};
use url::Url;

use super::{ConfigError, Env, Lookup};

/// Settings of the tracking engine and its polling.
#[derive(Clone, Debug)]
pub struct TrackingSettings {
    /// What the engine itself needs: API URLs, credentials, rate limits, the outbound guard.
    pub engine: TrackingConfig,
    /// `UPCOUNT_DISPATCH_INTERVAL_MS`: how often a worker process looks for due sources.
    pub dispatch_interval: Duration,
    /// `UPCOUNT_DISPATCH_BATCH`: the most sources one dispatch claims.
    pub dispatch_batch: i64,
    /// `UPCOUNT_POLL_LEASE_SECS`: how long a claim on a source lasts unless renewed (the
    /// process holding it renews it every third of that); a crashed worker's sources are
    /// claimed again after it.
    pub lease: Duration,
    /// `UPCOUNT_POLL_CONCURRENCY`: poll jobs one worker process runs at once.
    pub concurrency: usize,
}

impl TrackingSettings {
    pub(super) fn from_env<F: Lookup>(env: &Env<F>) -> Result<Self, ConfigError> {
        let mut engine = TrackingConfig::default();
        let services = providers::services();
        for service in &services {
            for var in service
                .credentials()
                .map_or(&[][..], |credentials| credentials.vars)
            {
                if let Some(value) = env.optional(var)? {
                    engine.credentials.insert(var, value);
                }
            }
            for var in service.settings() {
                if let Some(value) = env.optional(var)? {
                    engine.settings.insert(var, value);
                }
            }
        }
        let mut base_urls = Vec::new();
        let mut rate_limits = Vec::new();
        for service in services {
            let has_credentials = engine.has_credentials(service);
            // A service may live elsewhere with credentials (Reddit's OAuth API).
            let default = service.default_base_url_for(has_credentials);
            if let (Some(default), Some(url_var)) = (default, service.url_var()) {
                let value = env.string(&url_var, default)?;
                let url = Url::parse(&value)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
                let url = url.ok_or_else(|| {
                    ConfigError::new(
                        &url_var,
                        format!("must be an http:// or https:// URL, not `{value}`"),
                    )
                })?;
                base_urls.push((service, url));
            }
            let default_rate = u64::from(service.default_requests_per_minute(has_credentials));
            let rate = env.bounded(&service.rate_var(), default_rate, 1..=1_000_000)?;
            rate_limits.push((service, rate));
        }
        engine.base_urls = base_urls;
        engine.rate_limits = rate_limits;
        engine.secret_key = match env.optional("UPCOUNT_SECRET_KEY")? {
            None => None,
            Some(key) if key.len() < 32 => {
                return Err(ConfigError::new(
                    "UPCOUNT_SECRET_KEY",
                    "must be at least 32 characters (for example `openssl rand -hex 32`)",
                ));
            }
            Some(key) => Some(Sha256::digest(key.as_bytes()).into()),
        };
        engine.allow_private_targets = env.boolean("UPCOUNT_ALLOW_PRIVATE_TARGETS", false)?;
        engine.allowed_targets = match env.optional("UPCOUNT_ALLOWED_TARGETS")? {
            None => Vec::new(),
            Some(value) => value
                .split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(|entry| {
                    entry
                        .parse::<IpNet>()
                        .map_err(|reason| ConfigError::new("UPCOUNT_ALLOWED_TARGETS", reason))
                })
                .collect::<Result<_, _>>()?,
        };
        engine.attempts = env.bounded("UPCOUNT_POLL_ATTEMPTS", 3, 1..=10)?;
        engine.retry_base =
            Duration::from_millis(env.bounded("UPCOUNT_POLL_RETRY_BASE_MS", 500, 1..=60_000)?);
        engine.default_interval =
            env.seconds("UPCOUNT_DEFAULT_INTERVAL_SECS", 900, 60..=2_592_000)?;
        engine.previews_per_minute = env.bounded("UPCOUNT_PREVIEWS_PER_MIN", 30, 1..=100_000)?;
        engine.interactive_share_percent =
            env.bounded("UPCOUNT_INTERACTIVE_SHARE_PERCENT", 20, 1..=100)?;
        Ok(TrackingSettings {
            engine,
            dispatch_interval: Duration::from_millis(env.bounded(
                "UPCOUNT_DISPATCH_INTERVAL_MS",
                1_000,
                50..=60_000,
            )?),
            dispatch_batch: env.bounded("UPCOUNT_DISPATCH_BATCH", 1_000, 1..=100_000)?,
            lease: env.seconds("UPCOUNT_POLL_LEASE_SECS", 30, 10..=3_600)?,
            concurrency: env.bounded("UPCOUNT_POLL_CONCURRENCY", 8, 1..=1_000)?,
        })
    }
}
