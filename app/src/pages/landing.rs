//! The public home page: what Upcount does, with an interactive example chart.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::demo_chart::DemoChart;

/// What a customer can point Upcount at, shown as cards on the landing page.
const TRACKABLE: [(&str, &str, &str); 9] = [
    (
        "GitHub",
        "Stars, forks, watchers and open issues of any public repository.",
        "github.com/leptos-rs/leptos",
    ),
    (
        "YouTube",
        "Views, likes and comments of a video, subscribers of a channel.",
        "youtube.com/watch?v=…",
    ),
    (
        "Hacker News",
        "Score and comment count of a story while it climbs the front page.",
        "news.ycombinator.com/item?id=…",
    ),
    (
        "Reddit",
        "Score, upvote ratio and comments of a post.",
        "reddit.com/r/rust/comments/…",
    ),
    (
        "Twitch",
        "Live viewers of a stream, followers of a channel.",
        "twitch.tv/…",
    ),
    (
        "Packages",
        "Daily, weekly and monthly downloads of npm packages; pulls and stars of Docker Hub images.",
        "npmjs.com/package/react",
    ),
    (
        "Wikipedia",
        "Daily page views of an article, in any language.",
        "en.wikipedia.org/wiki/Rust_(programming_language)",
    ),
    (
        "Coins",
        "Price, market cap and 24-hour volume of a coin, in US dollars.",
        "coingecko.com/en/coins/bitcoin",
    ),
    (
        "Any JSON API",
        "Any number inside a JSON response, picked with a JMESPath expression.",
        "api.example.com/stats → data.total",
    ),
];

#[component]
pub fn Landing() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <div class="hero-copy">
                <h1>"Every number on the Internet, charted over time."</h1>
                <p class="lede">
                    "Paste a link to a GitHub repository, a YouTube video, a Hacker News post, a Twitch stream, a Wikipedia article, an npm package, a Docker image or a coin. "
                    "Upcount checks it on a schedule, keeps every data point, and turns the history into interactive charts."
                </p>
                <p class="lede-small">
                    "Uptime monitors chart response times. Change detectors diff text. Upcount keeps the numbers."
                </p>
            </div>
            <DemoChart />
        </section>

        <section id="track" class="track" aria-labelledby="track-title">
            <h2 id="track-title">"What you can track"</h2>
            <ul class="cards">
                {TRACKABLE
                    .into_iter()
                    .map(|(name, what, example)| {
                        view! {
                            <li class="card">
                                <h3>{name}</h3>
                                <p>{what}</p>
                                <code>{example}</code>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>

        <section id="how" class="how" aria-labelledby="how-title">
            <h2 id="how-title">"How it works"</h2>
            <ol class="steps">
                <li>
                    <h3>"Paste a URL"</h3>
                    <p>"Upcount recognises what it points at and checks that it exists."</p>
                </li>
                <li>
                    <h3>"We keep polling"</h3>
                    <p>"The upstream API is read on a schedule; every value is stored with its time."</p>
                </li>
                <li>
                    <h3>"Explore the history"</h3>
                    <p>"Zoom, compare and export the series whenever you like."</p>
                </li>
            </ol>
        </section>
    }
}
