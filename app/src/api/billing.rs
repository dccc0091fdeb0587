//! Plans and billing for the pricing and billing pages.

use leptos::prelude::*;

pub use crate::domain::plan::{Plan, describe_days, describe_interval};

pub use crate::domain::billing::BillingView;

/// The signed-in workspace's billing.
#[server]
pub async fn get_billing() -> Result<BillingView, ServerFnError> {
    use crate::server::{auth::Auth, state::AppState};
    let axum::Extension(Auth(user)) = leptos_axum::extract::<axum::Extension<Auth>>().await?;
    let Some(user) = user else {
        return Err(ServerFnError::new("Sign in to see your plan."));
    };
    let state = expect_context::<AppState>();
    crate::server::billing::overview(&state, user.workspace_id, chrono::Utc::now())
        .await
        .map_err(|error| {
            tracing::error!(error = %error, "could not read the billing state");
            ServerFnError::new("Could not load your plan. Please try again.")
        })
}

/// Every plan, for the public pricing page.
#[server]
pub async fn list_plans() -> Result<Vec<(Plan, bool)>, ServerFnError> {
    use crate::server::state::AppState;
    let state = expect_context::<AppState>();
    let plans = crate::server::billing::store::plans(&state.pool)
        .await
        .map_err(|error| {
            tracing::error!(error = %error, "could not read the plans");
            ServerFnError::new("Could not load the plans. Please try again.")
        })?;
    Ok(plans
        .into_iter()
        .map(|plan| {
            let buyable = state.billing.price_of(&plan.id).is_some();
            (plan, buyable)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_retention_read_naturally() {
        assert_eq!(describe_interval(3_600), "1 hour");
        assert_eq!(describe_interval(300), "5 minutes");
        assert_eq!(describe_interval(60), "1 minute");
        assert_eq!(describe_interval(86_400 * 2), "2 days");
        assert_eq!(describe_days(30), "30 days");
        assert_eq!(describe_days(365), "1 year");
        assert_eq!(describe_days(1_095), "3 years");
    }
}
