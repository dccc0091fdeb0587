//! What Upcount can track, read from the provider registry: the landing page and
//! `/pricing` list exactly the providers that exist.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::trackers::ProviderBadge;

/// One provider module and its kinds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderCard {
    pub badge: ProviderBadge,
    pub kinds: Vec<KindCard>,
}

/// One kind: what it tracks, its metrics, a link it recognises, and where its history on
/// day one comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KindCard {
    /// `GitHub repository`.
    pub label: String,
    /// `stars`, `open issues`: the metric names, for people; empty when the source's own
    /// (a JSON API's picked numbers).
    pub metrics: Vec<String>,
    /// A recognised link without its scheme (`github.com/leptos-rs/leptos`).
    pub example: Option<String>,
    /// `GitHub` when a new tracker loads the upstream's history at once.
    pub history_from: Option<String>,
}

/// Every provider the server has, in the registry's order.
#[server]
pub async fn get_catalogue() -> Result<Vec<ProviderCard>, ServerFnError> {
    Ok(catalogue())
}

/// The registry as cards.
#[cfg(feature = "ssr")]
pub fn catalogue() -> Vec<ProviderCard> {
    use crate::server::tracking::providers;
    providers::MODULES
        .iter()
        .map(|module| ProviderCard {
            badge: ProviderBadge::of_module(module),
            kinds: (module.kinds)()
                .iter()
                .map(|kind| KindCard {
                    label: kind.label().to_string(),
                    metrics: kind
                        .spec()
                        .metrics
                        .iter()
                        .map(|metric| metric.0.replace('_', " "))
                        .collect(),
                    example: kind.examples().first().map(|link| {
                        link.trim_start_matches("https://")
                            .trim_start_matches("www.")
                            .to_string()
                    }),
                    history_from: kind.history_from().map(str::to_string),
                })
                .collect(),
        })
        .collect()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn every_module_and_kind_is_listed() {
        let cards = catalogue();
        let modules = crate::server::tracking::providers::MODULES;
        assert_eq!(cards.len(), modules.len());
        let kinds: usize = cards.iter().map(|card| card.kinds.len()).sum();
        assert_eq!(kinds, crate::server::tracking::providers::all().len());
        let github = cards
            .iter()
            .find(|card| card.badge.module == "github")
            .expect("GitHub");
        let repo = &github.kinds[0];
        assert_eq!(repo.example.as_deref(), Some("github.com/leptos-rs/leptos"));
        assert_eq!(repo.history_from.as_deref(), Some("GitHub"));
        assert!(repo.metrics.contains(&"open issues".to_string()));
    }
}
