//! tower-sessions' `SessionStore` over the app's sqlx pool (table `sessions`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store,
};
use uuid::Uuid;

use super::auth::USER_ID;
use crate::domain::UserId;

#[derive(Clone, Debug)]
pub struct PgSessionStore {
    pool: PgPool,
}

impl PgSessionStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Deletes every expired session; run periodically by a background job.
    pub async fn delete_expired(&self) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query!("DELETE FROM sessions WHERE expires_at < now()")
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Ends every session of `user_id` but `keep` (the one making the request).
    pub async fn delete_for_user(
        &self,
        user_id: UserId,
        keep: Option<Id>,
    ) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query!(
            "DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2",
            user_id as UserId,
            keep.map(|id| id.to_string()),
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn expiry(record: &Record) -> Result<DateTime<Utc>, session_store::Error> {
    let nanos = i64::try_from(record.expiry_date.unix_timestamp_nanos()).map_err(backend)?;
    Ok(DateTime::from_timestamp_nanos(nanos))
}

fn user_id(record: &Record) -> Option<Uuid> {
    record
        .data
        .get(USER_ID)
        .and_then(|value| serde_json::from_value(value.clone()).ok())
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_value(&record.data)
            .map_err(|error| session_store::Error::Encode(error.to_string()))?;
        // 128 random bits make a collision all but impossible; still, never overwrite one.
        loop {
            let inserted = sqlx::query!(
                "INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO NOTHING",
                record.id.to_string(),
                &data,
                expiry(record)?,
                user_id(record),
            )
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Updates an existing session only: one deleted meanwhile (signed out elsewhere, the
    /// password changed, the account deleted) must not come back.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_value(&record.data)
            .map_err(|error| session_store::Error::Encode(error.to_string()))?;
        sqlx::query!(
            "UPDATE sessions SET data = $2, expires_at = $3, user_id = $4 WHERE id = $1",
            record.id.to_string(),
            &data,
            expiry(record)?,
            user_id(record),
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query!(
            "SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > now()",
            session_id.to_string(),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let expires_at = row.expires_at;
        let data = serde_json::from_value(row.data)
            .map_err(|error| session_store::Error::Decode(error.to_string()))?;
        let nanos = expires_at.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let expiry_date =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).map_err(backend)?;
        Ok(Some(Record {
            id: *session_id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        sqlx::query!("DELETE FROM sessions WHERE id = $1", session_id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
