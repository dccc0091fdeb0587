//! Twitch streams as sessions: a channel's Streams tab (`/trackers/{id}/streams`: figures
//! over 7, 30 and 90 days, a timeline and a table of its streams) and the workspace's
//! channels ranked (`/streams`: hours streamed or average viewers, and the top tags). The
//! choices are links, so each view is in its URL and works before the wasm loads.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{dashboard::format_number, not_found::NotFound, signed_in::SignedIn};
use crate::{
    api::streams::{ChannelStreams, get_channel_streams, get_stream_ranking},
    components::{
        feedback::{ListSkeleton, load_failed},
        layout::Panel,
        table::column_heads,
    },
    domain::{
        TrackerId,
        streams::{
            GameTime, RankBy, StreamRange, StreamSession, StreamStats, TagCount, WorkspaceStreams,
        },
    },
};

/// `7200` → "2 h", `5400` → "1 h 30 min", `300` → "5 min".
fn duration(secs: i64) -> String {
    let (hours, minutes) = (secs / 3_600, (secs % 3_600) / 60);
    match (hours, minutes) {
        (0, minutes) => format!("{minutes} min"),
        (hours, 0) => format!("{hours} h"),
        (hours, minutes) => format!("{hours} h {minutes} min"),
    }
}

/// Hours to one decimal: "12.5".
fn hours(value: f64) -> String {
    format_number((value * 10.0).round() / 10.0)
}

/// A time as "YYYY-MM-DD HH:MM UTC".
fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn range_chips(current: StreamRange, href: impl Fn(StreamRange) -> String) -> impl IntoView {
    let links = StreamRange::ALL
        .into_iter()
        .map(|range| {
            let here = (range == current).then_some("page");
            view! { <a href=href(range) aria-current=here class="chip">{format!("{} days", range.days())}</a> }
        })
        .collect_view();
    view! { <nav class="chips" aria-label="Range">{links}</nav> }
}

#[component]
pub fn ChannelStreamsPage() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let params = use_params_map();
    let query = use_query_map();
    let request = move || {
        (
            params.read().get("id").unwrap_or_default(),
            query
                .read()
                .get("range")
                .and_then(|range| StreamRange::parse(&range).ok())
                .unwrap_or_default(),
        )
    };
    let streams = Resource::new(request, |(id, range)| async move {
        match id.parse::<TrackerId>() {
            Ok(id) => get_channel_streams(id, range).await,
            Err(_) => Ok(None),
        }
    });
    let path = move || {
        format!(
            "/trackers/{}/streams",
            params.read().get("id").unwrap_or_default()
        )
    };
    view! {
        <Title text="Streams" />
        <SignedIn
            path=path()
            page=move |_viewer| view! {
                <Suspense fallback=|| view! { <ListSkeleton label="Loading the streams…" /> }>
                    {move || Suspend::new(async move {
                        match streams.await {
                            Ok(Some(channel)) => view! { <ChannelView channel /> }.into_any(),
                            Ok(None) => view! { <NotFound /> }.into_any(),
                            Err(error) => load_failed("the streams", &error, move || streams.refetch()),
                        }
                    })}
                </Suspense>
            }
        />
    }
}

#[component]
fn ChannelView(channel: ChannelStreams) -> impl IntoView {
    let tracker = channel.tracker;
    let base = format!("/trackers/{tracker}/streams");
    let chosen = channel
        .figures
        .iter()
        .find(|(range, _)| *range == channel.range)
        .map(|(_, stats)| stats.clone())
        .unwrap_or_default();
    view! {
        <section class="streams-page" aria-labelledby="streams-title">
            <p class="eyebrow">
                <a href="/dashboard">"Dashboard"</a> " / "
                <a href=format!("/trackers/{tracker}")>{channel.label.clone()}</a> " / streams"
            </p>
            <h1 id="streams-title">{format!("Streams of {}", channel.label)}</h1>
            <nav class="tabs" aria-label="Tracker">
                <a href=format!("/trackers/{tracker}")>"Chart"</a>
                <a href=format!("/trackers/{tracker}/streams") aria-current="page">"Streams"</a>
                <a href="/streams">"All channels"</a>
            </nav>
            <p><a href=channel.url.clone() rel="noopener noreferrer">"On Twitch"</a></p>
            <Figures figures=channel.figures.clone() />
            <h2>"Streams"</h2>
            {range_chips(channel.range, move |range| format!("{base}?range={}", range.key()))}
            <Timeline sessions=channel.sessions.clone() from_ms=channel.from_ms to_ms=channel.to_ms />
            <div class="streams-tops">
                <TopGames games=chosen.top_games.clone() />
                <TopTags tags=chosen.top_tags.clone() />
            </div>
            <SessionTable sessions=channel.sessions />
        </section>
    }
}

/// The figures over 7, 30 and 90 days, side by side.
#[component]
fn Figures(figures: Vec<(StreamRange, StreamStats)>) -> impl IntoView {
    let row = |label: &'static str, value: fn(&StreamStats) -> String| {
        let cells = figures
            .iter()
            .map(|(_, stats)| view! { <td>{value(stats)}</td> })
            .collect_view();
        view! { <tr><th scope="row">{label}</th>{cells}</tr> }
    };
    let heads = figures
        .iter()
        .map(|(range, _)| view! { <th scope="col">{format!("{} days", range.days())}</th> })
        .collect_view();
    view! {
        <table class="stream-figures" data-testid="stream-figures">
            <thead><tr><th scope="col"><span class="visually-hidden">"Figure"</span></th>{heads}</tr></thead>
            <tbody>
                {row("Hours streamed", |stats| hours(stats.hours_streamed))}
                {row("Streams", |stats| stats.streams.to_string())}
                {row("Average viewers", |stats| format_number(stats.average_viewers.round()))}
                {row("Peak viewers", |stats| format_number(stats.peak_viewers))}
                {row("Hours watched", |stats| hours(stats.hours_watched))}
            </tbody>
        </table>
    }
}

/// The sessions as bars on the range's time axis: width its duration, height its average
/// viewers (against the range's highest).
#[component]
fn Timeline(sessions: Vec<StreamSession>, from_ms: i64, to_ms: i64) -> impl IntoView {
    const WIDTH: f64 = 1000.0;
    const HEIGHT: f64 = 60.0;
    let span = (to_ms - from_ms).max(1) as f64;
    let highest = sessions
        .iter()
        .map(|session| session.average_viewers)
        .fold(0.0, f64::max)
        .max(1.0);
    let bars = sessions
        .iter()
        .map(|session| {
            let start = session.started_at.timestamp_millis().max(from_ms);
            let x = (start - from_ms) as f64 / span * WIDTH;
            let width = (session.duration_secs as f64 * 1000.0 / span * WIDTH).max(2.0);
            let height = (session.average_viewers / highest * HEIGHT).max(3.0);
            let label = format!(
                "{}: {}, {} average viewers",
                when(&session.started_at),
                duration(session.duration_secs),
                format_number(session.average_viewers.round())
            );
            view! {
                <rect x=format!("{x:.1}") y=format!("{:.1}", HEIGHT - height) width=format!("{width:.1}") height=format!("{height:.1}") class:live=session.is_live()>
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <svg class="stream-timeline" viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=format!("{} streams on a timeline", sessions.len()) data-testid="stream-timeline">
            {bars}
        </svg>
    }
}

#[component]
fn TopGames(games: Vec<GameTime>) -> impl IntoView {
    let items = games
        .into_iter()
        .map(|time| view! { <li>{time.game} <span class="muted">{format!(" {}", duration(time.secs))}</span></li> })
        .collect_view();
    view! {
        <div class="stream-top" data-testid="top-games">
            <h3>"Most streamed"</h3>
            <ol>{items}</ol>
        </div>
    }
}

#[component]
fn TopTags(tags: Vec<TagCount>) -> impl IntoView {
    let items = tags
        .into_iter()
        .map(|tag| {
            let streams = if tag.streams == 1 {
                "1 stream".to_string()
            } else {
                format!("{} streams", tag.streams)
            };
            view! { <li>{tag.tag} <span class="muted">{format!(" {streams}")}</span></li> }
        })
        .collect_view();
    view! {
        <div class="stream-top" data-testid="top-tags">
            <h3>"Most common tags"</h3>
            <ol>{items}</ol>
        </div>
    }
}

#[component]
fn SessionTable(sessions: Vec<StreamSession>) -> impl IntoView {
    if sessions.is_empty() {
        return view! { <p class="muted">"No streams in this range yet: sessions appear as the channel is polled while live."</p> }.into_any();
    }
    let rows = sessions
        .into_iter()
        .map(|session| {
            let ended = match session.ended_at {
                Some(at) => when(&at),
                None => "live now".to_string(),
            };
            let games = session
                .games
                .iter()
                .map(|time| time.game.clone())
                .collect::<Vec<_>>()
                .join(", ");
            view! {
                <tr data-stream=session.stream_id.clone()>
                    <td>{when(&session.started_at)}</td>
                    <td>{ended}</td>
                    <td>{duration(session.duration_secs)}</td>
                    <td>{format_number(session.peak_viewers)}</td>
                    <td>{format_number(session.average_viewers.round())}</td>
                    <td>{hours(session.hours_watched)}</td>
                    <td>{games}</td>
                    <td>{session.titles.join(" · ")}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="stream-sessions" data-testid="stream-sessions">
            {column_heads(&["Started", "Ended", "Duration", "Peak", "Average", "Hours watched", "Games", "Titles"])}
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn StreamRankingPage() -> impl IntoView {
    // Made here, not in the page (see `SignedIn`).
    let query = use_query_map();
    let request = move || {
        let query = query.read();
        (
            query
                .get("range")
                .and_then(|range| StreamRange::parse(&range).ok())
                .unwrap_or_default(),
            query
                .get("by")
                .and_then(|by| RankBy::parse(&by).ok())
                .unwrap_or_default(),
        )
    };
    let ranking = Resource::new(request, |(range, by)| get_stream_ranking(range, by));
    view! {
        <Title text="Streams" />
        <SignedIn
            path="/streams"
            page=move |_viewer| view! {
                <section class="streams-page" aria-labelledby="ranking-title">
                    <p class="eyebrow"><a href="/dashboard">"Dashboard"</a> " / streams"</p>
                    <h1 id="ranking-title">"Twitch channels"</h1>
                    <Suspense fallback=|| view! { <ListSkeleton label="Loading the channels…" /> }>
                        {move || Suspend::new(async move {
                            let (range, by) = request();
                            match ranking.await {
                                Ok(ranking) => view! { <RankingView ranking range by /> }.into_any(),
                                Err(error) => load_failed("the channels", &error, move || ranking.refetch()),
                            }
                        })}
                    </Suspense>
                </section>
            }
        />
    }
}

#[component]
fn RankingView(ranking: WorkspaceStreams, range: StreamRange, by: RankBy) -> impl IntoView {
    let by_key = |by: RankBy| match by {
        RankBy::Hours => "hours",
        RankBy::Average => "average",
    };
    let link = move |range: StreamRange, by: RankBy| {
        format!("/streams?range={}&by={}", range.key(), by_key(by))
    };
    let sort = move |choice: RankBy, text: &'static str| {
        let here = (choice == by).then_some("page");
        view! { <a href=link(range, choice) aria-current=here class="chip">{text}</a> }
    };
    let body = if ranking.channels.is_empty() {
        view! { <p class="muted">"No Twitch channels tracked yet: add one by its link (https://www.twitch.tv/…) on the dashboard."</p> }.into_any()
    } else {
        let rows = ranking
            .channels
            .into_iter()
            .enumerate()
            .map(|(place, channel)| {
                view! {
                    <tr>
                        <td>{place + 1}</td>
                        <td><a href=format!("/trackers/{}/streams?range={}", channel.tracker_id, range.key())>{channel.label}</a></td>
                        <td>{hours(channel.stats.hours_streamed)}</td>
                        <td>{channel.stats.streams}</td>
                        <td>{format_number(channel.stats.average_viewers.round())}</td>
                        <td>{format_number(channel.stats.peak_viewers)}</td>
                        <td>{hours(channel.stats.hours_watched)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="stream-ranking" data-testid="stream-ranking">
                {column_heads(&["#", "Channel", "Hours streamed", "Streams", "Average viewers", "Peak viewers", "Hours watched"])}
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        {range_chips(range, move |range| link(range, by))}
        <nav class="chips" aria-label="Rank by">
            {sort(RankBy::Hours, "Most hours streamed")}
            {sort(RankBy::Average, "Most average viewers")}
        </nav>
        {body}
        <Panel title_id="top-tags-title" title="Top tags across all channels">
            <TopTags tags=ranking.top_tags />
        </Panel>
    }
}
