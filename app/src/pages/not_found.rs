//! The page for any path no route matches. It answers with HTTP status 404.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }

    view! {
        <Title text="Page not found" />
        <section class="not-found" aria-labelledby="not-found-title">
            <p class="not-found-code" aria-hidden="true">"404"</p>
            <h1 id="not-found-title">"Page not found"</h1>
            <p>
                "There is nothing at this address. It may have moved, or the link may be mistyped."
            </p>
            <a class="button" href="/">"Back to the home page"</a>
        </section>
    }
}
