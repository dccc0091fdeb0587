//! The Alerts page's data: the workspace's channels and its latest alert events, each
//! with its deliveries. And a tracker page's: the tracker's rules, the channels they may
//! send to, and what they fired.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{AlertRuleId, ChannelId, ChannelKind, RuleSpec, SinkId, SinkKind, TrackerId};

/// A channel as the Alerts page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelRow {
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub target: String,
    /// "failing since 2026-12-02 10:00 UTC: the channel answered 410 Gone", or that an
    /// email channel's address refuses mail.
    pub failing: Option<String>,
}

/// An event as the Alerts page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    pub tracker: Option<TrackerId>,
    pub label: String,
    pub reason: String,
    pub fired_at: String,
    /// (channel kind and target, state, error).
    pub deliveries: Vec<(String, String, Option<String>)>,
}

/// A sink as the Alerts page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SinkRow {
    pub id: SinkId,
    pub kind: SinkKind,
    /// "http://influx:8086/, database upcount".
    pub target: String,
    /// "every tracker", or the labels of the chosen ones.
    pub trackers: String,
    /// `ok` or `failing`.
    pub state: String,
    pub backlog: i64,
    pub sent: i64,
    pub dropped: i64,
    /// "2026-12-03 08:00 UTC: could not connect to the sink".
    pub last_error: Option<String>,
    pub last_sent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertsPage {
    pub channels: Vec<ChannelRow>,
    pub events: Vec<EventRow>,
    pub sinks: Vec<SinkRow>,
    /// The workspace's trackers (id, label), for the sink form's choice.
    pub trackers: Vec<(TrackerId, String)>,
    /// Where an email channel may go, for the form to suggest: the user's own address
    /// first, then the other members' confirmed ones.
    pub member_addresses: Vec<String>,
}

/// The signed-in user's workspace's channels, its 100 latest events, its sinks and its
/// trackers.
#[server]
pub async fn get_alerts_page() -> Result<AlertsPage, ServerFnError> {
    use super::trackers::signed_in;
    use crate::server::{
        alerts::{
            channels,
            events::{self, EventFilter},
        },
        state::AppState,
    };
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not load the alerts page");
        ServerFnError::new("Could not load your alerts. Please try again.")
    };
    let channel_rows = channels::list_channels(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    let filter = EventFilter {
        limit: 100,
        ..EventFilter::default()
    };
    let event_rows = events::list_events(&state.pool, user.workspace_id, filter)
        .await
        .map_err(failed)?;
    let sink_rows = crate::server::sinks::store::list_sinks(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    let trackers = crate::server::sinks::store::tracker_choices(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    let member_addresses = channels::member_addresses(&state.pool, user.workspace_id, user.id)
        .await
        .map_err(failed)?;
    Ok(AlertsPage {
        member_addresses,
        sinks: sink_rows
            .into_iter()
            .map(|sink| SinkRow {
                id: sink.id,
                kind: sink.target.kind(),
                target: sink.target.describe(),
                trackers: match &sink.trackers {
                    None => "every tracker".to_string(),
                    Some(ids) => ids
                        .iter()
                        .map(|id| {
                            trackers
                                .iter()
                                .find(|(tracker, _)| tracker == id)
                                .map_or("a deleted tracker", |(_, label)| label.as_str())
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                },
                state: sink.state.key().to_string(),
                backlog: sink.backlog,
                sent: sink.sent,
                dropped: sink.dropped,
                last_error: sink.last_error.map(|error| match sink.last_error_at {
                    Some(at) => format!("{}: {error}", shown_time(at)),
                    None => error,
                }),
                last_sent: sink.last_sent_at.map(shown_time),
            })
            .collect(),
        trackers,
        channels: channel_rows.into_iter().map(channel_row).collect(),
        events: event_rows
            .into_iter()
            .map(|event| EventRow {
                tracker: event.tracker,
                label: event
                    .label
                    .unwrap_or_else(|| "a deleted tracker".to_string()),
                reason: event.reason,
                fired_at: shown_time(event.fired_at),
                deliveries: event
                    .deliveries
                    .into_iter()
                    .map(|delivery| {
                        (
                            format!("{} {}", delivery.kind.label(), delivery.target),
                            delivery.state,
                            delivery.error,
                        )
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// A time as the alert lists show it: "2026-12-03 08:00 UTC".
#[cfg(feature = "ssr")]
fn shown_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A channel as the pages list it.
#[cfg(feature = "ssr")]
fn channel_row(channel: crate::server::alerts::channels::ChannelView) -> ChannelRow {
    ChannelRow {
        id: channel.id,
        kind: channel.kind,
        target: channel.target,
        failing: match (channel.suppressed, channel.failing_since) {
            (Some(reason), _) => Some(format!(
                "this address refuses mail, so nothing is sent to it: {reason}"
            )),
            (None, Some(since)) => Some(format!(
                "failing since {}: {}",
                shown_time(since),
                channel.last_error.as_deref().unwrap_or("deliveries fail")
            )),
            (None, None) => None,
        },
    }
}

/// A rule as its tracker's page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleItem {
    pub id: AlertRuleId,
    pub spec: RuleSpec,
    pub paused: bool,
    /// Whether it may fire (false from a firing until its condition is false again).
    pub armed: bool,
    pub last_fired_at: Option<String>,
    /// The email of the member who made it, when known.
    #[serde(default)]
    pub created_by: Option<String>,
}

impl RuleItem {
    /// `paused`, `armed`, or `fired` (waiting to be re-armed).
    pub fn state(&self) -> &'static str {
        if self.paused {
            "paused"
        } else if self.armed {
            "armed"
        } else {
            "fired"
        }
    }
}

/// An alert event as its tracker's page marks it on the chart and lists it under it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FiredAlert {
    /// Milliseconds since the Unix epoch (UTC).
    pub t: i64,
    pub metric: String,
    pub value: Option<f64>,
    pub rule: Option<AlertRuleId>,
    /// What happened: "stars rose above 20,000 (now 20,140)".
    pub reason: String,
}

/// What a tracker page's Alerts section shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackerAlerts {
    /// The tracker's rules, oldest first.
    pub rules: Vec<RuleItem>,
    /// The workspace's channels, for the rules' checkboxes.
    pub channels: Vec<ChannelRow>,
    /// The tracker's latest events (at most [`FIRED_SHOWN`]), oldest first.
    pub fired: Vec<FiredAlert>,
}

/// How many of a tracker's latest alert events its page reads.
pub const FIRED_SHOWN: i64 = 200;

/// The rules of tracker `id` of the signed-in user's workspace, the workspace's channels
/// and the tracker's latest alert events: three statements (none of them for another
/// workspace's tracker, which has no rules or events here).
#[server]
pub async fn get_tracker_alerts(id: TrackerId) -> Result<TrackerAlerts, ServerFnError> {
    use super::trackers::signed_in;
    use crate::server::{
        alerts::{channels, events, rules},
        state::AppState,
    };
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not load a tracker's alerts");
        ServerFnError::new("Could not load this tracker's alerts. Please try again.")
    };
    let rule_rows = rules::tracker_rules(&state.pool, user.workspace_id, id)
        .await
        .map_err(failed)?;
    let channel_rows = channels::list_channels(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    let mut marks = events::tracker_marks(&state.pool, user.workspace_id, id, FIRED_SHOWN)
        .await
        .map_err(failed)?;
    marks.reverse();
    Ok(TrackerAlerts {
        rules: rule_rows
            .into_iter()
            .map(|rule| RuleItem {
                id: rule.id,
                armed: rule.state.armed,
                last_fired_at: rule.state.last_fired_at.map(shown_time),
                spec: rule.spec,
                paused: rule.paused,
                created_by: rule.created_by,
            })
            .collect(),
        channels: channel_rows.into_iter().map(channel_row).collect(),
        fired: marks
            .into_iter()
            .map(|mark| FiredAlert {
                t: mark.fired_at.timestamp_millis(),
                metric: mark.metric,
                value: mark.value,
                rule: mark.rule,
                reason: mark.reason,
            })
            .collect(),
    })
}
