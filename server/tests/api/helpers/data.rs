//! Reading and preparing the app's database directly: counts, due sources, samples.

use std::time::Duration;

use app::{
    domain::MetricId,
    server::tracking::store::{Sample, write_samples},
};
use chrono::{DateTime, Utc};
use sqlx::{Encode, FromRow, Postgres, Type, postgres::PgRow};

use super::{TestApp, eventually};

impl TestApp {
    /// The one value the statement `sql` answers.
    pub async fn scalar<T>(&self, sql: &'static str) -> T
    where
        (T,): for<'r> FromRow<'r, PgRow>,
        T: Send + Unpin,
    {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    }

    /// The number a `SELECT count(*) …` statement answers.
    pub async fn count(&self, sql: &'static str) -> i64 {
        self.scalar(sql).await
    }

    /// The number a `SELECT count(*) … $1 …` statement answers for `bind`.
    pub async fn count_with<'q, B>(&self, sql: &'static str, bind: B) -> i64
    where
        B: 'q + Encode<'q, Postgres> + Type<Postgres> + Send,
    {
        sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    }

    /// Waits up to `timeout` until [`TestApp::count`] of `sql` is `expected`.
    pub async fn wait_for_count(&self, timeout: Duration, sql: &'static str, expected: i64) {
        eventually(timeout, &format!("{sql} = {expected}"), || async {
            (self.count(sql).await == expected).then_some(())
        })
        .await;
    }

    /// Waits up to `timeout` until [`TestApp::count_with`] of `sql` and `bind` is
    /// `expected`.
    pub async fn wait_for_count_with<B>(
        &self,
        timeout: Duration,
        sql: &'static str,
        bind: B,
        expected: i64,
    ) where
        B: Clone + Encode<'static, Postgres> + Type<Postgres> + Send + 'static,
    {
        eventually(timeout, &format!("{sql} = {expected}"), || async {
            (self.count_with(sql, bind.clone()).await == expected).then_some(())
        })
        .await;
    }

    /// Makes every source due now: the database's `now()` then, to tell later polls by.
    pub async fn make_due(&self) -> DateTime<Utc> {
        // A data-modifying `WITH` runs whether or not the query reads it.
        sqlx::query_scalar("WITH due AS (UPDATE sources SET next_poll_at = now()) SELECT now()")
            .fetch_one(&self.pool)
            .await
            .expect("make the sources due")
    }

    /// Takes every source's history as loaded already: for tests of polling, where a
    /// backfill's requests (GitHub's star history) would be noise among the polls'.
    pub async fn history_loaded(&self) {
        sqlx::query("UPDATE source_backfills SET state = 'done', finished_at = now()")
            .execute(&self.pool)
            .await
            .expect("mark the backfills done");
    }

    /// The id of the metric named `name`, for tests with one source that has it.
    pub async fn metric_id(&self, name: &str) -> MetricId {
        sqlx::query_scalar("SELECT id FROM source_metrics WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .expect("the metric")
    }

    /// Writes `points` of `metric` through the engine's writer (which keeps the rollups),
    /// a thousand at a time: how many were new.
    pub async fn write_points(
        &self,
        metric: MetricId,
        points: impl IntoIterator<Item = (DateTime<Utc>, f64)>,
    ) -> u64 {
        let samples: Vec<Sample> = points
            .into_iter()
            .map(|(t, value)| Sample {
                metric_id: metric,
                t,
                value,
            })
            .collect();
        let mut written = 0;
        for chunk in samples.chunks(1_000) {
            written += write_samples(&self.pool, chunk)
                .await
                .expect("write samples");
        }
        written
    }
}
