//! Stream sessions and their figures, read for a tracker or across a workspace's Twitch
//! channels (the REST API and the Streams pages both ask here).

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::store::{self, ChannelPolls};
use crate::domain::{
    TrackerId, WorkspaceId,
    streams::{
        self, ChannelStats, RankBy, StreamRange, StreamSession, StreamStats, WorkspaceStreams,
    },
};

/// The kind whose trackers have streams.
pub const STREAM_KIND: &str = "twitch.stream";

/// Why a tracker's streams were not read.
#[derive(Debug, thiserror::Error)]
pub enum StreamsError {
    #[error("There is no such tracker in this workspace.")]
    NotFound,
    #[error("This tracker is not a Twitch channel: only twitch.stream trackers have streams.")]
    NotAChannel,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The sessions of tracker `tracker` that run at some time from `from` to `to`, oldest
/// first.
pub async fn tracker_sessions(
    pool: &PgPool,
    workspace: WorkspaceId,
    tracker: TrackerId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StreamSession>, StreamsError> {
    let channel = channel(pool, workspace, tracker, from, to).await?;
    Ok(sessions_in(&channel, from, to))
}

/// The figures of tracker `tracker` over the last `range` before `now`.
pub async fn tracker_stats(
    pool: &PgPool,
    workspace: WorkspaceId,
    tracker: TrackerId,
    range: StreamRange,
    now: DateTime<Utc>,
) -> Result<StreamStats, StreamsError> {
    let from = now - Duration::days(range.days());
    let channel = channel(pool, workspace, tracker, from, now).await?;
    Ok(streams::stats(&sessions_in(&channel, from, now)))
}

async fn channel(
    pool: &PgPool,
    workspace: WorkspaceId,
    tracker: TrackerId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ChannelPolls, StreamsError> {
    let found = store::get_tracker(pool, workspace, tracker)
        .await?
        .ok_or(StreamsError::NotFound)?;
    if found.source.kind.as_str() != STREAM_KIND {
        return Err(StreamsError::NotAChannel);
    }
    store::channel_polls(pool, workspace, Some(tracker), from, to)
        .await?
        .pop()
        .ok_or(StreamsError::NotFound)
}

fn sessions_in(
    channel: &ChannelPolls,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<StreamSession> {
    streams::sessions(&channel.polls)
        .into_iter()
        .filter(|session| streams::overlaps(session, from, to))
        .collect()
}

/// The workspace's Twitch channels over the last `range` before `now`, ranked `by`.
pub async fn workspace_streams(
    pool: &PgPool,
    workspace: WorkspaceId,
    range: StreamRange,
    by: RankBy,
    now: DateTime<Utc>,
) -> Result<WorkspaceStreams, sqlx::Error> {
    let from = now - Duration::days(range.days());
    let channels = store::channel_polls(pool, workspace, None, from, now).await?;
    let mut all = Vec::new();
    let mut ranked: Vec<ChannelStats> = channels
        .iter()
        .map(|channel| {
            let sessions = sessions_in(channel, from, now);
            let stats = streams::stats(&sessions);
            all.extend(sessions);
            ChannelStats {
                tracker_id: channel.tracker,
                label: channel.label.clone(),
                stats,
            }
        })
        .collect();
    let key = |channel: &ChannelStats| match by {
        RankBy::Hours => channel.stats.hours_streamed,
        RankBy::Average => channel.stats.average_viewers,
    };
    // Highest first; ties keep the label order.
    ranked.sort_by(|a, b| key(b).total_cmp(&key(a)));
    Ok(WorkspaceStreams {
        channels: ranked,
        top_tags: streams::stats(&all).top_tags,
    })
}
