//! Which plan a workspace's billing state entitles it to at a given moment: a pure
//! function of the state last read from Stripe and the clock, so the same state always
//! gives the same plan whatever order Stripe's events came in.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// The plan everyone has without a subscription.
pub const FREE: &str = "free";

/// What is known of a workspace's subscription (a `workspace_billing` row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingState {
    pub subscription_status: Option<String>,
    /// The plan the subscription's price stands for.
    pub subscription_plan: Option<String>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    /// When a failed payment was first seen.
    pub past_due_since: Option<DateTime<Utc>>,
    /// Support's override, which wins while set.
    pub plan_override: Option<String>,
}

/// Where a workspace stands, for its billing page and banners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Standing {
    /// No paid subscription.
    Free,
    /// Paid up; renews at `renews_at`.
    Active { renews_at: Option<DateTime<Utc>> },
    /// Cancelled at the period end: the plan lasts until `ends_at`.
    Canceling { ends_at: Option<DateTime<Utc>> },
    /// A payment failed: everything keeps working until `grace_ends_at`.
    PastDue { grace_ends_at: DateTime<Utc> },
    /// The grace period is over: Free limits apply until the invoice is paid.
    Lapsed,
    /// Support set the plan.
    Override,
}

impl BillingState {
    /// The plan whose limits apply at `now`, and where the workspace stands.
    pub fn at(&self, now: DateTime<Utc>, grace: TimeDelta) -> (String, Standing) {
        if let Some(plan) = &self.plan_override {
            return (plan.clone(), Standing::Override);
        }
        let Some(plan) = self.subscription_plan.clone() else {
            return (FREE.into(), Standing::Free);
        };
        let period_over = self.current_period_end.is_some_and(|end| end <= now);
        match self.subscription_status.as_deref() {
            Some("active" | "trialing") if self.cancel_at_period_end => {
                if period_over {
                    (FREE.into(), Standing::Free)
                } else {
                    (
                        plan,
                        Standing::Canceling {
                            ends_at: self.current_period_end,
                        },
                    )
                }
            }
            Some("active" | "trialing") => (
                plan,
                Standing::Active {
                    renews_at: self.current_period_end,
                },
            ),
            Some("past_due" | "unpaid") => {
                let grace_ends_at = self.past_due_since.unwrap_or(now) + grace;
                if now < grace_ends_at {
                    (plan, Standing::PastDue { grace_ends_at })
                } else {
                    (FREE.into(), Standing::Lapsed)
                }
            }
            // canceled, incomplete, incomplete_expired, paused, or none at all.
            _ => (FREE.into(), Standing::Free),
        }
    }

    /// When [`BillingState::at`] will next give a different answer on its own (the end
    /// of a grace period or of a cancelled period), if ever.
    pub fn changes_at(&self, grace: TimeDelta) -> Option<DateTime<Utc>> {
        if self.plan_override.is_some() || self.subscription_plan.is_none() {
            return None;
        }
        match self.subscription_status.as_deref() {
            Some("active" | "trialing") if self.cancel_at_period_end => self.current_period_end,
            Some("past_due" | "unpaid") => self.past_due_since.map(|since| since + grace),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tracking::testing::at;

    fn pro(status: &str) -> BillingState {
        BillingState {
            subscription_status: Some(status.into()),
            subscription_plan: Some("pro".into()),
            current_period_end: Some(at("2026-12-01T00:00:00Z")),
            ..BillingState::default()
        }
    }

    const GRACE: TimeDelta = TimeDelta::days(7);

    #[test]
    fn no_subscription_is_free() {
        let now = at("2026-11-20T00:00:00Z");
        assert_eq!(
            BillingState::default().at(now, GRACE),
            ("free".into(), Standing::Free)
        );
    }

    #[test]
    fn an_active_subscription_gives_its_plan() {
        let now = at("2026-11-20T00:00:00Z");
        for status in ["active", "trialing"] {
            assert_eq!(
                pro(status).at(now, GRACE),
                (
                    "pro".into(),
                    Standing::Active {
                        renews_at: Some(at("2026-12-01T00:00:00Z"))
                    }
                )
            );
        }
    }

    #[test]
    fn a_failed_payment_keeps_the_plan_for_the_grace_period_then_falls_back_to_free() {
        let state = BillingState {
            past_due_since: Some(at("2026-11-20T00:00:00Z")),
            ..pro("past_due")
        };
        let grace_ends_at = at("2026-11-27T00:00:00Z");
        assert_eq!(
            state.at(at("2026-11-26T23:59:59Z"), GRACE),
            ("pro".into(), Standing::PastDue { grace_ends_at })
        );
        assert_eq!(
            state.at(grace_ends_at, GRACE),
            ("free".into(), Standing::Lapsed)
        );
        assert_eq!(state.changes_at(GRACE), Some(grace_ends_at));
        // Paid: back to the plan at once.
        let paid = BillingState {
            past_due_since: None,
            ..pro("active")
        };
        assert_eq!(paid.at(at("2026-11-28T00:00:00Z"), GRACE).0, "pro");
    }

    #[test]
    fn a_cancellation_at_period_end_lasts_until_the_period_ends() {
        let state = BillingState {
            cancel_at_period_end: true,
            ..pro("active")
        };
        let end = at("2026-12-01T00:00:00Z");
        assert_eq!(
            state.at(at("2026-11-30T00:00:00Z"), GRACE),
            ("pro".into(), Standing::Canceling { ends_at: Some(end) })
        );
        assert_eq!(state.at(end, GRACE), ("free".into(), Standing::Free));
        assert_eq!(state.changes_at(GRACE), Some(end));
    }

    #[test]
    fn ended_and_unfinished_subscriptions_are_free() {
        let now = at("2026-11-20T00:00:00Z");
        for status in ["canceled", "incomplete", "incomplete_expired", "paused"] {
            assert_eq!(pro(status).at(now, GRACE).0, "free", "{status}");
        }
    }

    #[test]
    fn support_overrides_win() {
        let state = BillingState {
            plan_override: Some("business".into()),
            ..pro("canceled")
        };
        assert_eq!(
            state.at(at("2026-11-20T00:00:00Z"), GRACE),
            ("business".into(), Standing::Override)
        );
        assert_eq!(state.changes_at(GRACE), None);
    }
}
