//! What administrators do, each action with its audit record in the same transaction:
//! suspend and unsuspend users, set a workspace's plan, pause, resume, poll or reset a
//! source, process a Stripe event again. And what the console reads.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::{auth::CurrentUser, billing, tracking::store::refresh_schedule};
use crate::api::admin::{
    ConsoleAudit as AuditRow, ConsoleEvent as EventRow, ConsoleJob, ConsoleOverview as Overview,
    ConsoleProvider, ConsoleSignIn, ConsoleSnapshot, ConsoleSource as SourceRow, ConsoleToken,
    ConsoleTracker, ConsoleUser as UserRow, ConsoleUserPage, ConsoleWorkspace,
};

/// Who did it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Uuid,
    pub email: String,
}

impl From<&CurrentUser> for Actor {
    fn from(user: &CurrentUser) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
        }
    }
}

/// Why an admin action was not done.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Writes an audit record.
pub async fn audit(
    connection: &mut PgConnection,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor_email, action, target, detail)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(actor.id)
    .bind(&actor.email)
    .bind(action)
    .bind(target)
    .bind(detail)
    .execute(&mut *connection)
    .await?;
    tracing::info!(actor = %actor.email, action, target, "admin action");
    Ok(())
}

/// Suspends (or, with `suspend = false`, restores) a user: they cannot sign in, their
/// sessions end, their tokens stop working, and the workspaces they alone are members of
/// stop polling (sources others track go on). Nothing is deleted.
pub async fn suspend_user(
    pool: &PgPool,
    actor: &Actor,
    user_id: Uuid,
    suspend: bool,
) -> Result<(), AdminError> {
    if suspend && user_id == actor.id {
        return Err(AdminError::Refused("You cannot suspend yourself.".into()));
    }
    let mut transaction = pool.begin().await?;
    let email: Option<String> = sqlx::query_scalar(
        "UPDATE users SET suspended_at = CASE WHEN $2 THEN coalesce(suspended_at, now()) END
         WHERE id = $1 RETURNING email",
    )
    .bind(user_id)
    .bind(suspend)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(email) = email else {
        return Err(AdminError::NotFound("There is no such user.".into()));
    };
    if suspend {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
    }
    // A workspace is suspended while none of its members is not.
    sqlx::query(
        "UPDATE workspaces w SET suspended_at = CASE
             WHEN NOT EXISTS (SELECT 1 FROM workspace_members m JOIN users u ON u.id = m.user_id
                              WHERE m.workspace_id = w.id AND u.suspended_at IS NULL)
             THEN coalesce(w.suspended_at, now()) END
         WHERE w.id IN (SELECT workspace_id FROM workspace_members WHERE user_id = $1)",
    )
    .bind(user_id)
    .execute(&mut *transaction)
    .await?;
    let sources: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT t.source_id FROM trackers t
         JOIN workspace_members m ON m.workspace_id = t.workspace_id
         WHERE m.user_id = $1",
    )
    .bind(user_id)
    .fetch_all(&mut *transaction)
    .await?;
    for source in sources {
        refresh_schedule(&mut *transaction, source).await?;
    }
    let action = if suspend {
        "user.suspend"
    } else {
        "user.unsuspend"
    };
    audit(
        &mut transaction,
        actor,
        action,
        &format!("user:{user_id}"),
        json!({ "email": email }),
    )
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// Deletes a user, and the workspaces only they were a member of (trackers, tokens and
/// billing rows with them; sources and samples stay for other trackers). Returns the
/// email.
pub async fn delete_user(
    pool: &PgPool,
    billing: &super::billing::Billing,
    actor: &Actor,
    user_id: Uuid,
) -> Result<String, AdminError> {
    if user_id == actor.id {
        return Err(AdminError::Refused(
            "You cannot delete yourself here.".into(),
        ));
    }
    let email: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await?;
    let Some(email) = email else {
        return Err(AdminError::NotFound("There is no such user.".into()));
    };
    // Their subscriptions end at Stripe first: a deleted account is never charged again.
    billing
        .cancel_before_deleting_user(pool, user_id)
        .await
        .map_err(|error| {
            tracing::error!(error = %error, user.id = %user_id, "could not cancel a subscription before deleting a user");
            AdminError::Refused(
                "Their subscription could not be cancelled at Stripe just now, so nothing was \
                 deleted. Try again in a moment."
                    .into(),
            )
        })?;
    let mut transaction = pool.begin().await?;
    super::db::users::delete_in(&mut transaction, user_id).await?;
    audit(
        &mut transaction,
        actor,
        "user.delete",
        &format!("user:{user_id}"),
        json!({ "email": email }),
    )
    .await?;
    transaction.commit().await?;
    Ok(email)
}

/// Audits the start of a read-only view of the site as `user_id` (the session holds it).
pub async fn start_view_as(pool: &PgPool, actor: &Actor, user_id: Uuid) -> Result<(), AdminError> {
    let email: Option<String> =
        sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND suspended_at IS NULL")
            .bind(user_id)
            .fetch_optional(pool)
            .await?;
    let Some(email) = email else {
        return Err(AdminError::NotFound(
            "There is no such user (or they are suspended).".into(),
        ));
    };
    let mut connection = pool.acquire().await?;
    audit(
        &mut connection,
        actor,
        "user.view_as",
        &format!("user:{user_id}"),
        json!({ "email": email }),
    )
    .await?;
    Ok(())
}

/// Audits the end of a view-as.
pub async fn stop_view_as(pool: &PgPool, actor: &Actor, email: &str) -> Result<(), sqlx::Error> {
    let mut connection = pool.acquire().await?;
    audit(
        &mut connection,
        actor,
        "user.view_as_stop",
        &format!("email:{email}"),
        json!({ "email": email }),
    )
    .await
}

/// Support's plan override for the workspace (`None`: back to its subscription), applied
/// at once.
pub async fn set_plan(
    pool: &PgPool,
    actor: &Actor,
    workspace_id: Uuid,
    plan: Option<&str>,
    grace: TimeDelta,
) -> Result<billing::store::Applied, AdminError> {
    if !billing::store::workspace_exists(pool, workspace_id).await? {
        return Err(AdminError::NotFound("There is no such workspace.".into()));
    }
    if let Some(plan) = plan
        && billing::store::plan(pool, plan).await?.is_none()
    {
        return Err(AdminError::Refused(format!("There is no plan `{plan}`.")));
    }
    let mut transaction = pool.begin().await?;
    billing::store::set_override(&mut transaction, workspace_id, plan).await?;
    audit(
        &mut transaction,
        actor,
        "workspace.set_plan",
        &format!("workspace:{workspace_id}"),
        json!({ "plan": plan.unwrap_or("subscription") }),
    )
    .await?;
    transaction.commit().await?;
    Ok(billing::store::apply_plan(pool, workspace_id, Utc::now(), grace).await?)
}

/// What an admin can do to a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceAction {
    Pause,
    Resume,
    PollNow,
    ResetBackoff,
}

impl SourceAction {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pause" => SourceAction::Pause,
            "resume" => SourceAction::Resume,
            "poll-now" => SourceAction::PollNow,
            "reset-backoff" => SourceAction::ResetBackoff,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            SourceAction::Pause => "source.pause",
            SourceAction::Resume => "source.resume",
            SourceAction::PollNow => "source.poll_now",
            SourceAction::ResetBackoff => "source.reset_backoff",
        }
    }
}

/// Pauses or resumes a source for everyone, polls it at the next dispatch, or forgets
/// its failures so it is polled again at once.
pub async fn source_action(
    pool: &PgPool,
    actor: &Actor,
    source_id: i64,
    action: SourceAction,
) -> Result<(), AdminError> {
    let mut transaction = pool.begin().await?;
    let statement = match action {
        SourceAction::Pause => "UPDATE sources SET paused_by_admin = true WHERE id = $1",
        SourceAction::Resume => "UPDATE sources SET paused_by_admin = false WHERE id = $1",
        SourceAction::PollNow => {
            "UPDATE sources SET next_poll_at = now(), leased_until = NULL
             WHERE id = $1 AND NOT paused_by_admin AND state NOT IN ('gone', 'paused', 'ended')"
        }
        SourceAction::ResetBackoff => {
            "UPDATE sources SET consecutive_failures = 0, next_poll_at = now(), leased_until = NULL,
                    state = CASE WHEN state = 'backing_off' THEN 'ok' ELSE state END
             WHERE id = $1"
        }
    };
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sources WHERE id = $1)")
        .bind(source_id)
        .fetch_one(&mut *transaction)
        .await?;
    if !exists {
        return Err(AdminError::NotFound("There is no such source.".into()));
    }
    sqlx::query(statement)
        .bind(source_id)
        .execute(&mut *transaction)
        .await?;
    if matches!(action, SourceAction::Pause | SourceAction::Resume) {
        refresh_schedule(&mut *transaction, source_id).await?;
    }
    audit(
        &mut transaction,
        actor,
        action.name(),
        &format!("source:{source_id}"),
        json!({}),
    )
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// Marks a stored Stripe event for processing again; the caller queues its job.
pub async fn reprocess_event(
    pool: &PgPool,
    actor: &Actor,
    event_id: &str,
) -> Result<(), AdminError> {
    let mut transaction = pool.begin().await?;
    let found =
        sqlx::query("UPDATE stripe_events SET status = 'pending', error = NULL WHERE id = $1")
            .bind(event_id)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
    if found == 0 {
        return Err(AdminError::NotFound(
            "There is no such Stripe event.".into(),
        ));
    }
    audit(
        &mut transaction,
        actor,
        "stripe_event.reprocess",
        &format!("stripe_event:{event_id}"),
        json!({}),
    )
    .await?;
    transaction.commit().await?;
    Ok(())
}

pub async fn overview(pool: &PgPool, now: DateTime<Utc>) -> Result<Overview, sqlx::Error> {
    let counts = sqlx::query(
        "SELECT (SELECT count(*) FROM users) AS users,
                (SELECT count(*) FROM users WHERE suspended_at IS NOT NULL) AS suspended,
                (SELECT count(*) FROM workspaces) AS workspaces,
                (SELECT count(*) FROM workspace_billing
                 WHERE subscription_status IN ('active', 'trialing', 'past_due')) AS paying,
                (SELECT coalesce(sum(polls), 0)::bigint FROM provider_minutes
                  WHERE minute >= $1 - interval '1 hour') AS polls,
                (SELECT coalesce(sum(failed_polls), 0)::bigint FROM provider_minutes
                  WHERE minute >= $1 - interval '1 hour') AS errors,
                (SELECT coalesce(sum(polls), 0)::bigint FROM provider_minutes
                  WHERE minute >= $1 - interval '1 day') AS polls_day,
                (SELECT coalesce(sum(failed_polls), 0)::bigint FROM provider_minutes
                  WHERE minute >= $1 - interval '1 day') AS errors_day,
                (SELECT count(*) FROM sources WHERE next_poll_at <= $1) AS due,
                (SELECT extract(epoch FROM $1 - min(next_poll_at))::bigint
                 FROM sources WHERE next_poll_at <= $1) AS oldest_due",
    )
    .bind(now)
    .fetch_one(pool)
    .await?;
    let revenue_by_plan = sqlx::query_as(
        "SELECT p.name, count(b.workspace_id),
                (count(b.workspace_id) * p.price_cents)::bigint
         FROM plans p
         LEFT JOIN workspace_billing b ON b.subscription_plan = p.id
              AND b.subscription_status IN ('active', 'trialing', 'past_due')
         WHERE p.price_cents > 0
         GROUP BY p.id, p.name, p.price_cents, p.rank ORDER BY p.rank",
    )
    .fetch_all(pool)
    .await?;
    let sources_by_state =
        sqlx::query_as("SELECT state, count(*) FROM sources GROUP BY state ORDER BY state")
            .fetch_all(pool)
            .await?;
    let queues = sqlx::query_as(
        "SELECT job_type, count(*) FROM apalis.jobs WHERE status IN ('Pending', 'Queued')
         GROUP BY job_type ORDER BY job_type",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    Ok(Overview {
        users: counts.try_get("users")?,
        suspended_users: counts.try_get("suspended")?,
        workspaces: counts.try_get("workspaces")?,
        paying_workspaces: counts.try_get("paying")?,
        revenue_by_plan,
        sources_by_state,
        polls_last_hour: counts.try_get("polls")?,
        errors_last_hour: counts.try_get("errors")?,
        polls_last_day: counts.try_get("polls_day")?,
        errors_last_day: counts.try_get("errors_day")?,
        due_backlog: counts.try_get("due")?,
        oldest_due_secs: counts.try_get("oldest_due")?,
        queues,
    })
}

/// Users whose email contains `query`, or whose id (or workspace id) is `query`; the
/// newest 50 when `query` is empty.
pub async fn find_users(pool: &PgPool, query: &str) -> Result<Vec<UserRow>, sqlx::Error> {
    let query = query.trim();
    let id = Uuid::parse_str(query).ok();
    let rows = sqlx::query(
        "SELECT u.id, u.email, u.role::text AS role, u.suspended_at IS NOT NULL AS suspended,
                w.id AS workspace_id, w.plan_id, b.subscription_status,
                (SELECT count(*) FROM trackers t WHERE t.workspace_id = w.id) AS trackers,
                (SELECT count(*) FROM api_tokens k WHERE k.workspace_id = w.id) AS tokens,
                (SELECT max(at) FROM sign_ins s
                  WHERE s.user_id = u.id AND s.outcome IN ('signed_in', 'signed_up')) AS last_sign_in,
                (SELECT count(*) FROM sign_ins s
                  WHERE s.user_id = u.id AND s.outcome IN ('wrong_password', 'suspended')
                    AND s.at > now() - interval '1 day') AS refused_sign_ins
         FROM users u
         JOIN workspace_members m ON m.user_id = u.id
         JOIN workspaces w ON w.id = m.workspace_id
         LEFT JOIN workspace_billing b ON b.workspace_id = w.id
         WHERE CASE WHEN $2::uuid IS NOT NULL THEN u.id = $2 OR w.id = $2
                    ELSE $1 = '' OR u.email ILIKE '%' || $1 || '%' ESCAPE '\\' END
         ORDER BY u.created_at DESC LIMIT 50",
    )
    .bind(
        query
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_"),
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(UserRow {
                id: row.try_get::<Uuid, _>("id")?.to_string(),
                email: row.try_get("email")?,
                role: row.try_get("role")?,
                suspended: row.try_get("suspended")?,
                workspace_id: row.try_get::<Uuid, _>("workspace_id")?.to_string(),
                plan: row.try_get("plan_id")?,
                subscription_status: row.try_get("subscription_status")?,
                trackers: row.try_get("trackers")?,
                tokens: row.try_get("tokens")?,
                last_sign_in: row
                    .try_get::<Option<DateTime<Utc>>, _>("last_sign_in")?
                    .map(minutes),
                refused_sign_ins_last_day: row.try_get("refused_sign_ins")?,
            })
        })
        .collect()
}

fn minutes(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn seconds(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How many sign-ins a user's page lists.
const SIGN_INS_SHOWN: i64 = 200;
/// How many trackers of each workspace a user's page lists.
const TRACKERS_SHOWN: i64 = 200;

/// One user, for their page: `None` when there is no such user.
pub async fn user_page(
    state: &super::state::AppState,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<ConsoleUserPage>, sqlx::Error> {
    let pool = &state.pool;
    let Some(user) = sqlx::query(
        "SELECT email, role::text AS role, created_at, suspended_at FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let memberships = sqlx::query(
        "SELECT w.id, w.name, m.role::text AS role, w.suspended_at IS NOT NULL AS suspended,
                (SELECT count(*) FROM workspace_members o WHERE o.workspace_id = w.id) AS members
         FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id
         WHERE m.user_id = $1 ORDER BY m.created_at",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    let mut workspaces = Vec::with_capacity(memberships.len());
    let mut targets = vec![format!("user:{user_id}")];
    for membership in &memberships {
        let id: Uuid = membership.try_get("id")?;
        targets.push(format!("workspace:{id}"));
        workspaces.push(workspace_page(state, id, membership, now).await?);
    }
    let email: String = user.try_get("email")?;
    targets.push(format!("email:{email}"));

    let sign_ins = sqlx::query(
        "SELECT at, ip, user_agent, outcome FROM sign_ins WHERE user_id = $1
         ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(SIGN_INS_SHOWN)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(ConsoleSignIn {
            at: seconds(row.try_get("at")?),
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
            outcome: row.try_get("outcome")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let sign_in_total: i64 = sqlx::query_scalar("SELECT count(*) FROM sign_ins WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(pool)
        .await?;
    let audit = sqlx::query(
        "SELECT at, actor_email, action, target, detail FROM audit_log
         WHERE target = ANY($1) ORDER BY at DESC, id DESC LIMIT 100",
    )
    .bind(&targets)
    .fetch_all(pool)
    .await?
    .iter()
    .map(audit_row)
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some(ConsoleUserPage {
        id: user_id.to_string(),
        email,
        role: user.try_get("role")?,
        created_at: minutes(user.try_get("created_at")?),
        suspended_since: user
            .try_get::<Option<DateTime<Utc>>, _>("suspended_at")?
            .map(minutes),
        workspaces,
        sign_ins,
        sign_in_total,
        audit,
    }))
}

async fn workspace_page(
    state: &super::state::AppState,
    id: Uuid,
    membership: &sqlx::postgres::PgRow,
    now: DateTime<Utc>,
) -> Result<ConsoleWorkspace, sqlx::Error> {
    let pool = &state.pool;
    let billing_row = billing::store::billing_row(pool, id).await?;
    let trackers = sqlx::query(
        "SELECT t.id, t.label, t.interval_secs, t.paused, t.paused_by_plan, t.created_at,
                s.id AS source_id, s.kind, s.key, s.state, s.last_poll_at
         FROM trackers t JOIN sources s ON s.id = t.source_id
         WHERE t.workspace_id = $1 ORDER BY t.created_at DESC, t.id LIMIT $2",
    )
    .bind(id)
    .bind(TRACKERS_SHOWN)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(ConsoleTracker {
            id: row.try_get::<Uuid, _>("id")?.to_string(),
            label: row.try_get("label")?,
            source_id: row.try_get("source_id")?,
            kind: row.try_get("kind")?,
            key: row.try_get("key")?,
            source_state: row.try_get("state")?,
            interval_secs: row.try_get("interval_secs")?,
            paused: row.try_get("paused")?,
            paused_by_plan: row.try_get("paused_by_plan")?,
            last_poll_at: row
                .try_get::<Option<DateTime<Utc>>, _>("last_poll_at")?
                .map(minutes),
            created_at: minutes(row.try_get("created_at")?),
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let tracker_total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM trackers WHERE workspace_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?;
    let tokens = sqlx::query(
        "SELECT k.name, k.token_prefix, k.scope::text AS scope, u.email AS created_by,
                k.created_at, k.last_used_at
         FROM api_tokens k LEFT JOIN users u ON u.id = k.created_by
         WHERE k.workspace_id = $1 ORDER BY k.created_at DESC",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(ConsoleToken {
            name: row.try_get("name")?,
            prefix: row.try_get("token_prefix")?,
            scope: row.try_get("scope")?,
            created_by: row.try_get("created_by")?,
            created_at: minutes(row.try_get("created_at")?),
            last_used_at: row
                .try_get::<Option<DateTime<Utc>>, _>("last_used_at")?
                .map(minutes),
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(ConsoleWorkspace {
        id: id.to_string(),
        name: membership.try_get("name")?,
        role: membership.try_get("role")?,
        members: membership.try_get("members")?,
        suspended: membership.try_get("suspended")?,
        billing: billing::overview_of(state, id, &billing_row, now).await?,
        stripe_customer_id: billing_row.stripe_customer_id,
        subscription_id: billing_row.subscription_id,
        plan_override: billing_row.state.plan_override,
        tracker_total,
        trackers,
        tokens,
    })
}

/// The newest 100 stored Stripe events.
pub async fn stripe_events(pool: &PgPool) -> Result<Vec<EventRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, type, status, attempts, error, received_at, workspace_id
         FROM stripe_events ORDER BY received_at DESC, id LIMIT 100",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(EventRow {
                id: row.try_get("id")?,
                kind: row.try_get("type")?,
                status: row.try_get("status")?,
                attempts: row.try_get("attempts")?,
                error: row.try_get("error")?,
                received_at: seconds(row.try_get("received_at")?),
                workspace_id: row
                    .try_get::<Option<Uuid>, _>("workspace_id")?
                    .map(|id| id.to_string()),
            })
        })
        .collect()
}

/// The newest 100 audit records.
pub async fn audit_log(pool: &PgPool) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query(
        "SELECT at, actor_email, action, target, detail FROM audit_log ORDER BY at DESC, id DESC LIMIT 100",
    )
    .fetch_all(pool)
    .await?
    .iter()
    .map(audit_row)
    .collect()
}

fn audit_row(row: &sqlx::postgres::PgRow) -> Result<AuditRow, sqlx::Error> {
    Ok(AuditRow {
        at: seconds(row.try_get("at")?),
        actor: row.try_get("actor_email")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        detail: row.try_get::<Value, _>("detail")?.to_string(),
    })
}

/// Sources, filtered by provider (the kind's prefix, `github`) and state; at most 200,
/// failing ones first.
pub async fn sources(
    pool: &PgPool,
    provider: &str,
    state: &str,
) -> Result<Vec<SourceRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.id, s.kind, s.key, s.title, s.state, s.paused_by_admin, s.interval_secs,
                s.last_poll_at, s.next_poll_at, s.consecutive_failures, s.last_error,
                s.last_error_excerpt, s.orphaned_at,
                s.orphaned_at + make_interval(days => $3) AS deleted_after,
                (SELECT count(*) FROM trackers t WHERE t.source_id = s.id) AS trackers
         FROM sources s
         WHERE ($1 = '' OR split_part(s.kind, '.', 1) = $1)
           AND ($2 = '' OR s.state = $2 OR ($2 = 'orphaned' AND s.orphaned_at IS NOT NULL))
         ORDER BY s.consecutive_failures DESC, s.id LIMIT 200",
    )
    .bind(provider.trim())
    .bind(state.trim())
    .bind(crate::server::tracking::store::ORPHAN_DAYS)
    .fetch_all(pool)
    .await?;
    let format = |at: Option<DateTime<Utc>>| at.map(seconds);
    rows.iter()
        .map(|row| {
            Ok(SourceRow {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                key: row.try_get("key")?,
                title: row.try_get("title")?,
                state: row.try_get("state")?,
                paused_by_admin: row.try_get("paused_by_admin")?,
                trackers: row.try_get("trackers")?,
                interval_secs: row.try_get("interval_secs")?,
                last_poll_at: format(row.try_get("last_poll_at")?),
                next_poll_at: format(row.try_get("next_poll_at")?),
                consecutive_failures: row.try_get("consecutive_failures")?,
                last_error: row.try_get("last_error")?,
                last_error_excerpt: row
                    .try_get::<Option<String>, _>("last_error_excerpt")?
                    .map(|excerpt| excerpt.chars().take(200).collect()),
                orphaned_at: format(row.try_get("orphaned_at")?),
                deleted_after: format(row.try_get("deleted_after")?),
            })
        })
        .collect()
}

/// The apalis queues: (queue, status, jobs), and the jobs that failed for good or were
/// discarded (the newest 100).
pub async fn jobs(
    pool: &PgPool,
) -> Result<(Vec<(String, String, i64)>, Vec<ConsoleJob>), sqlx::Error> {
    let counts = sqlx::query_as(
        "SELECT job_type, status, count(*) FROM apalis.jobs
         GROUP BY job_type, status ORDER BY job_type, status",
    )
    .fetch_all(pool)
    .await?;
    let rows = sqlx::query(
        "SELECT id, job_type, status, attempts, max_attempts, run_at,
                coalesce(last_result->>'Err', last_result::text) AS last_error
         FROM apalis.jobs
         WHERE (status = 'Failed' AND attempts >= max_attempts) OR status = 'Killed'
         ORDER BY run_at DESC LIMIT 100",
    )
    .fetch_all(pool)
    .await?;
    let failed = rows
        .iter()
        .map(|row| {
            Ok(ConsoleJob {
                id: row.try_get("id")?,
                queue: row.try_get("job_type")?,
                status: row.try_get("status")?,
                attempts: row.try_get("attempts")?,
                max_attempts: row.try_get("max_attempts")?,
                error: row.try_get("last_error")?,
                run_at: seconds(row.try_get("run_at")?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok((counts, failed))
}

/// Runs a failed job again from its first attempt (`retry`), or gives it up for good
/// (`discard`: kept as `Killed` until `prune_jobs` removes it).
pub async fn job_action(
    pool: &PgPool,
    actor: &Actor,
    job_id: &str,
    retry: bool,
) -> Result<(), AdminError> {
    let mut transaction = pool.begin().await?;
    let statement = if retry {
        "UPDATE apalis.jobs SET status = 'Pending', attempts = 0, run_at = now(),
                last_result = NULL, lock_at = NULL, lock_by = NULL, done_at = NULL
         WHERE id = $1 AND status IN ('Failed', 'Killed')"
    } else {
        "UPDATE apalis.jobs SET status = 'Killed', done_at = now()
         WHERE id = $1 AND status IN ('Failed', 'Pending')"
    };
    let changed = sqlx::query(statement)
        .bind(job_id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
    if changed == 0 {
        // Sent twice (a double click), the second finds the job already waiting to run,
        // or already discarded: that is what was asked for.
        let done: Option<bool> = sqlx::query_scalar(
            "SELECT CASE WHEN $2 THEN status IN ('Pending', 'Queued', 'Running')
                         ELSE status = 'Killed' END
             FROM apalis.jobs WHERE id = $1",
        )
        .bind(job_id)
        .bind(retry)
        .fetch_optional(&mut *transaction)
        .await?;
        if done == Some(true) {
            return Ok(());
        }
        return Err(AdminError::NotFound(
            "There is no such job, or it is not in a state for that.".into(),
        ));
    }
    if retry {
        // Idle workers wake on apalis's insert notification (sent on commit): send the
        // same one, so the job runs now rather than at some later poll.
        sqlx::query(
            "SELECT pg_notify('apalis::job::insert',
                              json_build_object('job_type', job_type, 'id', id, 'run_at', run_at)::text)
             FROM apalis.jobs WHERE id = $1",
        )
        .bind(job_id)
        .execute(&mut *transaction)
        .await?;
    }
    audit(
        &mut transaction,
        actor,
        if retry { "job.retry" } else { "job.discard" },
        &format!("job:{job_id}"),
        json!({}),
    )
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// Records the overview's figures at `now` (one row per five-minute period; a second
/// record in the same period replaces the first).
pub async fn record_snapshot(pool: &PgPool, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let figures = overview(pool, now).await?;
    let mrr: i64 = figures
        .revenue_by_plan
        .iter()
        .map(|(_, _, cents)| cents)
        .sum();
    let queued: i64 = figures.queues.iter().map(|(_, count)| count).sum();
    sqlx::query(
        "INSERT INTO service_snapshots (at, users, workspaces, paying, mrr_cents,
                 polls_last_hour, errors_last_hour, due, queued_jobs)
         VALUES (date_bin('5 minutes', $1, timestamptz '2000-01-01 00:00:00+00'),
                 $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (at) DO UPDATE SET users = excluded.users, workspaces = excluded.workspaces,
             paying = excluded.paying, mrr_cents = excluded.mrr_cents,
             polls_last_hour = excluded.polls_last_hour,
             errors_last_hour = excluded.errors_last_hour, due = excluded.due,
             queued_jobs = excluded.queued_jobs",
    )
    .bind(now)
    .bind(figures.users)
    .bind(figures.workspaces)
    .bind(figures.paying_workspaces)
    .bind(mrr)
    .bind(figures.polls_last_hour)
    .bind(figures.errors_last_hour)
    .bind(figures.due_backlog)
    .bind(queued)
    .execute(pool)
    .await?;
    // A week is what the console shows; older rows go.
    sqlx::query("DELETE FROM service_snapshots WHERE at < $1 - interval '30 days'")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// The last seven days of snapshots, oldest first.
pub async fn history(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<Vec<ConsoleSnapshot>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT at, users, paying, mrr_cents, polls_last_hour, errors_last_hour, due, queued_jobs
         FROM service_snapshots WHERE at >= $1 - interval '7 days' ORDER BY at",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ConsoleSnapshot {
                at_ms: row.try_get::<DateTime<Utc>, _>("at")?.timestamp_millis(),
                users: row.try_get("users")?,
                paying: row.try_get("paying")?,
                mrr_cents: row.try_get("mrr_cents")?,
                polls_last_hour: row.try_get("polls_last_hour")?,
                errors_last_hour: row.try_get("errors_last_hour")?,
                due: row.try_get("due")?,
                queued_jobs: row.try_get("queued_jobs")?,
            })
        })
        .collect()
}

/// Adds `tallies` (from [`crate::server::tracking::http::Upstreams::take_tallies`]) to
/// their providers' rows of the minute `now` falls in; a week is kept.
pub async fn record_provider_tallies(
    pool: &PgPool,
    now: DateTime<Utc>,
    tallies: &[(&'static str, crate::server::tracking::http::Tally)],
) -> Result<(), sqlx::Error> {
    for (provider, tally) in tallies {
        sqlx::query(
            "INSERT INTO provider_minutes
                 (provider, minute, requests, errors, buckets, remaining, paused_until, polls, failed_polls)
             VALUES ($1, date_trunc('minute', $2), $3, $4, $5, $6,
                     $2 + make_interval(secs => $7::double precision), $8, $9)
             ON CONFLICT (provider, minute) DO UPDATE SET
                 requests = provider_minutes.requests + excluded.requests,
                 errors = provider_minutes.errors + excluded.errors,
                 polls = provider_minutes.polls + excluded.polls,
                 failed_polls = provider_minutes.failed_polls + excluded.failed_polls,
                 buckets = ARRAY(SELECT a + b FROM unnest(provider_minutes.buckets, excluded.buckets) AS t(a, b)),
                 remaining = coalesce(excluded.remaining, provider_minutes.remaining),
                 paused_until = coalesce(excluded.paused_until, provider_minutes.paused_until)",
        )
        .bind(provider)
        .bind(now)
        .bind(tally.requests)
        .bind(tally.errors)
        .bind(&tally.buckets)
        .bind(tally.remaining)
        .bind(tally.paused_for_secs.map(|secs| secs as f64))
        .bind(tally.polls)
        .bind(tally.failed_polls)
        .execute(pool)
        .await?;
    }
    sqlx::query("DELETE FROM provider_minutes WHERE minute < $1 - interval '7 days'")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// The `q`-quantile of requests spread over latency `buckets`, as the bucket's upper
/// bound in milliseconds (`None` for the open last bucket, or without requests).
pub fn latency_quantile(buckets: &[i64], q: f64) -> Option<u32> {
    let total: i64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (index, count) in buckets.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return crate::server::tracking::http::LATENCY_BOUNDS_MS
                .get(index)
                .copied();
        }
    }
    None
}

/// Per provider over the last hour: requests, error rate, p50/p95 latency, the latest
/// rate-limit state; and whether its credentials are configured.
pub async fn providers(
    pool: &PgPool,
    now: DateTime<Utc>,
    config: &crate::server::tracking::TrackingConfig,
) -> Result<Vec<ConsoleProvider>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT provider, sum(requests)::bigint AS requests, sum(errors)::bigint AS errors,
                sum(polls)::bigint AS polls, sum(failed_polls)::bigint AS failed_polls,
                (SELECT remaining FROM provider_minutes l WHERE l.provider = p.provider
                 AND l.remaining IS NOT NULL ORDER BY minute DESC LIMIT 1) AS remaining,
                max(paused_until) AS paused_until
         FROM provider_minutes p WHERE minute >= $1 - interval '1 hour'
         GROUP BY provider",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    let buckets: Vec<(String, Vec<i64>)> = sqlx::query_as(
        "SELECT provider, buckets FROM provider_minutes WHERE minute >= $1 - interval '1 hour'",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    let mut providers = Vec::new();
    for service in crate::server::tracking::providers::services() {
        let name = service.name();
        let credentials = match service.credentials() {
            Some(credentials) if config.has_credentials(service) => credentials.when_set,
            Some(credentials) => credentials.when_missing,
            None => "not needed",
        };
        let row = rows.iter().find(|row| {
            row.try_get::<String, _>("provider")
                .is_ok_and(|provider| provider == name)
        });
        let mut summed = vec![0_i64; crate::server::tracking::http::LATENCY_BOUNDS_MS.len() + 1];
        for (_, counts) in buckets.iter().filter(|(provider, _)| provider == name) {
            for (total, count) in summed.iter_mut().zip(counts) {
                *total += count;
            }
        }
        let (requests, errors, remaining, paused_until) = match row {
            Some(row) => (
                row.try_get::<i64, _>("requests")?,
                row.try_get::<i64, _>("errors")?,
                row.try_get::<Option<f64>, _>("remaining")?,
                row.try_get::<Option<DateTime<Utc>>, _>("paused_until")?,
            ),
            None => (0, 0, None, None),
        };
        let (polls, failed_polls) = match row {
            Some(row) => (
                row.try_get::<i64, _>("polls")?,
                row.try_get::<i64, _>("failed_polls")?,
            ),
            None => (0, 0),
        };
        providers.push(ConsoleProvider {
            name: name.to_string(),
            polls_last_hour: polls,
            failed_polls_last_hour: failed_polls,
            requests_last_hour: requests,
            error_rate_percent: (requests > 0).then(|| (errors * 1000 / requests) as f64 / 10.0),
            p50_ms: latency_quantile(&summed, 0.5),
            p95_ms: latency_quantile(&summed, 0.95),
            remaining,
            paused_until: paused_until
                .filter(|until| *until > now)
                .map(|until| until.format("%H:%M:%S UTC").to_string()),
            credentials: credentials.to_string(),
        });
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use super::latency_quantile;

    #[test]
    fn quantiles_come_from_the_buckets() {
        // Bounds 25, 50, 100, … ms: 50 requests under 25 ms, 45 under 100, 5 slower than 10 s.
        let mut buckets = vec![0; 12];
        buckets[0] = 50;
        buckets[2] = 45;
        buckets[11] = 5;
        assert_eq!(latency_quantile(&buckets, 0.5), Some(25));
        assert_eq!(latency_quantile(&buckets, 0.95), Some(100));
        assert_eq!(latency_quantile(&buckets, 0.99), None);
        assert_eq!(latency_quantile(&[0; 12], 0.5), None);
    }
}
