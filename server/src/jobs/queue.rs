//! The app's [`JobQueue`] over apalis's tables (`apalis.jobs`): the only place outside
//! apalis that reads or changes its jobs, besides `prune_jobs`.

use app::{
    domain::console::ConsoleJob,
    server::{
        admin::console_time,
        jobs::{JobChange, JobQueue},
    },
};
use async_trait::async_trait;
use sqlx::{PgConnection, PgPool};

/// The apalis queues of one database.
#[derive(Clone, Debug)]
pub struct ApalisQueue {
    pool: PgPool,
}

impl ApalisQueue {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl JobQueue for ApalisQueue {
    async fn counts(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        Ok(sqlx::query!(
            r#"SELECT job_type, status, count(*) AS "count!" FROM apalis.jobs
           GROUP BY job_type, status ORDER BY job_type, status"#
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| (row.job_type, row.status, row.count))
        .collect())
    }

    async fn failed(&self) -> Result<Vec<ConsoleJob>, sqlx::Error> {
        Ok(sqlx::query!(
            "SELECT id, job_type, status, attempts, max_attempts, run_at,
                coalesce(last_result->>'Err', last_result::text) AS last_error
         FROM apalis.jobs
         WHERE (status = 'Failed' AND attempts >= max_attempts) OR status = 'Killed'
         ORDER BY run_at DESC LIMIT 100",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| ConsoleJob {
            id: row.id,
            queue: row.job_type,
            status: row.status,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            error: row.last_error,
            run_at: console_time(row.run_at),
        })
        .collect())
    }

    async fn waiting(&self) -> Result<Vec<(String, i64)>, sqlx::Error> {
        Ok(sqlx::query!(
            r#"SELECT job_type, count(*) AS "count!" FROM apalis.jobs
           WHERE status IN ('Pending', 'Queued')
           GROUP BY job_type ORDER BY job_type"#
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| (row.job_type, row.count))
        .collect())
    }

    async fn retry(
        &self,
        connection: &mut PgConnection,
        id: &str,
    ) -> Result<JobChange, sqlx::Error> {
        let changed = sqlx::query!(
            "UPDATE apalis.jobs SET status = 'Pending', attempts = 0, run_at = now(),
                    last_result = NULL, lock_at = NULL, lock_by = NULL, done_at = NULL
             WHERE id = $1 AND status IN ('Failed', 'Killed')",
            id,
        )
        .execute(&mut *connection)
        .await?
        .rows_affected();
        if changed == 0 {
            return unchanged(connection, id, true).await;
        }
        // Idle workers wake on apalis's insert notification (sent on commit): send the
        // same one, so the job runs now rather than at some later poll.
        sqlx::query!(
            "SELECT pg_notify('apalis::job::insert',
                              json_build_object('job_type', job_type, 'id', id, 'run_at', run_at)::text)
             FROM apalis.jobs WHERE id = $1",
            id,
        )
        .execute(&mut *connection)
        .await?;
        Ok(JobChange::Changed)
    }

    async fn discard(
        &self,
        connection: &mut PgConnection,
        id: &str,
    ) -> Result<JobChange, sqlx::Error> {
        let changed = sqlx::query!(
            "UPDATE apalis.jobs SET status = 'Killed', done_at = now()
             WHERE id = $1 AND status IN ('Failed', 'Pending')",
            id,
        )
        .execute(&mut *connection)
        .await?
        .rows_affected();
        if changed == 0 {
            return unchanged(connection, id, false).await;
        }
        Ok(JobChange::Changed)
    }
}

/// Why a retry (`retry`) or discard changed nothing: the job is already waiting to run, or
/// already discarded, or there is no such job in a state for it.
async fn unchanged(
    connection: &mut PgConnection,
    id: &str,
    retry: bool,
) -> Result<JobChange, sqlx::Error> {
    let done = sqlx::query_scalar!(
        "SELECT CASE WHEN $2 THEN status IN ('Pending', 'Queued', 'Running')
                         ELSE status = 'Killed' END
             FROM apalis.jobs WHERE id = $1",
        id,
        retry,
    )
    .fetch_optional(&mut *connection)
    .await?;
    Ok(if done == Some(Some(true)) {
        JobChange::AlreadyDone
    } else {
        JobChange::Refused
    })
}
