//! Showing that something is loading or went wrong, never leaving a blank or a spinner.

use leptos::prelude::*;

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
