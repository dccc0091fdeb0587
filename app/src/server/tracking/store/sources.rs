//! Sources (one thing upstream, shared by every workspace tracking it) and their metrics.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::domain::{MetricId, ProviderKind, SourceId, SourceState};

use crate::server::tracking::{Metadata, MetricSpec, clean_text};

/// A source as the API and the admin see it (never its config: it may hold secrets).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct SourceView {
    /// The source's id (shared by every workspace tracking it).
    pub id: SourceId,
    /// The provider kind (`github.repo`, `youtube.video`, `json`, `push`).
    pub kind: ProviderKind,
    /// The thing's key at its provider (`owner/repo`, a video id, a JSON API's URL).
    pub key: String,
    pub title: String,
    /// The thing itself.
    pub url: String,
    pub author: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    /// The source's own state (the tracker's `state` puts its pause and end date first).
    pub state: SourceState,
    /// Seconds between polls: the shortest its trackers ask for.
    pub interval_secs: i32,
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Polls failed in a row.
    pub consecutive_failures: i32,
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Why the last failed poll failed.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// A metric of a source with its latest value.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct MetricView {
    #[serde(skip_serializing)]
    pub id: MetricId,
    /// The series' name (`stars`; a pushed series with its labels: `signups{plan="pro"}`).
    pub name: String,
    /// `gauge`, `counter` or `delta`.
    pub kind: String,
    /// Its unit (`stars`, `views`, `USD`), possibly empty.
    pub unit: String,
    /// The latest value; `null` before the first.
    pub latest: Option<f64>,
    pub latest_at: Option<DateTime<Utc>>,
    /// The metric without its labels (`signups` for `signups{plan="pro"}`), and its
    /// labels: a pushed metric's label set; polled metrics have none.
    #[serde(default)]
    #[schema(required = true)]
    pub family: String,
    /// The series' labels, name to value (a pushed metric's label set; empty for polled
    /// metrics).
    #[serde(default)]
    #[schema(required = true)]
    pub labels: BTreeMap<String, String>,
}

impl MetricView {
    /// The series summed with this one across `label`: those of its family whose labels
    /// other than `label` are its own (itself among them), in order; `None` when no series
    /// of the family has that label.
    pub fn summed_across<'a>(
        &self,
        metrics: &'a [MetricView],
        label: &str,
    ) -> Option<Vec<&'a MetricView>> {
        let family: Vec<&MetricView> = metrics
            .iter()
            .filter(|metric| metric.family == self.family)
            .collect();
        if !family
            .iter()
            .any(|metric| metric.labels.contains_key(label))
        {
            return None;
        }
        let others = |metric: &MetricView| {
            metric
                .labels
                .iter()
                .filter(|(name, _)| name.as_str() != label)
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let own = others(self);
        Some(
            family
                .into_iter()
                .filter(|metric| others(metric) == own)
                .collect(),
        )
    }

    /// The label names the series of `family` among `metrics` have, sorted.
    pub fn label_names(metrics: &[MetricView], family: &str) -> Vec<String> {
        let names: std::collections::BTreeSet<&String> = metrics
            .iter()
            .filter(|metric| metric.family == family)
            .flat_map(|metric| metric.labels.keys())
            .collect();
        names.into_iter().cloned().collect()
    }
}

/// Creates the source of `kind` + `metadata.key`, or refreshes the metadata of the one
/// that exists (a gone source that exists again comes back). Its metrics are added.
pub async fn upsert_source(
    connection: &mut PgConnection,
    kind: &str,
    metadata: &Metadata,
    config: &serde_json::Value,
    metrics: &[MetricSpec],
) -> Result<SourceId, sqlx::Error> {
    let tags: Vec<String> = metadata.tags.iter().map(|tag| clean_text(tag)).collect();
    let id = sqlx::query_scalar!(
        r#"INSERT INTO sources (kind, key, config, title, url, author, published_at, tags)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (kind, key) DO UPDATE SET
             title = excluded.title, url = excluded.url, author = excluded.author,
             published_at = excluded.published_at, tags = excluded.tags,
             state = CASE WHEN sources.state = 'gone' THEN 'ok' ELSE sources.state END,
             consecutive_failures = CASE WHEN sources.state = 'gone' THEN 0
                                         ELSE sources.consecutive_failures END
         RETURNING id AS "id: SourceId""#,
        kind,
        clean_text(&metadata.key),
        config,
        clean_text(&metadata.title),
        clean_text(&metadata.url),
        metadata.author.as_deref().map(clean_text),
        metadata.published_at,
        &tags,
    )
    .fetch_one(&mut *connection)
    .await?;
    let names: Vec<&str> = metrics.iter().map(|metric| metric.name.as_str()).collect();
    let kinds: Vec<&str> = metrics.iter().map(|metric| metric.kind.as_str()).collect();
    let units: Vec<&str> = metrics.iter().map(|metric| metric.unit.as_str()).collect();
    sqlx::query!(
        "INSERT INTO source_metrics (source_id, name, kind, unit, position)
         SELECT $1, m.name, m.kind, m.unit, m.position - 1
         FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS m(name, kind, unit, position)
         ON CONFLICT (source_id, name) DO NOTHING",
        id as SourceId,
        &names as &[&str],
        &kinds as &[&str],
        &units as &[&str],
    )
    .execute(&mut *connection)
    .await?;
    Ok(id)
}

/// Days a source no tracker uses is kept (with its samples) before it is deleted.
pub const ORPHAN_DAYS: i32 = 30;

/// Deletes the sources no tracker has used for [`ORPHAN_DAYS`], with their samples and
/// rollups. (A source holding secret headers goes with its last tracker, at once: see
/// the migration `20261201000000_hardening.sql`.) Returns how many went.
pub async fn delete_orphaned_sources(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    // A few sources a statement: each takes its samples and rollups with it.
    let mut deleted = 0;
    loop {
        let batch = sqlx::query!(
            "DELETE FROM sources WHERE id IN (
                 SELECT s.id FROM sources s
                 WHERE s.orphaned_at < $1::timestamptz - make_interval(days => $2)
                   AND NOT EXISTS (SELECT 1 FROM trackers t WHERE t.source_id = s.id)
                 LIMIT 20
             )",
            now,
            ORPHAN_DAYS,
        )
        .execute(pool)
        .await?
        .rows_affected();
        deleted += batch;
        if batch < 20 {
            return Ok(deleted);
        }
    }
}
