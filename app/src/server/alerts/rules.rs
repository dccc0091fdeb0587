//! Alert rules of a workspace's trackers: made, listed, changed, paused and deleted,
//! always within the workspace, the plan's limit checked under the workspace's lock.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::domain::{
    AlertRuleId, ChannelId, TrackerId, UserId, WorkspaceId,
    alerts::{AlertWindow, Condition, ConditionKind, Direction, Extremes, RuleSpec, RuleState},
};
use crate::server::billing::store::{UpgradeRequired, check_rule_room};

/// Why a rule was not made or changed.
#[derive(Debug)]
pub enum RuleRefusal {
    /// No such tracker (or rule) in the workspace.
    NotFound,
    /// The tracker has no such metric: its metrics, to say so.
    UnknownMetric(Vec<String>),
    /// A channel that is not the workspace's.
    UnknownChannel(ChannelId),
    UpgradeRequired(UpgradeRequired),
}

impl RuleRefusal {
    /// For people (the REST API's message, a form's error).
    pub fn message(&self) -> String {
        match self {
            RuleRefusal::NotFound => "There is no such tracker.".to_string(),
            RuleRefusal::UnknownMetric(metrics) => format!(
                "`metric`: this tracker has no such metric; its metrics are {}",
                metrics.join(", ")
            ),
            RuleRefusal::UnknownChannel(id) => {
                format!("`channels`: {id} is not a channel of this workspace")
            }
            RuleRefusal::UpgradeRequired(limit) => limit.message.clone(),
        }
    }

    /// The rule's field the refusal is about, for a form to show it beside.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            RuleRefusal::UnknownMetric(_) => Some("metric"),
            RuleRefusal::UnknownChannel(_) => Some("channels"),
            RuleRefusal::NotFound | RuleRefusal::UpgradeRequired(_) => None,
        }
    }
}

/// A rule of the workspace, as read or just written.
#[derive(Debug, Clone)]
pub struct RuleRow {
    pub id: AlertRuleId,
    pub tracker: TrackerId,
    pub spec: RuleSpec,
    pub paused: bool,
    pub state: RuleState,
    pub created_at: DateTime<Utc>,
    /// The email of the member who made it (`None`: before workspaces were shared, or an
    /// account since deleted).
    pub created_by: Option<String>,
}

impl RuleRow {
    /// The rule as the API shows it: its flat spec plus its id, tracker, state.
    pub fn view(&self) -> RuleView {
        let mut view = RuleView {
            id: self.id,
            tracker: self.tracker,
            metric: self.spec.metric.clone(),
            condition: self.spec.condition.kind(),
            value: None,
            margin: None,
            amount: None,
            percent: None,
            window: None,
            direction: None,
            every: None,
            duration_secs: None,
            cooldown_secs: self.spec.cooldown_secs,
            channels: self.spec.channels.clone(),
            paused: self.paused,
            armed: self.state.armed,
            last_fired_at: self.state.last_fired_at,
            created_at: self.created_at,
            created_by: self.created_by.clone(),
        };
        // The parameters `RuleSpec::to_json` writes for each condition (a test compares).
        match self.spec.condition {
            Condition::Above { value, margin } | Condition::Below { value, margin } => {
                view.value = Some(value);
                view.margin = Some(margin);
            }
            Condition::Change {
                amount,
                percent,
                window,
                direction,
            } => {
                view.amount = amount;
                view.percent = percent;
                view.window = Some(window);
                view.direction = Some(direction);
            }
            Condition::NewHigh { window } | Condition::NewLow { window } => view.window = window,
            Condition::Milestone { every } => view.every = every,
            Condition::NoData { duration_secs } => view.duration_secs = Some(duration_secs),
            Condition::Gone => {}
        }
        view
    }
}

/// An alert rule as the API shows it: its flat form (what `POST` and `PATCH` take: the
/// metric, the condition and only that condition's parameters, the cooldown, the
/// channels) plus its id, tracker and state.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub id: AlertRuleId,
    /// The tracker it watches.
    pub tracker: TrackerId,
    /// The tracker's metric it watches (`stars`).
    pub metric: String,
    /// What makes it fire; the parameters below that apply to it are set, the others
    /// absent.
    pub condition: ConditionKind,
    /// `above`/`below`: the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// `above`/`below`: re-armed once the value is back past the threshold by this much.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    /// `change`: the least rise or fall (this or `percent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// `change`: the least rise or fall in percent of the window's start (this or
    /// `amount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// `change`: the span compared over; `new_high`/`new_low`: the span looked back on
    /// (absent: all time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<AlertWindow>,
    /// `change`: which way it watches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// `milestone`: fires at each multiple of this (absent: powers of ten from 1,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<f64>,
    /// `no_data`: fires after this many seconds without a successful poll.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<i64>,
    /// The least time between two firings, in seconds.
    pub cooldown_secs: i64,
    /// Where its alerts go.
    pub channels: Vec<ChannelId>,
    pub paused: bool,
    /// Whether it may fire: false from a firing until its condition has been false again.
    pub armed: bool,
    /// Its last firing.
    pub last_fired_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The email of the member who made it, when known.
    pub created_by: Option<String>,
}

/// The lookback columns of a spec (see the migration).
fn lookback(spec: &RuleSpec) -> (Option<i32>, Option<i32>) {
    let lookback = spec.condition.lookback();
    let secs = |secs: i64| i32::try_from(secs).unwrap_or(i32::MAX);
    (
        lookback.window_start_secs.map(secs),
        lookback.extremes.map(|extremes| match extremes {
            Extremes::AllTime => 0,
            Extremes::LastSecs(value) => secs(value),
        }),
    )
}

/// The metric of `name` of tracker `tracker` of the workspace: `Err` with the refusal.
async fn metric_of(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
    tracker: TrackerId,
    name: &str,
) -> Result<Result<i32, RuleRefusal>, sqlx::Error> {
    let metrics = sqlx::query!(
        r#"SELECT m.id, m.name FROM trackers t JOIN source_metrics m ON m.source_id = t.source_id
           WHERE t.workspace_id = $1 AND t.id = $2 ORDER BY m.position, m.name"#,
        workspace_id as WorkspaceId,
        tracker as TrackerId,
    )
    .fetch_all(&mut *connection)
    .await?;
    if metrics.is_empty() {
        return Ok(Err(RuleRefusal::NotFound));
    }
    Ok(metrics
        .iter()
        .find(|metric| metric.name == name)
        .map(|metric| metric.id)
        .ok_or_else(|| RuleRefusal::UnknownMetric(metrics.into_iter().map(|m| m.name).collect())))
}

/// Checks that every channel of `spec` is the workspace's.
async fn check_channels(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
    spec: &RuleSpec,
) -> Result<Result<(), RuleRefusal>, sqlx::Error> {
    let ids: Vec<uuid::Uuid> = spec.channels.iter().map(|id| id.uuid()).collect();
    let own: Vec<uuid::Uuid> = sqlx::query_scalar!(
        "SELECT id FROM alert_channels WHERE workspace_id = $1 AND id = ANY($2)",
        workspace_id as WorkspaceId,
        &ids,
    )
    .fetch_all(&mut *connection)
    .await?;
    Ok(
        match spec.channels.iter().find(|id| !own.contains(&id.uuid())) {
            Some(id) => Err(RuleRefusal::UnknownChannel(*id)),
            None => Ok(()),
        },
    )
}

/// Makes a rule on tracker `tracker`.
pub async fn create_rule(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    tracker: TrackerId,
    spec: &RuleSpec,
    created_by: Option<UserId>,
) -> Result<Result<RuleRow, RuleRefusal>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let metric = match metric_of(&mut transaction, workspace_id, tracker, &spec.metric).await? {
        Ok(metric) => metric,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if let Err(refusal) = check_channels(&mut transaction, workspace_id, spec).await? {
        return Ok(Err(refusal));
    }
    if let Err(limit) = check_rule_room(&mut transaction, workspace_id).await? {
        return Ok(Err(RuleRefusal::UpgradeRequired(limit)));
    }
    let (start_secs, extremes_secs) = lookback(spec);
    let state = RuleState::default();
    let row = sqlx::query!(
        r#"INSERT INTO alert_rules (workspace_id, tracker_id, metric_id, condition, spec,
                                    cooldown_secs, state, start_secs, extremes_secs, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING id AS "id: AlertRuleId", created_at,
                     (SELECT email FROM users WHERE id = $10) AS created_by"#,
        workspace_id as WorkspaceId,
        tracker as TrackerId,
        metric,
        spec.condition.kind().key(),
        spec.to_json(),
        i32::try_from(spec.cooldown_secs).unwrap_or(i32::MAX),
        serde_json::to_value(&state).unwrap_or_default(),
        start_secs,
        extremes_secs,
        created_by.map(|user| user.0),
    )
    .fetch_one(&mut *transaction)
    .await?;
    link_channels(&mut transaction, row.id, &spec.channels).await?;
    transaction.commit().await?;
    Ok(Ok(RuleRow {
        id: row.id,
        tracker,
        spec: spec.clone(),
        paused: false,
        state,
        created_at: row.created_at,
        created_by: row.created_by,
    }))
}

async fn link_channels(
    connection: &mut PgConnection,
    rule: AlertRuleId,
    channels: &[ChannelId],
) -> Result<(), sqlx::Error> {
    let ids: Vec<uuid::Uuid> = channels.iter().map(|id| id.uuid()).collect();
    sqlx::query!(
        "DELETE FROM alert_rule_channels WHERE rule_id = $1",
        rule as AlertRuleId
    )
    .execute(&mut *connection)
    .await?;
    sqlx::query!(
        "INSERT INTO alert_rule_channels (rule_id, channel_id) SELECT $1, unnest($2::uuid[])",
        rule as AlertRuleId,
        &ids,
    )
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// The rules of tracker `tracker`, oldest first; `None` when the workspace has no such
/// tracker.
pub async fn list_rules(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    tracker: TrackerId,
) -> Result<Option<Vec<RuleRow>>, sqlx::Error> {
    if !tracker_exists(pool, workspace_id, tracker).await? {
        return Ok(None);
    }
    tracker_rules(pool, workspace_id, tracker).await.map(Some)
}

/// Whether the workspace has tracker `tracker`.
pub async fn tracker_exists(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    tracker: TrackerId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM trackers WHERE workspace_id = $1 AND id = $2) AS "exists!""#,
        workspace_id as WorkspaceId,
        tracker as TrackerId,
    )
    .fetch_one(pool)
    .await
}

/// The rules of tracker `tracker` of the workspace, oldest first, in one statement (none
/// when the workspace has no such tracker).
pub async fn tracker_rules(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    tracker: TrackerId,
) -> Result<Vec<RuleRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id: AlertRuleId", spec, paused, state, created_at,
                  (SELECT u.email FROM users u WHERE u.id = alert_rules.created_by) AS created_by
           FROM alert_rules
           WHERE workspace_id = $1 AND tracker_id = $2 ORDER BY created_at, id"#,
        workspace_id as WorkspaceId,
        tracker as TrackerId,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(RuleRow {
                id: row.id,
                tracker,
                spec: RuleSpec::from_json(&row.spec).ok()?,
                paused: row.paused,
                state: serde_json::from_value(row.state).unwrap_or_default(),
                created_at: row.created_at,
                created_by: row.created_by,
            })
        })
        .collect())
}

/// Rule `id` of the workspace; `None` when it has no such rule.
pub async fn get_rule(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: AlertRuleId,
) -> Result<Option<RuleRow>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT tracker_id AS "tracker: TrackerId", spec, paused, state, created_at,
                  (SELECT u.email FROM users u WHERE u.id = alert_rules.created_by) AS created_by
           FROM alert_rules WHERE workspace_id = $1 AND id = $2"#,
        workspace_id as WorkspaceId,
        id as AlertRuleId,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|row| {
        Some(RuleRow {
            id,
            tracker: row.tracker,
            spec: RuleSpec::from_json(&row.spec).ok()?,
            paused: row.paused,
            state: serde_json::from_value(row.state).unwrap_or_default(),
            created_at: row.created_at,
            created_by: row.created_by,
        })
    }))
}

/// Changes rule `id` of the workspace by `patch` (the spec's fields, and `paused`).
pub async fn update_rule(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: AlertRuleId,
    patch: &Value,
) -> Result<Result<Result<RuleRow, crate::domain::alerts::RuleError>, RuleRefusal>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let Some(row) = sqlx::query!(
        r#"SELECT tracker_id AS "tracker: TrackerId", spec, paused, state, created_at,
                  (SELECT u.email FROM users u WHERE u.id = alert_rules.created_by) AS created_by
           FROM alert_rules WHERE workspace_id = $1 AND id = $2 FOR UPDATE"#,
        workspace_id as WorkspaceId,
        id as AlertRuleId,
    )
    .fetch_optional(&mut *transaction)
    .await?
    else {
        return Ok(Err(RuleRefusal::NotFound));
    };
    let current = match RuleSpec::from_json(&row.spec) {
        Ok(spec) => spec,
        Err(error) => return Ok(Ok(Err(error))),
    };
    let mut spec_patch = patch.clone();
    let paused = match spec_patch
        .as_object_mut()
        .and_then(|fields| fields.remove("paused"))
    {
        None => row.paused,
        Some(Value::Bool(paused)) => paused,
        Some(_) => {
            return Ok(Ok(Err(crate::domain::alerts::RuleError::Invalid {
                field: "paused",
                reason: "must be true or false".into(),
            })));
        }
    };
    let spec = match current.patched(&spec_patch) {
        Ok(spec) => spec,
        Err(error) => return Ok(Ok(Err(error))),
    };
    let metric = match metric_of(&mut transaction, workspace_id, row.tracker, &spec.metric).await? {
        Ok(metric) => metric,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if let Err(refusal) = check_channels(&mut transaction, workspace_id, &spec).await? {
        return Ok(Err(refusal));
    }
    // A changed condition starts afresh: armed, no memory of the old one.
    let state: RuleState = if spec.condition == current.condition && spec.metric == current.metric {
        serde_json::from_value(row.state).unwrap_or_default()
    } else {
        RuleState::default()
    };
    let (start_secs, extremes_secs) = lookback(&spec);
    sqlx::query!(
        "UPDATE alert_rules SET metric_id = $2, condition = $3, spec = $4, cooldown_secs = $5,
                paused = $6, state = $7, start_secs = $8, extremes_secs = $9
         WHERE id = $1",
        id as AlertRuleId,
        metric,
        spec.condition.kind().key(),
        spec.to_json(),
        i32::try_from(spec.cooldown_secs).unwrap_or(i32::MAX),
        paused,
        serde_json::to_value(&state).unwrap_or_default(),
        start_secs,
        extremes_secs,
    )
    .execute(&mut *transaction)
    .await?;
    link_channels(&mut transaction, id, &spec.channels).await?;
    transaction.commit().await?;
    Ok(Ok(Ok(RuleRow {
        id,
        tracker: row.tracker,
        spec,
        paused,
        state,
        created_at: row.created_at,
        created_by: row.created_by,
    })))
}

/// Deletes rule `id` of the workspace (its events stay); whether it was there.
pub async fn delete_rule(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: AlertRuleId,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM alert_rules WHERE workspace_id = $1 AND id = $2",
        workspace_id as WorkspaceId,
        id as AlertRuleId,
    )
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The flat form the API answered before [`RuleView`]: the spec's `to_json` plus the
    /// row's fields.
    fn old_json(row: &RuleRow) -> Value {
        let mut body = row.spec.to_json();
        if let Value::Object(fields) = &mut body {
            fields.insert("id".into(), json!(row.id));
            fields.insert("tracker".into(), json!(row.tracker));
            fields.insert("paused".into(), json!(row.paused));
            fields.insert("armed".into(), json!(row.state.armed));
            fields.insert("last_fired_at".into(), json!(row.state.last_fired_at));
            fields.insert("created_at".into(), json!(row.created_at));
            fields.insert("created_by".into(), json!(row.created_by));
        }
        body
    }

    fn row(condition: Condition) -> RuleRow {
        let mut spec = RuleSpec::new("stars", condition);
        spec.cooldown_secs = 600;
        spec.channels = vec![
            ChannelId(uuid::Uuid::new_v4()),
            ChannelId(uuid::Uuid::new_v4()),
        ];
        RuleRow {
            id: AlertRuleId(uuid::Uuid::new_v4()),
            tracker: TrackerId(uuid::Uuid::new_v4()),
            spec,
            paused: true,
            state: RuleState {
                armed: false,
                last_fired_at: Some(Utc::now()),
                last_value: Some(3.0),
                last_milestone: None,
            },
            created_at: Utc::now(),
            created_by: None,
        }
    }

    #[test]
    fn the_view_serializes_as_the_flat_spec_plus_the_rows_fields_for_every_condition() {
        let conditions = [
            Condition::Above {
                value: 20_000.0,
                margin: 0.0,
            },
            Condition::Below {
                value: 1.5,
                margin: 0.25,
            },
            Condition::Change {
                amount: Some(100.0),
                percent: None,
                window: AlertWindow::Day,
                direction: Direction::Up,
            },
            Condition::Change {
                amount: None,
                percent: Some(12.5),
                window: AlertWindow::Week,
                direction: Direction::Either,
            },
            Condition::NewHigh { window: None },
            Condition::NewHigh {
                window: Some(AlertWindow::Hour),
            },
            Condition::NewLow {
                window: Some(AlertWindow::Week),
            },
            Condition::NewLow { window: None },
            Condition::Milestone { every: None },
            Condition::Milestone {
                every: Some(1_000.0),
            },
            Condition::NoData {
                duration_secs: 3_600,
            },
            Condition::Gone,
        ];
        let mut kinds = std::collections::BTreeSet::new();
        for condition in conditions {
            kinds.insert(condition.kind().key());
            let mut row = row(condition);
            for state in [row.state.clone(), RuleState::default()] {
                row.state = state;
                let view = serde_json::to_value(row.view()).expect("serializes");
                assert_eq!(view, old_json(&row), "{:?}", row.spec.condition);
                // The same numbers, written the same way (`1.0`, not `1`).
                assert_eq!(view.to_string(), old_json(&row).to_string());
            }
        }
        assert_eq!(
            kinds.len(),
            ConditionKind::ALL.len(),
            "every condition is compared"
        );
    }
}
