//! Events (`POST /api/v1/events`): counting each into its push source's
//! `events_total{type="…", …}` counter series, keeping it raw for the plan's raw
//! retention, reading the raw events back for exports, and pruning them.
//!
//! An events series is a running total, so an event at time `t` adds one to the series'
//! point at `t` (made, holding the total just before `t`, when there is none) and to
//! every later point, and the rollups of the buckets those points are in move with them,
//! in one statement, all under the series' row lock (the delta path's lock: two senders
//! at once never double- or under-count). Only events write these series (`POST
//! /api/v1/push` refuses the metric), so their values never decrease, and a bucket's
//! `min` and `max` are its first and last points: that is what makes the rollups'
//! update exact without reading a bucket's older points. An event older than the
//! series' oldest raw point cannot be placed once older points have been pruned, and is
//! refused.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool};

use super::PushSource;
use super::store::{
    Item, PushAnswer, PushError, after_accepted, check_accepting, lock_series, micros,
    resolve_series, unique,
};
use crate::domain::push::{
    PushKind, PushPoint, Refusal,
    events::{EVENTS_METRIC, EventBatch, event_series_labels},
    series::{check_point, series_name},
};
use crate::domain::{MetricId, PushSourceId, WorkspaceId};
use crate::server::{
    db::batches::delete_in_batches,
    sinks::store::queue_pushed,
    tracking::store::{Sample, write_samples},
};

/// Counts `batch` into `source`'s events series and keeps its events, `now` being when
/// the request arrived (an event without a time happened then). Answers as a push does:
/// every event accepted or refused with why (`duplicates` is always 0: two events at
/// the same time are two events). Then evaluates the source's alert rules, as after a
/// push.
#[tracing::instrument(skip(pool, source, batch), fields(push_source.id = %source.id, events = batch.events.len()))]
pub async fn store_events(
    pool: &PgPool,
    source: &PushSource,
    batch: EventBatch,
    now: DateTime<Utc>,
) -> Result<PushAnswer, PushError> {
    let now = micros(now);
    let mut answer = PushAnswer {
        refused: batch.refused,
        ..PushAnswer::default()
    };
    let mut items = Vec::with_capacity(batch.events.len());
    let mut events: HashMap<usize, KeptEvent> = HashMap::with_capacity(batch.events.len());
    for (line, event) in batch.events {
        let labels = match event_series_labels(&event, &source.event_labels) {
            Ok(labels) => labels,
            Err(reason) => {
                answer.refused.push(Refusal { line, reason });
                continue;
            }
        };
        let t = event.t.map_or(now, micros);
        let point = PushPoint {
            metric: EVENTS_METRIC.to_string(),
            labels,
            value: 1.0,
            t: Some(t),
            kind: PushKind::Counter,
        };
        if let Err(reason) = check_point(&point) {
            answer.refused.push(Refusal { line, reason });
            continue;
        }
        items.push(Item {
            line,
            series: series_name(EVENTS_METRIC, &point.labels),
            family: point.metric,
            labels: point.labels,
            kind: point.kind,
            value: point.value,
            t: Some(t),
        });
        events.insert(
            line,
            KeptEvent {
                kind: event.kind,
                t,
                properties: event.properties,
            },
        );
    }

    let mut transaction = pool.begin().await?;
    check_accepting(&mut transaction, source.id, now).await?;
    let mut accepted = Vec::new();
    if !items.is_empty() {
        let ready = resolve_series(&mut transaction, source, items, &mut answer).await?;
        if !ready.is_empty() {
            accepted = count_events(&mut transaction, ready, &mut answer).await?;
        }
    }
    let kept: Vec<KeptEvent> = accepted
        .iter()
        .filter_map(|line| events.remove(line))
        .collect();
    keep_events(&mut transaction, source, &kept).await?;
    transaction.commit().await?;
    answer.accepted = accepted.len();
    answer.refused.sort_by_key(|refusal| refusal.line);

    if answer.accepted > 0 {
        after_accepted(pool, source, now).await?;
    }
    Ok(answer)
}

/// An event to keep raw once counted.
struct KeptEvent {
    kind: String,
    t: DateTime<Utc>,
    properties: Map<String, Value>,
}

/// Where a series' raw points start, when older ones were pruned.
pub(super) struct Pruned {
    /// Its oldest raw point (or, with none left, its latest point).
    pub(super) boundary: Option<DateTime<Utc>>,
}

/// Counts the events (`value` 1 each, at their `t`) into their series, under the
/// series' row locks; the lines counted.
async fn count_events(
    connection: &mut PgConnection,
    ready: Vec<(MetricId, Item)>,
    answer: &mut PushAnswer,
) -> Result<Vec<usize>, PushError> {
    let ids: Vec<MetricId> = unique(ready.iter().map(|(id, _)| *id));
    lock_series(&mut *connection, ids.clone()).await?;
    let pruned = pruned_series(&mut *connection, &ids).await?;

    let mut counts: BTreeMap<(MetricId, DateTime<Utc>), f64> = BTreeMap::new();
    let mut lines = Vec::with_capacity(ready.len());
    for (metric_id, item) in ready {
        let Some(t) = item.t else { continue };
        if let Some(boundary) = pruned.get(&metric_id).and_then(|pruned| pruned.boundary)
            && t <= boundary
        {
            answer.refused.push(Refusal {
                line: item.line,
                reason: format!(
                    "this event is not after `{}`'s oldest point still kept ({}): older points were pruned by the plan's retention, so it cannot be counted in its place",
                    item.series,
                    boundary.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                ),
            });
            continue;
        }
        *counts.entry((metric_id, t)).or_default() += item.value;
        lines.push(item.line);
    }
    if counts.is_empty() {
        return Ok(lines);
    }
    let (metric_ids, times): (Vec<MetricId>, Vec<DateTime<Utc>>) = counts.keys().copied().unzip();
    let amounts: Vec<f64> = counts.values().copied().collect();

    // A point at each event's time, holding the running total just before it.
    let missing: Vec<Sample> = sqlx::query!(
        r#"SELECT i.metric_id AS "metric_id!: MetricId", i.t AS "t!",
                  coalesce(
                      (SELECT s.value FROM samples s WHERE s.metric_id = i.metric_id AND s.t < i.t
                       ORDER BY s.t DESC LIMIT 1),
                      (SELECT m.last_value FROM source_metrics m
                       WHERE m.id = i.metric_id AND m.last_at < i.t),
                      0) AS "before!"
           FROM unnest($1::integer[], $2::timestamptz[]) AS i(metric_id, t)
           WHERE NOT EXISTS (SELECT 1 FROM samples s WHERE s.metric_id = i.metric_id AND s.t = i.t)"#,
        &metric_ids as &[MetricId],
        &times,
    )
    .fetch_all(&mut *connection)
    .await?
    .into_iter()
    .map(|row| Sample {
        metric_id: row.metric_id,
        t: row.t,
        value: row.before,
    })
    .collect();
    write_samples(&mut *connection, &missing).await?;

    let changed = add_counts(&mut *connection, &metric_ids, &times, &amounts).await?;
    queue_pushed(&mut *connection, &changed).await?;
    Ok(lines)
}

/// The series among `ids` whose older raw points were pruned, with where their raw
/// points start (late deltas are placed under the same rule: see `store`).
pub(super) async fn pruned_series(
    connection: &mut PgConnection,
    ids: &[MetricId],
) -> Result<HashMap<MetricId, Pruned>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"SELECT m.id AS "id!: MetricId", coalesce(f.first_t, m.last_at) AS boundary,
                  CASE WHEN f.first_t IS NULL
                       THEN EXISTS (SELECT 1 FROM samples_hourly h WHERE h.metric_id = m.id)
                       ELSE EXISTS (SELECT 1 FROM samples_hourly h
                                    WHERE h.metric_id = m.id AND h.bucket < f.hour)
                         OR coalesce((SELECT h.count FROM samples_hourly h
                                      WHERE h.metric_id = m.id AND h.bucket = f.hour), 0)
                            > (SELECT count(*) FROM samples s WHERE s.metric_id = m.id
                               AND s.t >= f.hour AND s.t < f.hour + interval '1 hour')
                  END AS "pruned!"
           FROM source_metrics m
           CROSS JOIN LATERAL (
               SELECT first.t AS first_t,
                      date_bin('1 hour', first.t, timestamptz '2000-01-01 00:00:00+00') AS hour
               FROM (SELECT min(s.t) AS t FROM samples s WHERE s.metric_id = m.id) AS first
           ) AS f
           WHERE m.id = ANY($1)"#,
        ids as &[MetricId],
    )
    .fetch_all(&mut *connection)
    .await?
    .into_iter()
    .filter(|row| row.pruned)
    .map(|row| {
        (
            row.id,
            Pruned {
                boundary: row.boundary,
            },
        )
    })
    .collect())
}

/// Adds each count (of series `metric_ids[i]` at `times[i]`, one per series and time) to
/// that series' point at that time and every later one, moves the hourly, 3-hourly and
/// daily rollups with them (each bucket's `sum` by what its points gained, `last` and
/// `max` by what its last point gained, `min` by what its first gained when all of its
/// points moved), and the series' latest value. The points changed.
async fn add_counts(
    connection: &mut PgConnection,
    metric_ids: &[MetricId],
    times: &[DateTime<Utc>],
    amounts: &[f64],
) -> Result<Vec<Sample>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"WITH counted AS (
               SELECT metric_id, t,
                      sum(k) OVER (PARTITION BY metric_id ORDER BY t) AS added,
                      lead(t) OVER (PARTITION BY metric_id ORDER BY t) AS until
               FROM unnest($1::integer[], $2::timestamptz[], $3::float8[]) AS e(metric_id, t, k)
           ),
           moved AS (
               UPDATE samples s SET value = s.value + c.added
               FROM counted c
               WHERE s.metric_id = c.metric_id AND s.t >= c.t AND (c.until IS NULL OR s.t < c.until)
               RETURNING s.metric_id, s.t, s.value, c.added
           ),
           buckets AS (
               SELECT g.grain, metric_id, date_bin(g.width, t, timestamptz '2000-01-01 00:00:00+00') AS bucket,
                      sum(added) AS added, count(*) AS n,
                      (array_agg(added ORDER BY t))[1] AS first_added,
                      (array_agg(added ORDER BY t DESC))[1] AS last_added
               FROM moved
               CROSS JOIN (VALUES ('1h', interval '1 hour'), ('3h', interval '3 hours'),
                                  ('1d', interval '1 day')) AS g(grain, width)
               GROUP BY 1, 2, 3
           ),
           hourly AS (
               UPDATE samples_hourly r SET sum = r.sum + b.added, max = r.max + b.last_added,
                      last = r.last + b.last_added, min = r.min + CASE WHEN b.n >= r.count THEN b.first_added ELSE 0 END
               FROM buckets b WHERE b.grain = '1h' AND r.metric_id = b.metric_id AND r.bucket = b.bucket
           ),
           three_hourly AS (
               UPDATE samples_3h r SET sum = r.sum + b.added, max = r.max + b.last_added,
                      last = r.last + b.last_added, min = r.min + CASE WHEN b.n >= r.count THEN b.first_added ELSE 0 END
               FROM buckets b WHERE b.grain = '3h' AND r.metric_id = b.metric_id AND r.bucket = b.bucket
           ),
           daily AS (
               UPDATE samples_daily r SET sum = r.sum + b.added, max = r.max + b.last_added,
                      last = r.last + b.last_added, min = r.min + CASE WHEN b.n >= r.count THEN b.first_added ELSE 0 END
               FROM buckets b WHERE b.grain = '1d' AND r.metric_id = b.metric_id AND r.bucket = b.bucket
           ),
           latest AS (
               UPDATE source_metrics m SET last_value = l.value, last_at = l.t
               FROM (SELECT DISTINCT ON (metric_id) metric_id, t, value
                     FROM moved ORDER BY metric_id, t DESC) AS l
               WHERE m.id = l.metric_id AND (m.last_at IS NULL OR m.last_at <= l.t)
           )
           SELECT metric_id AS "metric_id!: MetricId", t AS "t!", value AS "value!"
           FROM moved ORDER BY t, metric_id"#,
        metric_ids as &[MetricId],
        times,
        amounts,
    )
    .fetch_all(&mut *connection)
    .await?
    .into_iter()
    .map(|row| Sample {
        metric_id: row.metric_id,
        t: row.t,
        value: row.value,
    })
    .collect())
}

/// Keeps the counted events raw, for exports (pruned with the plan's raw retention).
async fn keep_events(
    connection: &mut PgConnection,
    source: &PushSource,
    events: &[KeptEvent],
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let kinds: Vec<String> = events.iter().map(|event| event.kind.clone()).collect();
    let times: Vec<DateTime<Utc>> = events.iter().map(|event| event.t).collect();
    let properties: Vec<String> = events
        .iter()
        .map(|event| Value::Object(event.properties.clone()).to_string())
        .collect();
    sqlx::query!(
        "INSERT INTO push_events (workspace_id, push_source_id, type, t, properties)
         SELECT $1, $2, e.type, e.t, e.properties::jsonb
         FROM unnest($3::text[], $4::timestamptz[], $5::text[]) AS e(type, t, properties)",
        source.workspace_id as WorkspaceId,
        source.id as PushSourceId,
        &kinds,
        &times,
        &properties,
    )
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// A kept event, as exports write it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    /// Its place in the push source's events, for paging.
    #[serde(skip)]
    pub id: i64,
    pub t: DateTime<Utc>,
    #[serde(rename = "type")]
    pub kind: String,
    pub properties: Value,
}

/// Where a page of events starts: after this event (time, id).
pub type EventCursor = (DateTime<Utc>, i64);

/// Up to `limit` of the workspace's push source's kept events from `from` to `to` (both
/// inclusive), in time order, after `after`.
#[tracing::instrument(skip(pool))]
pub async fn events_page(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: PushSourceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<EventCursor>,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let (after_t, after_id) = after.unwrap_or((from, 0));
    sqlx::query_as!(
        StoredEvent,
        r#"SELECT id, t, type AS kind, properties FROM push_events
           WHERE push_source_id = $1 AND workspace_id = $2 AND t >= $3 AND t <= $4
             AND (t > $5 OR (t = $5 AND id > $6))
           ORDER BY t, id LIMIT $7"#,
        id as PushSourceId,
        workspace_id as WorkspaceId,
        from,
        to,
        after_t,
        after_id,
        limit,
    )
    .fetch_all(pool)
    .await
}

/// Deletes kept events older than their workspace's plan keeps raw points (a plan whose
/// retention shrank keeps the old one until `retention_kept_until`, as for samples), in
/// batches. How many.
pub async fn prune_events(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let cutoffs = sqlx::query!(
        r#"SELECT w.id AS "id: WorkspaceId", $1::timestamptz - make_interval(days => greatest(
                    p.raw_retention_days,
                    CASE WHEN w.retention_kept_until > $1 THEN w.retention_kept_days END))
                    AS "cutoff!"
           FROM workspaces w JOIN plans p ON p.id = w.plan_id
           WHERE EXISTS (SELECT 1 FROM push_sources s WHERE s.workspace_id = w.id)"#,
        now,
    )
    .fetch_all(pool)
    .await?;
    let mut deleted = 0;
    for row in cutoffs {
        deleted += delete_in_batches(|batch| async move {
            Ok(sqlx::query!(
                "DELETE FROM push_events WHERE id IN (
                     SELECT id FROM push_events WHERE workspace_id = $1 AND t < $2 LIMIT $3
                 )",
                row.id as WorkspaceId,
                row.cutoff,
                batch,
            )
            .execute(pool)
            .await?
            .rows_affected())
        })
        .await?;
    }
    Ok(deleted)
}
