//! Watches, for the pages: the workspace's watches with what can be watched, and one
//! watch with the trackers it made. Changes go through forms that post to the server
//! (`/watches…`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{
    WatchId,
    watch::{WatchDetail, WatchView},
};

/// A kind of container, for the add form's hints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatchableKind {
    /// "YouTube channel".
    pub label: String,
    /// "videos".
    pub yields: String,
    /// A link it recognises.
    pub example: String,
}

/// The Watches page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatchesPage {
    pub watches: Vec<WatchView>,
    pub kinds: Vec<WatchableKind>,
    /// The plan's watches (0: none), and its name.
    pub max_watches: i32,
    pub plan: String,
    /// The plan's shortest interval, for the form's choices.
    pub min_interval_secs: i32,
}

/// The signed-in user's workspace's watches.
#[server]
pub async fn get_watches_page() -> Result<WatchesPage, ServerFnError> {
    use crate::server::{
        billing::store as billing, state::AppState, tracking::providers, watches::store,
    };
    let user = super::trackers::signed_in().await?;
    let state = expect_context::<AppState>();
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not list watches");
        ServerFnError::new("Could not load your watches. Please try again.")
    };
    let watches = store::list_watches(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    let plan = billing::workspace_plan(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    let kinds = providers::containers()
        .iter()
        .map(|container| {
            let spec = container.spec();
            WatchableKind {
                label: spec.label.to_string(),
                yields: spec.yields.to_string(),
                example: spec
                    .examples
                    .first()
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
            }
        })
        .collect();
    Ok(WatchesPage {
        watches,
        kinds,
        max_watches: plan.max_watches,
        plan: plan.name,
        min_interval_secs: plan.min_interval_secs,
    })
}

/// Watch `id` of the signed-in user's workspace with its trackers and history; `None`
/// when there is no such watch.
#[server]
pub async fn get_watch(id: WatchId) -> Result<Option<WatchDetail>, ServerFnError> {
    use crate::server::{state::AppState, watches::service};
    let user = super::trackers::signed_in().await?;
    let state = expect_context::<AppState>();
    service::watch_detail(&state.pool, user.workspace_id, id)
        .await
        .map_err(|error| {
            tracing::error!(error = %error, "could not load a watch");
            ServerFnError::new("Could not load the watch. Please try again.")
        })
}
