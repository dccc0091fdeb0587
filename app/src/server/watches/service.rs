//! What users do with watches, shared by the REST API and server functions: the
//! container recognised and checked, the template checked against the plan, the first
//! read that tells what was there before the watch, and "look now".

use serde::Deserialize;
use sqlx::PgPool;

use super::{
    WatchError,
    read::{self, LEASE, ReadReport},
    store::{self, Template},
};
use crate::domain::{
    Plan, ProviderKind, RuleSpec, UserId, WatchId, WorkspaceId,
    watch::{LabelPattern, WatchDetail, WatchItemState},
};
use crate::server::billing::store::{self as billing};
use crate::server::tracking::{
    Engine,
    engine::TrackError,
    providers::ContainerSpec,
    service::{MAX_INTERVAL_SECS, present},
};

/// A watch's default look: hourly.
pub const DEFAULT_POLL_EVERY_SECS: i64 = 3_600;
/// The most alert rules a template copies.
pub const MAX_TEMPLATE_RULES: usize = 10;
/// The longest an item is tracked.
pub const MAX_TRACK_FOR_DAYS: i64 = 3_650;
/// The most items of a day's top a watch keeps (a Reddit listing's page).
pub const MAX_TOP_PER_DAY: i64 = 25;

/// `POST /api/v1/watches`: the container's link and the template.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWatch {
    /// The container's link: a YouTube channel, a GitHub user or organisation, a Hacker
    /// News user.
    pub url: String,
    /// How often the container is looked at (default hourly).
    pub poll_every_secs: Option<i64>,
    /// Each new tracker's interval (default: as when adding a tracker).
    pub interval_secs: Option<i64>,
    /// How long each new item is tracked; then its tracker ends by itself.
    pub track_for_days: Option<i64>,
    /// The label pattern: `{title}`, `{container}`, `{date}`.
    pub label: Option<String>,
    /// Alert rules copied onto each new tracker, each as `POST
    /// /api/v1/trackers/{id}/alerts` takes it.
    #[schema(value_type = Option<Vec<Object>>)]
    pub alerts: Option<Vec<serde_json::Value>>,
    /// Only items with at least this score an hour after they appeared (containers whose
    /// items have a score: subreddits, Reddit and Hacker News users).
    pub min_score: Option<f64>,
    /// Only items that rank among the container's `top_per_day` best-scoring of the past
    /// 24 hours (1 to 25): "the day's top N".
    pub top_per_day: Option<i64>,
}

/// `PATCH /api/v1/watches/{id}`: a field left out stays as it is; `null` clears one that
/// may be empty.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchEdit {
    pub poll_every_secs: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub interval_secs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub track_for_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub label: Option<Option<String>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub alerts: Option<Vec<serde_json::Value>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>)]
    pub min_score: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub top_per_day: Option<Option<i64>>,
    pub paused: Option<bool>,
}

/// The template's fields before checking.
struct TemplateInput<'a> {
    poll_every_secs: Option<i64>,
    interval_secs: Option<i64>,
    track_for_days: Option<i64>,
    label: Option<&'a str>,
    alerts: &'a [serde_json::Value],
    min_score: Option<f64>,
    top_per_day: Option<i64>,
}

/// An interval from 60 s (or the plan's shortest) to 30 days.
fn check_secs(plan: &Plan, field: &str, secs: i64) -> Result<i32, WatchError> {
    if !(60..=MAX_INTERVAL_SECS).contains(&secs) {
        return Err(WatchError::Invalid(format!(
            "`{field}` must be from 60 to {MAX_INTERVAL_SECS} seconds"
        )));
    }
    billing::check_interval(plan, secs).map_err(WatchError::UpgradeRequired)?;
    i32::try_from(secs).map_err(|_| WatchError::Invalid(format!("`{field}` is too large")))
}

/// Checks the template against the plan and the kind of the container's items.
async fn check_template(
    pool: &PgPool,
    engine: &Engine,
    workspace_id: WorkspaceId,
    plan: &Plan,
    spec: ContainerSpec,
    input: TemplateInput<'_>,
) -> Result<Template, WatchError> {
    let poll_every_secs = check_secs(
        plan,
        "poll_every_secs",
        input
            .poll_every_secs
            .unwrap_or_else(|| DEFAULT_POLL_EVERY_SECS.max(i64::from(plan.min_interval_secs))),
    )?;
    let interval_secs = input
        .interval_secs
        .map(|secs| check_secs(plan, "interval_secs", secs))
        .transpose()?;
    let track_for_days = input
        .track_for_days
        .map(|days| {
            if (1..=MAX_TRACK_FOR_DAYS).contains(&days) {
                Ok(days as i32)
            } else {
                Err(WatchError::Invalid(format!(
                    "`track_for_days` must be from 1 to {MAX_TRACK_FOR_DAYS}"
                )))
            }
        })
        .transpose()?;
    let label = input
        .label
        .map(LabelPattern::parse)
        .transpose()
        .map_err(WatchError::Invalid)?;
    if let Some(score) = input.min_score
        && !score.is_finite()
    {
        return Err(WatchError::Invalid("`min_score` must be a number".into()));
    }
    let top_per_day = input
        .top_per_day
        .map(|n| {
            if (1..=MAX_TOP_PER_DAY).contains(&n) {
                Ok(n as i32)
            } else {
                Err(WatchError::Invalid(format!(
                    "`top_per_day` must be from 1 to {MAX_TOP_PER_DAY}"
                )))
            }
        })
        .transpose()?;
    if !spec.scored {
        for (field, set) in [
            ("min_score", input.min_score.is_some()),
            ("top_per_day", top_per_day.is_some()),
        ] {
            if set {
                return Err(WatchError::Invalid(format!(
                    "`{field}`: {} have no score; only subreddits, Reddit users and Hacker \
                     News users have",
                    spec.yields
                )));
            }
        }
    }
    if input.alerts.len() > MAX_TEMPLATE_RULES {
        return Err(WatchError::Invalid(format!(
            "`alerts`: a watch copies at most {MAX_TEMPLATE_RULES} rules"
        )));
    }
    let metrics: Vec<&str> = engine
        .provider(&ProviderKind::registered(spec.item_kind))
        .map(|provider| {
            provider
                .spec()
                .metrics
                .iter()
                .map(|metric| metric.0)
                .collect()
        })
        .unwrap_or_default();
    let mut alerts = Vec::with_capacity(input.alerts.len());
    for (index, rule) in input.alerts.iter().enumerate() {
        let rule = RuleSpec::from_json(rule)
            .map_err(|error| WatchError::Invalid(format!("`alerts[{index}]`: {error}")))?;
        if !metrics.is_empty() && !metrics.contains(&rule.metric.as_str()) {
            return Err(WatchError::Invalid(format!(
                "`alerts[{index}]`: {} have no metric `{}`; their metrics are {}",
                spec.yields,
                rule.metric,
                metrics.join(", ")
            )));
        }
        let ids: Vec<uuid::Uuid> = rule.channels.iter().map(|id| id.uuid()).collect();
        let own = sqlx::query_scalar!(
            r#"SELECT count(*) AS "count!" FROM alert_channels
               WHERE workspace_id = $1 AND id = ANY($2)"#,
            workspace_id as WorkspaceId,
            &ids,
        )
        .fetch_one(pool)
        .await?;
        if own != ids.len() as i64 {
            return Err(WatchError::Invalid(format!(
                "`alerts[{index}].channels`: not every channel is this workspace's"
            )));
        }
        alerts.push(rule.to_json());
    }
    Ok(Template {
        poll_every_secs,
        interval_secs,
        track_for_days,
        label,
        alerts,
        min_score: input.min_score,
        top_per_day,
    })
}

/// Starts a watch: recognises and checks the container, reads it once (what it lists
/// now was there before the watch and is not tracked) unless another workspace's watch
/// already reads it, and saves the watch. `Ok((false, …))` when the workspace already
/// watches it.
pub async fn create_watch(
    pool: &PgPool,
    engine: &Engine,
    workspace_id: WorkspaceId,
    created_by: Option<UserId>,
    input: &NewWatch,
) -> Result<(bool, WatchDetail), WatchError> {
    if input.url.trim().is_empty() {
        return Err(WatchError::Invalid("`url` is empty".into()));
    }
    let (kind, key) = engine
        .recognise_container(&input.url)
        .map_err(WatchError::Track)?;
    let spec = kind.spec();
    let plan = billing::workspace_plan(pool, workspace_id).await?;
    let template = check_template(
        pool,
        engine,
        workspace_id,
        &plan,
        spec,
        TemplateInput {
            poll_every_secs: input.poll_every_secs,
            interval_secs: input.interval_secs,
            track_for_days: input.track_for_days,
            label: input.label.as_deref(),
            alerts: input.alerts.as_deref().unwrap_or_default(),
            min_score: input.min_score,
            top_per_day: input.top_per_day,
        },
    )
    .await?;
    // Checked before reading anything (and again, under the lock, before saving).
    {
        let mut connection = pool.acquire().await?;
        billing::check_watch_room(&mut connection, workspace_id)
            .await?
            .map_err(WatchError::UpgradeRequired)?;
    }
    let known = store::find_container(pool, spec.kind, &key).await?;
    let (container, read) = match known {
        Some(found) => found,
        None => {
            let info = crate::server::tracking::http::interactive(
                engine.describe_container(kind.as_ref(), &key),
            )
            .await
            .map_err(|error| WatchError::Track(TrackError::Fetch(error)))?;
            match store::find_container(pool, spec.kind, &info.key).await? {
                Some(found) => found,
                None => (
                    store::upsert_container(pool, spec.kind, &info).await?,
                    false,
                ),
            }
        }
    };
    if !read {
        // The first read: what is there now is the watch's starting point.
        if let Some(claim) = store::claim_now(pool, container, LEASE).await? {
            let report = crate::server::tracking::http::interactive(read::read_container(
                pool, engine, claim, None,
            ))
            .await?;
            if let Some(error) = report.error {
                return Err(WatchError::Upstream(error));
            }
        }
    }
    let mut transaction = pool.begin().await?;
    billing::check_watch_room(&mut transaction, workspace_id)
        .await?
        .map_err(WatchError::UpgradeRequired)?;
    let created_by = created_by.map(|user| user.0);
    let (created, id) = match store::insert_watch(
        &mut transaction,
        workspace_id,
        container,
        &template,
        created_by,
    )
    .await?
    {
        Ok(id) => {
            store::record_existing(&mut *transaction, id).await?;
            (true, id)
        }
        Err(existing) => (false, existing),
    };
    store::schedule_container(&mut *transaction, container).await?;
    transaction.commit().await?;
    let detail = watch_detail(pool, workspace_id, id)
        .await?
        .ok_or(WatchError::NotFound)?;
    Ok((created, detail))
}

/// Watch `id` with the trackers it made and the items it did not track.
pub async fn watch_detail(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: WatchId,
) -> Result<Option<WatchDetail>, sqlx::Error> {
    let Some(watch) = store::get_watch(pool, workspace_id, id).await? else {
        return Ok(None);
    };
    let (trackers, history): (Vec<_>, Vec<_>) = store::watch_items(pool, workspace_id, id)
        .await?
        .into_iter()
        .partition(|item| item.state == WatchItemState::Tracked && item.tracker_id.is_some());
    Ok(Some(WatchDetail {
        watch,
        trackers,
        history,
    }))
}

/// Changes watch `id`'s template or pause. Fields are checked as when starting it.
pub async fn update_watch(
    pool: &PgPool,
    engine: &Engine,
    workspace_id: WorkspaceId,
    id: WatchId,
    edit: &WatchEdit,
) -> Result<WatchDetail, WatchError> {
    let watch = store::get_watch(pool, workspace_id, id)
        .await?
        .ok_or(WatchError::NotFound)?;
    let (current, paused) = store::load_template(pool, workspace_id, id)
        .await?
        .ok_or(WatchError::NotFound)?;
    let spec = crate::server::tracking::providers::container(&watch.kind)
        .ok_or_else(|| WatchError::Invalid(format!("`{}` is no longer watched", watch.kind)))?
        .spec();
    let plan = billing::workspace_plan(pool, workspace_id).await?;
    let label = match &edit.label {
        Some(label) => label.clone(),
        None => current
            .label
            .as_ref()
            .map(|label| label.as_str().to_string()),
    };
    let alerts = edit.alerts.clone().unwrap_or(current.alerts);
    let template = check_template(
        pool,
        engine,
        workspace_id,
        &plan,
        spec,
        TemplateInput {
            poll_every_secs: Some(
                edit.poll_every_secs
                    .unwrap_or(i64::from(current.poll_every_secs)),
            ),
            interval_secs: edit
                .interval_secs
                .unwrap_or(current.interval_secs.map(i64::from)),
            track_for_days: edit
                .track_for_days
                .unwrap_or(current.track_for_days.map(i64::from)),
            label: label.as_deref(),
            alerts: &alerts,
            min_score: edit.min_score.unwrap_or(current.min_score),
            top_per_day: edit
                .top_per_day
                .unwrap_or(current.top_per_day.map(i64::from)),
        },
    )
    .await?;
    let mut transaction = pool.begin().await?;
    let paused = edit.paused.unwrap_or(paused);
    if !store::update_watch(&mut transaction, workspace_id, id, &template, paused).await? {
        return Err(WatchError::NotFound);
    }
    transaction.commit().await?;
    watch_detail(pool, workspace_id, id)
        .await?
        .ok_or(WatchError::NotFound)
}

/// Stops watch `id`; the trackers it made stay.
pub async fn delete_watch(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: WatchId,
) -> Result<(), WatchError> {
    let mut transaction = pool.begin().await?;
    if !store::delete_watch(&mut transaction, workspace_id, id).await? {
        return Err(WatchError::NotFound);
    }
    transaction.commit().await?;
    Ok(())
}

/// "Look now": reads the watch's container and applies the watch at once, at most once a
/// minute per watch.
pub async fn look_now(
    pool: &PgPool,
    engine: &Engine,
    workspace_id: WorkspaceId,
    id: WatchId,
) -> Result<(ReadReport, WatchDetail), WatchError> {
    let watch = store::get_watch(pool, workspace_id, id)
        .await?
        .ok_or(WatchError::NotFound)?;
    if watch.paused {
        return Err(WatchError::Paused);
    }
    let container = match store::take_look_now(pool, workspace_id, id).await? {
        store::LookNow::Read(container) => container,
        store::LookNow::NotFound => return Err(WatchError::NotFound),
        store::LookNow::TooSoon(wait) => return Err(WatchError::TooSoon(wait)),
    };
    let claim = store::claim_now(pool, container, LEASE)
        .await?
        .ok_or(WatchError::Busy)?;
    let report = crate::server::tracking::http::interactive(read::read_container(
        pool,
        engine,
        claim,
        Some(id),
    ))
    .await?;
    if let Some(error) = &report.error {
        return Err(WatchError::Upstream(error.clone()));
    }
    let detail = watch_detail(pool, workspace_id, id)
        .await?
        .ok_or(WatchError::NotFound)?;
    Ok((report, detail))
}
