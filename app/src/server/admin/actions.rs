//! What administrators do, each action with its audit record in the same transaction:
//! suspend, restore and delete users, view as one, set a workspace's plan, pause, resume,
//! poll or reset a source, process a Stripe event again, retry or discard a job.

use chrono::{TimeDelta, Utc};
use serde_json::json;
use sqlx::PgPool;

use super::{Actor, AdminError, audit, commit_audited};
use crate::{
    domain::{SourceId, UserId, WorkspaceId},
    server::{
        billing,
        jobs::{JobChange, JobQueue},
        tracking::store::refresh_schedule,
    },
};

/// Suspends (or, with `suspend = false`, restores) a user: they cannot sign in, their
/// sessions end, their tokens stop working, and the workspaces they alone are members of
/// stop polling (sources others track go on). Nothing is deleted.
pub async fn suspend_user(
    pool: &PgPool,
    actor: &Actor,
    user_id: UserId,
    suspend: bool,
) -> Result<(), AdminError> {
    if suspend && user_id == actor.id {
        return Err(AdminError::Refused("You cannot suspend yourself.".into()));
    }
    let mut transaction = pool.begin().await?;
    let email = sqlx::query_scalar!(
        "UPDATE users SET suspended_at = CASE WHEN $2 THEN coalesce(suspended_at, now()) END
         WHERE id = $1 RETURNING email",
        user_id as UserId,
        suspend,
    )
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(email) = email else {
        return Err(AdminError::NotFound("There is no such user.".into()));
    };
    if suspend {
        sqlx::query!("DELETE FROM sessions WHERE user_id = $1", user_id as UserId)
            .execute(&mut *transaction)
            .await?;
    }
    // A workspace is suspended while none of its members is not.
    sqlx::query!(
        "UPDATE workspaces w SET suspended_at = CASE
             WHEN NOT EXISTS (SELECT 1 FROM workspace_members m JOIN users u ON u.id = m.user_id
                              WHERE m.workspace_id = w.id AND u.suspended_at IS NULL)
             THEN coalesce(w.suspended_at, now()) END
         WHERE w.id IN (SELECT workspace_id FROM workspace_members WHERE user_id = $1)",
        user_id as UserId,
    )
    .execute(&mut *transaction)
    .await?;
    let sources = sqlx::query_scalar!(
        "SELECT DISTINCT t.source_id FROM trackers t
         JOIN workspace_members m ON m.workspace_id = t.workspace_id
         WHERE m.user_id = $1",
        user_id as UserId,
    )
    .fetch_all(&mut *transaction)
    .await?;
    for source in sources {
        refresh_schedule(&mut *transaction, SourceId(source)).await?;
    }
    let action = if suspend {
        "user.suspend"
    } else {
        "user.unsuspend"
    };
    commit_audited(
        transaction,
        actor,
        action,
        &format!("user:{user_id}"),
        json!({ "email": email }),
    )
    .await?;
    Ok(())
}

/// Deletes a user, and the workspaces only they were a member of (trackers, tokens and
/// billing rows with them; sources and samples stay for other trackers). Returns the
/// email.
pub async fn delete_user(
    pool: &PgPool,
    billing: &super::billing::Billing,
    actor: &Actor,
    user_id: UserId,
) -> Result<String, AdminError> {
    if user_id == actor.id {
        return Err(AdminError::Refused(
            "You cannot delete yourself here.".into(),
        ));
    }
    let email = sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", user_id as UserId)
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
    crate::server::db::users::delete_in(&mut transaction, user_id).await?;
    commit_audited(
        transaction,
        actor,
        "user.delete",
        &format!("user:{user_id}"),
        json!({ "email": email }),
    )
    .await?;
    Ok(email)
}

/// Audits the start of a read-only view of the site as `user_id` (the session holds it).
pub async fn start_view_as(
    pool: &PgPool,
    actor: &Actor,
    user_id: UserId,
) -> Result<(), AdminError> {
    let email = sqlx::query_scalar!(
        "SELECT email FROM users WHERE id = $1 AND suspended_at IS NULL",
        user_id as UserId,
    )
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
    workspace_id: WorkspaceId,
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
    commit_audited(
        transaction,
        actor,
        "workspace.set_plan",
        &format!("workspace:{workspace_id}"),
        json!({ "plan": plan.unwrap_or("subscription") }),
    )
    .await?;
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
    source_id: SourceId,
    action: SourceAction,
) -> Result<(), AdminError> {
    let mut transaction = pool.begin().await?;
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM sources WHERE id = $1) AS "exists!""#,
        source_id as SourceId,
    )
    .fetch_one(&mut *transaction)
    .await?;
    if !exists {
        return Err(AdminError::NotFound("There is no such source.".into()));
    }
    match action {
        SourceAction::Pause | SourceAction::Resume => {
            sqlx::query!(
                "UPDATE sources SET paused_by_admin = $2 WHERE id = $1",
                source_id as SourceId,
                action == SourceAction::Pause,
            )
            .execute(&mut *transaction)
            .await?
        }
        SourceAction::PollNow => {
            sqlx::query!(
                "UPDATE sources SET next_poll_at = now(), leased_until = NULL
                 WHERE id = $1 AND NOT paused_by_admin AND state NOT IN ('gone', 'paused', 'ended')",
                source_id as SourceId,
            )
            .execute(&mut *transaction)
            .await?
        }
        SourceAction::ResetBackoff => {
            sqlx::query!(
                "UPDATE sources SET consecutive_failures = 0, next_poll_at = now(), leased_until = NULL,
                        state = CASE WHEN state = 'backing_off' THEN 'ok' ELSE state END
                 WHERE id = $1",
                source_id as SourceId,
            )
            .execute(&mut *transaction)
            .await?
        }
    };
    if matches!(action, SourceAction::Pause | SourceAction::Resume) {
        refresh_schedule(&mut *transaction, source_id).await?;
    }
    commit_audited(
        transaction,
        actor,
        action.name(),
        &format!("source:{source_id}"),
        json!({}),
    )
    .await?;
    Ok(())
}

/// Marks a stored Stripe event for processing again; the caller queues its job.
pub async fn reprocess_event(
    pool: &PgPool,
    actor: &Actor,
    event_id: &str,
) -> Result<(), AdminError> {
    let mut transaction = pool.begin().await?;
    let found = sqlx::query!(
        "UPDATE stripe_events SET status = 'pending', error = NULL WHERE id = $1",
        event_id,
    )
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    if found == 0 {
        return Err(AdminError::NotFound(
            "There is no such Stripe event.".into(),
        ));
    }
    commit_audited(
        transaction,
        actor,
        "stripe_event.reprocess",
        &format!("stripe_event:{event_id}"),
        json!({}),
    )
    .await?;
    Ok(())
}

/// Runs a failed job again from its first attempt (`retry`), or gives it up for good
/// (`discard`: kept as `Killed` until `prune_jobs` removes it).
pub async fn job_action(
    pool: &PgPool,
    jobs: &dyn JobQueue,
    actor: &Actor,
    job_id: &str,
    retry: bool,
) -> Result<(), AdminError> {
    let mut transaction = pool.begin().await?;
    let change = if retry {
        jobs.retry(&mut transaction, job_id).await?
    } else {
        jobs.discard(&mut transaction, job_id).await?
    };
    match change {
        JobChange::Changed => {}
        // Sent twice (a double click), the second finds the job already waiting to run,
        // or already discarded: that is what was asked for.
        JobChange::AlreadyDone => return Ok(()),
        JobChange::Refused => {
            return Err(AdminError::NotFound(
                "There is no such job, or it is not in a state for that.".into(),
            ));
        }
    }
    commit_audited(
        transaction,
        actor,
        if retry { "job.retry" } else { "job.discard" },
        &format!("job:{job_id}"),
        json!({}),
    )
    .await?;
    Ok(())
}
