//! The header and footer around every page, and the panels pages are made of.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::ViewerResource;

/// The header's workspace switcher, for someone in more than one: a form that works
/// before the page hydrates.
#[component]
fn WorkspaceSwitcher(workspaces: Vec<crate::api::session::WorkspaceChoice>) -> impl IntoView {
    (workspaces.len() > 1).then(|| {
        view! {
            <form method="post" action="/workspaces/switch" class="workspace-switcher" data-testid="workspace-switcher">
                <label class="visually-hidden" for="workspace-switch">"Workspace"</label>
                <select id="workspace-switch" name="workspace">
                    {workspaces
                        .into_iter()
                        .map(|workspace| view! {
                            <option value=workspace.id selected=workspace.current>
                                {format!("{} · {}", workspace.name, workspace.role.label())}
                            </option>
                        })
                        .collect_view()}
                </select>
                <button type="submit" class="link-button">"Switch"</button>
            </form>
        }
    })
}

#[component]
pub fn SiteHeader() -> impl IntoView {
    let viewer = expect_context::<ViewerResource>();
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand" attr:aria-label="Upcount home">
                <span class="brand-mark" aria-hidden="true">"▲"</span>
                "Upcount"
            </A>
            <nav class="site-nav" aria-label="Main">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match viewer.await.ok().flatten() {
                            Some(viewer) => view! {
                                <a href="/dashboard">"Dashboard"</a>
                                <a href="/watches">"Watches"</a>
                                <a href="/alerts">"Alerts"</a>
                                <a href="/members">"Members"</a>
                                {viewer.is_admin().then(|| view! { <a href="/admin">"Admin"</a> })}
                                <a href="/billing">"Billing"</a>
                                <a href="/account" title=viewer.email.clone()>"Account"</a>
                                <WorkspaceSwitcher workspaces=viewer.workspaces.clone() />
                                <form method="post" action="/sign-out" class="sign-out">
                                    <button type="submit" class="link-button">"Sign out"</button>
                                </form>
                            }
                                .into_any(),
                            None => view! {
                                <a href="/#track" class="nav-secondary">"What you can track"</a>
                                <a href="/pricing" class="nav-secondary">"Pricing"</a>
                                <a href="/sign-in">"Sign in"</a>
                                <a href="/sign-up" class="button">"Sign up"</a>
                            }
                                .into_any(),
                        }
                    })}
                </Suspense>
            </nav>
        </header>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                viewer.await.ok().flatten().filter(|viewer| viewer.viewed_by.is_some()).map(|viewer| view! {
                    <div class="view-as-banner" role="alert" data-testid="view-as-banner">
                        "You are viewing Upcount as " <strong>{viewer.email.clone()}</strong> " (read-only). "
                        <form method="post" action="/admin/view-as/stop" class="inline-form">
                            <button type="submit" class="button-secondary">"Stop viewing as them"</button>
                        </form>
                    </div>
                })
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                viewer.await.ok().flatten().filter(|viewer| !viewer.email_verified && viewer.viewed_by.is_none()).map(|viewer| view! {
                    // A landmark, not a live status: it is there on every page until confirmed.
                    <aside class="verify-banner" aria-label="Confirm your email address" data-testid="verify-banner">
                        "Confirm your email address: we sent a link to " <strong>{viewer.email.clone()}</strong> ". "
                        <form method="post" action="/verify-email/resend" class="inline-form">
                            <button type="submit" class="button-secondary">"Send it again"</button>
                        </form>
                    </aside>
                })
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                viewer.await.ok().flatten().and_then(|viewer| viewer.billing_alert).map(|alert| view! {
                    <div class="billing-banner" role="alert" data-testid="billing-banner">
                        {alert} " " <a href="/billing">"Billing"</a>
                    </div>
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>"Upcount — the numbers of the Internet, over time."</p>
            <nav aria-label="Developers">
                <a href="/docs/api" rel="external">"API reference"</a>
            </nav>
        </footer>
    }
}

/// A titled part of a page: a `section` labelled by its `h2` (whose id is `title_id`).
#[component]
pub fn Panel(
    title_id: &'static str,
    title: &'static str,
    /// For what cannot be undone.
    #[prop(optional)]
    danger: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="panel" class:panel-danger=danger aria-labelledby=title_id>
            <h2 id=title_id>{title}</h2>
            {children()}
        </section>
    }
}
