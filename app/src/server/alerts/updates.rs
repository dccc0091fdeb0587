//! Writing what an evaluation of many rules decided, in one statement: the rules' new
//! states, the events they fired and one delivery per event and channel. Shared by the
//! evaluation after a poll ([`super::evaluate`]) and the one on the clock
//! ([`super::silence`]).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use crate::domain::{
    AlertRuleId, TrackerId, WorkspaceId,
    alerts::{Evaluation, RuleSpec, RuleState},
};

/// What one evaluation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evaluated {
    /// Rules judged.
    pub judged: usize,
    /// Rules whose state was written (those that fired or changed state).
    pub rules: usize,
    /// Events they fired.
    pub fired: usize,
}

/// The rule an evaluation is of.
pub(super) struct RuleRef<'a> {
    id: AlertRuleId,
    workspace_id: WorkspaceId,
    tracker_id: TrackerId,
    metric: &'a str,
}

impl<'a> RuleRef<'a> {
    pub(super) fn new(
        id: AlertRuleId,
        workspace_id: WorkspaceId,
        tracker_id: TrackerId,
        metric: &'a str,
    ) -> Self {
        Self {
            id,
            workspace_id,
            tracker_id,
            metric,
        }
    }

    /// The rule's stored spec and state, read; `None` (logged) when the spec no longer
    /// parses, and the rule is skipped.
    pub(super) fn read(&self, spec: &Value, state: &Value) -> Option<(RuleSpec, RuleState)> {
        let Ok(spec) = RuleSpec::from_json(spec) else {
            tracing::warn!(rule = %self.id, "a stored rule no longer parses; skipped");
            return None;
        };
        let state = serde_json::from_value(state.clone()).unwrap_or_default();
        Some((spec, state))
    }
}

/// What keeps two evaluations of one rule at once from both writing (and firing).
pub(super) enum Guard {
    /// Judged on this sample: written only if the rule was not evaluated on a newer one
    /// meanwhile, and the sample becomes its newest.
    NewerSample(DateTime<Utc>),
    /// Judged on the clock from this stored state: written only if the state is still it.
    SameState(Value),
}

/// The rules' new states, and the events that fired, as columns for one statement.
#[derive(Default)]
pub(super) struct Updates {
    /// How many rules were judged, written or not.
    pub(super) judged: usize,
    rules: Vec<uuid::Uuid>,
    states: Vec<Value>,
    samples: Vec<Option<DateTime<Utc>>>,
    old_states: Vec<Option<Value>>,
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
    /// Adds what evaluating `rule` decided.
    pub(super) fn push(&mut self, rule: RuleRef<'_>, guard: Guard, evaluation: Evaluation) {
        self.rules.push(rule.id.uuid());
        self.states
            .push(serde_json::to_value(&evaluation.state).unwrap_or(Value::Null));
        match guard {
            Guard::NewerSample(at) => {
                self.samples.push(Some(at));
                self.old_states.push(None);
            }
            Guard::SameState(state) => {
                self.samples.push(None);
                self.old_states.push(Some(state));
            }
        }
        if let Some(firing) = evaluation.fired {
            self.fired_rules.push(rule.id.uuid());
            self.workspaces.push(rule.workspace_id.uuid());
            self.trackers.push(rule.tracker_id.uuid());
            self.metrics.push(rule.metric.to_string());
            self.conditions.push(firing.condition.key().to_string());
            self.values.push(firing.value);
            self.previous.push(firing.previous);
            self.reasons.push(firing.reason);
            self.fired_at.push(firing.at);
        }
    }

    /// One statement: the states (only of rules their guard lets through), the events of
    /// those, and one delivery per event and channel.
    pub(super) async fn write(self, pool: &PgPool) -> Result<Evaluated, sqlx::Error> {
        if self.rules.is_empty() {
            return Ok(Evaluated {
                judged: self.judged,
                ..Evaluated::default()
            });
        }
        let row = sqlx::query!(
            r#"WITH updated AS (
                   UPDATE alert_rules r
                   SET state = u.state, last_sample_at = COALESCE(u.t, r.last_sample_at)
                   FROM unnest($1::uuid[], $2::jsonb[], $3::timestamptz[], $4::jsonb[])
                        AS u(id, state, t, old)
                   WHERE r.id = u.id
                     AND (u.t IS NULL OR r.last_sample_at IS NULL OR r.last_sample_at < u.t)
                     AND (u.old IS NULL OR r.state = u.old)
                   RETURNING r.id),
               events AS (
                   INSERT INTO alert_events (rule_id, workspace_id, tracker_id, metric, condition,
                                             value, previous, reason, fired_at)
                   SELECT f.rule_id, f.workspace_id, f.tracker_id, f.metric, f.condition,
                          f.value, f.previous, f.reason, f.fired_at
                   FROM unnest($5::uuid[], $6::uuid[], $7::uuid[], $8::text[], $9::text[],
                               $10::float8[], $11::float8[], $12::text[], $13::timestamptz[])
                        AS f(rule_id, workspace_id, tracker_id, metric, condition, value,
                             previous, reason, fired_at)
                   WHERE f.rule_id IN (SELECT id FROM updated)
                   RETURNING id, rule_id),
               deliveries AS (
                   INSERT INTO alert_deliveries (event_id, channel_id)
                   SELECT e.id, rc.channel_id FROM events e
                   JOIN alert_rule_channels rc ON rc.rule_id = e.rule_id
                   RETURNING 1)
               SELECT (SELECT count(*) FROM updated) AS "rules!",
                      (SELECT count(*) FROM events) AS "fired!""#,
            &self.rules,
            &self.states,
            &self.samples as &[Option<DateTime<Utc>>],
            &self.old_states as &[Option<Value>],
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
            judged: self.judged,
            rules: usize::try_from(row.rules).unwrap_or(0),
            fired: usize::try_from(row.fired).unwrap_or(0),
        })
    }
}
