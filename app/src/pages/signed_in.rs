//! Pages for signed-in users: the gate in front of them and the 403 page.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use super::not_found::StatusPage;
use crate::{ViewerResource, api::session::Viewer, domain::NextPath};

/// Renders `page` for the signed-in viewer. Anonymous visitors are sent to sign in (and
/// back to `path` afterwards); with `admin_only`, members get the 403 page.
///
/// On the server, `page` may be called more than once while the viewer loads (a
/// `Suspend` is polled before it is awaited), but only once in the browser. So a page
/// must not create resources inside `page`: each would exist once per call on the server,
/// the browser would pick up the first call's values while the HTML shows the last's,
/// and hydration fails whenever they differ. Create them in the route's component, around
/// `SignedIn`, and hand them in.
#[component]
pub fn SignedIn<F, V>(
    #[prop(into)] path: String,
    #[prop(optional)] admin_only: bool,
    page: F,
) -> impl IntoView
where
    F: Fn(Viewer) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let viewer = expect_context::<ViewerResource>();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let page = page.clone();
                let path = path.clone();
                Suspend::new(async move {
                    match viewer.await {
                        Ok(Some(viewer)) if admin_only && !viewer.is_admin() => view! { <Forbidden /> }.into_any(),
                        Ok(Some(viewer)) => page(viewer).into_any(),
                        Ok(None) => view! { <Redirect path=NextPath::sign_in_url(&path) /> }.into_any(),
                        Err(_) => view! {
                            <p class="form-error" role="alert">
                                "Something went wrong loading this page. Please reload it."
                            </p>
                        }
                            .into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The page for signed-in users who may not see what they asked for (status 403).
#[component]
pub fn Forbidden() -> impl IntoView {
    view! {
        <StatusPage status=403 title="Not allowed" heading_id="forbidden-title" heading="You don't have access to this page" link=("/dashboard", "Go to your dashboard")>
            "This part of Upcount is for administrators."
        </StatusPage>
    }
}
