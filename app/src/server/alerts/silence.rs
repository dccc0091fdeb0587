//! Evaluating the rules that watch for silence on the clock, from a periodic job:
//! `no_data` (no successful poll of the source for a duration) and `gone` (the source
//! went away upstream). One read of every such rule with its source's last success and
//! state, the rules judged in memory ([`crate::domain::alerts::evaluate_silence`]), and
//! one write of the states that changed, the events they fired and their deliveries. A
//! write only lands on the state it was judged from, so a poll evaluating the same rule
//! at once (which re-arms it) and a second run of the job never fire twice.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::updates::{Evaluated, Guard, RuleRef, Updates};
use crate::domain::{AlertRuleId, TrackerId, WorkspaceId};

/// Judges every active `no_data` and `gone` rule as of `now`.
pub async fn check(pool: &PgPool, now: DateTime<Utc>) -> Result<Evaluated, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT r.id AS "id: AlertRuleId", r.workspace_id AS "workspace_id: WorkspaceId",
                  r.tracker_id AS "tracker_id: TrackerId", r.spec, r.state,
                  m.name AS metric,
                  -- Never polled successfully: silent since the tracker was made.
                  COALESCE(s.last_success_at, t.created_at) AS "last_success!",
                  s.state = 'gone' AS "gone!"
           FROM alert_rules r
           JOIN trackers t ON t.id = r.tracker_id AND NOT t.paused
           JOIN source_metrics m ON m.id = r.metric_id
           JOIN sources s ON s.id = m.source_id
           WHERE r.condition IN ('no_data', 'gone') AND NOT r.paused"#,
    )
    .fetch_all(pool)
    .await?;

    let mut updates = Updates::default();
    for row in rows {
        let rule = RuleRef::new(row.id, row.workspace_id, row.tracker_id, &row.metric);
        let Some((spec, state)) = rule.read(&row.spec, &row.state) else {
            continue;
        };
        let evaluation = spec.evaluate_silence(&state, now, Some(row.last_success), row.gone);
        updates.judged += 1;
        // Most minutes change nothing: nothing to write.
        if evaluation.fired.is_none() && evaluation.state == state {
            continue;
        }
        updates.push(rule, Guard::SameState(row.state), evaluation);
    }
    updates.write(pool).await
}
