//! What the console reads: the overview, users and their pages, sources, jobs, Stripe
//! events and the audit log.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::console::{
    ConsoleAudit as AuditRow, ConsoleEvent as EventRow, ConsoleJob, ConsoleMember,
    ConsoleMembershipChange, ConsoleOverview as Overview, ConsoleSignIn,
    ConsoleSource as SourceRow, ConsoleToken, ConsoleTracker, ConsoleUser as UserRow,
    ConsoleUserPage, ConsoleWorkspace,
};
use crate::domain::{SourceState, WorkspaceId};
use crate::server::{billing, db::members, jobs::JobQueue};

pub async fn overview(
    pool: &PgPool,
    jobs: &dyn JobQueue,
    now: DateTime<Utc>,
) -> Result<Overview, sqlx::Error> {
    let counts = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM users) AS "users!",
                (SELECT count(*) FROM users WHERE suspended_at IS NOT NULL) AS "suspended!",
                (SELECT count(*) FROM workspaces) AS "workspaces!",
                (SELECT count(*) FROM workspace_billing
                 WHERE subscription_status IN ('active', 'trialing', 'past_due')) AS "paying!",
                (SELECT coalesce(sum(polls), 0)::bigint FROM provider_minutes
                  WHERE minute >= $1::timestamptz - interval '1 hour') AS "polls!",
                (SELECT coalesce(sum(failed_polls), 0)::bigint FROM provider_minutes
                  WHERE minute >= $1::timestamptz - interval '1 hour') AS "errors!",
                (SELECT coalesce(sum(polls), 0)::bigint FROM provider_minutes
                  WHERE minute >= $1::timestamptz - interval '1 day') AS "polls_day!",
                (SELECT coalesce(sum(failed_polls), 0)::bigint FROM provider_minutes
                  WHERE minute >= $1::timestamptz - interval '1 day') AS "errors_day!",
                (SELECT count(*) FROM sources WHERE next_poll_at <= $1::timestamptz) AS "due!",
                (SELECT extract(epoch FROM $1::timestamptz - min(next_poll_at))::bigint
                 FROM sources WHERE next_poll_at <= $1::timestamptz) AS oldest_due"#,
        now,
    )
    .fetch_one(pool)
    .await?;
    let revenue_by_plan = sqlx::query!(
        r#"SELECT p.name, count(b.workspace_id) AS "workspaces!",
                (count(b.workspace_id) * p.price_cents)::bigint AS "revenue_cents!"
         FROM plans p
         LEFT JOIN workspace_billing b ON b.subscription_plan = p.id
              AND b.subscription_status IN ('active', 'trialing', 'past_due')
         WHERE p.price_cents > 0
         GROUP BY p.id, p.name, p.price_cents, p.rank ORDER BY p.rank"#,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.name, row.workspaces, row.revenue_cents))
    .collect();
    let sources_by_state = sqlx::query!(
        r#"SELECT state, count(*) AS "count!" FROM sources GROUP BY state ORDER BY state"#
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.state, row.count))
    .collect();
    let queues = jobs.waiting().await?;
    Ok(Overview {
        users: counts.users,
        suspended_users: counts.suspended,
        workspaces: counts.workspaces,
        paying_workspaces: counts.paying,
        revenue_by_plan,
        sources_by_state,
        polls_last_hour: counts.polls,
        errors_last_hour: counts.errors,
        polls_last_day: counts.polls_day,
        errors_last_day: counts.errors_day,
        due_backlog: counts.due,
        oldest_due_secs: counts.oldest_due,
        queues,
    })
}

/// Users whose email contains `query`, or whose id (or workspace id) is `query`; the
/// newest 50 when `query` is empty.
pub async fn find_users(pool: &PgPool, query: &str) -> Result<Vec<UserRow>, sqlx::Error> {
    let query = query.trim();
    let id = Uuid::parse_str(query).ok();
    let pattern = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let rows = sqlx::query!(
        r#"SELECT u.id, u.email, u.role::text AS "role!", u.suspended_at IS NOT NULL AS "suspended!",
                w.id AS workspace_id, w.plan_id, b.subscription_status,
                (SELECT count(*) FROM trackers t WHERE t.workspace_id = w.id) AS "trackers!",
                (SELECT count(*) FROM api_tokens k WHERE k.workspace_id = w.id) AS "tokens!",
                (SELECT max(at) FROM sign_ins s
                  WHERE s.user_id = u.id AND s.outcome IN ('signed_in', 'signed_up')) AS last_sign_in,
                (SELECT count(*) FROM sign_ins s
                  WHERE s.user_id = u.id AND s.outcome IN ('wrong_password', 'suspended')
                    AND s.at > now() - interval '1 day') AS "refused_sign_ins!"
         FROM users u
         JOIN workspace_members m ON m.user_id = u.id
         JOIN workspaces w ON w.id = m.workspace_id
         LEFT JOIN workspace_billing b ON b.workspace_id = w.id
         WHERE CASE WHEN $2::uuid IS NOT NULL THEN u.id = $2 OR w.id = $2
                    ELSE $1 = '' OR u.email ILIKE '%' || $1 || '%' ESCAPE '\' END
         ORDER BY u.created_at DESC LIMIT 50"#,
        pattern,
        id,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| UserRow {
            id: row.id.to_string(),
            email: row.email,
            role: row.role,
            suspended: row.suspended,
            workspace_id: row.workspace_id.to_string(),
            plan: row.plan_id,
            subscription_status: row.subscription_status,
            trackers: row.trackers,
            tokens: row.tokens,
            last_sign_in: row.last_sign_in.map(minutes),
            refused_sign_ins_last_day: row.refused_sign_ins,
        })
        .collect())
}

fn minutes(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How the console writes a time: to the second, in UTC.
pub fn console_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How many sign-ins a user's page lists.
const SIGN_INS_SHOWN: i64 = 200;
/// How many trackers of each workspace a user's page lists.
const TRACKERS_SHOWN: i64 = 200;
/// How many entries of each workspace's audit trail a user's page lists.
const MEMBERSHIP_CHANGES_SHOWN: i64 = 100;

/// One user, for their page: `None` when there is no such user.
pub async fn user_page(
    state: &crate::server::state::AppState,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<ConsoleUserPage>, sqlx::Error> {
    let pool = &state.pool;
    let Some(user) = sqlx::query!(
        r#"SELECT email, role::text AS "role!", created_at, suspended_at FROM users WHERE id = $1"#,
        user_id,
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let memberships = sqlx::query_as!(
        MembershipRow,
        r#"SELECT w.id, w.name, m.role::text AS "role!", w.suspended_at IS NOT NULL AS "suspended!",
                (SELECT count(*) FROM workspace_members o WHERE o.workspace_id = w.id) AS "members!"
         FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id
         WHERE m.user_id = $1 ORDER BY m.created_at"#,
        user_id,
    )
    .fetch_all(pool)
    .await?;
    let mut workspaces = Vec::with_capacity(memberships.len());
    let mut targets = vec![format!("user:{user_id}")];
    for membership in &memberships {
        targets.push(format!("workspace:{}", membership.id));
        workspaces.push(workspace_page(state, membership, now).await?);
    }
    let email = user.email;
    targets.push(format!("email:{email}"));

    let sign_ins = sqlx::query!(
        "SELECT at, ip, user_agent, outcome FROM sign_ins WHERE user_id = $1
         ORDER BY at DESC, id DESC LIMIT $2",
        user_id,
        SIGN_INS_SHOWN,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| ConsoleSignIn {
        at: console_time(row.at),
        ip: row.ip,
        user_agent: row.user_agent,
        outcome: row.outcome,
    })
    .collect();
    let sign_in_total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM sign_ins WHERE user_id = $1"#,
        user_id,
    )
    .fetch_one(pool)
    .await?;
    let audit = sqlx::query_as!(
        AuditRecord,
        "SELECT at, actor_email, action, target, detail FROM audit_log
         WHERE target = ANY($1) ORDER BY at DESC, id DESC LIMIT 100",
        &targets[..],
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(AuditRow::from)
    .collect();
    Ok(Some(ConsoleUserPage {
        id: user_id.to_string(),
        email,
        role: user.role,
        created_at: minutes(user.created_at),
        suspended_since: user.suspended_at.map(minutes),
        workspaces,
        sign_ins,
        sign_in_total,
        audit,
    }))
}

/// A workspace the user is a member of, with their role in it.
struct MembershipRow {
    id: Uuid,
    name: String,
    role: String,
    suspended: bool,
    members: i64,
}

async fn workspace_page(
    state: &crate::server::state::AppState,
    membership: &MembershipRow,
    now: DateTime<Utc>,
) -> Result<ConsoleWorkspace, sqlx::Error> {
    let pool = &state.pool;
    let id = WorkspaceId(membership.id);
    let billing_row = billing::store::billing_row(pool, id).await?;
    let trackers = sqlx::query!(
        r#"SELECT t.id, t.label, t.interval_secs, t.paused, t.paused_by_plan, t.created_at,
                s.id AS source_id, s.kind, s.key, s.state AS "state: SourceState", s.last_poll_at
         FROM trackers t JOIN sources s ON s.id = t.source_id
         WHERE t.workspace_id = $1 ORDER BY t.created_at DESC, t.id LIMIT $2"#,
        id as WorkspaceId,
        TRACKERS_SHOWN,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| ConsoleTracker {
        id: row.id.to_string(),
        label: row.label,
        source_id: row.source_id,
        kind: row.kind,
        key: row.key,
        source_state: row.state,
        interval_secs: row.interval_secs,
        paused: row.paused,
        paused_by_plan: row.paused_by_plan,
        last_poll_at: row.last_poll_at.map(minutes),
        created_at: minutes(row.created_at),
    })
    .collect();
    let tracker_total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM trackers WHERE workspace_id = $1"#,
        id as WorkspaceId,
    )
    .fetch_one(pool)
    .await?;
    let tokens = sqlx::query!(
        r#"SELECT k.name, k.token_prefix, k.scope::text AS "scope!", u.email AS "created_by?",
                k.created_at, k.last_used_at
         FROM api_tokens k LEFT JOIN users u ON u.id = k.created_by
         WHERE k.workspace_id = $1 ORDER BY k.created_at DESC"#,
        id as WorkspaceId,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| ConsoleToken {
        name: row.name,
        prefix: row.token_prefix,
        scope: row.scope,
        created_by: row.created_by,
        created_at: minutes(row.created_at),
        last_used_at: row.last_used_at.map(minutes),
    })
    .collect();
    let people = members::list(pool, id)
        .await?
        .into_iter()
        .map(|member| ConsoleMember {
            user_id: member.user_id.to_string(),
            email: member.email,
            role: member.role.as_str().to_owned(),
            joined_at: minutes(member.joined_at),
        })
        .collect();
    let membership_changes = members::audit(pool, id, MEMBERSHIP_CHANGES_SHOWN)
        .await?
        .into_iter()
        .map(|entry| ConsoleMembershipChange {
            at: console_time(entry.at),
            action: serde_json::to_value(entry.action)
                .ok()
                .and_then(|action| action.as_str().map(str::to_owned))
                .unwrap_or_default(),
            summary: entry.summary,
        })
        .collect();
    Ok(ConsoleWorkspace {
        id: id.to_string(),
        name: membership.name.clone(),
        role: membership.role.clone(),
        members: membership.members,
        suspended: membership.suspended,
        billing: billing::overview_of(state, id, &billing_row, now).await?,
        stripe_customer_id: billing_row.stripe_customer_id,
        subscription_id: billing_row.subscription_id,
        plan_override: billing_row.state.plan_override,
        tracker_total,
        trackers,
        tokens,
        people,
        membership_changes,
    })
}

/// The newest 100 stored Stripe events.
pub async fn stripe_events(pool: &PgPool) -> Result<Vec<EventRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, type AS "kind", status, attempts, error, received_at, workspace_id
         FROM stripe_events ORDER BY received_at DESC, id LIMIT 100"#,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| EventRow {
            id: row.id,
            kind: row.kind,
            status: row.status,
            attempts: row.attempts,
            error: row.error,
            received_at: console_time(row.received_at),
            workspace_id: row.workspace_id.map(|id| id.to_string()),
        })
        .collect())
}

/// The newest 100 audit records.
pub async fn audit_log(pool: &PgPool) -> Result<Vec<AuditRow>, sqlx::Error> {
    Ok(sqlx::query_as!(
        AuditRecord,
        "SELECT at, actor_email, action, target, detail FROM audit_log ORDER BY at DESC, id DESC LIMIT 100",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(AuditRow::from)
    .collect())
}

/// An audit record as stored.
struct AuditRecord {
    at: DateTime<Utc>,
    actor_email: String,
    action: String,
    target: String,
    detail: Value,
}

impl From<AuditRecord> for AuditRow {
    fn from(record: AuditRecord) -> Self {
        AuditRow {
            at: console_time(record.at),
            actor: record.actor_email,
            action: record.action,
            target: record.target,
            detail: record.detail.to_string(),
        }
    }
}

/// Sources, filtered by provider (the kind's prefix, `github`) and state; at most 200,
/// failing ones first.
pub async fn sources(
    pool: &PgPool,
    provider: &str,
    state: &str,
) -> Result<Vec<SourceRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT s.id, s.kind, s.key, s.title, s.state AS "state: SourceState", s.paused_by_admin,
                s.interval_secs, s.last_poll_at, s.next_poll_at, s.consecutive_failures,
                s.last_error, s.last_error_excerpt, s.orphaned_at,
                s.orphaned_at + make_interval(days => $3) AS deleted_after,
                (SELECT count(*) FROM trackers t WHERE t.source_id = s.id) AS "trackers!"
         FROM sources s
         WHERE ($1 = '' OR split_part(s.kind, '.', 1) = $1)
           AND ($2 = '' OR s.state = $2 OR ($2 = 'orphaned' AND s.orphaned_at IS NOT NULL))
         ORDER BY s.consecutive_failures DESC, s.id LIMIT 200"#,
        provider.trim(),
        state.trim(),
        crate::server::tracking::store::ORPHAN_DAYS,
    )
    .fetch_all(pool)
    .await?;
    let format = |at: Option<DateTime<Utc>>| at.map(console_time);
    Ok(rows
        .into_iter()
        .map(|row| SourceRow {
            id: row.id,
            kind: row.kind,
            key: row.key,
            title: row.title,
            state: row.state,
            paused_by_admin: row.paused_by_admin,
            trackers: row.trackers,
            interval_secs: Some(row.interval_secs),
            last_poll_at: format(row.last_poll_at),
            next_poll_at: format(row.next_poll_at),
            consecutive_failures: row.consecutive_failures,
            last_error: row.last_error,
            last_error_excerpt: row
                .last_error_excerpt
                .map(|excerpt| excerpt.chars().take(200).collect()),
            orphaned_at: format(row.orphaned_at),
            deleted_after: format(row.deleted_after),
        })
        .collect())
}

/// The job queues: (queue, status, jobs), and the jobs that failed for good or were
/// discarded (the newest 100).
pub async fn jobs(
    queue: &dyn JobQueue,
) -> Result<(Vec<(String, String, i64)>, Vec<ConsoleJob>), sqlx::Error> {
    Ok((queue.counts().await?, queue.failed().await?))
}
