//! What the Prometheus scrape endpoint (`GET /api/v1/metrics`) exposes: every active
//! tracker of a workspace with its source's last successful poll and each metric's latest
//! value, read in one statement.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::{ProviderKind, TrackerId, WorkspaceId};

/// A pushed series' labels as the database holds them.
type PushedLabels = sqlx::types::Json<std::collections::BTreeMap<String, String>>;

/// A tracker as a scrape sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapedTracker {
    pub id: TrackerId,
    pub label: String,
    pub kind: ProviderKind,
    pub key: String,
    /// The source's last successful poll; `None` before the first one.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The metrics that have a value, in the source's order.
    pub values: Vec<ScrapedValue>,
}

/// A metric's latest value and when it was sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapedValue {
    /// The metric's name without a pushed series' label set (`signups`).
    pub metric: String,
    /// A pushed series' labels (`{"plan": "pro"}`); empty for a provider's metric.
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
    pub at: DateTime<Utc>,
}

/// The workspace's trackers that are being tracked (neither paused, by hand or by the
/// plan, nor past their end date), oldest first, with their latest values: one
/// statement, a row per tracker and metric.
pub async fn scrape_trackers(
    pool: &PgPool,
    workspace_id: WorkspaceId,
) -> Result<Vec<ScrapedTracker>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT t.id AS "id: TrackerId", t.label, s.kind AS "kind: ProviderKind", s.key,
                  s.last_success_at,
                  m.family AS "metric?", m.labels AS "labels?: PushedLabels",
                  m.last_value AS "value?", m.last_at AS "at?"
           FROM trackers t
           JOIN sources s ON s.id = t.source_id
           LEFT JOIN source_metrics m
                  ON m.source_id = s.id AND m.last_value IS NOT NULL AND m.last_at IS NOT NULL
           WHERE t.workspace_id = $1
             AND NOT t.paused
             AND (t.ends_at IS NULL OR t.ends_at > now())
           ORDER BY t.created_at, t.id, m.position, m.id"#,
        workspace_id as WorkspaceId,
    )
    .fetch_all(pool)
    .await?;
    let mut trackers: Vec<ScrapedTracker> = Vec::new();
    for row in rows {
        let value = match (row.metric, row.labels, row.value, row.at) {
            (Some(metric), Some(labels), Some(value), Some(at)) => Some(ScrapedValue {
                metric,
                labels: labels.0,
                value,
                at,
            }),
            _ => None,
        };
        match trackers.last_mut() {
            Some(tracker) if tracker.id == row.id => tracker.values.extend(value),
            _ => trackers.push(ScrapedTracker {
                id: row.id,
                label: row.label,
                kind: row.kind,
                key: row.key,
                last_success_at: row.last_success_at,
                values: value.into_iter().collect(),
            }),
        }
    }
    Ok(trackers)
}
