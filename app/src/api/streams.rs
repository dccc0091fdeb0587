//! Twitch streams as sessions, for the pages: one channel's Streams tab, and the
//! workspace's channels ranked.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{
    TrackerId,
    streams::{RankBy, StreamRange, StreamSession, StreamStats, WorkspaceStreams},
};

/// One channel's Streams tab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelStreams {
    pub tracker: TrackerId,
    pub label: String,
    /// The channel on Twitch.
    pub url: String,
    /// The range the sessions and the top lists are for.
    pub range: StreamRange,
    /// The figures over each of 7, 30 and 90 days.
    pub figures: Vec<(StreamRange, StreamStats)>,
    /// The sessions of the range, newest first.
    pub sessions: Vec<StreamSession>,
    /// The range's bounds (ms since the epoch), for the timeline.
    pub from_ms: i64,
    pub to_ms: i64,
}

/// The Streams tab of tracker `id` of the signed-in user's workspace; `None` when there is
/// no such tracker or it is not a Twitch channel.
#[server]
pub async fn get_channel_streams(
    id: TrackerId,
    range: StreamRange,
) -> Result<Option<ChannelStreams>, ServerFnError> {
    use crate::domain::streams;
    use crate::server::{
        state::AppState,
        tracking::{
            store,
            streams::{StreamsError, tracker_sessions},
        },
    };
    let user = super::trackers::signed_in().await?;
    let state = expect_context::<AppState>();
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not load a channel's streams");
        ServerFnError::new("Could not load the streams. Please try again.")
    };
    let now = chrono::Utc::now();
    let longest = StreamRange::Quarter;
    let since = |range: StreamRange| now - chrono::Duration::days(range.days());
    // Every range's figures from one read of the longest.
    let all = match tracker_sessions(&state.pool, user.workspace_id, id, since(longest), now).await
    {
        Ok(sessions) => sessions,
        Err(StreamsError::NotFound | StreamsError::NotAChannel) => return Ok(None),
        Err(StreamsError::Database(error)) => return Err(failed(error)),
    };
    let Some(tracker) = store::get_tracker(&state.pool, user.workspace_id, id)
        .await
        .map_err(failed)?
    else {
        return Ok(None);
    };
    let within = |range: StreamRange| -> Vec<StreamSession> {
        all.iter()
            .filter(|session| streams::overlaps(session, since(range), now))
            .cloned()
            .collect()
    };
    let figures = StreamRange::ALL
        .into_iter()
        .map(|range| (range, streams::stats(&within(range))))
        .collect();
    let mut sessions = within(range);
    sessions.reverse();
    Ok(Some(ChannelStreams {
        tracker: id,
        label: tracker.label,
        url: tracker.source.url,
        range,
        figures,
        sessions,
        from_ms: since(range).timestamp_millis(),
        to_ms: now.timestamp_millis(),
    }))
}

/// The signed-in user's workspace's Twitch channels over `range`, ranked `by`.
#[server]
pub async fn get_stream_ranking(
    range: StreamRange,
    by: RankBy,
) -> Result<WorkspaceStreams, ServerFnError> {
    use crate::server::{state::AppState, tracking::streams::workspace_streams};
    let user = super::trackers::signed_in().await?;
    let state = expect_context::<AppState>();
    workspace_streams(
        &state.pool,
        user.workspace_id,
        range,
        by,
        chrono::Utc::now(),
    )
    .await
    .map_err(|error| {
        tracing::error!(error = %error, "could not rank a workspace's channels");
        ServerFnError::new("Could not load the streams. Please try again.")
    })
}
