//! The public home page: what Upcount does, with an interactive example chart.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{catalogue::Catalogue, demo_chart::DemoChart};

#[component]
pub fn Landing() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <div class="hero-copy">
                <h1>"Every number on the Internet, charted over time."</h1>
                <p class="lede">
                    "Paste a link to something public — a repository, a video, a post, a package, a model, a stock — or to any JSON API. "
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
            <Catalogue />
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
                    <p>"The upstream API is read on a schedule; every value is stored with its time. Where the upstream keeps its own history (GitHub stars, npm downloads…), the chart starts with it on day one."</p>
                </li>
                <li>
                    <h3>"Explore the history"</h3>
                    <p>"Zoom, compare and export the series whenever you like."</p>
                </li>
            </ol>
        </section>
    }
}
