//! The page for any path no route matches (HTTP status 404), and the frame of every page
//! that says why there is nothing to show.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <StatusPage status=404 title="Page not found" heading_id="not-found-title" heading="Page not found" link=("/", "Back to the home page")>
            "There is nothing at this address. It may have moved, or the link may be mistyped."
        </StatusPage>
    }
}

/// Answers with HTTP status `status` and says what happened (`heading`, then the text in
/// `children`), with a `link` (address, text) somewhere useful.
#[component]
pub fn StatusPage(
    status: u16,
    /// The page's title.
    title: &'static str,
    heading_id: &'static str,
    heading: &'static str,
    link: (&'static str, &'static str),
    children: Children,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        let code = axum::http::StatusCode::from_u16(status);
        if let (Some(response), Ok(code)) = (use_context::<leptos_axum::ResponseOptions>(), code) {
            response.set_status(code);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
    view! {
        <Title text=title />
        <section class="not-found" aria-labelledby=heading_id>
            <p class="not-found-code" aria-hidden="true">{status}</p>
            <h1 id=heading_id>{heading}</h1>
            <p>{children()}</p>
            <a class="button" href=link.0>{link.1}</a>
        </section>
    }
}
