//! The Alerts page's data: the workspace's channels and its latest alert events, each
//! with its deliveries.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{ChannelId, ChannelKind, TrackerId};

/// A channel as the Alerts page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelRow {
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub target: String,
    /// "failing since 2026-12-02 10:00 UTC: the channel answered 410 Gone".
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertsPage {
    pub channels: Vec<ChannelRow>,
    pub events: Vec<EventRow>,
}

/// The signed-in user's workspace's channels and its 100 latest events.
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
    let format = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
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
    Ok(AlertsPage {
        channels: channel_rows
            .into_iter()
            .map(|channel| ChannelRow {
                id: channel.id,
                kind: channel.kind,
                target: channel.target,
                failing: channel.failing_since.map(|since| {
                    format!(
                        "failing since {}: {}",
                        format(since),
                        channel.last_error.as_deref().unwrap_or("deliveries fail")
                    )
                }),
            })
            .collect(),
        events: event_rows
            .into_iter()
            .map(|event| EventRow {
                tracker: event.tracker,
                label: event
                    .label
                    .unwrap_or_else(|| "a deleted tracker".to_string()),
                reason: event.reason,
                fired_at: format(event.fired_at),
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
