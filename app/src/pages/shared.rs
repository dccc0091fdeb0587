//! `/s/{token}`: a publicly shared tracker, read-only, for anyone with the link (signed in
//! or not). An unknown or revoked link is the 404 page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{dashboard::format_number, not_found::NotFound};
use crate::{
    api::shared::{SharedTracker, get_shared},
    components::{feedback::Loaded, polls::PollsTable},
};

#[component]
pub fn Shared() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let tracker = Resource::new(token, get_shared);
    view! {
        <Loaded
            resource=tracker
            failed="Could not load this tracker. Please reload the page."
            ready=|tracker| match tracker {
                Some(tracker) => view! { <SharedPage tracker /> }.into_any(),
                None => view! { <NotFound /> }.into_any(),
            }
        />
    }
}

#[component]
fn SharedPage(tracker: SharedTracker) -> impl IntoView {
    let metric_names: Vec<String> = tracker
        .metrics
        .iter()
        .map(|(name, _, _)| name.clone())
        .collect();
    view! {
        <Title text=tracker.label.clone() />
        <section class="shared" aria-labelledby="shared-title">
            <p class="eyebrow">"Shared with Upcount · " {tracker.kind.to_string()}</p>
            <h1 id="shared-title">{tracker.label.clone()}</h1>
            <p>
                <a href=tracker.url.clone() rel="noopener noreferrer">{tracker.title.clone()}</a>
            </p>
            <dl class="latest-values">
                {tracker
                    .metrics
                    .iter()
                    .map(|(name, unit, value)| {
                        let shown = value.map(format_number).unwrap_or_else(|| "—".into());
                        view! {
                            <div>
                                <dt>{name.replace('_', " ")}</dt>
                                <dd>{shown} " " <span class="muted">{unit.clone()}</span></dd>
                            </div>
                        }
                    })
                    .collect_view()}
            </dl>
            <PollsTable metrics=metric_names rows=tracker.rows.clone() label="Latest values" />
        </section>
    }
}
