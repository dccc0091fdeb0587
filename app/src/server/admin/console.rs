//! What the console reads: the overview, users and their pages, sources, jobs, Stripe
//! events and the audit log.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::domain::console::{
    ConsoleAudit as AuditRow, ConsoleEvent as EventRow, ConsoleJob, ConsoleOverview as Overview,
    ConsoleSignIn, ConsoleSource as SourceRow, ConsoleToken, ConsoleTracker,
    ConsoleUser as UserRow, ConsoleUserPage, ConsoleWorkspace,
};
use crate::server::billing;

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
    state: &crate::server::state::AppState,
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
    state: &crate::server::state::AppState,
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
