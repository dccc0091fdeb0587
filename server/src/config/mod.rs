//! Settings, read once at startup from the environment.
//!
//! Every setting is an environment variable: `DATABASE_URL`, `RUST_LOG`, Leptos's
//! `LEPTOS_SITE_ADDR`, and everything else prefixed `UPCOUNT_`. The README lists them all
//! in one table. A missing or malformed value is a [`ConfigError`] that names the variable;
//! `main` prints it as one line and exits with code 2.

mod auth;
mod billing;
mod database;
mod email;
mod env;
mod jobs;
mod tracking;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use url::Url;

pub use auth::AuthSettings;
pub use billing::{BillingSettings, STANDIN_PRICES};
pub use database::DatabaseSettings;
pub use email::EmailSettings;
use env::{Env, Lookup};
pub use jobs::JobSettings;
pub use tracking::TrackingSettings;

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
    pub email: EmailSettings,
    /// `UPCOUNT_METRICS_USER` and `UPCOUNT_METRICS_PASSWORD`: basic auth for `/metrics`
    /// (404 while unset).
    pub metrics_credentials: Option<(String, String)>,
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
            .field("email", &self.email)
            .field(
                "metrics_credentials",
                &self.metrics_credentials.as_ref().map(|(user, _)| user),
            )
            .finish()
    }
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
        let public_url = public_url(&env)?;
        Ok(Settings {
            database: DatabaseSettings::from_env(&env)?,
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
            log_filter: log_filter(&env)?,
            shutdown_timeout: env.seconds("UPCOUNT_SHUTDOWN_TIMEOUT_SECS", 30, 1..=3_600)?,
            request_timeout: env.seconds("UPCOUNT_REQUEST_TIMEOUT_SECS", 30, 1..=3_600)?,
            write_timeout: env.seconds("UPCOUNT_WRITE_TIMEOUT_SECS", 30, 1..=3_600)?,
            jobs: JobSettings::from_env(&env)?,
            auth: AuthSettings::from_env(&env)?,
            tracking: TrackingSettings::from_env(&env)?,
            billing: BillingSettings::from_env(&env)?,
            email: EmailSettings::from_env(&env)?,
            metrics_credentials: metrics_credentials(&env)?,
        })
    }
}

/// The default log filter when `RUST_LOG` is unset.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,tower_http=warn";

fn public_url<F: Lookup>(env: &Env<F>) -> Result<Option<Url>, ConfigError> {
    const VAR: &str = "UPCOUNT_PUBLIC_URL";
    let Some(value) = env.optional(VAR)? else {
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

fn metrics_credentials<F: Lookup>(env: &Env<F>) -> Result<Option<(String, String)>, ConfigError> {
    match (
        env.optional("UPCOUNT_METRICS_USER")?,
        env.optional("UPCOUNT_METRICS_PASSWORD")?,
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

fn log_filter<F: Lookup>(env: &Env<F>) -> Result<String, ConfigError> {
    let filter = env.string("RUST_LOG", DEFAULT_LOG_FILTER)?;
    tracing_subscriber::EnvFilter::try_new(&filter).map_err(|error| {
        ConfigError::new("RUST_LOG", format!("is not a valid log filter ({error})"))
    })?;
    Ok(filter)
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
                .base_url(app::server::tracking::providers::github::GITHUB)
                .map(Url::as_str),
            Some("https://api.github.com/")
        );
        assert_eq!(
            tracking.requests_per_minute(app::server::tracking::providers::github::GITHUB),
            1
        );
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
            ("UPCOUNT_SMTP_URL", "http://smtp.example"),
            ("UPCOUNT_SMTP_URL", "not a url"),
            ("UPCOUNT_EMAIL_FROM", "nobody"),
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
        assert_eq!(
            tracking.requests_per_minute(app::server::tracking::providers::github::GITHUB),
            80
        );
        assert_eq!(tracking.allowed_targets.len(), 2);
        assert!(tracking.secret_key.is_some());
        assert_eq!(
            tracking
                .base_url(app::server::tracking::providers::github::GITHUB)
                .map(Url::as_str),
            Some("http://127.0.0.1:9000/github")
        );
        let printed = format!("{settings:?}");
        for secret in ["ghp_supersecret", "twitch-secret", "0123456789abcdef"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn the_smtp_password_never_prints() {
        let settings = settings(&[(
            "UPCOUNT_SMTP_URL",
            "smtps://mailer:smtp-s3cret@smtp.example:465",
        )])
        .expect("valid");
        assert_eq!(
            settings.email.display_target().as_deref(),
            Some("smtps://mailer:***@smtp.example:465")
        );
        let printed = format!("{settings:?}");
        assert!(!printed.contains("smtp-s3cret"), "{printed}");
        let error = error_for(&[("UPCOUNT_SMTP_URL", "http://mailer:smtp-s3cret@smtp.example")]);
        assert!(!error.to_string().contains("smtp-s3cret"), "{error}");
        assert_eq!(
            settings.email.from.to_string(),
            "Upcount <upcount@localhost>"
        );
        assert_eq!(self::settings(&[]).expect("valid").email.smtp_url, None);
    }

    #[test]
    fn reddit_credentials_open_the_oauth_api() {
        use app::server::tracking::providers::reddit::{REDDIT, REDDIT_AUTH};
        let public = settings(&[]).expect("valid");
        let public = &public.tracking.engine;
        let url = |config: &app::server::tracking::TrackingConfig, service| {
            config.base_url(service).map(|url| url.to_string())
        };
        assert_eq!(
            url(public, REDDIT).as_deref(),
            Some("https://www.reddit.com/")
        );
        assert_eq!(public.requests_per_minute(REDDIT), 10);
        assert_eq!(public.setting("UPCOUNT_REDDIT_USER_AGENT"), None);

        let agent = "linux:dev.upcount:1.0.0 (by /u/upcount_ops)";
        let oauth = settings(&[
            ("UPCOUNT_REDDIT_CLIENT_ID", "client"),
            ("UPCOUNT_REDDIT_CLIENT_SECRET", "reddit-secret"),
            ("UPCOUNT_REDDIT_USER_AGENT", agent),
        ])
        .expect("valid");
        let printed = format!("{oauth:?}");
        assert!(!printed.contains("reddit-secret"), "{printed}");
        let oauth = &oauth.tracking.engine;
        assert_eq!(
            url(oauth, REDDIT).as_deref(),
            Some("https://oauth.reddit.com/")
        );
        assert_eq!(
            url(oauth, REDDIT_AUTH).as_deref(),
            Some("https://www.reddit.com/")
        );
        assert_eq!(oauth.requests_per_minute(REDDIT), 100);
        assert_eq!(oauth.setting("UPCOUNT_REDDIT_USER_AGENT"), Some(agent));

        // A set URL wins either way.
        let pointed = settings(&[
            ("UPCOUNT_REDDIT_CLIENT_ID", "client"),
            ("UPCOUNT_REDDIT_CLIENT_SECRET", "secret"),
            ("UPCOUNT_REDDIT_API_URL", "http://127.0.0.1:9000/reddit"),
        ])
        .expect("valid");
        assert_eq!(
            url(&pointed.tracking.engine, REDDIT).as_deref(),
            Some("http://127.0.0.1:9000/reddit")
        );
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
