//! Plans and billing for the pricing and billing pages.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A plan and its limits (the `plans` table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub rank: i32,
    /// US cents a month.
    pub price_cents: i32,
    pub max_trackers: i32,
    pub min_interval_secs: i32,
    pub raw_retention_days: i32,
    pub max_api_tokens: i32,
    pub max_alert_rules: i32,
}

impl Plan {
    /// `$12 / month`, or `Free`.
    pub fn price(&self) -> String {
        if self.price_cents == 0 {
            "Free".into()
        } else if self.price_cents % 100 == 0 {
            format!("${} / month", self.price_cents / 100)
        } else {
            format!(
                "${}.{:02} / month",
                self.price_cents / 100,
                self.price_cents % 100
            )
        }
    }
}

/// `1 hour`, `5 minutes`, `1 minute`.
pub fn describe_interval(secs: i32) -> String {
    let plural = |n: i32, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if secs % 86_400 == 0 {
        plural(secs / 86_400, "day")
    } else if secs % 3_600 == 0 {
        plural(secs / 3_600, "hour")
    } else if secs % 60 == 0 {
        plural(secs / 60, "minute")
    } else {
        plural(secs, "second")
    }
}

/// `3 years`, `1 year`, `30 days`.
pub fn describe_days(days: i32) -> String {
    if days % 365 == 0 {
        let years = days / 365;
        if years == 1 {
            "1 year".into()
        } else {
            format!("{years} years")
        }
    } else {
        format!("{days} days")
    }
}

/// The signed-in workspace's plan, usage and subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingView {
    pub plan: Plan,
    /// Every plan, cheapest first, with whether it can be bought here (has a Stripe price).
    pub plans: Vec<(Plan, bool)>,
    pub active_trackers: i64,
    pub paused_by_plan: i64,
    pub api_tokens: i64,
    /// `free`, `active`, `canceling`, `past_due`, `lapsed` or `override`.
    pub standing: String,
    /// Stripe's subscription status, when there is a subscription.
    pub status: Option<String>,
    /// The next invoice (active) or the end of the plan (cancelling), RFC 3339.
    pub period_end: Option<String>,
    /// When Free limits apply unless the invoice is paid (past due), RFC 3339.
    pub grace_ends_at: Option<String>,
    /// The workspace has a Stripe customer, so the billing portal can open.
    pub has_customer: bool,
    /// Payments go to the built-in Stripe stand-in, not to Stripe.
    pub test_mode: bool,
    /// After a downgrade: raw points older than the plan keeps are pruned from this day
    /// (RFC 3339) unless the plan keeps them again by then.
    pub history_pruned_from: Option<String>,
}

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
