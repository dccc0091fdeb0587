//! A workspace's billing as the billing page shows it.

use serde::{Deserialize, Serialize};

use super::Plan;

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
