//! Evaluating rules right after a poll wrote its samples, for the sources that got new
//! ones, in the same worker: one batched read of the rules of those sources' metrics with
//! what each condition needs (the latest sample, the one before, the value a window ago,
//! the extremes), the rules judged in memory ([`crate::domain::alerts`]), and one write of
//! their states, the events they fired and the events' deliveries. A source tracked by
//! several workspaces evaluates each workspace's rules from the same poll. A rule is
//! evaluated once per sample: a poll evaluated twice (a retried job) fires once.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use crate::domain::{
    AlertRuleId, SourceId, TrackerId, WorkspaceId,
    alerts::{Observation, RuleSpec, RuleState},
};

/// What one evaluation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evaluated {
    pub rules: usize,
    pub fired: usize,
}

/// Evaluates the rules of the metrics of `sources` on their newest samples.
pub async fn after_polls(pool: &PgPool, sources: &[SourceId]) -> Result<Evaluated, sqlx::Error> {
    if sources.is_empty() {
        return Ok(Evaluated::default());
    }
    let ids: Vec<i64> = sources.iter().map(|id| id.0).collect();
    let rows = sqlx::query!(
        r#"SELECT r.id AS "id: AlertRuleId", r.workspace_id AS "workspace_id: WorkspaceId",
                  r.tracker_id AS "tracker_id: TrackerId", r.spec, r.state, m.name AS metric,
                  cur.t, cur.value, prev.value AS "previous?", start.value AS "window_start?",
                  ext.high AS "high?", ext.low AS "low?"
           FROM alert_rules r
           JOIN trackers t ON t.id = r.tracker_id AND NOT t.paused
           JOIN source_metrics m ON m.id = r.metric_id
           JOIN LATERAL (SELECT s.t, s.value FROM samples s WHERE s.metric_id = r.metric_id
                         ORDER BY s.t DESC LIMIT 1) cur ON true
           LEFT JOIN LATERAL (SELECT s.value FROM samples s
                              WHERE s.metric_id = r.metric_id AND s.t < cur.t
                              ORDER BY s.t DESC LIMIT 1) prev ON true
           LEFT JOIN LATERAL (SELECT s.value FROM samples s
                              WHERE r.start_secs IS NOT NULL AND s.metric_id = r.metric_id
                                AND s.t <= cur.t - make_interval(secs => r.start_secs)
                              ORDER BY s.t DESC LIMIT 1) start ON true
           LEFT JOIN LATERAL (
               -- All time: the daily rollups before the sample's day, then that day's
               -- samples before it; a window: the samples in it.
               SELECT max(x.high) AS high, min(x.low) AS low FROM (
                   SELECT d.max AS high, d.min AS low FROM samples_daily d
                   WHERE r.extremes_secs = 0 AND d.metric_id = r.metric_id
                     AND d.bucket < date_trunc('day', cur.t, 'UTC')
                   UNION ALL
                   SELECT s.value, s.value FROM samples s
                   WHERE r.extremes_secs IS NOT NULL AND s.metric_id = r.metric_id AND s.t < cur.t
                     AND s.t >= CASE WHEN r.extremes_secs = 0 THEN date_trunc('day', cur.t, 'UTC')
                                     ELSE cur.t - make_interval(secs => r.extremes_secs) END
               ) x) ext ON true
           WHERE m.source_id = ANY($1) AND NOT r.paused
             AND (r.last_sample_at IS NULL OR cur.t > r.last_sample_at)"#,
        &ids,
    )
    .fetch_all(pool)
    .await?;

    let mut updates = Updates::default();
    for row in rows {
        let Ok(spec) = RuleSpec::from_json(&row.spec) else {
            tracing::warn!(rule = %row.id, "a stored rule no longer parses; skipped");
            continue;
        };
        let state: RuleState = serde_json::from_value(row.state).unwrap_or_default();
        let observation = Observation {
            at: row.t,
            value: row.value,
            previous: row.previous,
            window_start: row.window_start,
            window_high: row.high,
            window_low: row.low,
        };
        let evaluation = spec.evaluate(&state, &observation);
        updates.rules.push(row.id.uuid());
        updates
            .states
            .push(serde_json::to_value(&evaluation.state).unwrap_or(Value::Null));
        updates.samples.push(row.t);
        if let Some(firing) = evaluation.fired {
            updates.fired_rules.push(row.id.uuid());
            updates.workspaces.push(row.workspace_id.uuid());
            updates.trackers.push(row.tracker_id.uuid());
            updates.metrics.push(row.metric.clone());
            updates.conditions.push(firing.condition.key().to_string());
            updates.values.push(firing.value);
            updates.previous.push(firing.previous);
            updates.reasons.push(firing.reason);
            updates.fired_at.push(firing.at);
        }
    }
    updates.write(pool).await
}

/// The rules' new states, and the events that fired, as columns for one statement.
#[derive(Default)]
struct Updates {
    rules: Vec<uuid::Uuid>,
    states: Vec<Value>,
    samples: Vec<DateTime<Utc>>,
    fired_rules: Vec<uuid::Uuid>,
    workspaces: Vec<uuid::Uuid>,
    trackers: Vec<uuid::Uuid>,
    metrics: Vec<String>,
    conditions: Vec<String>,
    values: Vec<Option<f64>>,
    previous: Vec<Option<f64>>,
    reasons: Vec<String>,
    fired_at: Vec<DateTime<Utc>>,
}

impl Updates {
    /// One statement: the states (only of rules not evaluated on a newer sample
    /// meanwhile), the events of those, and one delivery per event and channel.
    async fn write(self, pool: &PgPool) -> Result<Evaluated, sqlx::Error> {
        if self.rules.is_empty() {
            return Ok(Evaluated::default());
        }
        let rules = self.rules.len();
        let fired = sqlx::query_scalar!(
            r#"WITH updated AS (
                   UPDATE alert_rules r SET state = u.state, last_sample_at = u.t
                   FROM unnest($1::uuid[], $2::jsonb[], $3::timestamptz[]) AS u(id, state, t)
                   WHERE r.id = u.id AND (r.last_sample_at IS NULL OR r.last_sample_at < u.t)
                   RETURNING r.id),
               events AS (
                   INSERT INTO alert_events (rule_id, workspace_id, tracker_id, metric, condition,
                                             value, previous, reason, fired_at)
                   SELECT f.rule_id, f.workspace_id, f.tracker_id, f.metric, f.condition,
                          f.value, f.previous, f.reason, f.fired_at
                   FROM unnest($4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::text[],
                               $9::float8[], $10::float8[], $11::text[], $12::timestamptz[])
                        AS f(rule_id, workspace_id, tracker_id, metric, condition, value,
                             previous, reason, fired_at)
                   WHERE f.rule_id IN (SELECT id FROM updated)
                   RETURNING id, rule_id),
               deliveries AS (
                   INSERT INTO alert_deliveries (event_id, channel_id)
                   SELECT e.id, rc.channel_id FROM events e
                   JOIN alert_rule_channels rc ON rc.rule_id = e.rule_id
                   RETURNING 1)
               SELECT count(*) AS "count!" FROM events"#,
            &self.rules,
            &self.states,
            &self.samples,
            &self.fired_rules,
            &self.workspaces,
            &self.trackers,
            &self.metrics,
            &self.conditions,
            &self.values as &[Option<f64>],
            &self.previous as &[Option<f64>],
            &self.reasons,
            &self.fired_at,
        )
        .fetch_one(pool)
        .await?;
        Ok(Evaluated {
            rules,
            fired: usize::try_from(fired).unwrap_or(0),
        })
    }
}
