//! Plans, each workspace's billing state, and applying a plan's limits.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::standing::{BillingState, Standing};
use crate::domain::{Plan, SourceId, WorkspaceId};

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

/// Every plan, cheapest first.
pub async fn plans(executor: impl PgExecutor<'_>) -> Result<Vec<Plan>, sqlx::Error> {
    sqlx::query_as!(
        Plan,
        "SELECT p.id, p.name, p.rank, p.price_cents, p.max_trackers,
                p.min_interval_secs, p.raw_retention_days, p.max_api_tokens, p.max_alert_rules
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
                p.min_interval_secs, p.raw_retention_days, p.max_api_tokens, p.max_alert_rules
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
                p.min_interval_secs, p.raw_retention_days, p.max_api_tokens, p.max_alert_rules
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
        state: BillingState {
            subscription_status: row.subscription_status,
            subscription_plan: row.subscription_plan,
            current_period_end: row.current_period_end,
            cancel_at_period_end: row.cancel_at_period_end,
            past_due_since: row.past_due_since,
            plan_override: row.plan_override,
        },
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

/// What applying a plan changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub plan: String,
    pub previous_plan: String,
    pub standing: Option<Standing>,
    /// Trackers paused because they were over the plan's limit.
    pub paused: u64,
    /// Trackers the plan had paused that run again.
    pub resumed: u64,
    /// Trackers whose interval was raised to the plan's minimum.
    pub raised: u64,
    /// Trackers whose interval went back to what was chosen.
    pub restored: u64,
}

/// How long raw samples past a smaller plan's retention are kept after a downgrade.
pub const DOWNGRADE_KEEP_DAYS: i64 = 30;

/// When the plan's retention shrinks, the old retention holds for
/// [`DOWNGRADE_KEEP_DAYS`] more (the pruning job reads it), so re-subscribing in time
/// loses nothing; once the plan keeps as long again, the exception ends.
async fn keep_history_through_downgrade(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
    previous_plan: &str,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let kept = sqlx::query!(
        "SELECT retention_kept_days, retention_kept_until FROM workspaces WHERE id = $1",
        workspace_id as WorkspaceId,
    )
    .fetch_one(&mut *connection)
    .await?;
    let (kept_days, kept_until) = (kept.retention_kept_days, kept.retention_kept_until);
    let still_kept = kept_days.filter(|_| kept_until.is_some_and(|until| until > now));
    let previous_days = if previous_plan == plan.id {
        None
    } else {
        self::plan(&mut *connection, previous_plan)
            .await?
            .map(|previous| previous.raw_retention_days)
    };
    let protected = previous_days.max(still_kept);
    let (days, until) = match protected {
        Some(days) if days > plan.raw_retention_days => {
            // A new shrink starts (or restarts) the 30 days; otherwise they run on.
            let shrank_now =
                previous_days.is_some_and(|previous| previous > plan.raw_retention_days);
            let until = if shrank_now || kept_until.is_none() {
                Some(now + TimeDelta::days(DOWNGRADE_KEEP_DAYS))
            } else {
                kept_until
            };
            (Some(days), until)
        }
        _ => (None, None),
    };
    if (days, until) != (kept_days, kept_until) {
        sqlx::query!(
            "UPDATE workspaces SET retention_kept_days = $2, retention_kept_until = $3 WHERE id = $1",
            workspace_id as WorkspaceId,
            days,
            until,
        )
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// Puts the plan the billing state gives at `now` into force: over the tracker limit, the
/// newest active trackers are paused (never deleted); intervals under the plan's minimum
/// are raised. Trackers and intervals the plan changed come back, oldest first, as far as
/// the plan allows. Data is never touched. Safe to run any number of times.
pub async fn apply_plan(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    now: DateTime<Utc>,
    grace: TimeDelta,
) -> Result<Applied, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let previous_plan = sqlx::query_scalar!(
        "SELECT plan_id FROM workspaces WHERE id = $1 FOR UPDATE",
        workspace_id as WorkspaceId,
    )
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(previous_plan) = previous_plan else {
        return Ok(Applied::default());
    };
    let billing = billing_row(&mut *transaction, workspace_id).await?;
    let (plan_id, standing) = billing.state.at(now, grace);
    let Some(plan) = plan(&mut *transaction, &plan_id).await? else {
        tracing::error!(plan = %plan_id, %workspace_id, "the billing state names an unknown plan");
        return Ok(Applied::default());
    };
    sqlx::query!(
        "UPDATE workspaces SET plan_id = $2 WHERE id = $1 AND plan_id <> $2",
        workspace_id as WorkspaceId,
        plan.id,
    )
    .execute(&mut *transaction)
    .await?;
    keep_history_through_downgrade(&mut transaction, workspace_id, &previous_plan, &plan, now)
        .await?;

    // Over the limit: pause the newest active trackers.
    let paused: Vec<i64> = sqlx::query!(
        r#"WITH over AS (
             SELECT id FROM trackers WHERE workspace_id = $1 AND NOT paused
             ORDER BY created_at DESC, id DESC
             LIMIT greatest((SELECT count(*) FROM trackers WHERE workspace_id = $1 AND NOT paused) - $2, 0)
         ),
         changed AS (
             UPDATE trackers t SET paused = true, paused_by_plan = true
             FROM over WHERE t.id = over.id
             RETURNING t.id, t.source_id
         ),
         events AS (
             INSERT INTO tracker_events (tracker_id, kind, detail)
             SELECT id, 'paused', $3 FROM changed
         )
         SELECT id AS "id!", source_id AS "source_id!" FROM changed"#,
        workspace_id as WorkspaceId,
        i64::from(plan.max_trackers),
        format!("over the {} plan's tracker limit", plan.name),
    )
    .fetch_all(&mut *transaction)
    .await?
    .into_iter()
    .map(|row| row.source_id)
    .collect();
    // Room left: resume what the plan paused, oldest first.
    let resumed: Vec<i64> = sqlx::query!(
        r#"WITH room AS (
             SELECT greatest($2 - (SELECT count(*) FROM trackers WHERE workspace_id = $1 AND NOT paused), 0) AS n
         ),
         back AS (
             SELECT id FROM trackers WHERE workspace_id = $1 AND paused AND paused_by_plan
             ORDER BY created_at, id
             LIMIT (SELECT n FROM room)
         ),
         changed AS (
             UPDATE trackers t SET paused = false, paused_by_plan = false
             FROM back WHERE t.id = back.id
             RETURNING t.id, t.source_id
         ),
         events AS (
             INSERT INTO tracker_events (tracker_id, kind, detail)
             SELECT id, 'resumed', $3 FROM changed
         )
         SELECT id AS "id!", source_id AS "source_id!" FROM changed"#,
        workspace_id as WorkspaceId,
        i64::from(plan.max_trackers),
        format!("within the {} plan's limits again", plan.name),
    )
    .fetch_all(&mut *transaction)
    .await?
    .into_iter()
    .map(|row| row.source_id)
    .collect();
    // Intervals: raised to the minimum, or back towards what was chosen.
    let raised: Vec<i64> = sqlx::query!(
        r#"WITH changed AS (
             UPDATE trackers SET interval_before_plan = coalesce(interval_before_plan, interval_secs),
                                 interval_secs = $2
             WHERE workspace_id = $1 AND interval_secs < $2
             RETURNING id, source_id, interval_secs, interval_before_plan
         ),
         events AS (
             INSERT INTO tracker_events (tracker_id, kind, detail)
             SELECT id, 'interval', format('every %s s: the %s plan''s shortest interval', interval_secs, $3::text)
             FROM changed
         )
         SELECT id AS "id!", source_id AS "source_id!" FROM changed"#,
        workspace_id as WorkspaceId,
        plan.min_interval_secs,
        plan.name,
    )
    .fetch_all(&mut *transaction)
    .await?
    .into_iter()
    .map(|row| row.source_id)
    .collect();
    let restored: Vec<i64> = sqlx::query!(
        r#"WITH old AS (
             SELECT id, interval_secs FROM trackers
             WHERE workspace_id = $1 AND interval_before_plan IS NOT NULL
         ),
         changed AS (
             UPDATE trackers t SET
                 interval_secs = greatest(t.interval_before_plan, $2),
                 interval_before_plan = CASE WHEN t.interval_before_plan >= $2 THEN NULL
                                             ELSE t.interval_before_plan END
             FROM old
             WHERE t.id = old.id
               AND (t.interval_secs <> greatest(t.interval_before_plan, $2)
                    OR t.interval_before_plan >= $2)
             RETURNING t.id, t.source_id, t.interval_secs, old.interval_secs AS was
         ),
         events AS (
             INSERT INTO tracker_events (tracker_id, kind, detail)
             SELECT id, 'interval', format('every %s s again (was %s s)', interval_secs, was)
             FROM changed WHERE interval_secs <> was
         )
         SELECT id AS "id!", source_id AS "source_id!" FROM changed WHERE interval_secs <> was"#,
        workspace_id as WorkspaceId,
        plan.min_interval_secs,
    )
    .fetch_all(&mut *transaction)
    .await?
    .into_iter()
    .map(|row| row.source_id)
    .collect();

    let mut sources: Vec<i64> = paused
        .iter()
        .chain(&resumed)
        .chain(&raised)
        .chain(&restored)
        .copied()
        .collect();
    sources.sort_unstable();
    sources.dedup();
    for source in sources {
        crate::server::tracking::store::refresh_schedule(&mut *transaction, SourceId(source))
            .await?;
    }
    transaction.commit().await?;
    let applied = Applied {
        plan: plan.id.clone(),
        previous_plan,
        standing: Some(standing),
        paused: paused.len() as u64,
        resumed: resumed.len() as u64,
        raised: raised.len() as u64,
        restored: restored.len() as u64,
    };
    if applied.plan != applied.previous_plan || applied.paused + applied.resumed > 0 {
        tracing::info!(
            %workspace_id,
            plan = %applied.plan,
            previous_plan = %applied.previous_plan,
            paused = applied.paused,
            resumed = applied.resumed,
            raised = applied.raised,
            restored = applied.restored,
            "applied a plan"
        );
    }
    Ok(applied)
}

/// Workspaces whose plan may have to change on its own by `now` (a grace period or a
/// cancelled period that ended), or whose applied plan is not what their state gives.
pub async fn workspaces_to_apply(
    pool: &PgPool,
    now: DateTime<Utc>,
    grace: TimeDelta,
) -> Result<Vec<WorkspaceId>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT b.workspace_id AS "workspace_id: WorkspaceId", w.plan_id, b.subscription_status, b.subscription_plan,
                b.current_period_end, b.cancel_at_period_end, b.past_due_since, b.plan_override
         FROM workspace_billing b JOIN workspaces w ON w.id = b.workspace_id
         WHERE b.subscription_id IS NOT NULL OR b.plan_override IS NOT NULL OR w.plan_id <> 'free'"#,
    )
    .fetch_all(pool)
    .await?;
    let mut due = Vec::new();
    for row in rows {
        let state = BillingState {
            subscription_status: row.subscription_status,
            subscription_plan: row.subscription_plan,
            current_period_end: row.current_period_end,
            cancel_at_period_end: row.cancel_at_period_end,
            past_due_since: row.past_due_since,
            plan_override: row.plan_override,
        };
        if state.at(now, grace).0 != row.plan_id {
            due.push(row.workspace_id);
        }
    }
    Ok(due)
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
