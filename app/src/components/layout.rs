//! The header and footer around every page.

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn SiteHeader() -> impl IntoView {
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand" attr:aria-label="Upcount home">
                <span class="brand-mark" aria-hidden="true">"▲"</span>
                "Upcount"
            </A>
            <nav class="site-nav" aria-label="Main">
                <a href="/#track">"What you can track"</a>
                <a href="/#how">"How it works"</a>
            </nav>
        </header>
    }
}

#[component]
pub fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>"Upcount — the numbers of the Internet, over time."</p>
        </footer>
    }
}
