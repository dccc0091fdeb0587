//! Plans and their limits (the `plans` table), and how their intervals read.

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
    /// People in a workspace (members, and open invitations while inviting).
    pub max_members: i32,
    /// Watches: containers whose new items become trackers.
    pub max_watches: i32,
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
