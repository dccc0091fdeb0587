//! Upcount's Leptos application, shared by the server (feature `ssr`) and the browser
//! (feature `hydrate`).
//!
//! - [`shell`] renders the HTML document around the app (server only).
//! - [`App`] holds the router; every page lives in [`pages`].
//! - [`server`] (feature `ssr`) holds server-side state; it never compiles to wasm.

// The admin console's tables make deep view types; a fresh (non-incremental) build needs
// more than the default 128 levels to lay them out.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod domain;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::{
    api::session::{Viewer, get_viewer},
    components::layout::{SiteFooter, SiteHeader},
    pages::{
        account::Account,
        admin::{Admin, AdminOutbox},
        admin_user::AdminUser,
        alerts::Alerts,
        auth::{SignIn, SignUp},
        billing::{Billing, BillingSuccess, Pricing},
        compare::Compare,
        dashboard::Dashboard,
        email::{CheckInbox, ForgotPassword, ResetPassword, VerifyEmail},
        landing::Landing,
        members::{InvitationPage, Members},
        not_found::NotFound,
        shared::Shared,
        streams::{ChannelStreamsPage, StreamRankingPage},
        tracker::Tracker,
        watches::{WatchPage, Watches},
    },
};

/// The signed-in user, loaded once per page load and shared through context.
pub type ViewerResource = Resource<Result<Option<Viewer>, ServerFnError>>;

/// Where the ECharts bundle from npm is served from (see the `echarts` entry of the root
/// `package.json`; `make` copies it into `public/vendor/`). The version is part of the file
/// name, so the long-lived cache headers stay correct across upgrades.
pub const ECHARTS_SRC: &str = "/vendor/echarts-5.5.1.min.js";

/// The Content-Security-Policy of a page whose inline scripts carry `nonce`: scripts only
/// from the site itself or with this response's nonce (Leptos puts it on its hydration and
/// resource scripts), no `eval`, WebAssembly compiled from the site's own module, nothing
/// framed, no plugins, no other base.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
         connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )
}

/// Sets this page's Content-Security-Policy header, with the nonce Leptos made for the
/// response (server only; nothing to do in the browser).
fn send_content_security_policy() {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) && let Ok(value) = axum::http::HeaderValue::from_str(&content_security_policy(&nonce))
    {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The charts' tooltip formatter (`public/chart-tooltip.js`; see
/// `components::echarts::time_tooltip`).
pub const CHART_TOOLTIP_SRC: &str = "/chart-tooltip.js";

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    send_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta
                    name="description"
                    content="Upcount charts the numbers of things on the Internet over time: stars, views, scores, viewers, downloads, prices and any number in a JSON API."
                />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <script src=ECHARTS_SRC defer></script>
                <script src=CHART_TOOLTIP_SRC defer></script>
                <AutoReload options=options.clone() />
                <HydrationScripts options=options.clone() />
                <HashedStylesheet options id="leptos" />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: its routes and the page chrome shared by every page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let viewer: ViewerResource = Resource::new(|| (), |_| get_viewer());
    provide_context(viewer);

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Upcount".to_string() } else { format!("{page} · Upcount") }
        } />
        <Router>
            <SiteHeader />
            <main class="site-main">
                // Async: pages render whole on the server, so they work before (or
                // without) the wasm, forms included.
                <Routes fallback=NotFound>
                    <Route path=path!("") view=Landing ssr=SsrMode::Async />
                    <Route path=path!("sign-in") view=SignIn ssr=SsrMode::Async />
                    <Route path=path!("sign-up") view=SignUp ssr=SsrMode::Async />
                    <Route path=path!("check-inbox") view=CheckInbox ssr=SsrMode::Async />
                    <Route path=path!("verify-email") view=VerifyEmail ssr=SsrMode::Async />
                    <Route path=path!("forgot-password") view=ForgotPassword ssr=SsrMode::Async />
                    <Route path=path!("reset-password") view=ResetPassword ssr=SsrMode::Async />
                    <Route path=path!("dashboard") view=Dashboard ssr=SsrMode::Async />
                    // Where the form that makes a push source answers, with its new token.
                    <Route path=path!("dashboard/push-sources") view=Dashboard ssr=SsrMode::Async />
                    <Route path=path!("account") view=Account ssr=SsrMode::Async />
                    // Where the form that creates a token answers, with the new token.
                    <Route path=path!("account/tokens") view=Account ssr=SsrMode::Async />
                    <Route path=path!("admin") view=Admin ssr=SsrMode::Async />
                    <Route path=path!("alerts") view=Alerts ssr=SsrMode::Async />
                    <Route path=path!("members") view=Members ssr=SsrMode::Async />
                    <Route path=path!("invitations/:token") view=InvitationPage ssr=SsrMode::Async />
                    <Route path=path!("admin/users/:id") view=AdminUser ssr=SsrMode::Async />
                    <Route path=path!("admin/outbox") view=AdminOutbox ssr=SsrMode::Async />
                    <Route path=path!("pricing") view=Pricing ssr=SsrMode::Async />
                    <Route path=path!("billing") view=Billing ssr=SsrMode::Async />
                    <Route path=path!("billing/success") view=BillingSuccess ssr=SsrMode::Async />
                    <Route path=path!("s/:token") view=Shared ssr=SsrMode::Async />
                    <Route path=path!("trackers/:id") view=Tracker ssr=SsrMode::Async />
                    <Route path=path!("trackers/:id/streams") view=ChannelStreamsPage ssr=SsrMode::Async />
                    <Route path=path!("streams") view=StreamRankingPage ssr=SsrMode::Async />
                    <Route path=path!("watches") view=Watches ssr=SsrMode::Async />
                    <Route path=path!("watches/:id") view=WatchPage ssr=SsrMode::Async />
                    <Route path=path!("compare") view=Compare ssr=SsrMode::Async />
                </Routes>
            </main>
            <SiteFooter />
        </Router>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn echarts_src_names_the_version_make_installs() {
        let package = include_str!("../../assets/package.json");
        let version = package
            .split("\"echarts\":")
            .nth(1)
            .and_then(|rest| rest.split('"').nth(1))
            .expect("assets/package.json depends on echarts");
        assert_eq!(
            super::ECHARTS_SRC,
            format!("/vendor/echarts-{version}.min.js")
        );
    }
}
