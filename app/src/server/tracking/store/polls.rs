//! Claims and leases on due sources, and recording what their polls read.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use super::{NamedSample, write_named_samples};
use crate::domain::{ProviderKind, SourceId, TrackerId, WorkspaceId, streams::StreamSeen};
use crate::server::tracking::{FetchError, Readings, clean_text};

/// A claim on a source: polled for `due`, made at `claimed_at` (which tells this claim
/// from a later one). Travels in poll jobs. It is held while its lease (`leased_until`,
/// short) is renewed by the process holding it: the dispatcher's until a job takes it
/// ([`take_claims`], a new claim), then the job's, every few seconds ([`renew_claims`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct Claim {
    pub id: SourceId,
    pub due: DateTime<Utc>,
    /// Named `lease` in jobs queued before leases were renewed (such a claim matches
    /// nothing now, and its sources are claimed again).
    #[serde(alias = "lease")]
    pub claimed_at: DateTime<Utc>,
}

/// A source claimed for polling, with its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub kind: ProviderKind,
    pub claim: Claim,
}

/// Stops sources that are due but have no active tracker any more (every tracker paused
/// or past its end date). Returns how many.
pub async fn end_idle_sources(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let ended = sqlx::query!(
        "UPDATE sources s SET
             next_poll_at = NULL, leased_until = NULL,
             state = CASE WHEN EXISTS (SELECT 1 FROM trackers t WHERE t.source_id = s.id AND t.paused)
                          THEN 'paused' ELSE 'ended' END
         WHERE s.next_poll_at <= now()
           AND NOT EXISTS (SELECT 1 FROM trackers t
                           WHERE t.source_id = s.id AND NOT t.paused
                             AND (t.ends_at IS NULL OR t.ends_at > now()))"
    )
    .execute(pool)
    .await?;
    Ok(ended.rows_affected())
}

/// What asking to poll a tracker's source now did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollNow {
    /// Due now: the dispatcher takes it at its next tick.
    Queued,
    /// The workspace has no such tracker.
    NotFound,
    /// The source is not polled (every tracker of it paused or ended).
    Inactive,
    /// Asked less than [`POLL_NOW_EVERY`] ago: again after this many seconds.
    TooSoon(i64),
}

/// A source is polled on demand at most this often (whichever workspace asks).
pub const POLL_NOW_EVERY: i64 = 60;

/// Makes the source of tracker `tracker_id` of `workspace_id` due now, at most once a
/// minute per source.
pub async fn poll_now(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    tracker_id: TrackerId,
) -> Result<PollNow, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH source AS (
               SELECT s.id, s.next_poll_at, s.poll_now_at FROM trackers t
               JOIN sources s ON s.id = t.source_id
               WHERE t.workspace_id = $1 AND t.id = $2
               FOR UPDATE OF s),
           queued AS (
               UPDATE sources s SET next_poll_at = now(), poll_now_at = now()
               FROM source
               WHERE s.id = source.id AND source.next_poll_at IS NOT NULL
                 AND (source.poll_now_at IS NULL
                      OR source.poll_now_at <= now() - make_interval(secs => $3))
               RETURNING s.id)
           SELECT source.next_poll_at IS NOT NULL AS "active!",
                  EXISTS (SELECT 1 FROM queued) AS "queued!",
                  ceil(extract(epoch FROM source.poll_now_at + make_interval(secs => $3) - now()))::bigint
                      AS "wait"
           FROM source"#,
        workspace_id as WorkspaceId,
        tracker_id as TrackerId,
        POLL_NOW_EVERY as f64,
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => PollNow::NotFound,
        Some(row) if row.queued => PollNow::Queued,
        Some(row) if !row.active => PollNow::Inactive,
        Some(row) => PollNow::TooSoon(row.wait.unwrap_or(POLL_NOW_EVERY).clamp(1, POLL_NOW_EVERY)),
    })
}

/// Claims up to `limit` due sources for `lease`: any number of dispatchers may run this at
/// once (`FOR UPDATE SKIP LOCKED`); a source is claimed again only after its lease runs
/// out, unrenewed, without the poll being recorded.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"UPDATE sources s SET leased_until = now() + make_interval(secs => $2), claimed_at = now()
         FROM (SELECT id FROM sources
               WHERE next_poll_at <= now() AND (leased_until IS NULL OR leased_until < now())
               ORDER BY next_poll_at
               LIMIT $1
               FOR UPDATE SKIP LOCKED) AS due
         WHERE s.id = due.id
         RETURNING s.id AS "id: SourceId", s.kind AS "kind: ProviderKind", s.next_poll_at AS "next_poll_at!",
                   s.claimed_at AS "claimed_at!""#,
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Claimed {
            kind: row.kind,
            claim: Claim {
                id: row.id,
                due: row.next_poll_at,
                claimed_at: row.claimed_at,
            },
        })
        .collect())
}

/// Renews the lease of every claim in `claims` that still holds (the source not polled
/// meanwhile, nor taken by a job or claimed again) for `lease` from now. The claims that
/// held.
pub async fn renew_claims(
    pool: &PgPool,
    claims: &[Claim],
    lease: std::time::Duration,
) -> Result<Vec<Claim>, sqlx::Error> {
    let (ids, dues, claimed): (Vec<SourceId>, Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) = claims
        .iter()
        .map(|claim| (claim.id, claim.due, claim.claimed_at))
        .collect();
    sqlx::query_as!(
        Claim,
        r#"UPDATE sources s SET leased_until = now() + make_interval(secs => $4)
           FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS c(id, due, claimed_at)
           WHERE c.id = s.id AND c.due = s.next_poll_at AND c.claimed_at = s.claimed_at
           RETURNING s.id AS "id: SourceId", s.next_poll_at AS "due!", s.claimed_at AS "claimed_at!""#,
        &ids as &[SourceId],
        &dues,
        &claimed,
        lease.as_secs_f64(),
    )
    .fetch_all(pool)
    .await
}

/// A claimed source, loaded for its poll.
#[derive(Debug, Clone)]
pub struct DueSource {
    pub id: SourceId,
    pub key: String,
    pub config: serde_json::Value,
    pub due: DateTime<Utc>,
    /// The claim the job now holds (made when it took the dispatcher's).
    pub claim: Claim,
    /// The validator of the last values recorded, for a conditional request.
    pub validator: Option<String>,
}

/// A poll job takes its sources: those still due at the time, and still held by the claim,
/// they were claimed with, each under a new claim of the job's own (leased for `lease`,
/// which the job renews while it runs). A source polled meanwhile, claimed again after its
/// lease ran out, or taken already by another run of the same job, is left out: one claim
/// is polled at most once.
pub async fn take_claims(
    pool: &PgPool,
    claims: &[Claim],
    lease: std::time::Duration,
) -> Result<Vec<DueSource>, sqlx::Error> {
    let ids: Vec<SourceId> = claims.iter().map(|claim| claim.id).collect();
    let dues: Vec<DateTime<Utc>> = claims.iter().map(|claim| claim.due).collect();
    let claimed: Vec<DateTime<Utc>> = claims.iter().map(|claim| claim.claimed_at).collect();
    let rows = sqlx::query!(
        r#"UPDATE sources s SET claimed_at = clock_timestamp(),
                                leased_until = now() + make_interval(secs => $4)
           FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS c(id, due, claimed_at)
           WHERE c.id = s.id AND c.due = s.next_poll_at AND c.claimed_at = s.claimed_at
           RETURNING s.id AS "id: SourceId", s.key, s.config, s.next_poll_at AS "due!",
                     s.claimed_at AS "claimed_at!", s.validator"#,
        &ids as &[SourceId],
        &dues,
        &claimed,
        lease.as_secs_f64(),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| DueSource {
            id: row.id,
            key: row.key,
            config: row.config,
            due: row.due,
            claim: Claim {
                id: row.id,
                due: row.due,
                claimed_at: row.claimed_at,
            },
            validator: row.validator,
        })
        .collect())
}

/// The outcome of polling one source.
#[derive(Debug, Clone)]
pub struct PollResult {
    pub source_id: SourceId,
    /// The due time the poll was for: with the claim, what makes recording it idempotent.
    pub due: DateTime<Utc>,
    /// When the upstream answered: the samples' time.
    pub observed_at: DateTime<Utc>,
    pub outcome: Result<Readings, FetchError>,
}

/// Reschedules the sources of `results` and writes their samples, in one transaction:
/// success → the next due time is the due time plus the interval with ±10% jitter, and
/// the validator the upstream answered with is kept for the next poll (an unchanged
/// answer records the source's last values again, at the new time);
/// transient failure, or no metric read at all → backing off (the interval doubled per
/// consecutive failure, up to 24 h, and at least what a rate limit asked for); gone →
/// stopped; other errors → the usual interval, with the error recorded. Samples are
/// stamped with the time the upstream answered, and written only for the sources this
/// call rescheduled from the due time it was for (a second run of the same job, or one
/// racing it, finds them rescheduled and writes nothing). Returns the number of new
/// samples.
pub async fn record_polls(pool: &PgPool, results: &[PollResult]) -> Result<u64, sqlx::Error> {
    if results.is_empty() {
        return Ok(0);
    }
    let source_ids: Vec<SourceId> = results.iter().map(|result| result.source_id).collect();
    let mut transaction = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(results.len());
    let mut errors = Vec::with_capacity(results.len());
    let mut excerpts = Vec::with_capacity(results.len());
    let mut delays = Vec::with_capacity(results.len());
    let dues: Vec<DateTime<Utc>> = results.iter().map(|result| result.due).collect();
    let validators: Vec<Option<String>> = results
        .iter()
        .map(|result| {
            let validator = result.outcome.as_ref().ok()?.validator.as_deref()?;
            Some(clean_text(validator))
        })
        .collect();
    for result in results {
        let (outcome, error, excerpt, delay) = match &result.outcome {
            Ok(readings) if readings.errors.is_empty() => ("ok", None, None, 0.0),
            Ok(readings) => {
                let message: Vec<String> = readings
                    .errors
                    .iter()
                    .map(|(name, reason)| format!("{name}: {reason}"))
                    .collect();
                // Some metrics read: a success with a warning; none: a failure that backs
                // off (the document may have changed; asking as often helps nobody).
                let outcome = if readings.values.is_empty() {
                    "transient"
                } else {
                    "ok"
                };
                (outcome, Some(message.join("; ")), None, 0.0)
            }
            Err(FetchError::Throttled { retry_after, .. }) => {
                ("deferred", None, None, retry_after.as_secs_f64())
            }
            Err(error) => {
                let outcome = match error {
                    FetchError::Gone(_) => "gone",
                    FetchError::RateLimited { .. } | FetchError::Unavailable(_) => "transient",
                    _ => "error",
                };
                let excerpt = match error {
                    FetchError::Parse { excerpt, .. } => Some(excerpt.clone()),
                    _ => None,
                };
                let delay = match error {
                    FetchError::RateLimited {
                        retry_after: Some(after),
                        ..
                    } => after.as_secs_f64(),
                    _ => 0.0,
                };
                (outcome, Some(error.to_string()), excerpt, delay)
            }
        };
        outcomes.push(outcome);
        errors.push(error.map(|error: String| clean_text(&error)));
        excerpts.push(excerpt.map(|excerpt: String| clean_text(&excerpt)));
        delays.push(delay);
    }
    // One statement updates the sources and, from the snapshot it reads before the
    // update, records their health changes as source events. Its row locks make a
    // concurrent recording of the same polls wait, and then find them rescheduled.
    let rescheduled = sqlx::query_scalar!(
        r#"WITH input AS (
             SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[],
                                  $5::text[], $6::float8[], $7::text[])
                 AS i(id, due, outcome, error, excerpt, min_delay, validator)
         ),
         before AS (
             SELECT s.id, s.consecutive_failures, s.state
             FROM sources s JOIN input i ON i.id = s.id AND s.next_poll_at = i.due
         ),
         active AS (
             SELECT t.source_id, min(t.interval_secs) AS interval_secs
             FROM trackers t JOIN input i ON i.id = t.source_id
             WHERE NOT t.paused AND (t.ends_at IS NULL OR t.ends_at > now())
             GROUP BY t.source_id
         ),
         updated AS (
         UPDATE sources s SET
             interval_secs = coalesce(a.interval_secs, s.interval_secs),
             consecutive_failures = CASE WHEN i.outcome = 'ok' THEN 0
                                         WHEN i.outcome = 'deferred' THEN s.consecutive_failures
                                         ELSE s.consecutive_failures + 1 END,
             state = CASE
                 WHEN i.outcome = 'gone' THEN 'gone'
                 WHEN a.source_id IS NULL THEN
                     CASE WHEN EXISTS (SELECT 1 FROM trackers p WHERE p.source_id = s.id AND p.paused)
                          THEN 'paused' ELSE 'ended' END
                 WHEN i.outcome = 'transient' THEN 'backing_off'
                 WHEN i.outcome = 'deferred' THEN s.state
                 ELSE 'ok' END,
             next_poll_at = CASE
                 WHEN i.outcome = 'gone' OR a.source_id IS NULL THEN NULL
                 WHEN i.outcome = 'deferred' THEN now() + make_interval(secs => i.min_delay)
                 WHEN i.outcome = 'transient' THEN now() + make_interval(secs => greatest(
                     i.min_delay,
                     least(86400, a.interval_secs * power(2, least(s.consecutive_failures + 1, 20)))))
                 ELSE greatest(
                     i.due + make_interval(secs => a.interval_secs * (0.9 + random() * 0.2)),
                     now() + make_interval(secs => least(a.interval_secs * 0.5, 60)))
                 END,
             leased_until = NULL,
             last_poll_at = CASE WHEN i.outcome = 'deferred' THEN s.last_poll_at ELSE now() END,
             last_success_at = CASE WHEN i.outcome = 'ok' THEN now() ELSE s.last_success_at END,
             last_error = CASE WHEN i.error IS NOT NULL THEN i.error
                               WHEN i.outcome = 'ok' THEN NULL ELSE s.last_error END,
             last_error_at = CASE WHEN i.error IS NOT NULL THEN now() ELSE s.last_error_at END,
             last_error_excerpt = CASE WHEN i.error IS NOT NULL THEN i.excerpt
                                       WHEN i.outcome = 'ok' THEN NULL
                                       ELSE s.last_error_excerpt END,
             validator = CASE WHEN i.outcome = 'ok' THEN i.validator ELSE s.validator END
         FROM input i LEFT JOIN active a ON a.source_id = i.id
         WHERE s.id = i.id AND s.next_poll_at = i.due
         RETURNING s.id, s.state, s.consecutive_failures, s.last_error
     ),
     events AS (
         INSERT INTO source_events (source_id, kind, detail)
         SELECT u.id,
                CASE WHEN u.state = 'gone' THEN 'gone'
                     WHEN u.consecutive_failures = 0 THEN 'recovered'
                     ELSE 'failing' END,
                CASE WHEN u.consecutive_failures = 0 THEN NULL ELSE u.last_error END
         FROM updated u JOIN before b ON b.id = u.id
         WHERE (u.state = 'gone' AND b.state <> 'gone')
            OR (u.state <> 'gone' AND (u.consecutive_failures = 0) <> (b.consecutive_failures = 0))
         RETURNING 1
     )
     SELECT id AS "id: SourceId" FROM updated"#,
        &source_ids as &[SourceId],
        &dues,
        &outcomes as &[&str],
        &errors as &[Option<String>],
        &excerpts as &[Option<String>],
        &delays,
        &validators as &[Option<String>],
    )
    .fetch_all(&mut *transaction)
    .await?;
    let rescheduled: std::collections::HashSet<SourceId> = rescheduled.into_iter().collect();

    // Metric ids are looked up by the write itself.
    let mut samples = Vec::new();
    let mut unchanged = Vec::new();
    for result in results {
        if !rescheduled.contains(&result.source_id) {
            continue;
        }
        if let Ok(readings) = &result.outcome {
            if readings.unchanged {
                unchanged.push((result.source_id, result.observed_at));
            }
            for (name, value) in &readings.values {
                if value.is_finite() {
                    samples.push(NamedSample {
                        source_id: result.source_id,
                        metric: name.clone(),
                        t: result.observed_at,
                        value: *value,
                    });
                }
            }
        }
    }
    samples.extend(last_values_again(&mut transaction, &unchanged).await?);
    let written = write_named_samples(&mut *transaction, &samples).await?;
    let streams: Vec<(SourceId, DateTime<Utc>, &StreamSeen)> = results
        .iter()
        .filter(|result| rescheduled.contains(&result.source_id))
        .filter_map(|result| {
            let seen = result.outcome.as_ref().ok()?.stream.as_ref()?;
            Some((result.source_id, result.observed_at, seen))
        })
        .collect();
    super::streams::record_streams(&mut transaction, &streams).await?;
    // What the rescheduled sources wrote, queued for the workspaces' sinks with the
    // samples, so a sample is never written without being forwarded.
    let polled: Vec<(SourceId, DateTime<Utc>)> = results
        .iter()
        .filter(|result| rescheduled.contains(&result.source_id) && result.outcome.is_ok())
        .map(|result| (result.source_id, result.observed_at))
        .collect();
    crate::server::sinks::store::queue_polled(&mut transaction, &polled).await?;
    transaction.commit().await?;
    Ok(written)
}

/// The last value of every metric of each source of `unchanged`, again at its time: what
/// an upstream's "not modified" means. (Read in the transaction that writes them, after
/// the sources' rows are locked by their rescheduling.)
async fn last_values_again(
    connection: &mut PgConnection,
    unchanged: &[(SourceId, DateTime<Utc>)],
) -> Result<Vec<NamedSample>, sqlx::Error> {
    if unchanged.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<SourceId> = unchanged.iter().map(|(id, _)| *id).collect();
    let times: Vec<DateTime<Utc>> = unchanged.iter().map(|(_, t)| *t).collect();
    let rows = sqlx::query!(
        r#"SELECT m.source_id AS "source_id: SourceId", m.name, i.t AS "t!",
                  m.last_value AS "value!"
           FROM unnest($1::bigint[], $2::timestamptz[]) AS i(id, t)
           JOIN source_metrics m ON m.source_id = i.id
           WHERE m.last_value IS NOT NULL"#,
        &ids as &[SourceId],
        &times,
    )
    .fetch_all(&mut *connection)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| NamedSample {
            source_id: row.source_id,
            metric: row.name,
            t: row.t,
            value: row.value,
        })
        .collect())
}

/// Records the first sample of a source right after it was added: now, outside the
/// schedule; a new source is then due one interval later.
pub async fn record_first_sample(
    connection: &mut PgConnection,
    source_id: SourceId,
    readings: &Readings,
) -> Result<(), sqlx::Error> {
    let now = chrono::DurationRound::duration_trunc(Utc::now(), chrono::TimeDelta::seconds(1))
        .unwrap_or_else(|_| Utc::now());
    let samples: Vec<NamedSample> = readings
        .values
        .iter()
        .filter(|(_, value)| value.is_finite())
        .map(|(name, value)| NamedSample {
            source_id,
            metric: name.clone(),
            t: now,
            value: *value,
        })
        .collect();
    write_named_samples(&mut *connection, &samples).await?;
    sqlx::query!(
        "UPDATE sources SET
             last_poll_at = now(), last_success_at = now(), consecutive_failures = 0,
             state = CASE WHEN state = 'backing_off' THEN 'ok' ELSE state END,
             next_poll_at = CASE
                 WHEN next_poll_at IS NOT NULL AND last_poll_at IS NULL AND leased_until IS NULL
                 THEN now() + make_interval(secs => interval_secs * (0.9 + random() * 0.2))
                 ELSE next_poll_at END
         WHERE id = $1",
        source_id as SourceId,
    )
    .execute(&mut *connection)
    .await?;
    if let Some(seen) = &readings.stream {
        super::streams::record_streams(&mut *connection, &[(source_id, now, seen)]).await?;
    }
    Ok(())
}
