//! The console's figures over time: five-minute snapshots, and per provider each
//! minute's requests, errors, latencies and rate-limit state.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::overview;
use crate::domain::console::{ConsoleProvider, ConsoleSnapshot};
use crate::server::jobs::JobQueue;

/// Records the overview's figures at `now` (one row per five-minute period; a second
/// record in the same period replaces the first).
pub async fn record_snapshot(
    pool: &PgPool,
    jobs: &dyn JobQueue,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let figures = overview(pool, jobs, now).await?;
    let mrr: i64 = figures
        .revenue_by_plan
        .iter()
        .map(|(_, _, cents)| cents)
        .sum();
    let queued: i64 = figures.queues.iter().map(|(_, count)| count).sum();
    sqlx::query!(
        "INSERT INTO service_snapshots (at, users, workspaces, paying, mrr_cents,
                 polls_last_hour, errors_last_hour, due, queued_jobs)
         VALUES (date_bin('5 minutes', $1::timestamptz, timestamptz '2000-01-01 00:00:00+00'),
                 $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (at) DO UPDATE SET users = excluded.users, workspaces = excluded.workspaces,
             paying = excluded.paying, mrr_cents = excluded.mrr_cents,
             polls_last_hour = excluded.polls_last_hour,
             errors_last_hour = excluded.errors_last_hour, due = excluded.due,
             queued_jobs = excluded.queued_jobs",
        now,
        figures.users,
        figures.workspaces,
        figures.paying_workspaces,
        mrr,
        figures.polls_last_hour,
        figures.errors_last_hour,
        figures.due_backlog,
        queued,
    )
    .execute(pool)
    .await?;
    // A week is what the console shows; older rows go.
    sqlx::query!(
        "DELETE FROM service_snapshots WHERE at < $1::timestamptz - interval '30 days'",
        now,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The last seven days of snapshots, oldest first.
pub async fn history(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<Vec<ConsoleSnapshot>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT at, users, paying, mrr_cents, polls_last_hour, errors_last_hour, due, queued_jobs
         FROM service_snapshots WHERE at >= $1::timestamptz - interval '7 days' ORDER BY at",
        now,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ConsoleSnapshot {
            at_ms: row.at.timestamp_millis(),
            users: row.users,
            paying: row.paying,
            mrr_cents: row.mrr_cents,
            polls_last_hour: row.polls_last_hour,
            errors_last_hour: row.errors_last_hour,
            due: row.due,
            queued_jobs: row.queued_jobs,
        })
        .collect())
}

/// Adds `tallies` (from [`crate::server::tracking::http::Upstreams::take_tallies`]) to
/// their providers' rows of the minute `now` falls in; a week is kept.
pub async fn record_provider_tallies(
    pool: &PgPool,
    now: DateTime<Utc>,
    tallies: &[(&'static str, crate::server::tracking::http::Tally)],
) -> Result<(), sqlx::Error> {
    for (provider, tally) in tallies {
        sqlx::query!(
            "INSERT INTO provider_minutes
                 (provider, minute, requests, errors, buckets, remaining, paused_until, polls, failed_polls)
             VALUES ($1, date_trunc('minute', $2::timestamptz), $3, $4, $5, $6,
                     $2::timestamptz + make_interval(secs => $7::double precision), $8, $9)
             ON CONFLICT (provider, minute) DO UPDATE SET
                 requests = provider_minutes.requests + excluded.requests,
                 errors = provider_minutes.errors + excluded.errors,
                 polls = provider_minutes.polls + excluded.polls,
                 failed_polls = provider_minutes.failed_polls + excluded.failed_polls,
                 buckets = ARRAY(SELECT a + b FROM unnest(provider_minutes.buckets, excluded.buckets) AS t(a, b)),
                 remaining = coalesce(excluded.remaining, provider_minutes.remaining),
                 paused_until = coalesce(excluded.paused_until, provider_minutes.paused_until)",
            *provider,
            now,
            tally.requests,
            tally.errors,
            &tally.buckets[..],
            tally.remaining,
            tally.paused_for_secs.map(|secs| secs as f64),
            tally.polls,
            tally.failed_polls,
        )
        .execute(pool)
        .await?;
    }
    sqlx::query!(
        "DELETE FROM provider_minutes WHERE minute < $1::timestamptz - interval '7 days'",
        now,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The `q`-quantile of requests spread over latency `buckets`, as the bucket's upper
/// bound in milliseconds (`None` for the open last bucket, or without requests).
pub fn latency_quantile(buckets: &[i64], q: f64) -> Option<u32> {
    let total: i64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (index, count) in buckets.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return crate::server::tracking::http::LATENCY_BOUNDS_MS
                .get(index)
                .copied();
        }
    }
    None
}

/// Per provider over the last hour: requests, error rate, p50/p95 latency, the latest
/// rate-limit state; and whether its credentials are configured.
pub async fn providers(
    pool: &PgPool,
    now: DateTime<Utc>,
    config: &crate::server::tracking::TrackingConfig,
) -> Result<Vec<ConsoleProvider>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT provider, sum(requests)::bigint AS "requests!", sum(errors)::bigint AS "errors!",
                sum(polls)::bigint AS "polls!", sum(failed_polls)::bigint AS "failed_polls!",
                (SELECT remaining FROM provider_minutes l WHERE l.provider = p.provider
                 AND l.remaining IS NOT NULL ORDER BY minute DESC LIMIT 1) AS remaining,
                max(paused_until) AS paused_until
         FROM provider_minutes p WHERE minute >= $1::timestamptz - interval '1 hour'
         GROUP BY provider"#,
        now,
    )
    .fetch_all(pool)
    .await?;
    let buckets = sqlx::query!(
        "SELECT provider, buckets FROM provider_minutes WHERE minute >= $1::timestamptz - interval '1 hour'",
        now,
    )
    .fetch_all(pool)
    .await?;
    let mut providers = Vec::new();
    for service in crate::server::tracking::providers::services() {
        let name = service.name();
        let credentials = match service.credentials() {
            Some(credentials) if config.has_credentials(service) => credentials.when_set,
            Some(credentials) => credentials.when_missing,
            None => "not needed",
        };
        let row = rows.iter().find(|row| row.provider == name);
        let mut summed = vec![0_i64; crate::server::tracking::http::LATENCY_BOUNDS_MS.len() + 1];
        for minute in buckets.iter().filter(|minute| minute.provider == name) {
            for (total, count) in summed.iter_mut().zip(&minute.buckets) {
                *total += count;
            }
        }
        let (requests, errors, remaining, paused_until) = match row {
            Some(row) => (row.requests, row.errors, row.remaining, row.paused_until),
            None => (0, 0, None, None),
        };
        let (polls, failed_polls) = match row {
            Some(row) => (row.polls, row.failed_polls),
            None => (0, 0),
        };
        providers.push(ConsoleProvider {
            name: name.to_string(),
            polls_last_hour: polls,
            failed_polls_last_hour: failed_polls,
            requests_last_hour: requests,
            error_rate_percent: (requests > 0).then(|| (errors * 1000 / requests) as f64 / 10.0),
            p50_ms: latency_quantile(&summed, 0.5),
            p95_ms: latency_quantile(&summed, 0.95),
            remaining,
            paused_until: paused_until
                .filter(|until| *until > now)
                .map(|until| until.format("%H:%M:%S UTC").to_string()),
            credentials: credentials.to_string(),
        });
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use super::latency_quantile;

    #[test]
    fn quantiles_come_from_the_buckets() {
        // Bounds 25, 50, 100, … ms: 50 requests under 25 ms, 45 under 100, 5 slower than 10 s.
        let mut buckets = vec![0; 12];
        buckets[0] = 50;
        buckets[2] = 45;
        buckets[11] = 5;
        assert_eq!(latency_quantile(&buckets, 0.5), Some(25));
        assert_eq!(latency_quantile(&buckets, 0.95), Some(100));
        assert_eq!(latency_quantile(&buckets, 0.99), None);
        assert_eq!(latency_quantile(&[0; 12], 0.5), None);
    }
}
