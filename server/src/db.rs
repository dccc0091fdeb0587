//! The PostgreSQL pool, the migrations and the readiness check.

use std::{collections::HashSet, time::Duration};

use apalis_postgres::PostgresStorage;
use sqlx::{
    PgPool,
    migrate::{MigrateError, Migrator},
    postgres::PgPoolOptions,
};

use crate::config::DatabaseSettings;

/// Upcount's own migrations (`migrations/`), embedded in the binary. They are recorded in
/// `public._sqlx_migrations`; apalis keeps its own in `apalis._sqlx_migrations`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Creates the pool without connecting: the web server starts, and `/readyz` reports,
/// even while the database is away; connections are made (and remade) on demand.
pub fn pool(settings: &DatabaseSettings) -> PgPool {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(settings.connect_options.clone())
}

/// Applies every pending migration: apalis's job tables, then Upcount's. Safe to run from
/// several processes at once (sqlx holds an advisory lock while it migrates).
#[tracing::instrument(skip_all)]
pub async fn migrate(pool: &PgPool) -> Result<(), MigrationError> {
    PostgresStorage::<()>::setup(pool)
        .await
        .map_err(|error| MigrationError::Apalis(error.to_string()))?;
    MIGRATOR.run(pool).await.map_err(MigrationError::Upcount)?;
    tracing::info!("database migrations are up to date");
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("could not apply the job queue's migrations: {0}")]
    Apalis(String),
    #[error("could not apply Upcount's migrations: {0}")]
    Upcount(#[source] MigrateError),
}

/// Why the database cannot serve requests yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("database unreachable: {0}")]
    Unreachable(String),
    #[error("database did not answer within {0} seconds")]
    Timeout(u64),
    #[error("migrations not applied: {0}")]
    MigrationsPending(String),
}

/// Checks that the database answers and that every migration this binary knows of has
/// been applied.
pub async fn readiness(pool: &PgPool, timeout: Duration) -> Result<(), NotReady> {
    match tokio::time::timeout(timeout, check_migrations(pool)).await {
        Ok(result) => result,
        Err(_) => Err(NotReady::Timeout(timeout.as_secs())),
    }
}

async fn check_migrations(pool: &PgPool) -> Result<(), NotReady> {
    let apalis = PostgresStorage::<()>::migrations();
    let mut pending = Vec::new();
    for (table, migrator) in [
        ("apalis._sqlx_migrations", &apalis),
        ("public._sqlx_migrations", &MIGRATOR),
    ] {
        // `table` is one of the two constants above.
        let sql = sqlx::AssertSqlSafe(format!("SELECT version FROM {table} WHERE success"));
        let applied: HashSet<i64> = match sqlx::query_scalar::<_, i64>(sql).fetch_all(pool).await {
            Ok(versions) => versions.into_iter().collect(),
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("42P01") => {
                // The bookkeeping table itself is missing: nothing was ever applied.
                HashSet::new()
            }
            Err(error) => return Err(NotReady::Unreachable(error.to_string())),
        };
        pending.extend(
            migrator
                .iter()
                .filter(|migration| !migration.migration_type.is_down_migration())
                .filter(|migration| !applied.contains(&migration.version))
                .map(|migration| format!("{} {}", migration.version, migration.description)),
        );
    }
    if pending.is_empty() {
        Ok(())
    } else {
        Err(NotReady::MigrationsPending(format!(
            "{} pending ({}); run `upcount migrate`",
            pending.len(),
            pending.join(", ")
        )))
    }
}
