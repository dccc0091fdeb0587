//! Plans, each workspace's billing state, and checking a plan's limits; applying them is
//! in `apply`.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

pub use apply::{Applied, DOWNGRADE_KEEP_DAYS, apply_plan, workspaces_to_apply};

use super::standing::BillingState;
use crate::domain::{Plan, WorkspaceId};

/// The [`BillingState`] of a row read from `workspace_billing` by a `query!` (each such
/// query's row is a type of its own).
macro_rules! billing_state {
    ($row:expr) => {
        BillingState {
            subscription_status: $row.subscription_status,
            subscription_plan: $row.subscription_plan,
            current_period_end: $row.current_period_end,
            cancel_at_period_end: $row.cancel_at_period_end,
            past_due_since: $row.past_due_since,
            plan_override: $row.plan_override,
        }
    };
}

// After the macro, which it uses.
mod apply;

/// Every plan, cheapest first.
pub async fn plans(executor: impl PgExecutor<'_>) -> Result<Vec<Plan>, sqlx::Error> {
    sqlx::query_as!(
        Plan,
        "SELECT p.id, p.name, p.rank, p.price_cents, p.max_trackers,
                p.min_interval_secs, p.raw_retention_days, p.max_api_tokens, p.max_alert_rules,
                p.max_members, p.max_watches
         FROM plans p ORDER BY p.rank"
    )
    .fetch_all(executor)
    .await
}

/// One plan by id.
pub async fn plan(executor: impl PgExecutor<'_>, id: &str) -> Result<Option<Plan>, sqlx::Error> {
    sqlx::query_as!(
        Plan,
        "SELECT p.id, p.name, p.rank, p.price_cents, p.max_trackers,
                p.min_interval_secs, p.raw_retention_days, p.max_api_tokens, p.max_alert_rules,
                p.max_members, p.max_watches
         FROM plans p WHERE p.id = $1",
        id,
    )
    .fetch_optional(executor)
    .await
}

/// The plan whose limits apply to the workspace now.
pub async fn workspace_plan(
    executor: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<Plan, sqlx::Error> {
    sqlx::query_as!(
        Plan,
        "SELECT p.id, p.name, p.rank, p.price_cents, p.max_trackers,
                p.min_interval_secs, p.raw_retention_days, p.max_api_tokens, p.max_alert_rules,
                p.max_members, p.max_watches
         FROM workspaces w JOIN plans p ON p.id = w.plan_id WHERE w.id = $1",
        workspace_id as WorkspaceId,
    )
    .fetch_one(executor)
    .await
}

/// A workspace's billing row (all empty when it never had one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingRow {
    pub stripe_customer_id: Option<String>,
    pub subscription_id: Option<String>,
    pub state: BillingState,
    pub synced_at: Option<DateTime<Utc>>,
}

pub async fn billing_row(
    executor: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<BillingRow, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT stripe_customer_id, subscription_id, subscription_status, subscription_plan,
                current_period_end, cancel_at_period_end, past_due_since, plan_override, synced_at
         FROM workspace_billing WHERE workspace_id = $1",
        workspace_id as WorkspaceId,
    )
    .fetch_optional(executor)
    .await?;
    let Some(row) = row else {
        return Ok(BillingRow::default());
    };
    Ok(BillingRow {
        stripe_customer_id: row.stripe_customer_id,
        subscription_id: row.subscription_id,
        state: billing_state!(row),
        synced_at: row.synced_at,
    })
}

/// The workspace whose Stripe customer is `customer_id`.
pub async fn workspace_of_customer(
    executor: impl PgExecutor<'_>,
    customer_id: &str,
) -> Result<Option<WorkspaceId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT workspace_id AS "workspace_id: WorkspaceId" FROM workspace_billing
           WHERE stripe_customer_id = $1"#,
        customer_id,
    )
    .fetch_optional(executor)
    .await
}

/// Whether the workspace exists.
pub async fn workspace_exists(
    executor: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = $1) AS "exists!""#,
        workspace_id as WorkspaceId,
    )
    .fetch_one(executor)
    .await
}

/// Locks the workspace's billing row (made empty if missing) until the transaction ends,
/// and returns its Stripe customer: how two checkouts at once agree on one customer.
pub async fn lock_customer(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO workspace_billing (workspace_id) VALUES ($1) ON CONFLICT (workspace_id) DO NOTHING",
        workspace_id as WorkspaceId,
    )
    .execute(&mut *connection)
    .await?;
    sqlx::query_scalar!(
        "SELECT stripe_customer_id FROM workspace_billing WHERE workspace_id = $1 FOR UPDATE",
        workspace_id as WorkspaceId,
    )
    .fetch_one(&mut *connection)
    .await
}

pub async fn set_customer(
    executor: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    customer_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE workspace_billing SET stripe_customer_id = $2 WHERE workspace_id = $1",
        workspace_id as WorkspaceId,
        customer_id,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// A subscription as Stripe describes it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    pub status: String,
    /// The plan of its price; `None` for a price no plan stands for.
    pub plan: Option<String>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub created: DateTime<Utc>,
}

impl Subscription {
    /// Whether it entitles to anything now or may again (not ended, not abandoned).
    pub fn is_live(&self) -> bool {
        matches!(
            self.status.as_str(),
            "active" | "trialing" | "past_due" | "unpaid"
        )
    }
}

/// Records `subscription` as the workspace's, unless the workspace has another live
/// subscription that this one (ended, or older) must not replace. Returns whether it was
/// recorded. A failed payment's time is kept from the first time it was seen.
pub async fn record_subscription(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
    subscription: &Subscription,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    lock_customer(&mut *connection, workspace_id).await?;
    let current = billing_row(&mut *connection, workspace_id).await?;
    if let Some(current_id) = &current.subscription_id
        && *current_id != subscription.id
    {
        let current_live = matches!(
            current.state.subscription_status.as_deref(),
            Some("active" | "trialing" | "past_due" | "unpaid")
        );
        if current_live && !subscription.is_live() {
            return Ok(false);
        }
    }
    let past_due = matches!(subscription.status.as_str(), "past_due" | "unpaid");
    sqlx::query!(
        "UPDATE workspace_billing SET
             stripe_customer_id = coalesce(stripe_customer_id, $2),
             past_due_since = CASE WHEN NOT $8 THEN NULL
                                   WHEN subscription_id = $3 THEN coalesce(past_due_since, $9)
                                   ELSE $9 END,
             subscription_id = $3, subscription_status = $4, subscription_plan = $5,
             current_period_end = $6, cancel_at_period_end = $7, synced_at = $9
         WHERE workspace_id = $1",
        workspace_id as WorkspaceId,
        subscription.customer,
        subscription.id,
        subscription.status,
        subscription.plan.as_deref(),
        subscription.current_period_end,
        subscription.cancel_at_period_end,
        past_due,
        now,
    )
    .execute(&mut *connection)
    .await?;
    Ok(true)
}

/// Sets or clears support's plan override.
pub async fn set_override(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
    plan: Option<&str>,
) -> Result<(), sqlx::Error> {
    lock_customer(&mut *connection, workspace_id).await?;
    sqlx::query!(
        "UPDATE workspace_billing SET plan_override = $2 WHERE workspace_id = $1",
        workspace_id as WorkspaceId,
        plan,
    )
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// A limit a workspace ran into.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UpgradeRequired {
    /// `trackers`, `interval` or `api_tokens`.
    pub limit: &'static str,
    /// The plan whose limit it is.
    pub plan: String,
    /// A sentence for people, naming the limit.
    pub message: String,
}

/// Trackers that count against the limit: the active ones.
pub async fn active_trackers(
    executor: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM trackers WHERE workspace_id = $1 AND NOT paused"#,
        workspace_id as WorkspaceId,
    )
    .fetch_one(executor)
    .await
}

pub async fn api_tokens(
    executor: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM api_tokens WHERE workspace_id = $1"#,
        workspace_id as WorkspaceId,
    )
    .fetch_one(executor)
    .await
}

/// Locks the workspace's row until the transaction ends (so that two requests at once
/// cannot both take the last free place) and returns its plan.
async fn lock_workspace_plan(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
) -> Result<Plan, sqlx::Error> {
    sqlx::query!(
        "SELECT 1 AS locked FROM workspaces WHERE id = $1 FOR UPDATE",
        workspace_id as WorkspaceId,
    )
    .fetch_optional(&mut *connection)
    .await?;
    workspace_plan(&mut *connection, workspace_id).await
}

/// Checks, under the workspace's lock, that one more active tracker fits.
pub async fn check_tracker_room(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
) -> Result<Result<(), UpgradeRequired>, sqlx::Error> {
    let plan = lock_workspace_plan(connection, workspace_id).await?;
    let active = active_trackers(&mut *connection, workspace_id).await?;
    if active >= i64::from(plan.max_trackers) {
        return Ok(Err(UpgradeRequired {
            limit: "trackers",
            message: format!(
                "The {} plan tracks up to {} things at once, and this workspace tracks {active}. \
                 Upgrade for more, or pause or delete a tracker first.",
                plan.name, plan.max_trackers
            ),
            plan: plan.id,
        }));
    }
    Ok(Ok(()))
}

/// Checks, under the workspace's lock, that the plan allows one more watch.
pub async fn check_watch_room(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
) -> Result<Result<(), UpgradeRequired>, sqlx::Error> {
    let plan = lock_workspace_plan(connection, workspace_id).await?;
    let watches = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM watches WHERE workspace_id = $1"#,
        workspace_id as WorkspaceId,
    )
    .fetch_one(&mut *connection)
    .await?;
    if watches >= i64::from(plan.max_watches) {
        let message = if plan.max_watches == 0 {
            format!(
                "The {} plan has no watches; upgrade to have new videos, posts and \
                 repositories tracked by themselves.",
                plan.name
            )
        } else {
            format!(
                "The {} plan allows {} watches, and this workspace has {watches}. \
                 Upgrade for more, or delete one first.",
                plan.name, plan.max_watches
            )
        };
        return Ok(Err(UpgradeRequired {
            limit: "watches",
            message,
            plan: plan.id,
        }));
    }
    Ok(Ok(()))
}

/// Checks, under the workspace's lock, that the plan allows one more alert rule.
pub async fn check_rule_room(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
) -> Result<Result<(), UpgradeRequired>, sqlx::Error> {
    let plan = lock_workspace_plan(connection, workspace_id).await?;
    let rules = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM alert_rules WHERE workspace_id = $1"#,
        workspace_id as WorkspaceId,
    )
    .fetch_one(&mut *connection)
    .await?;
    if rules >= i64::from(plan.max_alert_rules) {
        return Ok(Err(UpgradeRequired {
            limit: "alert_rules",
            message: format!(
                "The {} plan allows {} alert rules, and this workspace has {rules}. \
                 Upgrade for more, or delete one first.",
                plan.name, plan.max_alert_rules
            ),
            plan: plan.id,
        }));
    }
    Ok(Ok(()))
}

/// Checks that the plan allows polling every `interval_secs`.
pub fn check_interval(plan: &Plan, interval_secs: i64) -> Result<(), UpgradeRequired> {
    if interval_secs < i64::from(plan.min_interval_secs) {
        return Err(UpgradeRequired {
            limit: "interval",
            message: format!(
                "The {} plan polls at most every {}; upgrade to poll more often.",
                plan.name,
                crate::domain::plan::describe_interval(plan.min_interval_secs)
            ),
            plan: plan.id.clone(),
        });
    }
    Ok(())
}

/// Checks, under the workspace's lock, that one more person fits: the members plus the
/// open invitations when `inviting` (each may become a member), the members alone when
/// someone accepts one.
pub async fn check_member_room(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
    inviting: bool,
) -> Result<Result<(), UpgradeRequired>, sqlx::Error> {
    let plan = lock_workspace_plan(connection, workspace_id).await?;
    let taken = sqlx::query_scalar!(
        r#"SELECT (SELECT count(*) FROM workspace_members WHERE workspace_id = $1)
                + CASE WHEN $2 THEN (SELECT count(*) FROM workspace_invitations
                                     WHERE workspace_id = $1 AND accepted_at IS NULL
                                       AND revoked_at IS NULL AND expires_at > now())
                       ELSE 0 END AS "count!""#,
        workspace_id as WorkspaceId,
        inviting,
    )
    .fetch_one(&mut *connection)
    .await?;
    if taken >= i64::from(plan.max_members) {
        let people = if plan.max_members == 1 {
            "person"
        } else {
            "people"
        };
        return Ok(Err(UpgradeRequired {
            limit: "members",
            message: if inviting {
                format!(
                    "The {} plan has room for {} {people} in a workspace, and this one has \
                     {taken} counting open invitations. Upgrade for more, or revoke an invitation \
                     or remove a member first.",
                    plan.name, plan.max_members
                )
            } else {
                format!(
                    "This workspace's {} plan has room for {} {people}, and all places are taken. \
                     Ask whoever invited you to upgrade or make room.",
                    plan.name, plan.max_members
                )
            },
            plan: plan.id,
        }));
    }
    Ok(Ok(()))
}

/// Checks, under the workspace's lock, that one more API token fits.
pub async fn check_token_room(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
) -> Result<Result<(), UpgradeRequired>, sqlx::Error> {
    let plan = lock_workspace_plan(connection, workspace_id).await?;
    let tokens = api_tokens(&mut *connection, workspace_id).await?;
    if tokens >= i64::from(plan.max_api_tokens) {
        return Ok(Err(UpgradeRequired {
            limit: "api_tokens",
            message: format!(
                "The {} plan allows {} API tokens, and this workspace has {tokens}. \
                 Upgrade for more, or revoke one first.",
                plan.name, plan.max_api_tokens
            ),
            plan: plan.id,
        }));
    }
    Ok(Ok(()))
}
