//! `DATABASE_URL` and the pool.

use std::{str::FromStr, time::Duration};

use sqlx::postgres::PgConnectOptions;
use url::Url;

use super::{ConfigError, Env, Lookup};

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

impl DatabaseSettings {
    pub(super) fn from_env<F: Lookup>(env: &Env<F>) -> Result<Self, ConfigError> {
        const VAR: &str = "DATABASE_URL";
        let url = env.optional(VAR)?.ok_or_else(|| {
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
            .map_err(|_| ConfigError::new(VAR, "is not a valid PostgreSQL connection URL"))?
            // Every query here is short; PostgreSQL's JIT compiles a plan it misjudges as
            // costly for most of a second (measured: 850 ms around a 0.3 ms query).
            .options([("jit", "off")]);
        Ok(DatabaseSettings {
            connect_options,
            // Each job queue's worker listens on a connection of its own (seven of
            // them), and the web server and the jobs need room beside them.
            max_connections: env.bounded("UPCOUNT_DB_MAX_CONNECTIONS", 20, 1..=1_000)?,
            acquire_timeout: env.seconds("UPCOUNT_DB_ACQUIRE_TIMEOUT_SECS", 5, 1..=300)?,
            run_migrations: env.boolean("UPCOUNT_RUN_MIGRATIONS", true)?,
        })
    }
}
