//! What a tracker's page and shared page show beside the chart: what happened to the
//! tracker or its source (the chart's markers), and the latest polls.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::{PgPool, types::Json};

use super::TrackerView;
use crate::domain::{MetricId, SourceId, TrackerId};

/// Something that happened to a tracker or its source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// `added`, `paused`, `resumed`, `interval`, `failing`, `recovered` or `gone`.
    pub kind: String,
    pub detail: Option<String>,
}

/// One poll's value of one metric.
#[derive(Debug, Deserialize)]
struct RecentSample {
    t: DateTime<Utc>,
    metric_id: MetricId,
    value: f64,
}

/// What [`history`] reads.
#[derive(Debug, Clone, Copy)]
pub struct HistoryRequest {
    /// The events from this time to that one; none when `None`.
    pub events: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// How many of the latest polls.
    pub recent: i64,
}

/// A tracker's history: its events and its source's (the source's only since the
/// tracker was added; at most 200, the latest, oldest first), and its latest
/// `request.recent` polls, newest first, each as (time, value per metric in the tracker's
/// order). One round trip for both.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    pub events: Vec<Event>,
    pub recent: Vec<(DateTime<Utc>, Vec<Option<f64>>)>,
}

pub async fn history(
    pool: &PgPool,
    tracker: &TrackerView,
    request: HistoryRequest,
) -> Result<History, sqlx::Error> {
    let metric_ids: Vec<MetricId> = tracker.metrics.iter().map(|metric| metric.id).collect();
    let (from, to) = request.events.unzip();
    let row = sqlx::query!(
        r#"SELECT
               (SELECT coalesce(json_agg(e ORDER BY e.at), '[]') FROM (
                    SELECT at, kind, detail FROM tracker_events
                    WHERE tracker_id = $1 AND at >= $3 AND at <= $4
                    UNION ALL
                    SELECT at, kind, detail FROM source_events
                    WHERE source_id = $2 AND at >= greatest($3, $5) AND at <= $4
                    ORDER BY at DESC LIMIT 200
                ) AS e) AS "events!: Json<Vec<Event>>",
               (SELECT coalesce(json_agg(r ORDER BY r.t DESC), '[]') FROM (
                    SELECT s.t, s.metric_id, s.value
                    FROM samples s
                    JOIN (SELECT DISTINCT x.t
                          FROM unnest($6::integer[]) AS m(id),
                               LATERAL (SELECT t FROM samples WHERE metric_id = m.id
                                        ORDER BY t DESC LIMIT $7) AS x
                          ORDER BY x.t DESC LIMIT $7) AS times USING (t)
                    WHERE s.metric_id = ANY($6)
                ) AS r) AS "recent!: Json<Vec<RecentSample>>""#,
        tracker.id as TrackerId,
        tracker.source.id as SourceId,
        from,
        to,
        tracker.created_at,
        &metric_ids as &[MetricId],
        request.recent,
    )
    .fetch_one(pool)
    .await?;
    let mut recent: Vec<(DateTime<Utc>, Vec<Option<f64>>)> = Vec::new();
    for sample in row.recent.0 {
        if recent.last().is_none_or(|(time, _)| *time != sample.t) {
            recent.push((sample.t, vec![None; metric_ids.len()]));
        }
        if let (Some((_, values)), Some(index)) = (
            recent.last_mut(),
            metric_ids.iter().position(|id| *id == sample.metric_id),
        ) {
            values[index] = Some(sample.value);
        }
    }
    Ok(History {
        events: row.events.0,
        recent,
    })
}
