//! Rate limits kept in PostgreSQL, so they hold across restarts and across every web
//! process. The algorithm is throttlecrab's GCRA; its one number of state per key (the
//! theoretical arrival time) lives in `rate_limits`, read and written under a row lock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::PgPool;
use throttlecrab::{RateLimiter, Store};

/// `attempts` per `period`, all of which may be used at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub attempts: u32,
    pub period: Duration,
}

/// The quota is used up; the next attempt is allowed after `retry_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    pub retry_after: Duration,
}

impl Limited {
    /// "Try again in N minutes", rounded up.
    pub fn message(&self, what: &str) -> String {
        let minutes = self.retry_after.as_secs().div_ceil(60).max(1);
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        format!("Too many {what}. Try again in {minutes} {unit}.")
    }
}

/// Takes one attempt from `key`'s quota, or says how long to wait.
pub async fn take(
    pool: &PgPool,
    key: &str,
    quota: Quota,
) -> Result<Result<(), Limited>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO rate_limits (key, tat_nanos, expires_at) VALUES ($1, 0, now())
         ON CONFLICT (key) DO NOTHING",
        key,
    )
    .execute(&mut *tx)
    .await?;
    // The row lock makes concurrent attempts on one key wait for each other.
    let tat = sqlx::query_scalar!(
        "SELECT tat_nanos FROM rate_limits WHERE key = $1 FOR UPDATE",
        key,
    )
    .fetch_one(&mut *tx)
    .await?;

    let now = SystemTime::now();
    let mut state = Snapshot {
        tat: (tat > 0).then_some(tat),
        ttl: None,
    };
    let attempts = i64::from(quota.attempts.max(1));
    let period = i64::try_from(quota.period.as_secs().max(1)).unwrap_or(i64::MAX);
    let outcome = RateLimiter::new(&mut state).rate_limit(key, attempts, attempts, period, 1, now);
    let verdict = match outcome {
        Ok((true, _)) => {
            let tat = state.tat.unwrap_or_default();
            let expires = now + state.ttl.unwrap_or(quota.period);
            let expires_secs = expires
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            sqlx::query!(
                "UPDATE rate_limits SET tat_nanos = $2, expires_at = to_timestamp($3) WHERE key = $1",
                key,
                tat,
                expires_secs,
            )
            .execute(&mut *tx)
            .await?;
            Ok(())
        }
        Ok((false, result)) => Err(Limited {
            retry_after: result.retry_after.max(Duration::from_secs(1)),
        }),
        Err(error) => {
            // Only invalid parameters get here; never lock people out because of it.
            tracing::error!(%error, key, "rate limiter failed; allowing the attempt");
            Ok(())
        }
    };
    tx.commit().await?;
    Ok(verdict)
}

/// Deletes entries whose window has passed.
pub async fn delete_expired(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("DELETE FROM rate_limits WHERE expires_at < now()")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// One key's state, loaded from the database for one decision.
struct Snapshot {
    tat: Option<i64>,
    ttl: Option<Duration>,
}

impl Store for &mut Snapshot {
    fn compare_and_swap_with_ttl(
        &mut self,
        _key: &str,
        old: i64,
        new: i64,
        ttl: Duration,
        _now: SystemTime,
    ) -> Result<bool, String> {
        if self.tat == Some(old) {
            self.tat = Some(new);
            self.ttl = Some(ttl);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn get(&self, _key: &str, _now: SystemTime) -> Result<Option<i64>, String> {
        Ok(self.tat)
    }

    fn set_if_not_exists_with_ttl(
        &mut self,
        _key: &str,
        value: i64,
        ttl: Duration,
        _now: SystemTime,
    ) -> Result<bool, String> {
        if self.tat.is_none() {
            self.tat = Some(value);
            self.ttl = Some(ttl);
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_up_to_whole_minutes() {
        let limited = |secs| Limited {
            retry_after: Duration::from_secs(secs),
        };
        assert_eq!(
            limited(1).message("sign-in attempts"),
            "Too many sign-in attempts. Try again in 1 minute."
        );
        assert_eq!(
            limited(61).message("sign-in attempts"),
            "Too many sign-in attempts. Try again in 2 minutes."
        );
        assert_eq!(
            limited(900).message("sign-in attempts"),
            "Too many sign-in attempts. Try again in 15 minutes."
        );
    }
}
