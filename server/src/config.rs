//! Settings, read once at startup from the environment.
//!
//! Every setting is an environment variable: `DATABASE_URL`, `RUST_LOG`, Leptos's
//! `LEPTOS_SITE_ADDR`, and everything else prefixed `UPCOUNT_`. The README lists them all
//! in one table. A missing or malformed value is a [`ConfigError`] that names the variable;
//! `main` prints it as one line and exits with code 2.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use app::server::tracking::{TrackingConfig, config::IpNet, providers};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use url::Url;

/// A setting that is missing or cannot be used, with the variable it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    pub var: String,
    pub reason: String,
}

impl ConfigError {
    fn new(var: &str, reason: impl Into<String>) -> Self {
        Self {
            var: var.to_string(),
            reason: reason.into(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// All settings of the process.
#[derive(Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    /// `LEPTOS_SITE_ADDR`: the address the web server listens on.
    pub site_addr: SocketAddr,
    /// `UPCOUNT_PUBLIC_URL`: the address users reach the site at (links, cookies, CSRF).
    /// Unset: `http://` and the address the server listens on.
    pub public_url: Option<Url>,
    /// `UPCOUNT_SITE_ROOT`: the folder cargo-leptos built the static site into.
    pub site_root: PathBuf,
    /// `UPCOUNT_LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `RUST_LOG`: which log lines are written.
    pub log_filter: String,
    /// `UPCOUNT_SHUTDOWN_TIMEOUT_SECS`: how long in-flight requests and jobs may take to
    /// finish after SIGTERM/SIGINT before the process exits anyway.
    pub shutdown_timeout: Duration,
    /// `UPCOUNT_REQUEST_TIMEOUT_SECS`: how long a request may take to produce its answer
    /// (a streamed body, such as an export, may take longer to send).
    pub request_timeout: Duration,
    /// `UPCOUNT_WRITE_TIMEOUT_SECS`: how long the server waits for a client to take any
    /// of what it sends before it closes the connection.
    pub write_timeout: Duration,
    pub jobs: JobSettings,
    pub auth: AuthSettings,
    pub tracking: TrackingSettings,
    pub billing: BillingSettings,
    /// `UPCOUNT_METRICS_USER` and `UPCOUNT_METRICS_PASSWORD`: basic auth for `/metrics`
    /// (404 while unset).
    pub metrics_credentials: Option<(String, String)>,
}

/// Plans and payment.
#[derive(Clone)]
pub struct BillingSettings {
    /// `STRIPE_SECRET_KEY`: real Stripe takes the payments.
    pub secret_key: Option<String>,
    /// `UPCOUNT_STRIPE_STANDIN=true`: without a secret key, the built-in Stripe stand-in
    /// takes (pretend) payments. Without either, billing is off: plans are shown but
    /// cannot be bought, and only `upcount admin set-plan` grants a paid plan.
    pub standin: bool,
    /// `STRIPE_WEBHOOK_SECRET`: verifies webhooks (required with a secret key; without
    /// one, a random secret shared with the stand-in).
    pub webhook_secret: Option<String>,
    /// `UPCOUNT_STRIPE_API_URL`: Stripe's API; unset: `https://api.stripe.com/` with a
    /// key, else the stand-in at `/stripe-standin/` on the site.
    pub api_url: Option<Url>,
    /// `UPCOUNT_STRIPE_PRICE_PRO` / `UPCOUNT_STRIPE_PRICE_BUSINESS`: (plan, price id).
    pub prices: Vec<(String, String)>,
    /// `UPCOUNT_BILLING_GRACE_DAYS`: how long a failed payment keeps the plan.
    pub grace_days: u64,
}

impl std::fmt::Debug for BillingSettings {
    // Hand-written: keys never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingSettings")
            .field("secret_key", &self.secret_key.as_ref().map(|_| "(set)"))
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "(set)"),
            )
            .field("api_url", &self.api_url.as_ref().map(Url::as_str))
            .field("prices", &self.prices)
            .field("grace_days", &self.grace_days)
            .finish()
    }
}

/// The prices the stand-in knows, used when no secret key is set.
pub const STANDIN_PRICES: [(&str, &str); 2] = [
    ("pro", "price_standin_pro"),
    ("business", "price_standin_business"),
];

/// Settings of the tracking engine and its polling.
#[derive(Clone, Debug)]
pub struct TrackingSettings {
    /// What the engine itself needs: API URLs, credentials, rate limits, the outbound guard.
    pub engine: TrackingConfig,
    /// `UPCOUNT_DISPATCH_INTERVAL_MS`: how often a worker process looks for due sources.
    pub dispatch_interval: Duration,
    /// `UPCOUNT_DISPATCH_BATCH`: the most sources one dispatch claims.
    pub dispatch_batch: i64,
    /// `UPCOUNT_POLL_LEASE_SECS`: how long a claimed source belongs to its job; after that
    /// (a crashed worker) it is claimed again.
    pub lease: Duration,
    /// `UPCOUNT_POLL_CONCURRENCY`: poll jobs one worker process runs at once.
    pub concurrency: usize,
}

/// Limits on signing in.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// `UPCOUNT_SIGN_IN_ATTEMPTS_PER_EMAIL`: attempts per email address per window.
    pub attempts_per_email: u32,
    /// `UPCOUNT_SIGN_IN_ATTEMPTS_PER_IP`: attempts per client address per window.
    pub attempts_per_ip: u32,
    /// `UPCOUNT_SIGN_IN_WINDOW_MINS`: the window.
    pub window: Duration,
    /// `UPCOUNT_TRUSTED_PROXIES`: reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl std::fmt::Debug for Settings {
    // Hand-written so that a stray `{:?}` can never print the database password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database", &self.database.display_target())
            .field("site_addr", &self.site_addr)
            .field("public_url", &self.public_url.as_ref().map(Url::as_str))
            .field("site_root", &self.site_root)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("jobs", &self.jobs)
            .field("auth", &self.auth)
            .field("tracking", &self.tracking)
            .field("billing", &self.billing)
            .field(
                "metrics_credentials",
                &self.metrics_credentials.as_ref().map(|(user, _)| user),
            )
            .finish()
    }
}

/// Where the database is and how the pool treats it.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// `DATABASE_URL`, parsed.
    pub connect_options: PgConnectOptions,
    /// `UPCOUNT_DB_MAX_CONNECTIONS`: connections per process.
    pub max_connections: u32,
    /// `UPCOUNT_DB_ACQUIRE_TIMEOUT_SECS`: how long a request waits for a connection.
    pub acquire_timeout: Duration,
    /// `UPCOUNT_RUN_MIGRATIONS`: apply pending migrations when a process starts.
    pub run_migrations: bool,
}

impl DatabaseSettings {
    /// `host:port/database`, for messages: never the user name or the password.
    pub fn display_target(&self) -> String {
        let options = &self.connect_options;
        format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("(default database)")
        )
    }
}

/// Settings of the background workers.
#[derive(Clone, Debug)]
pub struct JobSettings {
    /// `UPCOUNT_JOB_RETENTION_DAYS`: finished jobs and dead workers older than this are
    /// deleted by the daily `prune_jobs` job.
    pub retention: Duration,
    /// `UPCOUNT_SCHEDULER_TICK_SECS`: how often a worker process checks whether a periodic
    /// job is due.
    pub scheduler_tick: Duration,
    /// `UPCOUNT_JOB_POLL_INTERVAL_MS`: how often an idle worker looks for new jobs.
    pub poll_interval: Duration,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name))
    }

    /// Reads the settings through `lookup`, which answers like [`std::env::var`].
    pub fn from_lookup<F>(lookup: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Result<String, std::env::VarError>,
    {
        let env = Env(lookup);
        let site_addr = env.parsed(
            "LEPTOS_SITE_ADDR",
            "127.0.0.1:3000",
            "an address such as 127.0.0.1:3000",
        )?;
        let public_url = env.public_url()?;
        Ok(Settings {
            database: env.database()?,
            site_addr,
            public_url,
            site_root: PathBuf::from(env.string("UPCOUNT_SITE_ROOT", "target/site")?),
            log_format: match env.string("UPCOUNT_LOG_FORMAT", "text")?.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::new(
                        "UPCOUNT_LOG_FORMAT",
                        format!("must be `text` or `json`, not `{other}`"),
                    ));
                }
            },
            log_filter: env.log_filter()?,
            shutdown_timeout: env.seconds("UPCOUNT_SHUTDOWN_TIMEOUT_SECS", 30, 1..=3_600)?,
            request_timeout: env.seconds("UPCOUNT_REQUEST_TIMEOUT_SECS", 30, 1..=3_600)?,
            write_timeout: env.seconds("UPCOUNT_WRITE_TIMEOUT_SECS", 30, 1..=3_600)?,
            jobs: JobSettings {
                retention: Duration::from_secs(
                    86_400 * env.bounded("UPCOUNT_JOB_RETENTION_DAYS", 14, 1..=3_650)?,
                ),
                scheduler_tick: env.seconds("UPCOUNT_SCHEDULER_TICK_SECS", 60, 1..=3_600)?,
                poll_interval: Duration::from_millis(env.bounded(
                    "UPCOUNT_JOB_POLL_INTERVAL_MS",
                    1_000,
                    50..=60_000,
                )?),
            },
            auth: AuthSettings {
                attempts_per_email: u32::try_from(env.bounded(
                    "UPCOUNT_SIGN_IN_ATTEMPTS_PER_EMAIL",
                    10,
                    1..=10_000,
                )?)
                .unwrap_or(10),
                attempts_per_ip: u32::try_from(env.bounded(
                    "UPCOUNT_SIGN_IN_ATTEMPTS_PER_IP",
                    50,
                    1..=100_000,
                )?)
                .unwrap_or(50),
                trusted_proxies: env.ip_list("UPCOUNT_TRUSTED_PROXIES")?,
                window: Duration::from_secs(
                    60 * env.bounded("UPCOUNT_SIGN_IN_WINDOW_MINS", 15, 1..=1_440)?,
                ),
            },
            tracking: env.tracking()?,
            billing: env.billing()?,
            metrics_credentials: env.metrics_credentials()?,
        })
    }
}

/// The default log filter when `RUST_LOG` is unset.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,tower_http=warn";

struct Env<F>(F);

impl<F> Env<F>
where
    F: Fn(&str) -> Result<String, std::env::VarError>,
{
    /// The variable's value; `None` when unset or empty.
    fn optional(&self, var: &str) -> Result<Option<String>, ConfigError> {
        match (self.0)(var) {
            Ok(value) if value.trim().is_empty() => Ok(None),
            Ok(value) => Ok(Some(value.trim().to_string())),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(ConfigError::new(var, "is not valid UTF-8"))
            }
        }
    }

    fn string(&self, var: &str, default: &str) -> Result<String, ConfigError> {
        Ok(self.optional(var)?.unwrap_or_else(|| default.to_string()))
    }

    fn parsed<T: FromStr>(
        &self,
        var: &str,
        default: &str,
        expected: &str,
    ) -> Result<T, ConfigError> {
        let value = self.string(var, default)?;
        value
            .parse()
            .map_err(|_| ConfigError::new(var, format!("must be {expected}, not `{value}`")))
    }

    fn bounded(
        &self,
        var: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let Some(value) = self.optional(var)? else {
            return Ok(default);
        };
        match value.parse::<u64>() {
            Ok(number) if range.contains(&number) => Ok(number),
            _ => Err(ConfigError::new(
                var,
                format!(
                    "must be a whole number from {} to {}, not `{value}`",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    fn seconds(
        &self,
        var: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.bounded(var, default, range).map(Duration::from_secs)
    }

    fn boolean(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self
            .optional(var)?
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::new(
                var,
                format!("must be `true` or `false`, not `{other}`"),
            )),
        }
    }

    fn database(&self) -> Result<DatabaseSettings, ConfigError> {
        const VAR: &str = "DATABASE_URL";
        let url = self.optional(VAR)?.ok_or_else(|| {
            ConfigError::new(
                VAR,
                "is not set; it must be a PostgreSQL URL such as postgres://user@127.0.0.1:5432/upcount",
            )
        })?;
        // Parse with `url` first so that the message can never echo a password back.
        let parsed = Url::parse(&url)
            .map_err(|error| ConfigError::new(VAR, format!("is not a valid URL ({error})")))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(ConfigError::new(
                VAR,
                format!(
                    "must start with postgres:// or postgresql://, not {}://",
                    parsed.scheme()
                ),
            ));
        }
        let connect_options = PgConnectOptions::from_str(&url)
            .map_err(|_| ConfigError::new(VAR, "is not a valid PostgreSQL connection URL"))?;
        Ok(DatabaseSettings {
            connect_options,
            // Each job queue's worker listens on a connection of its own (seven of
            // them), and the web server and the jobs need room beside them.
            max_connections: u32::try_from(self.bounded(
                "UPCOUNT_DB_MAX_CONNECTIONS",
                20,
                1..=1_000,
            )?)
            .unwrap_or(20),
            acquire_timeout: self.seconds("UPCOUNT_DB_ACQUIRE_TIMEOUT_SECS", 5, 1..=300)?,
            run_migrations: self.boolean("UPCOUNT_RUN_MIGRATIONS", true)?,
        })
    }

    fn public_url(&self) -> Result<Option<Url>, ConfigError> {
        const VAR: &str = "UPCOUNT_PUBLIC_URL";
        let Some(value) = self.optional(VAR)? else {
            return Ok(None);
        };
        let url = Url::parse(&value).map_err(|error| {
            ConfigError::new(
                VAR,
                format!("must be a URL such as https://upcount.example, not `{value}` ({error})"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ConfigError::new(
                VAR,
                format!("must be an http:// or https:// URL with a host, not `{value}`"),
            ));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::new(
                VAR,
                format!(
                    "must be the site's origin without a path, such as https://upcount.example, not `{value}`"
                ),
            ));
        }
        Ok(Some(url))
    }

    fn ip_list(&self, var: &str) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        let Some(value) = self.optional(var)? else {
            return Ok(Vec::new());
        };
        value
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry.parse().map_err(|_| {
                    ConfigError::new(
                        var,
                        format!("must be IP addresses separated by commas, not `{entry}`"),
                    )
                })
            })
            .collect()
    }

    fn metrics_credentials(&self) -> Result<Option<(String, String)>, ConfigError> {
        match (
            self.optional("UPCOUNT_METRICS_USER")?,
            self.optional("UPCOUNT_METRICS_PASSWORD")?,
        ) {
            (None, None) => Ok(None),
            (Some(user), Some(password)) if password.len() >= 12 && !user.contains(':') => {
                Ok(Some((user, password)))
            }
            (Some(user), Some(_)) if user.contains(':') => Err(ConfigError::new(
                "UPCOUNT_METRICS_USER",
                "must not contain `:` (basic auth separates user and password with it)",
            )),
            (Some(_), Some(_)) => Err(ConfigError::new(
                "UPCOUNT_METRICS_PASSWORD",
                "must be at least 12 characters",
            )),
            (Some(_), None) => Err(ConfigError::new(
                "UPCOUNT_METRICS_PASSWORD",
                "must be set when UPCOUNT_METRICS_USER is",
            )),
            (None, Some(_)) => Err(ConfigError::new(
                "UPCOUNT_METRICS_USER",
                "must be set when UPCOUNT_METRICS_PASSWORD is",
            )),
        }
    }

    fn billing(&self) -> Result<BillingSettings, ConfigError> {
        let secret_key = self.optional("STRIPE_SECRET_KEY")?;
        let webhook_secret = self.optional("STRIPE_WEBHOOK_SECRET")?;
        let standin = self.boolean("UPCOUNT_STRIPE_STANDIN", false)?;
        if standin && secret_key.is_some() {
            return Err(ConfigError::new(
                "UPCOUNT_STRIPE_STANDIN",
                "cannot be true while STRIPE_SECRET_KEY is set: choose real Stripe or the stand-in",
            ));
        }
        if secret_key.is_some() && webhook_secret.is_none() {
            return Err(ConfigError::new(
                "STRIPE_WEBHOOK_SECRET",
                "must be set when STRIPE_SECRET_KEY is (the webhook endpoint's signing secret, whsec_…)",
            ));
        }
        let api_url = match self.optional("UPCOUNT_STRIPE_API_URL")? {
            None => None,
            Some(value) => {
                let url = Url::parse(&value)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
                    .ok_or_else(|| {
                        ConfigError::new(
                            "UPCOUNT_STRIPE_API_URL",
                            format!("must be an http:// or https:// URL, not `{value}`"),
                        )
                    })?;
                // The client appends `v1/…` to the base: it must end with a slash.
                let url = if url.path().ends_with('/') {
                    url
                } else {
                    Url::parse(&format!("{url}/")).unwrap_or(url)
                };
                Some(url)
            }
        };
        let mut prices = Vec::new();
        for (plan, var) in [
            ("pro", "UPCOUNT_STRIPE_PRICE_PRO"),
            ("business", "UPCOUNT_STRIPE_PRICE_BUSINESS"),
        ] {
            let price = match self.optional(var)? {
                Some(price) => Some(price),
                None if standin => STANDIN_PRICES
                    .iter()
                    .find(|(id, _)| *id == plan)
                    .map(|(_, price)| (*price).to_string()),
                None => None,
            };
            if let Some(price) = price {
                if !price.starts_with("price_") {
                    return Err(ConfigError::new(
                        var,
                        format!("must be a Stripe price id (price_…), not `{price}`"),
                    ));
                }
                prices.push((plan.to_string(), price));
            }
        }
        Ok(BillingSettings {
            secret_key,
            standin,
            webhook_secret,
            api_url,
            prices,
            grace_days: self.bounded("UPCOUNT_BILLING_GRACE_DAYS", 7, 0..=90)?,
        })
    }

    fn tracking(&self) -> Result<TrackingSettings, ConfigError> {
        let mut engine = TrackingConfig::default();
        let services = providers::services();
        for service in &services {
            for var in service
                .credentials()
                .map_or(&[][..], |credentials| credentials.vars)
            {
                if let Some(value) = self.optional(var)? {
                    engine.credentials.insert(var, value);
                }
            }
        }
        let mut base_urls = Vec::new();
        let mut rate_limits = Vec::new();
        for service in services {
            if let (Some(default), Some(url_var)) = (service.default_base_url(), service.url_var())
            {
                let value = self.string(&url_var, default)?;
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
            let has_credentials = engine.has_credentials(service);
            let default_rate = u64::from(service.default_requests_per_minute(has_credentials));
            let rate = self.bounded(&service.rate_var(), default_rate, 1..=1_000_000)?;
            rate_limits.push((service, u32::try_from(rate).unwrap_or(u32::MAX)));
        }
        engine.base_urls = base_urls;
        engine.rate_limits = rate_limits;
        engine.secret_key = match self.optional("UPCOUNT_SECRET_KEY")? {
            None => None,
            Some(key) if key.len() < 32 => {
                return Err(ConfigError::new(
                    "UPCOUNT_SECRET_KEY",
                    "must be at least 32 characters (for example `openssl rand -hex 32`)",
                ));
            }
            Some(key) => Some(Sha256::digest(key.as_bytes()).into()),
        };
        engine.allow_private_targets = self.boolean("UPCOUNT_ALLOW_PRIVATE_TARGETS", false)?;
        engine.allowed_targets = match self.optional("UPCOUNT_ALLOWED_TARGETS")? {
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
        engine.attempts =
            u32::try_from(self.bounded("UPCOUNT_POLL_ATTEMPTS", 3, 1..=10)?).unwrap_or(3);
        engine.retry_base =
            Duration::from_millis(self.bounded("UPCOUNT_POLL_RETRY_BASE_MS", 500, 1..=60_000)?);
        engine.default_interval =
            self.seconds("UPCOUNT_DEFAULT_INTERVAL_SECS", 900, 60..=2_592_000)?;
        engine.previews_per_minute =
            u32::try_from(self.bounded("UPCOUNT_PREVIEWS_PER_MIN", 30, 1..=100_000)?).unwrap_or(30);
        engine.interactive_share_percent =
            u32::try_from(self.bounded("UPCOUNT_INTERACTIVE_SHARE_PERCENT", 20, 1..=100)?)
                .unwrap_or(20);
        Ok(TrackingSettings {
            engine,
            dispatch_interval: Duration::from_millis(self.bounded(
                "UPCOUNT_DISPATCH_INTERVAL_MS",
                1_000,
                50..=60_000,
            )?),
            dispatch_batch: i64::try_from(self.bounded(
                "UPCOUNT_DISPATCH_BATCH",
                1_000,
                1..=100_000,
            )?)
            .unwrap_or(1_000),
            lease: self.seconds("UPCOUNT_POLL_LEASE_SECS", 600, 30..=86_400)?,
            concurrency: usize::try_from(self.bounded("UPCOUNT_POLL_CONCURRENCY", 8, 1..=1_000)?)
                .unwrap_or(8),
        })
    }

    fn log_filter(&self) -> Result<String, ConfigError> {
        let filter = self.string("RUST_LOG", DEFAULT_LOG_FILTER)?;
        tracing_subscriber::EnvFilter::try_new(&filter).map_err(|error| {
            ConfigError::new("RUST_LOG", format!("is not a valid log filter ({error})"))
        })?;
        Ok(filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut map: HashMap<String, String> = HashMap::new();
        map.insert(
            "DATABASE_URL".into(),
            "postgres://app:s3cret@db.internal:5433/upcount".into(),
        );
        for (key, value) in vars {
            map.insert((*key).into(), (*value).into());
        }
        Settings::from_lookup(|name| map.get(name).cloned().ok_or(std::env::VarError::NotPresent))
    }

    fn error_for(vars: &[(&str, &str)]) -> ConfigError {
        match settings(vars) {
            Ok(_) => panic!("expected a configuration error for {vars:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn defaults_apply_when_only_the_database_is_set() {
        let settings = settings(&[]).expect("defaults are valid");
        assert_eq!(
            settings.site_addr,
            "127.0.0.1:3000".parse().expect("address")
        );
        assert_eq!(settings.public_url, None);
        assert_eq!(settings.auth.attempts_per_email, 10);
        assert_eq!(settings.auth.window, Duration::from_secs(15 * 60));
        assert_eq!(settings.site_root, PathBuf::from("target/site"));
        assert_eq!(settings.log_format, LogFormat::Text);
        assert_eq!(settings.log_filter, DEFAULT_LOG_FILTER);
        assert_eq!(settings.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(settings.database.max_connections, 20);
        assert!(settings.database.run_migrations);
        assert_eq!(settings.jobs.retention, Duration::from_secs(14 * 86_400));
        let tracking = &settings.tracking.engine;
        assert_eq!(
            tracking
                .base_url(providers::github::GITHUB)
                .map(Url::as_str),
            Some("https://api.github.com/")
        );
        assert_eq!(tracking.requests_per_minute(providers::github::GITHUB), 1);
        assert!(!tracking.allow_private_targets);
        assert_eq!(tracking.default_interval, Duration::from_secs(900));
        assert_eq!(
            settings.database.display_target(),
            "db.internal:5433/upcount"
        );
    }

    #[test]
    fn missing_database_url_names_the_variable() {
        let error = Settings::from_lookup(|_| Err(std::env::VarError::NotPresent))
            .expect_err("DATABASE_URL is required");
        assert_eq!(error.var, "DATABASE_URL");
        assert!(error.to_string().starts_with("DATABASE_URL: is not set"));
    }

    #[test]
    fn database_url_errors_never_echo_the_password() {
        for url in [
            "mysql://app:s3cret@db/upcount",
            "postgres://app:s3cret@db:notaport/upcount",
        ] {
            let error = error_for(&[("DATABASE_URL", url)]);
            assert_eq!(error.var, "DATABASE_URL");
            assert!(!error.to_string().contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn debug_output_hides_the_database_credentials() {
        let settings = settings(&[]).expect("valid");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(!printed.contains("app@"), "{printed}");
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let cases = [
            ("LEPTOS_SITE_ADDR", "localhost"),
            ("UPCOUNT_PUBLIC_URL", "upcount.example"),
            ("UPCOUNT_PUBLIC_URL", "ftp://upcount.example"),
            ("UPCOUNT_PUBLIC_URL", "https://upcount.example/app"),
            ("UPCOUNT_LOG_FORMAT", "xml"),
            ("RUST_LOG", "info,[[["),
            ("UPCOUNT_SHUTDOWN_TIMEOUT_SECS", "0"),
            ("UPCOUNT_SHUTDOWN_TIMEOUT_SECS", "ten"),
            ("UPCOUNT_DB_MAX_CONNECTIONS", "-1"),
            ("UPCOUNT_DB_ACQUIRE_TIMEOUT_SECS", "1.5"),
            ("UPCOUNT_RUN_MIGRATIONS", "maybe"),
            ("UPCOUNT_JOB_RETENTION_DAYS", "0"),
            ("UPCOUNT_SCHEDULER_TICK_SECS", "99999"),
            ("UPCOUNT_JOB_POLL_INTERVAL_MS", "10"),
            ("UPCOUNT_SIGN_IN_ATTEMPTS_PER_EMAIL", "0"),
            ("UPCOUNT_SIGN_IN_ATTEMPTS_PER_IP", "many"),
            ("UPCOUNT_SIGN_IN_WINDOW_MINS", "99999"),
            ("UPCOUNT_TRUSTED_PROXIES", "10.0.0.1, proxy.internal"),
            ("UPCOUNT_GITHUB_API_URL", "api.github.com"),
            ("UPCOUNT_TWITCH_AUTH_API_URL", "ftp://id.twitch.tv"),
            ("UPCOUNT_REDDIT_RATE_PER_MIN", "0"),
            ("UPCOUNT_SECRET_KEY", "too-short"),
            ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "sometimes"),
            ("UPCOUNT_ALLOWED_TARGETS", "10.0.0.0/99"),
            ("UPCOUNT_POLL_ATTEMPTS", "0"),
            ("UPCOUNT_DEFAULT_INTERVAL_SECS", "30"),
            ("UPCOUNT_POLL_LEASE_SECS", "5"),
        ];
        for (var, value) in cases {
            let error = error_for(&[(var, value)]);
            assert_eq!(error.var, var, "{var}={value} gave {error}");
            assert!(!error.to_string().contains('\n'), "one line: {error}");
        }
    }

    #[test]
    fn upstream_credentials_raise_limits_and_never_print() {
        let settings = settings(&[
            ("UPCOUNT_GITHUB_TOKEN", "ghp_supersecret"),
            ("UPCOUNT_TWITCH_CLIENT_SECRET", "twitch-secret"),
            ("UPCOUNT_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("UPCOUNT_ALLOWED_TARGETS", "10.0.0.0/8, fd00::1"),
            ("UPCOUNT_GITHUB_API_URL", "http://127.0.0.1:9000/github"),
        ])
        .expect("valid");
        let tracking = &settings.tracking.engine;
        assert_eq!(tracking.requests_per_minute(providers::github::GITHUB), 80);
        assert_eq!(tracking.allowed_targets.len(), 2);
        assert!(tracking.secret_key.is_some());
        assert_eq!(
            tracking
                .base_url(providers::github::GITHUB)
                .map(Url::as_str),
            Some("http://127.0.0.1:9000/github")
        );
        let printed = format!("{settings:?}");
        for secret in ["ghp_supersecret", "twitch-secret", "0123456789abcdef"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn values_are_trimmed_and_parsed() {
        let settings = settings(&[
            ("LEPTOS_SITE_ADDR", " 0.0.0.0:8080 "),
            ("UPCOUNT_PUBLIC_URL", "https://upcount.example"),
            ("UPCOUNT_LOG_FORMAT", "json"),
            ("UPCOUNT_RUN_MIGRATIONS", "false"),
            ("UPCOUNT_DB_MAX_CONNECTIONS", "25"),
            ("UPCOUNT_JOB_RETENTION_DAYS", "3"),
            ("UPCOUNT_TRUSTED_PROXIES", "10.0.0.1, ::1"),
        ])
        .expect("valid");
        assert_eq!(settings.site_addr.port(), 8080);
        assert_eq!(settings.public_url.as_ref().map(Url::scheme), Some("https"));
        assert_eq!(settings.log_format, LogFormat::Json);
        assert!(!settings.database.run_migrations);
        assert_eq!(settings.database.max_connections, 25);
        assert_eq!(settings.jobs.retention, Duration::from_secs(3 * 86_400));
        assert_eq!(settings.auth.trusted_proxies.len(), 2);
    }
}
