//! Evaluating rules right after a poll wrote its samples, for the sources that got new
//! ones, in the same worker: one batched read of the rules of those sources' metrics with
//! what each condition needs (the latest sample, the one before, the value a window ago,
//! the extremes), the rules judged in memory ([`crate::domain::alerts`]), and one write of
//! their states, the events they fired and the events' deliveries. A source tracked by
//! several workspaces evaluates each workspace's rules from the same poll. Only rules that
//! fired or changed state are written (most samples change nothing). A rule fires once
//! per sample: a poll evaluated twice (a retried job) fires once.

use sqlx::PgPool;

pub use super::updates::Evaluated;
use super::updates::{Guard, RuleRef, Updates};
use crate::domain::{AlertRuleId, SourceId, TrackerId, WorkspaceId, alerts::Observation};

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
        let rule = RuleRef::new(row.id, row.workspace_id, row.tracker_id, &row.metric);
        let Some((spec, state)) = rule.read(&row.spec, &row.state) else {
            continue;
        };
        let observation = Observation {
            at: row.t,
            value: row.value,
            previous: row.previous,
            window_start: row.window_start,
            window_high: row.high,
            window_low: row.low,
        };
        let evaluation = spec.evaluate(&state, &observation);
        updates.judged += 1;
        // Most samples neither fire nor re-arm a rule: nothing to write. Evaluating the
        // same sample again (a retried poll) finds the same, and a firing is written with
        // its sample, so it never fires twice.
        if evaluation.fired.is_none() && evaluation.state == state {
            continue;
        }
        updates.push(rule, Guard::NewerSample(row.t), evaluation);
    }
    updates.write(pool).await
}
