//! Storing a pushed [`Batch`], whatever format it came in: checking each point, finding
//! or making its series (under the plan's cap), keeping each metric's type, adding deltas
//! to running totals, and writing through the polls' sample writer, so the rollups stay
//! right for late points and a point already recorded is kept.
//!
//! Locks, always taken in this order so that concurrent pushes never deadlock: the
//! source's row (only when new series are made: the cap is counted under it), then the
//! rows of the batch's series in id order (a delta reads its series' running total under
//! it, so two senders adding 1 each add 2), and nothing else until the commit.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use super::PushSource;
use crate::domain::push::{
    Batch, PushKind, Refusal,
    events::EVENTS_METRIC,
    series::{check_point, series_labels, series_name},
};
use crate::domain::{MetricId, PushSourceId, SourceId, WorkspaceId};
use crate::server::{
    sinks::store::queue_pushed,
    tracking::store::{Sample, write_samples},
};

/// What a push did: how many points were stored, how many were already recorded (same
/// series, same time: the first write is kept), and every point refused, with why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PushAnswer {
    pub accepted: usize,
    pub duplicates: usize,
    pub refused: Vec<Refusal>,
}

impl PushAnswer {
    /// Nothing was stored or already there, and something was refused: the request as a
    /// whole failed (the routes answer 400).
    pub fn all_refused(&self) -> bool {
        self.accepted == 0 && self.duplicates == 0 && !self.refused.is_empty()
    }
}

/// Why a push stored nothing at all.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The push source's tracker is paused (by the workspace or by its plan) or past its
    /// end date.
    #[error("{0}")]
    NotAccepting(String),
    /// The push source was deleted meanwhile.
    #[error("this push source no longer exists")]
    Gone,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// One point that passed the checks.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) line: usize,
    pub(super) series: String,
    pub(super) family: String,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) kind: PushKind,
    pub(super) value: f64,
    pub(super) t: Option<DateTime<Utc>>,
}

/// A stored series of the push source.
#[derive(Debug, Clone)]
struct Stored {
    id: MetricId,
    kind: String,
}

/// A series as a statement answers it.
struct StoredRow {
    id: MetricId,
    name: String,
    kind: String,
}

/// Series rows by name.
fn by_name(rows: Vec<StoredRow>) -> HashMap<String, Stored> {
    rows.into_iter()
        .map(|row| {
            (
                row.name,
                Stored {
                    id: row.id,
                    kind: row.kind,
                },
            )
        })
        .collect()
}

/// Stores `batch` in `source`, `now` being when the request arrived (a point without a
/// time is stamped with it). Then evaluates the alert rules of the source's metrics, as
/// after a poll (a failure there is logged; the points stay stored).
///
/// - a **gauge** or a **counter** is stored as given (a counter's resets are read by
///   rates);
/// - a **delta** is added to its series' running total, atomically: the series' row is
///   locked while its total is read and the new one written. A delta without a time
///   lands at `now` (or a microsecond after the series' newest point, when that is
///   later); deltas of one series without a time in one request are added together into
///   one point. A delta with a time older than the series' newest point is refused (its
///   running total would rewrite every later point); one at a time already recorded is a
///   duplicate, so a retried request adds nothing twice;
/// - any point at a time already recorded for its series is a duplicate: the first write
///   wins, in the database and within the request;
/// - a late gauge or counter point lands in its place; the rollups' `last` and the
///   metric's latest value move only for a newer time;
/// - a metric keeps the type it was first pushed with; each label set is a series of its
///   own, and new series beyond the plan's `max_push_series` are refused.
#[tracing::instrument(skip(pool, source, batch), fields(push_source.id = %source.id, points = batch.points.len()))]
pub async fn store(
    pool: &PgPool,
    source: &PushSource,
    batch: Batch,
    now: DateTime<Utc>,
) -> Result<PushAnswer, PushError> {
    let now = micros(now);
    let mut answer = PushAnswer {
        refused: batch.refused,
        ..PushAnswer::default()
    };
    let mut points = batch.points;
    points.sort_by_key(|(line, _)| *line);
    let mut items = Vec::with_capacity(points.len());
    for (line, point) in points {
        if let Err(reason) = check_point(&point) {
            answer.refused.push(Refusal { line, reason });
            continue;
        }
        if point.metric == EVENTS_METRIC {
            answer.refused.push(Refusal {
                line,
                reason: format!(
                    "`{EVENTS_METRIC}` is where `POST /api/v1/events` counts events; push this metric under another name"
                ),
            });
            continue;
        }
        let labels = series_labels(&point.labels);
        items.push(Item {
            line,
            series: series_name(&point.metric, &labels),
            family: point.metric,
            labels,
            kind: point.kind,
            value: point.value,
            t: point.t.map(micros),
        });
    }

    let mut transaction = pool.begin().await?;
    check_accepting(&mut transaction, source.id, now).await?;
    let written = if items.is_empty() {
        Written::default()
    } else {
        store_items(&mut transaction, source, items, now, &mut answer).await?
    };
    transaction.commit().await?;
    answer.accepted = written.accepted;
    answer.duplicates = written.duplicates;
    answer.refused.sort_by_key(|refusal| refusal.line);

    if answer.accepted > 0 {
        after_accepted(pool, source, now).await?;
    }
    Ok(answer)
}

/// What follows a push or events batch that accepted something, after its commit and
/// holding no other lock (see the module's note on locks): the push source's last push
/// time, and its alert rules evaluated as after a poll.
pub(super) async fn after_accepted(
    pool: &PgPool,
    source: &PushSource,
    now: DateTime<Utc>,
) -> Result<(), PushError> {
    record_push(pool, source.id, now).await?;
    if let Err(error) =
        crate::server::alerts::evaluate::after_polls(pool, &[source.source_id]).await
    {
        tracing::error!(error = %error, "could not evaluate alert rules after a push");
    }
    Ok(())
}

/// Refuses a push to a paused or ended tracker, or to a push source deleted meanwhile.
pub(super) async fn check_accepting(
    connection: &mut PgConnection,
    id: PushSourceId,
    now: DateTime<Utc>,
) -> Result<(), PushError> {
    let state = sqlx::query!(
        r#"SELECT t.paused, t.paused_by_plan,
                  t.ends_at IS NOT NULL AND t.ends_at <= $2 AS "ended!"
           FROM push_sources p JOIN trackers t ON t.id = p.tracker_id
           WHERE p.id = $1"#,
        id as PushSourceId,
        now,
    )
    .fetch_optional(&mut *connection)
    .await?
    .ok_or(PushError::Gone)?;
    if state.paused && state.paused_by_plan {
        return Err(PushError::NotAccepting(
            "This push source's tracker was paused because the workspace tracks more than its plan allows; \
             upgrade, or delete another tracker and resume it, to push again."
                .into(),
        ));
    }
    if state.paused {
        return Err(PushError::NotAccepting(
            "This push source's tracker is paused; resume it to push again.".into(),
        ));
    }
    if state.ended {
        return Err(PushError::NotAccepting(
            "This push source's tracker is past its end date; remove or move the end date to push again."
                .into(),
        ));
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Written {
    accepted: usize,
    duplicates: usize,
}

async fn store_items(
    connection: &mut PgConnection,
    source: &PushSource,
    items: Vec<Item>,
    now: DateTime<Utc>,
    answer: &mut PushAnswer,
) -> Result<Written, PushError> {
    let ready = resolve_series(&mut *connection, source, items, answer).await?;
    if ready.is_empty() {
        return Ok(Written::default());
    }

    // Every series of the batch, locked in id order: its running total read under the lock.
    let ids: Vec<MetricId> = unique(ready.iter().map(|(id, _)| *id));
    let totals = lock_series(&mut *connection, ids).await?;

    let mut written = Written::default();
    let (deltas, plain): (Vec<_>, Vec<_>) = ready
        .into_iter()
        .partition(|(_, item)| item.kind == PushKind::Delta);

    // Gauges and counters: the first point at a (series, time) wins.
    let mut samples = Vec::with_capacity(plain.len());
    let mut taken = HashSet::new();
    for (metric_id, item) in plain {
        let t = item.t.unwrap_or(now);
        if taken.insert((metric_id, t)) {
            samples.push(Sample {
                metric_id,
                t,
                value: item.value,
            });
        } else {
            written.duplicates += 1;
        }
    }
    let new = usize::try_from(write_samples(&mut *connection, &samples).await?).unwrap_or(0);
    queue_pushed(&mut *connection, &samples).await?;
    written.accepted += new;
    written.duplicates += samples.len().saturating_sub(new);

    if !deltas.is_empty() {
        let planned = plan_deltas(&mut *connection, deltas, &totals, now, answer).await?;
        written.duplicates += planned.duplicates;
        let new =
            usize::try_from(write_samples(&mut *connection, &planned.samples).await?).unwrap_or(0);
        queue_pushed(&mut *connection, &planned.samples).await?;
        if new == planned.samples.len() {
            written.accepted += planned.points;
        } else {
            // Only another writer of a delta series' samples (an import) could cause it.
            tracing::warn!(
                planned = planned.samples.len(),
                written = new,
                "some delta totals were already recorded"
            );
            let missed = planned.samples.len() - new;
            written.accepted += planned.points.saturating_sub(missed);
            written.duplicates += missed;
        }
    }
    Ok(written)
}

/// Each item's series: found, or made (under the source's row lock, up to the plan's
/// cap), the metric keeping the type it was first pushed with. Items that cannot go in
/// a series are refused in `answer`, with why.
pub(super) async fn resolve_series(
    connection: &mut PgConnection,
    source: &PushSource,
    items: Vec<Item>,
    answer: &mut PushAnswer,
) -> Result<Vec<(MetricId, Item)>, PushError> {
    let families: Vec<String> = unique(items.iter().map(|item| item.family.clone()));
    let mut stored = stored_series(&mut *connection, source.source_id, &families).await?;
    let missing = items.iter().any(|item| !stored.contains_key(&item.series));
    if missing {
        // The cap is counted, and new series made, one request at a time per source.
        sqlx::query!(
            "SELECT id FROM sources WHERE id = $1 FOR UPDATE",
            source.source_id as SourceId,
        )
        .fetch_optional(&mut *connection)
        .await?;
        stored = stored_series(&mut *connection, source.source_id, &families).await?;
    }

    // A metric keeps its type: the stored one, else the first in this request.
    let mut family_kind: HashMap<String, String> = stored
        .iter()
        .map(|(name, series)| (family_of(name).to_string(), series.kind.clone()))
        .collect();
    let stored_families: HashSet<String> = family_kind.keys().cloned().collect();
    let mut typed = Vec::with_capacity(items.len());
    for item in items {
        let kind = item.kind.key();
        match family_kind.get(&item.family) {
            Some(existing) if existing != kind => {
                let reason = if stored_families.contains(&item.family) {
                    format!(
                        "`{}` is a {existing} metric; a {kind} point cannot go in it (a metric keeps the type it was first pushed with)",
                        item.family
                    )
                } else {
                    format!(
                        "`{}` is sent as a {existing} earlier in this request; a metric has one type, so a {kind} point cannot go in it",
                        item.family
                    )
                };
                answer.refused.push(Refusal {
                    line: item.line,
                    reason,
                });
            }
            Some(_) => typed.push(item),
            None => {
                family_kind.insert(item.family.clone(), kind.to_string());
                typed.push(item);
            }
        }
    }

    // New series, in the order of their first point, up to the plan's cap.
    let mut new_series: Vec<&Item> = Vec::new();
    let mut seen = HashSet::new();
    for item in &typed {
        if !stored.contains_key(&item.series) && seen.insert(item.series.clone()) {
            new_series.push(item);
        }
    }
    let mut over_cap: HashMap<String, String> = HashMap::new();
    if !new_series.is_empty() {
        let cap = series_cap(&mut *connection, source.workspace_id).await?;
        let count = sqlx::query_scalar!(
            r#"SELECT count(*) AS "count!" FROM source_metrics WHERE source_id = $1"#,
            source.source_id as SourceId,
        )
        .fetch_one(&mut *connection)
        .await?;
        let room = usize::try_from((i64::from(cap.max) - count).max(0)).unwrap_or(0);
        for item in new_series.iter().skip(room) {
            over_cap.insert(
                item.series.clone(),
                format!(
                    "the {} plan allows {} series per push source, and this one has {count}: `{}` would be a new one (upgrade for more)",
                    cap.plan, cap.max, item.series
                ),
            );
        }
        let made: Vec<&Item> = new_series.into_iter().take(room).collect();
        if !made.is_empty() {
            let created = create_series(&mut *connection, source.source_id, count, &made).await?;
            stored.extend(created);
        }
    }

    let mut ready = Vec::with_capacity(typed.len());
    for item in typed {
        if let Some(reason) = over_cap.get(&item.series) {
            answer.refused.push(Refusal {
                line: item.line,
                reason: reason.clone(),
            });
        } else if let Some(series) = stored.get(&item.series) {
            ready.push((series.id, item));
        } else {
            answer.refused.push(Refusal {
                line: item.line,
                reason: format!(
                    "the series `{}` could not be made; please send it again",
                    item.series
                ),
            });
        }
    }
    Ok(ready)
}

/// Locks the series' rows, in id order (see the module's note on locks), and reads each
/// one's latest value and time under the lock.
pub(super) async fn lock_series(
    connection: &mut PgConnection,
    mut ids: Vec<MetricId>,
) -> Result<HashMap<MetricId, (Option<f64>, Option<DateTime<Utc>>)>, sqlx::Error> {
    ids.sort();
    ids.dedup();
    Ok(sqlx::query!(
        r#"SELECT id AS "id: MetricId", last_value, last_at FROM source_metrics
           WHERE id = ANY($1) ORDER BY id FOR UPDATE"#,
        &ids as &[MetricId],
    )
    .fetch_all(&mut *connection)
    .await?
    .into_iter()
    .map(|row| (row.id, (row.last_value, row.last_at)))
    .collect())
}

/// The delta points as samples of running totals.
struct PlannedDeltas {
    samples: Vec<Sample>,
    /// Points the samples stand for (deltas without a time are added into one).
    points: usize,
    duplicates: usize,
}

async fn plan_deltas(
    connection: &mut PgConnection,
    deltas: Vec<(MetricId, Item)>,
    totals: &HashMap<MetricId, (Option<f64>, Option<DateTime<Utc>>)>,
    now: DateTime<Utc>,
    answer: &mut PushAnswer,
) -> Result<PlannedDeltas, sqlx::Error> {
    // Times already recorded, among those the deltas name.
    let (ids, times): (Vec<MetricId>, Vec<DateTime<Utc>>) = deltas
        .iter()
        .filter_map(|(id, item)| item.t.map(|t| (*id, t)))
        .unzip();
    let recorded: HashSet<(MetricId, DateTime<Utc>)> = if ids.is_empty() {
        HashSet::new()
    } else {
        sqlx::query!(
            r#"SELECT s.metric_id AS "metric_id: MetricId", s.t FROM samples s
               JOIN unnest($1::integer[], $2::timestamptz[]) AS i(metric_id, t)
                 ON s.metric_id = i.metric_id AND s.t = i.t"#,
            &ids as &[MetricId],
            &times,
        )
        .fetch_all(&mut *connection)
        .await?
        .into_iter()
        .map(|row| (row.metric_id, row.t))
        .collect()
    };

    let mut by_series: BTreeMap<MetricId, Vec<Item>> = BTreeMap::new();
    for (id, item) in deltas {
        by_series.entry(id).or_default().push(item);
    }
    let mut planned = PlannedDeltas {
        samples: Vec::new(),
        points: 0,
        duplicates: 0,
    };
    for (metric_id, items) in by_series {
        let (mut total, mut newest) = totals.get(&metric_id).copied().unwrap_or((None, None));
        let (mut timed, untimed): (Vec<Item>, Vec<Item>) =
            items.into_iter().partition(|item| item.t.is_some());
        timed.sort_by_key(|item| (item.t, item.line));
        for item in timed {
            let Some(t) = item.t else { continue };
            if recorded.contains(&(metric_id, t)) || newest == Some(t) {
                planned.duplicates += 1;
                continue;
            }
            if let Some(latest) = newest.filter(|latest| t < *latest) {
                answer.refused.push(Refusal {
                    line: item.line,
                    reason: format!(
                        "a delta must not be older than its series' newest point ({}): send deltas in time order, or without `t`",
                        latest.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    ),
                });
                continue;
            }
            let sum = total.unwrap_or(0.0) + item.value;
            if !sum.is_finite() {
                answer.refused.push(Refusal {
                    line: item.line,
                    reason: "adding this delta makes the running total too large to store".into(),
                });
                continue;
            }
            planned.samples.push(Sample {
                metric_id,
                t,
                value: sum,
            });
            planned.points += 1;
            total = Some(sum);
            newest = Some(t);
        }
        if !untimed.is_empty() {
            let t = match newest {
                Some(latest) if latest >= now => latest + TimeDelta::microseconds(1),
                _ => now,
            };
            let sum = total.unwrap_or(0.0) + untimed.iter().map(|item| item.value).sum::<f64>();
            if sum.is_finite() {
                planned.samples.push(Sample {
                    metric_id,
                    t,
                    value: sum,
                });
                planned.points += untimed.len();
            } else {
                for item in untimed {
                    answer.refused.push(Refusal {
                        line: item.line,
                        reason: "adding this delta makes the running total too large to store"
                            .into(),
                    });
                }
            }
        }
    }
    Ok(planned)
}

/// The source's series of these metric families, by series name.
async fn stored_series(
    connection: &mut PgConnection,
    source_id: SourceId,
    families: &[String],
) -> Result<HashMap<String, Stored>, sqlx::Error> {
    sqlx::query_as!(
        StoredRow,
        r#"SELECT id AS "id: MetricId", name, kind FROM source_metrics
           WHERE source_id = $1 AND family = ANY($2)"#,
        source_id as SourceId,
        families,
    )
    .fetch_all(&mut *connection)
    .await
    .map(by_name)
}

struct Cap {
    plan: String,
    max: i32,
}

/// The plan's `max_push_series` for the workspace.
async fn series_cap(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
) -> Result<Cap, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT p.name, p.max_push_series FROM workspaces w JOIN plans p ON p.id = w.plan_id
         WHERE w.id = $1",
        workspace_id as WorkspaceId,
    )
    .fetch_one(&mut *connection)
    .await?;
    Ok(Cap {
        plan: row.name,
        max: row.max_push_series,
    })
}

/// Makes the series (after the `count` the source has), by name.
async fn create_series(
    connection: &mut PgConnection,
    source_id: SourceId,
    count: i64,
    items: &[&Item],
) -> Result<HashMap<String, Stored>, sqlx::Error> {
    let names: Vec<String> = items.iter().map(|item| item.series.clone()).collect();
    let kinds: Vec<String> = items
        .iter()
        .map(|item| item.kind.key().to_string())
        .collect();
    let labels: Vec<String> = items
        .iter()
        .map(|item| serde_json::to_string(&item.labels).unwrap_or_else(|_| "{}".into()))
        .collect();
    sqlx::query_as!(
        StoredRow,
        r#"INSERT INTO source_metrics (source_id, name, kind, labels, position)
           SELECT $1, s.name, s.kind, s.labels::jsonb, least($5 + s.ord - 1, 32767)
           FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS s(name, kind, labels, ord)
           ON CONFLICT DO NOTHING
           RETURNING id AS "id: MetricId", name, kind"#,
        source_id as SourceId,
        &names,
        &kinds,
        &labels,
        count,
    )
    .fetch_all(&mut *connection)
    .await
    .map(by_name)
}

/// Notes the push on the push source and its source (the source's last success is what
/// `no_data` rules are judged by).
pub(super) async fn record_push(
    pool: &PgPool,
    id: PushSourceId,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH p AS (
             UPDATE push_sources SET last_push_at = greatest(last_push_at, $2) WHERE id = $1
             RETURNING source_id
         )
         UPDATE sources s SET last_poll_at = greatest(s.last_poll_at, $2),
                last_success_at = greatest(s.last_success_at, $2), consecutive_failures = 0
         FROM p WHERE s.id = p.source_id",
        id as PushSourceId,
        now,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The metric name of a series name (`signups` of `signups{plan="pro"}`), as the
/// `family` column has it.
fn family_of(series: &str) -> &str {
    series.split('{').next().unwrap_or(series)
}

/// `time` to PostgreSQL's precision (microseconds), so that times compare as stored.
pub(super) fn micros(time: DateTime<Utc>) -> DateTime<Utc> {
    time.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(time)
}

/// The distinct values, in their first order.
pub(super) fn unique<T: Clone + Eq + std::hash::Hash>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    values.filter(|value| seen.insert(value.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names_give_their_family() {
        assert_eq!(family_of("signups"), "signups");
        assert_eq!(family_of(r#"signups{plan="pro"}"#), "signups");
    }

    #[test]
    fn times_are_cut_to_microseconds() {
        let time: DateTime<Utc> = "2026-12-01T10:00:00.123456789Z".parse().expect("time");
        assert_eq!(
            micros(time),
            "2026-12-01T10:00:00.123456Z"
                .parse::<DateTime<Utc>>()
                .expect("time")
        );
    }

    #[test]
    fn only_a_request_with_nothing_stored_and_something_refused_failed() {
        let refused = vec![Refusal {
            line: 1,
            reason: "x".into(),
        }];
        assert!(
            PushAnswer {
                refused: refused.clone(),
                ..PushAnswer::default()
            }
            .all_refused()
        );
        assert!(
            !PushAnswer {
                duplicates: 1,
                refused,
                ..PushAnswer::default()
            }
            .all_refused()
        );
        assert!(!PushAnswer::default().all_refused());
    }
}
