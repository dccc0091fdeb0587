//! Applying a plan's limits to a workspace: pausing and resuming trackers, raising and
//! restoring intervals, keeping raw history through a downgrade.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgConnection, PgPool};

use super::{
    super::standing::{BillingState, Standing},
    billing_row, plan,
};
use crate::domain::{Plan, SourceId, TrackerId, WorkspaceId};

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

    // Over the limit, the newest active trackers are paused; with room left, what the
    // plan paused runs again, oldest first. Both count the active trackers as they were,
    // so at most one of them changes anything.
    let toggled = sqlx::query!(
        r#"WITH active AS (
             SELECT count(*) AS n FROM trackers WHERE workspace_id = $1 AND NOT paused
         ),
         over AS (
             SELECT id FROM trackers WHERE workspace_id = $1 AND NOT paused
             ORDER BY created_at DESC, id DESC
             LIMIT greatest((SELECT n FROM active) - $2, 0)
         ),
         back AS (
             SELECT id FROM trackers WHERE workspace_id = $1 AND paused AND paused_by_plan
             ORDER BY created_at, id
             LIMIT greatest($2 - (SELECT n FROM active), 0)
         )
         UPDATE trackers t SET paused = NOT t.paused, paused_by_plan = NOT t.paused
         WHERE t.id IN (SELECT id FROM over UNION ALL SELECT id FROM back)
         RETURNING t.id AS "id: TrackerId", t.source_id, t.paused"#,
        workspace_id as WorkspaceId,
        i64::from(plan.max_trackers),
    )
    .fetch_all(&mut *transaction)
    .await?;
    let (paused, resumed): (Vec<_>, Vec<_>) = toggled.into_iter().partition(|row| row.paused);
    // Intervals: raised to the minimum, or back towards what was chosen.
    let raised = sqlx::query!(
        r#"UPDATE trackers SET interval_before_plan = coalesce(interval_before_plan, interval_secs),
                              interval_secs = $2
           WHERE workspace_id = $1 AND interval_secs < $2
           RETURNING id AS "id: TrackerId", source_id, interval_secs"#,
        workspace_id as WorkspaceId,
        plan.min_interval_secs,
    )
    .fetch_all(&mut *transaction)
    .await?;
    let restored: Vec<_> = sqlx::query!(
        r#"WITH old AS (
             SELECT id, interval_secs FROM trackers
             WHERE workspace_id = $1 AND interval_before_plan IS NOT NULL
         )
         UPDATE trackers t SET
             interval_secs = greatest(t.interval_before_plan, $2),
             interval_before_plan = CASE WHEN t.interval_before_plan >= $2 THEN NULL
                                         ELSE t.interval_before_plan END
         FROM old
         WHERE t.id = old.id
           AND (t.interval_secs <> greatest(t.interval_before_plan, $2)
                OR t.interval_before_plan >= $2)
         RETURNING t.id AS "id: TrackerId", t.source_id, t.interval_secs, old.interval_secs AS "was!""#,
        workspace_id as WorkspaceId,
        plan.min_interval_secs,
    )
    .fetch_all(&mut *transaction)
    .await?
    .into_iter()
    .filter(|row| row.interval_secs != row.was)
    .collect();

    let mut changes = Changes::default();
    for row in &paused {
        let detail = format!("over the {} plan's tracker limit", plan.name);
        changes.add(row.id, row.source_id, "paused", detail);
    }
    for row in &resumed {
        let detail = format!("within the {} plan's limits again", plan.name);
        changes.add(row.id, row.source_id, "resumed", detail);
    }
    for row in &raised {
        let (secs, name) = (row.interval_secs, &plan.name);
        let detail = format!("every {secs} s: the {name} plan's shortest interval");
        changes.add(row.id, row.source_id, "interval", detail);
    }
    for row in &restored {
        let detail = format!("every {} s again (was {} s)", row.interval_secs, row.was);
        changes.add(row.id, row.source_id, "interval", detail);
    }
    changes.save(&mut transaction).await?;
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
        if billing_state!(row).at(now, grace).0 != row.plan_id {
            due.push(row.workspace_id);
        }
    }
    Ok(due)
}

/// What applying a plan changed: an event per tracker, in order, and the sources whose
/// schedule to refresh.
#[derive(Default)]
struct Changes {
    trackers: Vec<TrackerId>,
    kinds: Vec<&'static str>,
    details: Vec<String>,
    sources: Vec<i64>,
}

impl Changes {
    fn add(&mut self, tracker: TrackerId, source: i64, kind: &'static str, detail: String) {
        self.trackers.push(tracker);
        self.kinds.push(kind);
        self.details.push(detail);
        self.sources.push(source);
    }

    /// Writes the events, in order, and refreshes the schedule of every source whose
    /// trackers changed.
    async fn save(mut self, connection: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.trackers.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO tracker_events (tracker_id, kind, detail)
             SELECT tracker_id, kind, detail
             FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY
                  AS e(tracker_id, kind, detail, n)
             ORDER BY n",
            &self.trackers as &[TrackerId],
            &self.kinds as &[&str],
            &self.details,
        )
        .execute(&mut *connection)
        .await?;
        self.sources.sort_unstable();
        self.sources.dedup();
        for source in self.sources {
            crate::server::tracking::store::refresh_schedule(&mut *connection, SourceId(source))
                .await?;
        }
        Ok(())
    }
}
