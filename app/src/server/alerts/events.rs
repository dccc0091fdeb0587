//! Alert events as people read them: the workspace's, newest first, each with its
//! deliveries (one per channel: sent, retrying or failed, with the error).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::domain::alert_channel::shown_target;
use crate::domain::{AlertEventId, AlertRuleId, ChannelId, ChannelKind, TrackerId, WorkspaceId};

/// One event with its deliveries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: AlertEventId,
    /// The rule that fired (`null` once it is deleted).
    pub rule: Option<AlertRuleId>,
    /// Its tracker (`null` once it is deleted).
    pub tracker: Option<TrackerId>,
    /// The tracker's label, while it exists.
    pub label: Option<String>,
    pub metric: String,
    /// The rule's condition when it fired (`above`, `change`, `no_data`…).
    pub condition: String,
    /// The value that made it fire.
    pub value: Option<f64>,
    /// The value before it.
    pub previous: Option<f64>,
    /// Why it fired, for people.
    pub reason: String,
    pub fired_at: DateTime<Utc>,
    /// One a channel.
    pub deliveries: Vec<DeliveryView>,
}

/// One delivery of an event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub channel: ChannelId,
    pub kind: ChannelKind,
    /// The channel's address, or its URL in part.
    pub target: String,
    /// `queued`, `sent`, `retrying`, `mailing` (an email in the outbox, waiting for the mail
    /// server), `failed`.
    pub state: String,
    pub attempts: i32,
    /// The last attempt's error.
    pub error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Which events to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventFilter {
    pub tracker: Option<TrackerId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// How many events each tracker of the workspace fired since `since`: one statement for
/// them all (the dashboard's bells). Trackers with none are absent.
pub async fn counts_since(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    since: DateTime<Utc>,
) -> Result<HashMap<TrackerId, u32>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT tracker_id AS "tracker?: TrackerId", count(*) AS "count!"
           FROM alert_events
           WHERE workspace_id = $1 AND fired_at >= $2 AND tracker_id IS NOT NULL
           GROUP BY tracker_id"#,
        workspace_id as WorkspaceId,
        since,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((row.tracker?, u32::try_from(row.count).unwrap_or(u32::MAX))))
        .collect())
}

/// The workspace's events that `filter` picks, newest first, with their deliveries: two
/// statements whatever their number.
pub async fn list_events(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    filter: EventFilter,
) -> Result<Vec<EventView>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT e.id AS "id: AlertEventId", e.rule_id AS "rule: AlertRuleId",
                  e.tracker_id AS "tracker: TrackerId", t.label AS "label?", e.metric,
                  e.condition, e.value, e.previous, e.reason, e.fired_at
           FROM alert_events e LEFT JOIN trackers t ON t.id = e.tracker_id
           WHERE e.workspace_id = $1
             AND ($2::uuid IS NULL OR e.tracker_id = $2)
             AND ($3::timestamptz IS NULL OR e.fired_at >= $3)
             AND ($4::timestamptz IS NULL OR e.fired_at < $4)
           ORDER BY e.fired_at DESC, e.id LIMIT $5"#,
        workspace_id as WorkspaceId,
        filter.tracker.map(TrackerId::uuid),
        filter.from,
        filter.to,
        filter.limit.clamp(1, 1000),
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<uuid::Uuid> = rows.iter().map(|row| row.id.uuid()).collect();
    let deliveries = sqlx::query!(
        r#"SELECT d.event_id AS "event: AlertEventId", c.id AS "channel: ChannelId",
                  c.kind AS "kind: ChannelKind", c.target, d.state, d.attempts,
                  d.last_error, d.sent_at
           FROM alert_deliveries d JOIN alert_channels c ON c.id = d.channel_id
           WHERE d.event_id = ANY($1) AND c.workspace_id = $2
           ORDER BY d.id"#,
        &ids,
        workspace_id as WorkspaceId,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| EventView {
            deliveries: deliveries
                .iter()
                .filter(|delivery| delivery.event == row.id)
                .map(|delivery| DeliveryView {
                    channel: delivery.channel,
                    kind: delivery.kind,
                    target: shown_target(delivery.kind, &delivery.target),
                    state: delivery.state.clone(),
                    attempts: delivery.attempts,
                    error: delivery.last_error.clone(),
                    sent_at: delivery.sent_at,
                })
                .collect(),
            id: row.id,
            rule: row.rule,
            tracker: row.tracker,
            label: row.label,
            metric: row.metric,
            condition: row.condition,
            value: row.value,
            previous: row.previous,
            reason: row.reason,
            fired_at: row.fired_at,
        })
        .collect())
}

/// An event as a tracker's page marks it on the chart and lists it under it.
#[derive(Debug, Clone)]
pub struct FiredMark {
    pub rule: Option<AlertRuleId>,
    pub metric: String,
    pub value: Option<f64>,
    pub reason: String,
    pub fired_at: DateTime<Utc>,
}

/// The latest `limit` events of tracker `tracker` of the workspace, newest first, without
/// their deliveries: one statement.
pub async fn tracker_marks(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    tracker: TrackerId,
    limit: i64,
) -> Result<Vec<FiredMark>, sqlx::Error> {
    sqlx::query_as!(
        FiredMark,
        r#"SELECT rule_id AS "rule: AlertRuleId", metric, value, reason, fired_at
           FROM alert_events
           WHERE tracker_id = $2 AND workspace_id = $1
           ORDER BY fired_at DESC, id LIMIT $3"#,
        workspace_id as WorkspaceId,
        tracker as TrackerId,
        limit.clamp(1, 1000),
    )
    .fetch_all(pool)
    .await
}
