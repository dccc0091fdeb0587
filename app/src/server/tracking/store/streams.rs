//! What polls of Twitch channels saw of their streams (`stream_polls`), and the polls a
//! tracker's or a workspace's stream sessions are read from.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::domain::{
    SourceId, TrackerId, WorkspaceId,
    streams::{LiveStream, StreamPoll, StreamSeen},
};
use crate::server::db::batches::delete_in_batches;

/// Records what each poll saw (in the poll's transaction, for the sources it rescheduled),
/// and brings forward the next poll of every channel found live to its trackers' plans'
/// shortest interval: a live stream changes fast, an offline channel keeps its interval.
pub async fn record_streams(
    connection: &mut PgConnection,
    seen: &[(SourceId, DateTime<Utc>, &StreamSeen)],
) -> Result<(), sqlx::Error> {
    if seen.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(seen.len());
    let mut times = Vec::with_capacity(seen.len());
    let mut stream_ids = Vec::with_capacity(seen.len());
    let mut started = Vec::with_capacity(seen.len());
    let mut viewers = Vec::with_capacity(seen.len());
    let mut titles = Vec::with_capacity(seen.len());
    let mut games = Vec::with_capacity(seen.len());
    // Arrays of arrays must be rectangular: each poll's tags travel as one JSON array.
    let mut tags = Vec::with_capacity(seen.len());
    for (id, at, seen) in seen {
        ids.push(*id);
        times.push(*at);
        let live = seen.live();
        stream_ids.push(live.map(|stream| stream.stream_id.clone()));
        started.push(live.and_then(|stream| stream.started_at));
        viewers.push(live.map_or(0.0, |stream| stream.viewers));
        titles.push(live.map(|stream| stream.title.clone()).unwrap_or_default());
        games.push(live.and_then(|stream| stream.game.clone()));
        tags.push(serde_json::json!(
            live.map(|stream| stream.tags.clone()).unwrap_or_default()
        ));
    }
    sqlx::query!(
        r#"INSERT INTO stream_polls (source_id, at, stream_id, started_at, viewers, title, game, tags)
           SELECT i.id, i.at, i.stream_id, i.started_at, i.viewers, i.title, i.game,
                  ARRAY(SELECT jsonb_array_elements_text(i.tags))
           FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::timestamptz[],
                       $5::float8[], $6::text[], $7::text[], $8::jsonb[])
               AS i(id, at, stream_id, started_at, viewers, title, game, tags)
           ON CONFLICT (source_id, at) DO NOTHING"#,
        &ids as &[SourceId],
        &times,
        &stream_ids as &[Option<String>],
        &started as &[Option<DateTime<Utc>>],
        &viewers,
        &titles,
        &games as &[Option<String>],
        &tags,
    )
    .execute(&mut *connection)
    .await?;
    let live: Vec<SourceId> = seen
        .iter()
        .filter(|(_, _, seen)| seen.live().is_some())
        .map(|(id, _, _)| *id)
        .collect();
    if !live.is_empty() {
        sqlx::query!(
            r#"UPDATE sources s
               SET next_poll_at = least(s.next_poll_at, now() + make_interval(secs => l.secs))
               FROM (SELECT t.source_id, min(p.min_interval_secs) AS secs
                     FROM trackers t
                     JOIN workspaces w ON w.id = t.workspace_id
                     JOIN plans p ON p.id = w.plan_id
                     WHERE t.source_id = ANY($1) AND NOT t.paused
                       AND (t.ends_at IS NULL OR t.ends_at > now())
                     GROUP BY t.source_id) l
               WHERE s.id = l.source_id AND s.next_poll_at IS NOT NULL"#,
            &live as &[SourceId],
        )
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// How far before a range its polls are read, so that a session that started before the
/// range (and runs into it) is read whole.
pub const SESSION_LOOKBACK_HOURS: i64 = 48;

/// A tracked channel with the polls of its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelPolls {
    pub tracker: TrackerId,
    pub label: String,
    pub polls: Vec<StreamPoll>,
}

/// The stream polls of every Twitch channel `workspace` tracks (or only `tracker`), from
/// [`SESSION_LOOKBACK_HOURS`] before `from` to `to`, channel by channel in label order.
#[tracing::instrument(skip(pool))]
pub async fn channel_polls(
    pool: &PgPool,
    workspace: WorkspaceId,
    tracker: Option<TrackerId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ChannelPolls>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT t.id AS "tracker: TrackerId", t.label, p.at AS "at?", p.stream_id,
                  p.started_at, p.viewers AS "viewers?", p.title AS "title?", p.game,
                  p.tags AS "tags?"
           FROM trackers t
           JOIN sources s ON s.id = t.source_id
           LEFT JOIN stream_polls p ON p.source_id = s.id
                AND p.at >= $3::timestamptz - make_interval(hours => $5::int) AND p.at <= $4::timestamptz
           WHERE t.workspace_id = $1 AND s.kind = 'twitch.stream'
             AND ($2::uuid IS NULL OR t.id = $2)
           ORDER BY lower(t.label), t.id, p.at"#,
        workspace as WorkspaceId,
        tracker.map(|id| id.uuid()),
        from,
        to,
        SESSION_LOOKBACK_HOURS as i32,
    )
    .fetch_all(pool)
    .await?;
    // Rows come tracker by tracker.
    let mut channels: Vec<ChannelPolls> = Vec::new();
    for row in rows {
        if channels
            .last()
            .is_none_or(|channel| channel.tracker != row.tracker)
        {
            channels.push(ChannelPolls {
                tracker: row.tracker,
                label: row.label.clone(),
                polls: Vec::new(),
            });
        }
        let Some(channel) = channels.last_mut() else {
            continue;
        };
        let Some(at) = row.at else { continue };
        let live = row.stream_id.map(|stream_id| LiveStream {
            stream_id,
            started_at: row.started_at,
            viewers: row.viewers.unwrap_or(0.0),
            title: row.title.unwrap_or_default(),
            game: row.game,
            tags: row.tags.unwrap_or_default(),
        });
        channel.polls.push(StreamPoll { at, live });
    }
    Ok(channels)
}

/// The shortest time stream polls are kept, whatever the plan: the Streams tab's longest
/// range (90 days) stays whole.
pub const STREAM_POLLS_KEPT_DAYS: i32 = 90;

/// Deletes the stream polls older than the longest raw retention among the workspaces
/// tracking each channel (or [`STREAM_POLLS_KEPT_DAYS`], when longer); a channel nobody
/// tracks goes with its source. Returns the polls deleted.
pub async fn prune_stream_polls(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let cutoffs = sqlx::query!(
        r#"SELECT t.source_id AS "id: SourceId",
                  $1::timestamptz - make_interval(days => greatest($2::int4, max(greatest(
                      p.raw_retention_days,
                      CASE WHEN w.retention_kept_until > $1 THEN w.retention_kept_days END))))
                  AS "cutoff!"
           FROM trackers t
           JOIN sources s ON s.id = t.source_id AND s.kind = 'twitch.stream'
           JOIN workspaces w ON w.id = t.workspace_id
           JOIN plans p ON p.id = w.plan_id
           GROUP BY t.source_id"#,
        now,
        STREAM_POLLS_KEPT_DAYS,
    )
    .fetch_all(pool)
    .await?;
    let mut deleted = 0;
    for row in cutoffs {
        let (source, cutoff) = (row.id, row.cutoff);
        deleted += delete_in_batches(|batch| async move {
            Ok(sqlx::query!(
                "DELETE FROM stream_polls WHERE source_id = $1 AND at IN (
                     SELECT at FROM stream_polls WHERE source_id = $1 AND at < $2
                     ORDER BY at LIMIT $3
                 )",
                source as SourceId,
                cutoff,
                batch,
            )
            .execute(pool)
            .await?
            .rows_affected())
        })
        .await?;
    }
    Ok(deleted)
}
