//! Storing a pushed [`Batch`], whatever format it came in: checking each point, finding
//! or making its series (under the plan's cap), keeping each metric's type, adding deltas
//! to running totals, and writing through the polls' sample writer, so the rollups stay
//! right for late points and a point already recorded is kept.
//!
//! A late delta (older than its series' newest point) lands in its place: the point at
//! its time holds the running total just before it plus the delta, and every later point
//! of the series grows by the delta. Deltas may be negative, so a series' points are not
//! monotonic and a bucket's `min` and `max` cannot be moved without reading its points
//! (as events' can): every rollup bucket of the series from the one holding the earliest
//! late delta on is recomputed from the raw points. That is exact only while those
//! buckets' raw points are all kept, so once the plan's retention has pruned a series'
//! older points, a late delta whose day starts before the oldest point still kept is
//! refused.
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
use super::events::pruned_series;
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
///   one point. A delta with a time older than the series' newest point lands in its
///   place: every later point grows by it, the rollups of the buckets from its own on are
///   recomputed from the raw points, and the points it changed are queued for the sinks
///   again, as a late event's are (refused once older raw points were pruned, if its day
///   starts before the oldest point kept). One at a time already recorded is a
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
        // The late ones first, so that the totals after the newest point, which already
        // count them, are not moved again.
        let placed = place_late(&mut *connection, &planned.late).await?;
        if !planned.late.is_empty() {
            recompute_rollups(&mut *connection, &planned.late).await?;
        }
        let new =
            usize::try_from(write_samples(&mut *connection, &planned.samples).await?).unwrap_or(0);
        let mut changed = placed.changed;
        changed.extend_from_slice(&planned.samples);
        queue_pushed(&mut *connection, &changed).await?;
        let planned_samples = planned.samples.len() + planned.late.len();
        let new = new + placed.placed;
        if new == planned_samples {
            written.accepted += planned.points;
        } else {
            // Only another writer of a delta series' samples (an import) could cause it.
            tracing::warn!(
                planned = planned_samples,
                written = new,
                "some delta totals were already recorded"
            );
            let missed = planned_samples.saturating_sub(new);
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

/// The delta points as samples of running totals, and the late ones to place.
struct PlannedDeltas {
    /// Running totals after their series' newest point.
    samples: Vec<Sample>,
    /// Deltas older than their series' newest point, each `value` the delta itself (at
    /// most one per series and time).
    late: Vec<Sample>,
    /// Points the samples stand for (deltas without a time are added into one).
    points: usize,
    duplicates: usize,
}

/// Why adding a delta would leave a total too large to store.
const TOO_LARGE: &str = "adding this delta makes the running total too large to store";

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

    // Each series' earliest late delta: where its raw points must be kept from, and from
    // where its points will move.
    let mut earliest_late: BTreeMap<MetricId, DateTime<Utc>> = BTreeMap::new();
    for (id, item) in &deltas {
        let newest = totals.get(id).and_then(|(_, newest)| *newest);
        if let (Some(t), Some(newest)) = (item.t, newest)
            && t < newest
        {
            let earliest = earliest_late.entry(*id).or_insert(t);
            *earliest = (*earliest).min(t);
        }
    }
    let (pruned, largest) = if earliest_late.is_empty() {
        (HashMap::new(), HashMap::new())
    } else {
        let late_ids: Vec<MetricId> = earliest_late.keys().copied().collect();
        (
            pruned_series(&mut *connection, &late_ids).await?,
            largest_moved(&mut *connection, &earliest_late).await?,
        )
    };

    let mut by_series: BTreeMap<MetricId, Vec<Item>> = BTreeMap::new();
    for (id, item) in deltas {
        by_series.entry(id).or_default().push(item);
    }
    let mut planned = PlannedDeltas {
        samples: Vec::new(),
        late: Vec::new(),
        points: 0,
        duplicates: 0,
    };
    for (metric_id, items) in by_series {
        let (mut total, stored_newest) = totals.get(&metric_id).copied().unwrap_or((None, None));
        let mut newest = stored_newest;
        // What the late deltas placed so far may move a point by, at most.
        let mut moved = largest.get(&metric_id).copied().unwrap_or(0.0);
        let mut taken = HashSet::new();
        let (mut timed, untimed): (Vec<Item>, Vec<Item>) =
            items.into_iter().partition(|item| item.t.is_some());
        timed.sort_by_key(|item| (item.t, item.line));
        for item in timed {
            let Some(t) = item.t else { continue };
            if recorded.contains(&(metric_id, t)) || stored_newest == Some(t) || taken.contains(&t)
            {
                planned.duplicates += 1;
                continue;
            }
            let sum = total.unwrap_or(0.0) + item.value;
            if !sum.is_finite() {
                answer.refused.push(Refusal {
                    line: item.line,
                    reason: TOO_LARGE.into(),
                });
                continue;
            }
            if stored_newest.is_some_and(|latest| t < latest) {
                if let Some(reason) = pruned
                    .get(&metric_id)
                    .and_then(|pruned| unplaceable(&item.series, t, pruned.boundary))
                {
                    answer.refused.push(Refusal {
                        line: item.line,
                        reason,
                    });
                    continue;
                }
                let bound = moved + item.value.abs();
                if !bound.is_finite() {
                    answer.refused.push(Refusal {
                        line: item.line,
                        reason: TOO_LARGE.into(),
                    });
                    continue;
                }
                moved = bound;
                planned.late.push(Sample {
                    metric_id,
                    t,
                    value: item.value,
                });
            } else {
                planned.samples.push(Sample {
                    metric_id,
                    t,
                    value: sum,
                });
                newest = Some(t);
            }
            planned.points += 1;
            total = Some(sum);
            taken.insert(t);
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
                        reason: TOO_LARGE.into(),
                    });
                }
            }
        }
    }
    Ok(planned)
}

/// Why a late delta at `t` of `series`, whose older raw points were pruned and whose raw
/// points start at `boundary`, cannot be placed: its day's bucket (which holds its hour's
/// and its 3 hours') starts before the oldest point kept, so the rollups of its buckets
/// could not be recomputed from raw points. `None` when it can.
fn unplaceable(series: &str, t: DateTime<Utc>, boundary: Option<DateTime<Utc>>) -> Option<String> {
    // UTC days, as the daily rollups' `date_bin` from 2000-01-01 00:00 UTC makes them.
    let day = t.duration_trunc(TimeDelta::days(1)).unwrap_or(t);
    let format = |time: DateTime<Utc>| time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    match boundary {
        Some(boundary) if day >= boundary => None,
        Some(boundary) => Some(format!(
            "this delta's day ({}) starts before `{series}`'s oldest point still kept ({}): older points were pruned by the plan's retention, so it cannot be added in its place",
            format(day),
            format(boundary)
        )),
        None => Some(format!(
            "`{series}` keeps no raw points any more (pruned by the plan's retention), so a delta older than its newest point cannot be added in its place"
        )),
    }
}

/// For each series and the time of its earliest late delta: the largest absolute value
/// among the points a late delta can read or move (the last point before that time and
/// every later one), to refuse deltas that would move one past what a float holds.
async fn largest_moved(
    connection: &mut PgConnection,
    earliest: &BTreeMap<MetricId, DateTime<Utc>>,
) -> Result<HashMap<MetricId, f64>, sqlx::Error> {
    let ids: Vec<MetricId> = earliest.keys().copied().collect();
    let times: Vec<DateTime<Utc>> = earliest.values().copied().collect();
    Ok(sqlx::query!(
        r#"SELECT i.metric_id AS "metric_id!: MetricId",
                  (SELECT max(abs(s.value)) FROM samples s
                   WHERE s.metric_id = i.metric_id AND s.t >= coalesce(
                       (SELECT max(b.t) FROM samples b WHERE b.metric_id = i.metric_id AND b.t < i.t),
                       i.t)) AS largest
           FROM unnest($1::integer[], $2::timestamptz[]) AS i(metric_id, t)"#,
        &ids as &[MetricId],
        &times,
    )
    .fetch_all(&mut *connection)
    .await?
    .into_iter()
    .map(|row| (row.metric_id, row.largest.unwrap_or(0.0)))
    .collect())
}

/// What placing late deltas did.
#[derive(Default)]
struct Placed {
    /// Points made at the deltas' times.
    placed: usize,
    /// Those points and every later point moved, with their new values.
    changed: Vec<Sample>,
}

/// Places the late deltas (`value` each one's increment; at most one per series and
/// time, none at a time recorded), in one statement: a point at each one's time holding
/// the running total just before it plus the deltas up to it, every later point of its
/// series grown by the deltas before it, and the series' latest value moved with its
/// newest point. The rollups are left to [`recompute_rollups`].
async fn place_late(connection: &mut PgConnection, late: &[Sample]) -> Result<Placed, sqlx::Error> {
    if late.is_empty() {
        return Ok(Placed::default());
    }
    let ids: Vec<MetricId> = late.iter().map(|delta| delta.metric_id).collect();
    let times: Vec<DateTime<Utc>> = late.iter().map(|delta| delta.t).collect();
    let values: Vec<f64> = late.iter().map(|delta| delta.value).collect();
    let rows = sqlx::query!(
        r#"WITH late AS (
               SELECT metric_id, t,
                      sum(k) OVER (PARTITION BY metric_id ORDER BY t) AS added,
                      lead(t) OVER (PARTITION BY metric_id ORDER BY t) AS until
               FROM unnest($1::integer[], $2::timestamptz[], $3::float8[]) AS d(metric_id, t, k)
           ),
           placed AS (
               INSERT INTO samples (metric_id, t, value)
               SELECT l.metric_id, l.t,
                      coalesce((SELECT s.value FROM samples s WHERE s.metric_id = l.metric_id
                                AND s.t < l.t ORDER BY s.t DESC LIMIT 1), 0) + l.added
               FROM late l
               ON CONFLICT (metric_id, t) DO NOTHING
               RETURNING metric_id, t, value
           ),
           moved AS (
               UPDATE samples s SET value = s.value + l.added
               FROM late l
               WHERE s.metric_id = l.metric_id AND s.t > l.t AND (l.until IS NULL OR s.t < l.until)
               RETURNING s.metric_id, s.t, s.value
           ),
           changed AS (
               SELECT metric_id, t, value, true AS placed FROM placed
               UNION ALL
               SELECT metric_id, t, value, false FROM moved
           ),
           latest AS (
               UPDATE source_metrics m SET last_value = l.value, last_at = l.t
               FROM (SELECT DISTINCT ON (metric_id) metric_id, t, value
                     FROM changed ORDER BY metric_id, t DESC) AS l
               WHERE m.id = l.metric_id AND (m.last_at IS NULL OR m.last_at <= l.t)
           )
           SELECT metric_id AS "metric_id!: MetricId", t AS "t!", value AS "value!",
                  placed AS "placed!"
           FROM changed ORDER BY t, metric_id"#,
        &ids as &[MetricId],
        &times,
        &values,
    )
    .fetch_all(&mut *connection)
    .await?;
    Ok(Placed {
        placed: rows.iter().filter(|row| row.placed).count(),
        changed: rows
            .into_iter()
            .map(|row| Sample {
                metric_id: row.metric_id,
                t: row.t,
                value: row.value,
            })
            .collect(),
    })
}

/// Recomputes, from the raw points, every hourly, 3-hourly and daily rollup bucket of the
/// late deltas' series from the one holding each series' earliest late delta on, in one
/// statement (exact while those buckets' raw points are all kept: see [`unplaceable`]).
async fn recompute_rollups(
    connection: &mut PgConnection,
    late: &[Sample],
) -> Result<(), sqlx::Error> {
    let ids: Vec<MetricId> = late.iter().map(|delta| delta.metric_id).collect();
    let times: Vec<DateTime<Utc>> = late.iter().map(|delta| delta.t).collect();
    sqlx::query!(
        r#"WITH since AS (
               SELECT metric_id, min(t) AS t
               FROM unnest($1::integer[], $2::timestamptz[]) AS l(metric_id, t)
               GROUP BY metric_id
           ),
           raw AS (
               SELECT g.grain, s.metric_id,
                      date_bin(g.width, s.t, timestamptz '2000-01-01 00:00:00+00') AS bucket,
                      min(s.value) AS min, max(s.value) AS max, sum(s.value) AS sum,
                      count(*) AS count, (array_agg(s.value ORDER BY s.t DESC))[1] AS last,
                      max(s.t) AS last_t
               FROM since
               CROSS JOIN (VALUES ('1h', interval '1 hour'), ('3h', interval '3 hours'),
                                  ('1d', interval '1 day')) AS g(grain, width)
               JOIN samples s ON s.metric_id = since.metric_id
                 AND s.t >= date_bin(g.width, since.t, timestamptz '2000-01-01 00:00:00+00')
               GROUP BY 1, 2, 3
           ),
           hourly AS (
               INSERT INTO samples_hourly AS r (metric_id, bucket, min, max, sum, count, last, last_t)
               SELECT metric_id, bucket, min, max, sum, count, last, last_t FROM raw WHERE grain = '1h'
               ON CONFLICT (metric_id, bucket) DO UPDATE SET
                   min = excluded.min, max = excluded.max, sum = excluded.sum,
                   count = excluded.count, last = excluded.last, last_t = excluded.last_t
           ),
           three_hourly AS (
               INSERT INTO samples_3h AS r (metric_id, bucket, min, max, sum, count, last, last_t)
               SELECT metric_id, bucket, min, max, sum, count, last, last_t FROM raw WHERE grain = '3h'
               ON CONFLICT (metric_id, bucket) DO UPDATE SET
                   min = excluded.min, max = excluded.max, sum = excluded.sum,
                   count = excluded.count, last = excluded.last, last_t = excluded.last_t
           ),
           daily AS (
               INSERT INTO samples_daily AS r (metric_id, bucket, min, max, sum, count, last, last_t)
               SELECT metric_id, bucket, min, max, sum, count, last, last_t FROM raw WHERE grain = '1d'
               ON CONFLICT (metric_id, bucket) DO UPDATE SET
                   min = excluded.min, max = excluded.max, sum = excluded.sum,
                   count = excluded.count, last = excluded.last, last_t = excluded.last_t
           )
           SELECT count(*) AS "buckets!" FROM raw"#,
        &ids as &[MetricId],
        &times,
    )
    .fetch_one(&mut *connection)
    .await?;
    Ok(())
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
    fn a_late_delta_is_placed_only_from_the_oldest_kept_points_day_on() {
        let time = |text: &str| text.parse::<DateTime<Utc>>().expect("time");
        let boundary = Some(time("2026-12-01T10:00:00Z"));
        assert_eq!(
            unplaceable("sales", time("2026-12-02T00:00:00Z"), boundary),
            None
        );
        let reason = unplaceable("sales", time("2026-12-01T11:00:00Z"), boundary)
            .expect("its day starts before the oldest point kept");
        assert!(
            reason.contains("day (2026-12-01T00:00:00Z) starts before `sales`'s oldest point still kept (2026-12-01T10:00:00Z)"),
            "{reason}"
        );
        assert!(unplaceable("sales", time("2026-12-02T00:00:00Z"), None).is_some());
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
