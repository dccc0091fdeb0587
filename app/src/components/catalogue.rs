//! What Upcount can track, as cards from the provider registry (`api::catalogue`): the
//! landing page's and the pricing page's list, never out of step with the providers.

use leptos::prelude::*;

use crate::{
    api::catalogue::{KindCard, ProviderCard, get_catalogue},
    components::feedback::Loaded,
    pages::dashboard::ProviderIcon,
};

/// Every provider as a card: its kinds with their metrics, a link each recognises, and
/// whether a new tracker starts with the upstream's history.
#[component]
pub fn Catalogue() -> impl IntoView {
    let cards = Resource::new(|| (), |_| get_catalogue());
    view! {
        <Loaded
            resource=cards
            failed="Could not load the list of providers. Please reload the page."
            ready=|cards| view! {
                <ul class="cards" data-testid="catalogue">
                    {cards.into_iter().map(card).collect_view()}
                </ul>
            }
        />
    }
}

fn card(card: ProviderCard) -> impl IntoView {
    let (name, module) = (card.badge.name.clone(), card.badge.module.clone());
    view! {
        <li class="card provider-card" data-provider=module>
            <h3><ProviderIcon badge=card.badge /> " " {name}</h3>
            <ul class="provider-kinds">{card.kinds.into_iter().map(kind).collect_view()}</ul>
        </li>
    }
}

fn kind(kind: KindCard) -> impl IntoView {
    let what = if kind.metrics.is_empty() {
        "any number in the answer, picked with JMESPath".to_string()
    } else {
        kind.metrics.join(", ")
    };
    view! {
        <li>
            <strong>{kind.label}</strong> ": " {what}
            {kind.history_from.map(|from| view! {
                <span class="history-badge" title=format!("A new tracker starts with the history {from} keeps")>
                    "history on day one"
                </span>
            })}
            {kind.example.map(|example| view! { <code>{example}</code> })}
        </li>
    }
}
