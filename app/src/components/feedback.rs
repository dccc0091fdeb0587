//! Showing that something is loading or went wrong, never leaving a blank or a spinner.

use leptos::prelude::*;

use super::add_tracker::server_message;

/// Waits for `resource` ("Loading…" meanwhile), then shows `ready` with its value or, when
/// the request failed, `failed` in an alert.
#[component]
pub fn Loaded<T, F, V>(
    resource: Resource<Result<T, ServerFnError>>,
    failed: &'static str,
    ready: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let ready = ready.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(value) => ready(value).into_any(),
                        Err(_) => view! { <p class="form-error" role="alert">{failed}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// A request failed: what happened, and a button that tries again.
#[component]
pub fn ErrorBox(message: String, retry: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    view! {
        <div class="error-box" role="alert">
            <p>{message}</p>
            <button class="button-secondary" type="button" on:click=move |_| retry()>"Try again"</button>
        </div>
    }
}

/// The [`ErrorBox`] of `what` ("this tracker") failing to load: the server's reason, and a
/// `retry` that asks again.
pub fn load_failed(
    what: &str,
    error: &ServerFnError,
    retry: impl Fn() + Send + Sync + 'static,
) -> AnyView {
    let message = format!("Could not load {what}: {}", server_message(error));
    view! { <ErrorBox message retry /> }.into_any()
}

/// The shape of a tracker page while it loads.
#[component]
pub fn TrackerSkeleton() -> impl IntoView {
    view! {
        <div class="skeleton tracker-skeleton" aria-busy="true">
            <span class="visually-hidden">"Loading the tracker…"</span>
            <span class="skeleton-line short"></span>
            <span class="skeleton-line title"></span>
            <span class="skeleton-line"></span>
            <span class="skeleton-block"></span>
        </div>
    }
}

/// The shape of a list while it loads.
#[component]
pub fn ListSkeleton(label: &'static str) -> impl IntoView {
    view! {
        <div class="skeleton" aria-busy="true">
            <span class="visually-hidden">{label}</span>
            <span class="skeleton-line title"></span>
            <span class="skeleton-line"></span>
            <span class="skeleton-line"></span>
            <span class="skeleton-line short"></span>
        </div>
    }
}
