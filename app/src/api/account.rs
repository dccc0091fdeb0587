//! The account page's data.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::TokenScope;

/// An API token as the account page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    pub prefix: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// The API tokens of the signed-in user's workspace.
#[server]
pub async fn list_tokens() -> Result<Vec<TokenSummary>, ServerFnError> {
    use crate::server::{auth::Auth, db, state::AppState};
    let axum::Extension(Auth(user)) = leptos_axum::extract::<axum::Extension<Auth>>().await?;
    let Some(user) = user else {
        return Err(ServerFnError::new("Sign in to see your API tokens."));
    };
    let state = expect_context::<AppState>();
    let rows = db::tokens::list(&state.pool, user.workspace_id)
        .await
        .map_err(|error| {
            tracing::error!(error = %error, "could not list API tokens");
            ServerFnError::new("Could not load your API tokens. Please try again.")
        })?;
    let format = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    Ok(rows
        .into_iter()
        .map(|row| TokenSummary {
            id: row.id.to_string(),
            name: row.name,
            scope: row.scope,
            prefix: row.token_prefix,
            created: format(row.created_at),
            last_used: row.last_used_at.map(format),
        })
        .collect())
}
