//! What the admin console shows: the server builds these from the database, the console
//! pages render them.

use serde::{Deserialize, Serialize};

use super::SourceState;

/// What the console's sources can be filtered by: each state, and `orphaned` (no tracker
/// uses them any more).
pub fn source_filters() -> Vec<String> {
    SourceState::ALL
        .into_iter()
        .map(|state| state.key().to_string())
        .chain(["orphaned".to_string()])
        .collect()
}

/// Everything the console shows at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Console {
    pub users: Vec<ConsoleUser>,
    pub sources: Vec<ConsoleSource>,
    pub events: Vec<ConsoleEvent>,
    pub audit: Vec<ConsoleAudit>,
    /// (queue, status, jobs) of the apalis queues.
    pub job_counts: Vec<(String, String, i64)>,
    /// Jobs that failed for good (or were discarded), newest first.
    pub failed_jobs: Vec<ConsoleJob>,
    /// The provider modules sources can be filtered by (`github`), from the registry.
    pub source_providers: Vec<String>,
}

/// The figures the console refreshes live: now, and every five minutes over the last
/// week (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Live {
    pub overview: ConsoleOverview,
    pub history: Vec<ConsoleSnapshot>,
    pub providers: Vec<ConsoleProvider>,
}

/// One upstream over the last hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleProvider {
    pub name: String,
    /// Sources polled, and the polls that failed.
    pub polls_last_hour: i64,
    pub failed_polls_last_hour: i64,
    pub requests_last_hour: i64,
    pub error_rate_percent: Option<f64>,
    /// Upper bounds of the latency buckets the median and the 95th percentile fall in.
    pub p50_ms: Option<u32>,
    pub p95_ms: Option<u32>,
    pub remaining: Option<f64>,
    pub paused_until: Option<String>,
    pub credentials: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSnapshot {
    pub at_ms: i64,
    pub users: i64,
    pub paying: i64,
    pub mrr_cents: i64,
    pub polls_last_hour: i64,
    pub errors_last_hour: i64,
    pub due: i64,
    pub queued_jobs: i64,
}

/// A job that failed for good or was discarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleJob {
    pub id: String,
    pub queue: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// The last attempt's error, when it left one.
    pub error: Option<String>,
    /// When it last ran, as the console writes times.
    pub run_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleOverview {
    pub users: i64,
    pub suspended_users: i64,
    pub workspaces: i64,
    pub paying_workspaces: i64,
    pub revenue_by_plan: Vec<(String, i64, i64)>,
    pub sources_by_state: Vec<(String, i64)>,
    /// Sources polled by the workers (each poll once), and the polls that failed.
    pub polls_last_hour: i64,
    pub errors_last_hour: i64,
    pub polls_last_day: i64,
    pub errors_last_day: i64,
    pub due_backlog: i64,
    pub oldest_due_secs: Option<i64>,
    pub queues: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleUser {
    pub id: String,
    pub email: String,
    pub role: String,
    pub suspended: bool,
    pub workspace_id: String,
    pub plan: String,
    pub subscription_status: Option<String>,
    pub trackers: i64,
    pub tokens: i64,
    pub last_sign_in: Option<String>,
    /// Wrong passwords and suspended sign-in attempts in the last 24 hours.
    pub refused_sign_ins_last_day: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSource {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub title: String,
    pub state: SourceState,
    pub paused_by_admin: bool,
    pub trackers: i64,
    pub interval_secs: Option<i32>,
    pub last_poll_at: Option<String>,
    pub next_poll_at: Option<String>,
    pub consecutive_failures: i32,
    pub last_error: Option<String>,
    pub last_error_excerpt: Option<String>,
    /// No tracker uses it since then; it is deleted with its samples 30 days later.
    pub orphaned_at: Option<String>,
    pub deleted_after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleEvent {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub error: Option<String>,
    pub received_at: String,
    pub workspace_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleAudit {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// Everything about one user, for their page in the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleUserPage {
    pub id: String,
    pub email: String,
    pub role: String,
    pub created_at: String,
    pub suspended_since: Option<String>,
    pub workspaces: Vec<ConsoleWorkspace>,
    /// The newest sign-ins and refused attempts, newest first.
    pub sign_ins: Vec<ConsoleSignIn>,
    /// How many there are in all.
    pub sign_in_total: i64,
    /// Admin actions on the user or their workspaces, newest first.
    pub audit: Vec<ConsoleAudit>,
}

/// A workspace the user is a member of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleWorkspace {
    pub id: String,
    pub name: String,
    /// The user's role in it.
    pub role: String,
    pub members: i64,
    pub suspended: bool,
    pub billing: crate::domain::billing::BillingView,
    pub stripe_customer_id: Option<String>,
    pub subscription_id: Option<String>,
    pub plan_override: Option<String>,
    pub tracker_total: i64,
    /// The newest 200.
    pub trackers: Vec<ConsoleTracker>,
    pub tokens: Vec<ConsoleToken>,
    /// Everyone in it, owners first.
    pub people: Vec<ConsoleMember>,
    /// Its audit trail: the newest changes of membership and role, newest first.
    pub membership_changes: Vec<ConsoleMembershipChange>,
}

/// A member of a workspace, as the console lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleMember {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub joined_at: String,
}

/// One entry of a workspace's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleMembershipChange {
    pub at: String,
    /// The `workspace_audit` action, as text (`role_changed`, …).
    pub action: String,
    /// The entry in words.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleTracker {
    pub id: String,
    pub label: String,
    pub source_id: i64,
    pub kind: String,
    pub key: String,
    pub source_state: SourceState,
    pub interval_secs: i32,
    pub paused: bool,
    pub paused_by_plan: bool,
    pub last_poll_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleToken {
    pub name: String,
    /// The first characters, as the user sees them; never the token.
    pub prefix: String,
    pub scope: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSignIn {
    pub at: String,
    pub ip: String,
    pub user_agent: Option<String>,
    /// `signed_in`, `signed_up`, `wrong_password` or `suspended`.
    pub outcome: String,
}
