//! Twitch streams as sessions: what a run of `twitch.stream` polls says about each
//! broadcast (when it started and ended, its peak and time-weighted average viewers, what
//! was played), and what the sessions of a range add up to.
//!
//! A session starts with a poll that finds the channel live with a stream id it has not
//! seen just before, at the stream's own `started_at`. It ends at the first poll that finds
//! the channel offline, or at the poll that finds a new stream id. One offline poll between
//! two live polls of the same stream id is a flap: the session goes on as if the offline
//! poll had not been made.
//!
//! Viewers are time-weighted as a step function: each live poll's count holds until the
//! next poll of the session (or its end). Hours watched are viewers × time over the same
//! steps; the time before the first poll of a session is not observed and not counted.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TrackerId;

/// One poll of a channel: live with its stream, or offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamPoll {
    pub at: DateTime<Utc>,
    /// `None`: the channel was offline.
    pub live: Option<LiveStream>,
}

/// What a poll of a channel saw of its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StreamSeen {
    Offline,
    Live(LiveStream),
}

impl StreamSeen {
    pub fn live(&self) -> Option<&LiveStream> {
        match self {
            StreamSeen::Offline => None,
            StreamSeen::Live(stream) => Some(stream),
        }
    }
}

/// What a poll read of a live stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveStream {
    /// Twitch's stream id: one per broadcast.
    pub stream_id: String,
    /// When the broadcast started, as Twitch says.
    pub started_at: Option<DateTime<Utc>>,
    pub viewers: f64,
    pub title: String,
    /// The game or category played.
    pub game: Option<String>,
    pub tags: Vec<String>,
}

/// Time spent on one game or category in a session (or a range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GameTime {
    pub game: String,
    /// Seconds observed on it.
    pub secs: i64,
}

/// One broadcast of a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StreamSession {
    pub stream_id: String,
    pub started_at: DateTime<Utc>,
    /// The first poll that found it over; `None` while it is live.
    pub ended_at: Option<DateTime<Utc>>,
    /// The last poll that found it live.
    pub last_seen_at: DateTime<Utc>,
    /// From `started_at` to `ended_at` (while live: to the last poll).
    pub duration_secs: i64,
    /// The time the polls cover (from the first poll of the session to its end).
    pub observed_secs: i64,
    pub peak_viewers: f64,
    /// Time-weighted over the observed time; a session seen by one poll only: that poll's.
    pub average_viewers: f64,
    /// Viewers × hours over the observed time.
    pub hours_watched: f64,
    /// Every title it had, in the order seen.
    pub titles: Vec<String>,
    /// The games and categories played, in the order first seen, with their time.
    pub games: Vec<GameTime>,
    /// Every tag it had, in the order seen.
    pub tags: Vec<String>,
    /// Its viewer series: (time in ms since the epoch, viewers), one point a live poll.
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<f64>>))]
    pub viewers: Vec<(i64, f64)>,
}

impl StreamSession {
    pub fn is_live(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// The sessions `polls` (in any order) describe, oldest first.
pub fn sessions(polls: &[StreamPoll]) -> Vec<StreamSession> {
    let mut polls: Vec<&StreamPoll> = polls.iter().collect();
    polls.sort_by_key(|poll| poll.at);
    let mut done = Vec::new();
    let mut open: Option<Builder> = None;
    for poll in polls {
        match &poll.live {
            Some(live) => match open.as_mut() {
                // The same broadcast, perhaps after a one-poll flap.
                Some(session) if session.stream_id == live.stream_id => {
                    session.offline_at = None;
                    session.add(poll.at, live);
                }
                _ => {
                    if let Some(session) = open.take() {
                        // A new stream id ends the old one where it was last seen live, unless
                        // an offline poll ended it before.
                        let end = session.offline_at.unwrap_or(poll.at);
                        done.push(session.finish(Some(end)));
                    }
                    open = Some(Builder::start(poll.at, live));
                }
            },
            None => {
                if let Some(session) = open.as_mut() {
                    if session.offline_at.is_some() {
                        // Offline twice in a row: over, since the first of them.
                        if let Some(session) = open.take() {
                            let end = session.offline_at;
                            done.push(session.finish(end));
                        }
                    } else {
                        session.offline_at = Some(poll.at);
                    }
                }
            }
        }
    }
    if let Some(session) = open {
        let end = session.offline_at;
        done.push(session.finish(end));
    }
    done
}

/// A session being read, poll by poll.
struct Builder {
    stream_id: String,
    started_at: DateTime<Utc>,
    first_poll: DateTime<Utc>,
    last_at: DateTime<Utc>,
    last_viewers: f64,
    last_game: Option<String>,
    /// The offline poll that may end it (or be a flap).
    offline_at: Option<DateTime<Utc>>,
    peak: f64,
    viewer_secs: f64,
    titles: Vec<String>,
    games: Vec<GameTime>,
    tags: Vec<String>,
    series: Vec<(i64, f64)>,
}

impl Builder {
    fn start(at: DateTime<Utc>, live: &LiveStream) -> Self {
        let started_at = live
            .started_at
            .filter(|started| *started <= at)
            .unwrap_or(at);
        let mut builder = Builder {
            stream_id: live.stream_id.clone(),
            started_at,
            first_poll: at,
            last_at: at,
            last_viewers: live.viewers,
            last_game: None,
            offline_at: None,
            peak: live.viewers,
            viewer_secs: 0.0,
            titles: Vec::new(),
            games: Vec::new(),
            tags: Vec::new(),
            series: Vec::new(),
        };
        builder.note(at, live);
        builder
    }

    /// The step from the last live poll to `until`, at the last poll's viewers and game.
    fn hold_until(&mut self, until: DateTime<Utc>) {
        let secs = (until - self.last_at).num_seconds().max(0);
        self.viewer_secs += self.last_viewers * secs as f64;
        if let Some(game) = &self.last_game
            && let Some(time) = self.games.iter_mut().find(|time| &time.game == game)
        {
            time.secs += secs;
        }
    }

    fn add(&mut self, at: DateTime<Utc>, live: &LiveStream) {
        self.hold_until(at);
        self.note(at, live);
    }

    /// What the live poll at `at` read.
    fn note(&mut self, at: DateTime<Utc>, live: &LiveStream) {
        self.last_at = at;
        self.last_viewers = live.viewers;
        self.peak = self.peak.max(live.viewers);
        self.series.push((at.timestamp_millis(), live.viewers));
        if !live.title.is_empty() && !self.titles.contains(&live.title) {
            self.titles.push(live.title.clone());
        }
        if let Some(game) = live.game.as_ref().filter(|game| !game.is_empty())
            && !self.games.iter().any(|time| &time.game == game)
        {
            self.games.push(GameTime {
                game: game.clone(),
                secs: 0,
            });
        }
        self.last_game = live.game.clone().filter(|game| !game.is_empty());
        for tag in &live.tags {
            if !self.tags.contains(tag) {
                self.tags.push(tag.clone());
            }
        }
    }

    fn finish(mut self, end: Option<DateTime<Utc>>) -> StreamSession {
        if let Some(end) = end {
            self.hold_until(end);
        }
        let until = end.unwrap_or(self.last_at);
        let observed_secs = (until - self.first_poll).num_seconds().max(0);
        let average_viewers = if observed_secs > 0 {
            self.viewer_secs / observed_secs as f64
        } else {
            self.last_viewers
        };
        StreamSession {
            stream_id: self.stream_id,
            started_at: self.started_at,
            ended_at: end,
            last_seen_at: self.last_at,
            duration_secs: (until - self.started_at).num_seconds().max(0),
            observed_secs,
            peak_viewers: self.peak,
            average_viewers,
            hours_watched: self.viewer_secs / 3_600.0,
            titles: self.titles,
            games: self.games,
            tags: self.tags,
            viewers: self.series,
        }
    }
}

/// The ranges stream figures are given for: the last 7, 30 or 90 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StreamRange {
    #[serde(rename = "7d")]
    Week,
    #[default]
    #[serde(rename = "30d")]
    Month,
    #[serde(rename = "90d")]
    Quarter,
}

impl StreamRange {
    pub const ALL: [StreamRange; 3] = [StreamRange::Week, StreamRange::Month, StreamRange::Quarter];

    /// `7d`, `30d` or `90d`.
    pub fn key(self) -> &'static str {
        match self {
            StreamRange::Week => "7d",
            StreamRange::Month => "30d",
            StreamRange::Quarter => "90d",
        }
    }

    pub fn days(self) -> i64 {
        match self {
            StreamRange::Week => 7,
            StreamRange::Month => 30,
            StreamRange::Quarter => 90,
        }
    }

    /// Reads `7d`, `30d` or `90d`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|range| range.key() == text.trim())
            .ok_or_else(|| format!("`range` must be 7d, 30d or 90d, not `{}`", text.trim()))
    }
}

/// Whether `session` runs at some time between `from` and `to`.
pub fn overlaps(session: &StreamSession, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    session.started_at <= to && session.ended_at.unwrap_or(session.last_seen_at) >= from
}

/// How many games and tags the figures of a range list.
pub const TOP_GAMES: usize = 5;
pub const TOP_TAGS: usize = 10;

/// A tag and how many sessions carried it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TagCount {
    pub tag: String,
    pub streams: usize,
}

/// What the sessions of a range add up to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StreamStats {
    /// How many sessions.
    pub streams: usize,
    /// Their durations, summed, in hours.
    pub hours_streamed: f64,
    /// Time-weighted over every observed second of every session.
    pub average_viewers: f64,
    pub peak_viewers: f64,
    /// Viewers × hours, summed.
    pub hours_watched: f64,
    /// The most-streamed games and categories, most time first.
    pub top_games: Vec<GameTime>,
    /// The most common tags, in most sessions first.
    pub top_tags: Vec<TagCount>,
}

/// The figures of `sessions`.
pub fn stats(sessions: &[StreamSession]) -> StreamStats {
    let observed: i64 = sessions.iter().map(|session| session.observed_secs).sum();
    let hours_watched: f64 = sessions.iter().map(|session| session.hours_watched).sum();
    let average_viewers = if observed > 0 {
        hours_watched * 3_600.0 / observed as f64
    } else if sessions.is_empty() {
        0.0
    } else {
        sessions
            .iter()
            .map(|session| session.average_viewers)
            .sum::<f64>()
            / sessions.len() as f64
    };
    let mut games: BTreeMap<&str, i64> = BTreeMap::new();
    let mut tags: BTreeMap<&str, usize> = BTreeMap::new();
    for session in sessions {
        for time in &session.games {
            *games.entry(&time.game).or_default() += time.secs;
        }
        for tag in &session.tags {
            *tags.entry(tag).or_default() += 1;
        }
    }
    let mut top_games: Vec<GameTime> = games
        .into_iter()
        .map(|(game, secs)| GameTime {
            game: game.to_string(),
            secs,
        })
        .collect();
    // Most time first; a tie by name (the map's order, kept by a stable sort).
    top_games.sort_by_key(|time| std::cmp::Reverse(time.secs));
    top_games.truncate(TOP_GAMES);
    let mut top_tags: Vec<TagCount> = tags
        .into_iter()
        .map(|(tag, streams)| TagCount {
            tag: tag.to_string(),
            streams,
        })
        .collect();
    top_tags.sort_by_key(|tag| std::cmp::Reverse(tag.streams));
    top_tags.truncate(TOP_TAGS);
    StreamStats {
        streams: sessions.len(),
        hours_streamed: sessions
            .iter()
            .map(|session| session.duration_secs as f64)
            .sum::<f64>()
            / 3_600.0,
        average_viewers,
        peak_viewers: sessions
            .iter()
            .map(|session| session.peak_viewers)
            .fold(0.0, f64::max),
        hours_watched,
        top_games,
        top_tags,
    }
}

/// One channel's figures in the workspace's ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChannelStats {
    #[cfg_attr(feature = "ssr", schema(value_type = uuid::Uuid))]
    pub tracker_id: TrackerId,
    pub label: String,
    pub stats: StreamStats,
}

/// What to rank channels by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// Hours streamed: "who is the most active streamer".
    #[default]
    Hours,
    /// Time-weighted average viewers.
    Average,
}

impl RankBy {
    /// Reads `hours` or `average`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "hours" | "" => Ok(RankBy::Hours),
            "average" => Ok(RankBy::Average),
            other => Err(format!("`by` must be hours or average, not `{other}`")),
        }
    }
}

/// Every tracked channel of a workspace over a range, ranked, and the tags of all their
/// streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WorkspaceStreams {
    pub channels: Vec<ChannelStats>,
    /// The most common tags across every channel's streams, in most streams first.
    pub top_tags: Vec<TagCount>,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_765_000_000 + minute * 60, 0)
            .single()
            .expect("a time")
    }

    fn live(minute: i64, id: &str, viewers: f64, game: &str, tags: &[&str]) -> StreamPoll {
        StreamPoll {
            at: at(minute),
            live: Some(LiveStream {
                stream_id: id.to_string(),
                started_at: None,
                viewers,
                title: format!("Stream {id}"),
                game: Some(game.to_string()),
                tags: tags.iter().map(|tag| tag.to_string()).collect(),
            }),
        }
    }

    fn offline(minute: i64) -> StreamPoll {
        StreamPoll {
            at: at(minute),
            live: None,
        }
    }

    #[test]
    fn live_live_offline_then_a_new_id_then_a_flap_are_three_sessions() {
        let mut first = live(0, "a", 100.0, "Chess", &["English"]);
        if let Some(stream) = first.live.as_mut() {
            stream.started_at = Some(at(-10));
        }
        let polls = vec![
            first,
            live(15, "a", 300.0, "Chess", &["English", "Chill"]),
            offline(30),
            live(45, "b", 50.0, "Go", &["English"]),
            live(60, "b", 150.0, "Go", &[]),
            // A new id while live: "b" ends here, "c" starts.
            live(75, "c", 10.0, "Chess", &[]),
            offline(90),
            // One offline poll and back with the same id: still "c".
            live(105, "c", 30.0, "Just Chatting", &["Chill"]),
            offline(120),
            offline(135),
        ];
        let sessions = sessions(&polls);
        let ids: Vec<&str> = sessions.iter().map(|s| s.stream_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);

        let a = &sessions[0];
        assert_eq!(a.started_at, at(-10), "Twitch's started_at");
        assert_eq!(a.ended_at, Some(at(30)), "the first offline poll");
        assert_eq!(a.duration_secs, 40 * 60);
        assert_eq!(a.observed_secs, 30 * 60);
        assert_eq!(a.peak_viewers, 300.0);
        // 100 for 15 minutes, 300 for 15 minutes.
        assert_eq!(a.average_viewers, 200.0);
        assert_eq!(a.hours_watched, (100.0 * 15.0 + 300.0 * 15.0) / 60.0);
        assert_eq!(a.tags, ["English", "Chill"]);
        assert_eq!(
            a.games,
            [GameTime {
                game: "Chess".into(),
                secs: 30 * 60
            }]
        );
        assert_eq!(
            a.viewers,
            [
                (at(0).timestamp_millis(), 100.0),
                (at(15).timestamp_millis(), 300.0)
            ]
        );

        let b = &sessions[1];
        assert_eq!((b.started_at, b.ended_at), (at(45), Some(at(75))));
        assert_eq!(b.average_viewers, 100.0);
        assert_eq!(b.peak_viewers, 150.0);

        let c = &sessions[2];
        assert_eq!((c.started_at, c.ended_at), (at(75), Some(at(120))));
        // 10 for 30 minutes (the flap holds the count), 30 for 15.
        assert_eq!(c.average_viewers, (10.0 * 30.0 + 30.0 * 15.0) / 45.0);
        assert_eq!(c.hours_watched, (10.0 * 30.0 + 30.0 * 15.0) / 60.0);
        assert_eq!(c.viewers.len(), 2, "the flap is no point");
        assert_eq!(
            c.games,
            [
                GameTime {
                    game: "Chess".into(),
                    secs: 30 * 60
                },
                GameTime {
                    game: "Just Chatting".into(),
                    secs: 15 * 60
                }
            ]
        );
        assert!(!c.is_live());
    }

    #[test]
    fn a_stream_still_live_has_no_end_and_a_single_poll_its_own_count() {
        let sessions = sessions(&[offline(0), live(15, "x", 42.0, "Go", &[])]);
        assert_eq!(sessions.len(), 1);
        let x = &sessions[0];
        assert!(x.is_live());
        assert_eq!(x.average_viewers, 42.0);
        assert_eq!(x.hours_watched, 0.0);
        assert_eq!(x.duration_secs, 0);
        // Polls come in any order.
        let shuffled = vec![
            live(30, "x", 20.0, "Go", &[]),
            live(15, "x", 10.0, "Go", &[]),
        ];
        assert_eq!(super::sessions(&shuffled)[0].average_viewers, 10.0);
    }

    #[test]
    fn two_offline_polls_end_a_session_even_if_the_id_comes_back() {
        let polls = [
            live(0, "x", 10.0, "Go", &[]),
            offline(15),
            offline(30),
            live(45, "x", 10.0, "Go", &[]),
        ];
        let sessions = sessions(&polls);
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0].ended_at, Some(at(15)));
    }

    #[test]
    fn a_range_adds_up_time_weighted() {
        let polls = [
            live(0, "a", 100.0, "Chess", &["English", "Chill"]),
            live(60, "a", 200.0, "Go", &["English"]),
            offline(120),
            live(180, "b", 400.0, "Go", &["English"]),
            offline(210),
        ];
        let figures = stats(&sessions(&polls));
        assert_eq!(figures.streams, 2);
        assert_eq!(figures.hours_streamed, 2.5);
        // 100×1 h + 200×1 h + 400×0.5 h over 2.5 h.
        assert_eq!(figures.hours_watched, 500.0);
        assert_eq!(figures.average_viewers, 200.0);
        assert_eq!(figures.peak_viewers, 400.0);
        assert_eq!(
            figures.top_games,
            [
                GameTime {
                    game: "Go".into(),
                    secs: 90 * 60
                },
                GameTime {
                    game: "Chess".into(),
                    secs: 60 * 60
                }
            ]
        );
        assert_eq!(
            figures.top_tags,
            [
                TagCount {
                    tag: "English".into(),
                    streams: 2
                },
                TagCount {
                    tag: "Chill".into(),
                    streams: 1
                }
            ]
        );
        assert_eq!(stats(&[]), StreamStats::default());
    }

    #[test]
    fn ranges_read_as_the_api_writes_them() {
        assert_eq!(StreamRange::parse("90d"), Ok(StreamRange::Quarter));
        assert!(StreamRange::parse("1y").is_err_and(|error| error.contains("7d, 30d or 90d")));
        let session = &sessions(&[live(0, "a", 1.0, "Go", &[]), offline(60)])[0];
        assert!(overlaps(session, at(59), at(200)));
        assert!(overlaps(session, at(-100), at(0)));
        assert!(!overlaps(session, at(61), at(200)));
    }
}
