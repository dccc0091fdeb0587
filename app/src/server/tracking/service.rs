//! What users do with trackers, shared by the REST API and server functions: validation,
//! the existence check, and the first sample.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgPool;

use crate::domain::{MetricId, Preview, ProviderKind, SourceId, TrackerId, WorkspaceId};

use crate::server::billing::store::{self as billing, UpgradeRequired};

use super::{
    Engine, FetchError, Readings,
    engine::{TrackError, TrackRequest},
    series::{self, Series},
    store::{self, Added, MetricView, TrackerChanges, TrackerView},
};

/// Longest interval and label.
pub const MAX_INTERVAL_SECS: i64 = 30 * 86_400;
pub const MAX_LABEL_CHARS: usize = 200;

/// A request to add a tracker.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AddTracker {
    #[serde(flatten)]
    pub what: TrackRequest,
    pub label: Option<String>,
    pub interval_secs: Option<i64>,
    pub ends_at: Option<DateTime<Utc>>,
    /// The member adding it (set by the handler, never read from the request).
    #[serde(skip)]
    #[schema(ignore)]
    pub created_by: Option<crate::domain::UserId>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request cannot be tracked: unrecognised, not found, upstream down…
    #[error("{}", describe(.0))]
    Track(TrackError),
    /// A field is wrong.
    #[error("{0}")]
    Invalid(String),
    /// No such tracker in the workspace.
    #[error("there is no such tracker")]
    NotFound,
    /// The workspace's plan does not allow it.
    #[error("{0}")]
    UpgradeRequired(UpgradeRequired),
    /// The workspace made too many previews and adds in the last minute.
    #[error("{}", .0.message("previews and adds"))]
    Throttled(crate::server::rate_limit::Limited),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl ServiceError {
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Track(error) => error.code(),
            ServiceError::Invalid(_) => "invalid",
            ServiceError::NotFound => "not_found",
            ServiceError::UpgradeRequired(_) => "upgrade_required",
            ServiceError::Throttled(_) => "rate_limited",
            ServiceError::Database(_) => "internal",
        }
    }
}

/// A sentence for people, naming what went wrong and where.
pub fn describe(error: &TrackError) -> String {
    match error {
        TrackError::Unrecognised(message) | TrackError::Invalid(message) => message.clone(),
        TrackError::NotConfigured(message) => {
            format!("This server cannot track that yet: {message}.")
        }
        TrackError::Fetch(fetch) => match fetch {
            FetchError::Gone(message) => format!("Not found: {message}."),
            FetchError::Unavailable(message) => {
                format!("The upstream is not answering ({message}); please try again later.")
            }
            FetchError::RateLimited { message, .. } => {
                format!("The upstream is rate-limiting us ({message}); please try again later.")
            }
            FetchError::Parse { message, .. } => format!("Unexpected answer: {message}."),
            FetchError::Refused(message) => format!("Not allowed: {message}."),
            FetchError::NotConfigured(message) => {
                format!("This server cannot track that yet: {message}.")
            }
            FetchError::Invalid(message) => format!("{message}."),
            FetchError::Throttled {
                message,
                retry_after,
            } => format!(
                "Upcount is {message}; please try again in {} s.",
                retry_after.as_secs().max(1)
            ),
        },
    }
}

fn check_label(label: &str) -> Result<String, ServiceError> {
    let label = label.trim();
    if label.is_empty()
        || label.chars().count() > MAX_LABEL_CHARS
        || label.chars().any(char::is_control)
    {
        return Err(ServiceError::Invalid(format!(
            "`label` must be 1 to {MAX_LABEL_CHARS} characters, without control characters"
        )));
    }
    Ok(label.to_string())
}

fn check_interval(engine: &Engine, interval: i64) -> Result<i32, ServiceError> {
    let min = engine.config().min_interval.as_secs() as i64;
    if !(min..=MAX_INTERVAL_SECS).contains(&interval) {
        return Err(ServiceError::Invalid(format!(
            "`interval_secs` must be from {min} to {MAX_INTERVAL_SECS} seconds"
        )));
    }
    i32::try_from(interval)
        .map_err(|_| ServiceError::Invalid("`interval_secs` is too large".into()))
}

fn check_end(ends_at: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>, ServiceError> {
    match ends_at {
        Some(end) if end <= Utc::now() => Err(ServiceError::Invalid(
            "`ends_at` must be in the future".into(),
        )),
        other => Ok(other),
    }
}

/// Adds a tracker: recognises the request, checks that the thing exists (metadata) and
/// takes its first sample, then creates or reuses the source and the tracker. Nothing is
/// written when any step fails. `Ok((false, tracker))` when the workspace already tracked
/// it.
pub async fn add_tracker(
    pool: &PgPool,
    engine: &Engine,
    workspace_id: WorkspaceId,
    input: &AddTracker,
) -> Result<(bool, TrackerView), ServiceError> {
    take_preview_quota(pool, engine, workspace_id).await?;
    super::http::interactive(add_tracker_now(pool, engine, workspace_id, input)).await
}

/// Adds a tracker for a watch's new item: as [`add_tracker`], without taking from the
/// workspace's preview quota (a watch adds what it finds, not what someone pasted).
pub async fn add_tracker_for_watch(
    pool: &PgPool,
    engine: &Engine,
    workspace_id: WorkspaceId,
    input: &AddTracker,
) -> Result<(bool, TrackerView), ServiceError> {
    add_tracker_now(pool, engine, workspace_id, input).await
}

/// One preview or add from the workspace's `UPCOUNT_PREVIEWS_PER_MIN`, or why not.
async fn take_preview_quota(
    pool: &PgPool,
    engine: &Engine,
    workspace_id: WorkspaceId,
) -> Result<(), ServiceError> {
    let quota = crate::server::rate_limit::Quota {
        attempts: engine.config().previews_per_minute.max(1),
        period: std::time::Duration::from_secs(60),
    };
    crate::server::rate_limit::take(pool, &format!("preview:{workspace_id}"), quota)
        .await?
        .map_err(ServiceError::Throttled)
}

async fn add_tracker_now(
    pool: &PgPool,
    engine: &Engine,
    workspace_id: WorkspaceId,
    input: &AddTracker,
) -> Result<(bool, TrackerView), ServiceError> {
    let label = input.label.as_deref().map(check_label).transpose()?;
    let plan = billing::workspace_plan(pool, workspace_id).await?;
    // Without a choice, the default interval, or the plan's shortest when that is longer.
    let interval = check_interval(
        engine,
        input.interval_secs.unwrap_or_else(|| {
            (engine.config().default_interval.as_secs() as i64)
                .max(i64::from(plan.min_interval_secs))
        }),
    )?;
    billing::check_interval(&plan, i64::from(interval)).map_err(ServiceError::UpgradeRequired)?;
    let ends_at = check_end(input.ends_at)?;
    // Checked before fetching anything (and again, under a lock, before saving).
    if billing::active_trackers(pool, workspace_id).await? >= i64::from(plan.max_trackers) {
        let mut connection = pool.acquire().await?;
        billing::check_tracker_room(&mut connection, workspace_id)
            .await?
            .map_err(ServiceError::UpgradeRequired)?;
    }

    let resolved = engine.resolve(&input.what).map_err(ServiceError::Track)?;
    let provider = resolved.provider;
    let metadata = engine
        .metadata(provider.as_ref(), &resolved.source)
        .await
        .map_err(|error| ServiceError::Track(TrackError::Fetch(error)))?;
    let mut source = resolved.source;
    source.key = metadata.key.clone();
    let readings = first_readings(engine, provider.as_ref(), &source).await?;

    let metrics = provider.metrics(&source);
    let label = label.unwrap_or_else(|| metadata.title.chars().take(MAX_LABEL_CHARS).collect());
    let label = if label.trim().is_empty() {
        metadata.key.chars().take(MAX_LABEL_CHARS).collect()
    } else {
        label
    };
    // The source, the tracker, its schedule and the first sample, all or nothing.
    let mut transaction = pool.begin().await?;
    let source_id = store::upsert_source(
        &mut transaction,
        provider.kind(),
        &metadata,
        &resolved.stored_config,
        &metrics,
    )
    .await?;
    let tracked = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM trackers WHERE workspace_id = $1 AND source_id = $2)
                  AS "tracked!""#,
        workspace_id as WorkspaceId,
        source_id as SourceId,
    )
    .fetch_one(&mut *transaction)
    .await?;
    if !tracked {
        billing::check_tracker_room(&mut transaction, workspace_id)
            .await?
            .map_err(ServiceError::UpgradeRequired)?;
    }
    let added = store::add_tracker(
        &mut transaction,
        workspace_id,
        source_id,
        &label,
        interval,
        ends_at,
        input.created_by,
    )
    .await?;
    let (created, id) = match added {
        Added::Created(id) => (true, id),
        Added::AlreadyTracked(id) => (false, id),
    };
    if created {
        // History on day one, for a source nobody polled before (before the first sample,
        // which counts as a poll).
        if provider.history_from().is_some() {
            store::request_backfill(&mut transaction, source_id).await?;
        }
        store::record_first_sample(&mut transaction, source_id, &readings).await?;
    }
    transaction.commit().await?;
    let tracker = store::get_tracker(pool, workspace_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok((created, tracker))
}

async fn first_readings(
    engine: &Engine,
    provider: &dyn super::providers::Provider,
    source: &super::SourceRef,
) -> Result<Readings, ServiceError> {
    let fetch_error = |error| ServiceError::Track(TrackError::Fetch(error));
    let mut outcomes = engine
        .fetch(provider, std::slice::from_ref(source))
        .await
        .map_err(fetch_error)?;
    match outcomes.pop() {
        Some(Ok(readings)) => Ok(readings),
        Some(Err(error)) => Err(fetch_error(error)),
        None => Err(fetch_error(FetchError::Invalid(
            "the provider answered nothing".into(),
        ))),
    }
}

/// Changes to a tracker (`PATCH`); a field left out stays as it is, and `ends_at: null`
/// removes the end date.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackerEdit {
    pub label: Option<String>,
    pub paused: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    pub interval_secs: Option<i64>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Changes a tracker. Fields are checked as when adding.
pub async fn update_tracker(
    pool: &PgPool,
    engine: &Engine,
    workspace_id: WorkspaceId,
    id: TrackerId,
    edit: &TrackerEdit,
) -> Result<TrackerView, ServiceError> {
    let changes = TrackerChanges {
        label: edit.label.as_deref().map(check_label).transpose()?,
        paused: edit.paused,
        ends_at: match edit.ends_at {
            Some(end) => Some(check_end(end)?),
            None => None,
        },
        interval_secs: edit
            .interval_secs
            .map(|interval| check_interval(engine, interval))
            .transpose()?,
    };
    let mut transaction = pool.begin().await?;
    let plan = billing::workspace_plan(&mut *transaction, workspace_id).await?;
    if let Some(interval) = changes.interval_secs {
        billing::check_interval(&plan, i64::from(interval))
            .map_err(ServiceError::UpgradeRequired)?;
    }
    if edit.paused == Some(false) {
        let paused = sqlx::query_scalar!(
            "SELECT paused FROM trackers WHERE workspace_id = $1 AND id = $2",
            workspace_id as WorkspaceId,
            id as TrackerId,
        )
        .fetch_optional(&mut *transaction)
        .await?;
        // Resuming makes one more active tracker.
        if paused == Some(true) {
            billing::check_tracker_room(&mut transaction, workspace_id)
                .await?
                .map_err(ServiceError::UpgradeRequired)?;
        }
    }
    if !store::update_tracker(&mut transaction, workspace_id, id, &changes).await? {
        return Err(ServiceError::NotFound);
    }
    transaction.commit().await?;
    store::get_tracker(pool, workspace_id, id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// What a series request asks for.
#[derive(Debug, Clone, Copy)]
pub struct SeriesRequest<'a> {
    /// The metric's name; the tracker's first metric when `None`.
    pub metric: Option<&'a str>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub points: i64,
    /// A time zone for day buckets (`Europe/Berlin`).
    pub zone: Option<&'a str>,
    /// A label to sum the metric's series across (see [`MetricView::summed_across`]).
    pub sum: Option<&'a str>,
}

/// A tracker's series for one metric (the first when none is named), or the sum of its
/// series across one label.
pub async fn series(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: TrackerId,
    request: SeriesRequest<'_>,
) -> Result<(String, Series), ServiceError> {
    let SeriesRequest {
        metric,
        from,
        to,
        points,
        zone,
        sum,
    } = request;
    if let Some(zone) = zone
        && !series::zone_exists(pool, zone).await?
    {
        return Err(ServiceError::Invalid(format!(
            "`tz` must be a time zone name such as Europe/Berlin, not `{zone}`"
        )));
    }
    if from > to {
        return Err(ServiceError::Invalid(
            "`from` must not be after `to`".into(),
        ));
    }
    if !(1..=series::MAX_POINTS).contains(&points) {
        return Err(ServiceError::Invalid(format!(
            "`points` must be from 1 to {}",
            series::MAX_POINTS
        )));
    }
    if let Some(label) = sum {
        return summed_series(
            pool,
            workspace_id,
            id,
            metric,
            label,
            (from, to, points, zone),
        )
        .await;
    }
    let metrics = store::tracker_metrics(pool, workspace_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let chosen = match metric {
        Some(name) => metrics.iter().find(|(_, candidate)| candidate == name),
        None => metrics.first(),
    };
    let Some((metric_id, name)) = chosen else {
        let names: Vec<&str> = metrics.iter().map(|(_, name)| name.as_str()).collect();
        return Err(ServiceError::Invalid(format!(
            "this tracker has no metric `{}`; its metrics: {}",
            metric.unwrap_or_default(),
            names.join(", ")
        )));
    };
    let series = series::read_in_zone(pool, *metric_id, from, to, points, zone).await?;
    Ok((name.clone(), series))
}

/// [`series`] summed across `label`: the chosen metric's series and those whose other
/// labels are its own.
async fn summed_series(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: TrackerId,
    metric: Option<&str>,
    label: &str,
    (from, to, points, zone): (DateTime<Utc>, DateTime<Utc>, i64, Option<&str>),
) -> Result<(String, Series), ServiceError> {
    let tracker = store::get_tracker(pool, workspace_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let chosen = match metric {
        Some(name) => tracker
            .metrics
            .iter()
            .find(|candidate| candidate.name == name),
        None => tracker.metrics.first(),
    };
    let Some(chosen) = chosen else {
        let names: Vec<&str> = tracker
            .metrics
            .iter()
            .map(|metric| metric.name.as_str())
            .collect();
        return Err(ServiceError::Invalid(format!(
            "this tracker has no metric `{}`; its metrics: {}",
            metric.unwrap_or_default(),
            names.join(", ")
        )));
    };
    let Some(members) = chosen.summed_across(&tracker.metrics, label) else {
        let names = MetricView::label_names(&tracker.metrics, &chosen.family);
        return Err(ServiceError::Invalid(if names.is_empty() {
            format!(
                "`sum`: the series of `{}` have no labels to sum across",
                chosen.family
            )
        } else {
            format!(
                "`sum`: the series of `{}` have no label `{label}`; their labels: {}",
                chosen.family,
                names.join(", ")
            )
        }));
    };
    let ids: Vec<MetricId> = members.iter().map(|member| member.id).collect();
    let series = series::read_sum_in_zone(pool, &ids, from, to, points, zone).await?;
    Ok((chosen.name.clone(), series))
}

/// What adding `url` (with `metrics` for a JSON API) would track, fetched now and saved
/// nowhere: the add form's live preview. A link no provider recognises is fetched as a
/// JSON API, and its document comes back for picking values from.
pub async fn preview(
    pool: &PgPool,
    engine: &Engine,
    workspace_id: WorkspaceId,
    url: &str,
    metrics: BTreeMap<String, String>,
) -> Result<Preview, ServiceError> {
    // The limits are the add's, checked before anything is fetched or counted.
    crate::domain::json_pick::check_limits(&metrics).map_err(ServiceError::Invalid)?;
    take_preview_quota(pool, engine, workspace_id).await?;
    super::http::interactive(preview_now(engine, url, metrics)).await
}

async fn preview_now(
    engine: &Engine,
    url: &str,
    metrics: BTreeMap<String, String>,
) -> Result<Preview, ServiceError> {
    let track = |error| ServiceError::Track(error);
    let fetch = |error| ServiceError::Track(TrackError::Fetch(error));
    let recognised = if metrics.is_empty() {
        match engine.recognise(url) {
            Ok(_) => true,
            Err(TrackError::Unrecognised(_)) => false,
            Err(error) => return Err(track(error)),
        }
    } else {
        false
    };
    if recognised {
        let resolved = engine
            .resolve(&TrackRequest {
                url: Some(url.to_string()),
                ..TrackRequest::default()
            })
            .map_err(track)?;
        let provider = resolved.provider;
        let metadata = engine
            .metadata(provider.as_ref(), &resolved.source)
            .await
            .map_err(fetch)?;
        let mut source = resolved.source;
        source.key = metadata.key.clone();
        let readings = first_readings(engine, provider.as_ref(), &source).await?;
        let values = provider
            .metrics(&source)
            .into_iter()
            .map(|spec| {
                let value = readings.value_of(&spec.name);
                (spec.name, spec.unit, value)
            })
            .collect();
        return Ok(Preview {
            kind: provider.provider_kind(),
            provider: provider.label().to_string(),
            title: metadata.title,
            author: metadata.author,
            url: metadata.url,
            values,
            problems: readings
                .errors
                .into_iter()
                .map(|(name, reason)| format!("{name}: {reason}"))
                .collect(),
            document: None,
        });
    }
    // Anything else is a JSON API: fetch the document (through the address guard).
    let document = match engine.fetch_json(url).await {
        Ok(document) => document,
        // A link no provider knows that is no JSON API either: say both.
        Err(error) if metrics.is_empty() => {
            let as_json = match &error {
                TrackError::Fetch(FetchError::Parse { .. }) => {
                    "it does not answer with JSON.".to_string()
                }
                other => format!("read as a JSON API: {}", describe(other)),
            };
            return Err(track(TrackError::Unrecognised(format!(
                "Upcount does not recognise {url}, and {as_json} It knows {} links, and any \
                 JSON API.",
                super::providers::recognised_names()
            ))));
        }
        Err(error) => return Err(track(error)),
    };
    let mut values = Vec::new();
    let mut problems = Vec::new();
    for (name, expression) in &metrics {
        if let Err(reason) = super::providers::json::check_metric_name(name) {
            problems.push(reason);
            values.push((name.clone(), String::new(), None));
            continue;
        }
        match crate::domain::json_pick::number_at(expression, &document) {
            Ok(value) => values.push((name.clone(), String::new(), Some(value))),
            Err(reason) => {
                problems.push(format!("{name}: {reason}"));
                values.push((name.clone(), String::new(), None));
            }
        }
    }
    let parsed = url::Url::parse(&engine.normalise_url(url).map_err(track)?)
        .map_err(|error| ServiceError::Invalid(error.to_string()))?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    Ok(Preview {
        kind: ProviderKind::json(),
        provider: "JSON API".to_string(),
        title: format!("{host}{}", parsed.path().trim_end_matches('/')),
        author: None,
        url: parsed.to_string(),
        values,
        problems,
        document: Some(document.to_string()),
    })
}
