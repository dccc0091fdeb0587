//! The public page of a shared tracker: its latest values and polls, nothing about the
//! workspace that shares it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{ProviderKind, SourceState};

/// A publicly shared tracker, as its read-only page shows it: nothing about the workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharedTracker {
    pub label: String,
    pub kind: ProviderKind,
    pub title: String,
    pub url: String,
    pub state: SourceState,
    /// (metric, unit, latest value).
    pub metrics: Vec<(String, String, Option<f64>)>,
    /// The latest polls, newest first: (time in RFC 3339 UTC, value per metric).
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

/// The tracker shared under `token`; `None` when nothing is (or no longer is).
#[server]
pub async fn get_shared(token: String) -> Result<Option<SharedTracker>, ServerFnError> {
    use crate::server::{state::AppState, tracking::store};
    if token.is_empty() || token.len() > 64 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let state = expect_context::<AppState>();
    let unavailable = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not load a shared tracker");
        ServerFnError::new("Could not load this tracker. Please try again.")
    };
    let Some(tracker) = store::shared_tracker(&state.pool, &token)
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    let request = store::HistoryRequest {
        events: None,
        recent: crate::server::tracking::page::RECENT_POLLS,
    };
    let rows = store::history(&state.pool, &tracker, request)
        .await
        .map_err(unavailable)?
        .recent;
    let rows = super::chart::recent_rows(rows);
    // A JSON API's query string and user-info may hold its keys: the public sees the host
    // and path only (the owner still sees the whole address).
    let url = if tracker.source.kind == "json" {
        crate::server::tracking::providers::json::public_address(&tracker.source.url)
    } else {
        tracker.source.url
    };
    Ok(Some(SharedTracker {
        label: tracker.label,
        kind: tracker.source.kind,
        title: tracker.source.title,
        url,
        state: tracker.state,
        metrics: tracker
            .metrics
            .into_iter()
            .map(|metric| (metric.name, metric.unit, metric.latest))
            .collect(),
        rows,
    }))
}
