//! Trackers for the pages: list them, add one by URL.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{ProviderKind, SourceState, TrackerId};

/// A tracker as the pages show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackerSummary {
    pub id: TrackerId,
    pub label: String,
    pub kind: ProviderKind,
    /// The provider's badge (from the registry).
    pub badge: ProviderBadge,
    pub title: String,
    pub url: String,
    pub state: SourceState,
    pub last_error: Option<String>,
    /// (metric, latest value), in the provider's order.
    pub latest: Vec<(String, Option<f64>)>,
    /// Set when shared publicly: the page is `/s/{token}`.
    pub share_token: Option<String>,
    /// When the source was last polled (RFC 3339 UTC).
    pub last_poll_at: Option<String>,
    /// The first metric's change over 24 hours and over 7 days, when it goes back that far.
    pub change_24h: Option<Change>,
    pub change_7d: Option<Change>,
    /// The first metric's hourly values over the last 7 days, oldest first.
    pub sparkline: Vec<f64>,
    /// Alerts the tracker's rules fired in the last 24 hours (the dashboard's bell).
    #[serde(default)]
    pub alerts_24h: u32,
    /// The email of the member who added it, when known.
    #[serde(default)]
    pub created_by: Option<String>,
    /// The email of the member who shared it publicly, when known.
    #[serde(default)]
    pub shared_by: Option<String>,
}

/// A small badge naming a provider: letters on a colour.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderBadge {
    /// The provider module: `github`.
    pub module: String,
    pub letters: String,
    /// `GitHub`.
    pub name: String,
    /// A CSS colour.
    pub colour: String,
}

#[cfg(feature = "ssr")]
impl ProviderBadge {
    /// The badge of `kind`'s provider module; a neutral one for a kind no module declares.
    pub fn of(kind: &ProviderKind) -> Self {
        if kind.as_str() == crate::server::push::KIND {
            return Self {
                module: "push".into(),
                letters: "P".into(),
                name: "Push source".into(),
                colour: "var(--accent)".into(),
            };
        }
        match crate::server::tracking::providers::module_of(kind) {
            Some(module) => Self::of_module(module),
            None => Self {
                module: String::new(),
                letters: "?".into(),
                name: kind.to_string(),
                colour: "var(--ink-soft)".into(),
            },
        }
    }
}

#[cfg(feature = "ssr")]
impl ProviderBadge {
    /// The badge a provider module declares.
    pub fn of_module(module: &crate::server::tracking::providers::Module) -> Self {
        Self {
            module: module.name.to_string(),
            letters: module.badge.letters.to_string(),
            name: module.badge.name.to_string(),
            colour: module.badge.colour.to_string(),
        }
    }
}

/// A change of a value: absolute, and in percent unless it started from zero.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub absolute: f64,
    pub percent: Option<f64>,
}

#[cfg(feature = "ssr")]
impl From<crate::server::tracking::store::TrackerView> for TrackerSummary {
    fn from(view: crate::server::tracking::store::TrackerView) -> Self {
        Self {
            id: view.id,
            label: view.label,
            badge: ProviderBadge::of(&view.source.kind),
            kind: view.source.kind,
            title: view.source.title,
            url: view.source.url,
            state: view.state,
            last_error: view.source.last_error,
            share_token: view.share_token,
            created_by: view.created_by,
            shared_by: view.shared_by,
            last_poll_at: view
                .source
                .last_poll_at
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            change_24h: None,
            change_7d: None,
            sparkline: Vec::new(),
            alerts_24h: 0,
            latest: view
                .metrics
                .into_iter()
                .map(|metric| (metric.name, metric.latest))
                .collect(),
        }
    }
}

/// The signed-in user, or the error every tracker server function answers without one.
#[cfg(feature = "ssr")]
pub(crate) async fn signed_in() -> Result<crate::server::auth::CurrentUser, ServerFnError> {
    use crate::server::auth::Auth;
    let axum::Extension(Auth(user)) = leptos_axum::extract::<axum::Extension<Auth>>().await?;
    user.ok_or_else(|| ServerFnError::new("Sign in to see your trackers."))
}

/// The trackers of the signed-in user's workspace, newest first.
#[server]
pub async fn list_trackers() -> Result<Vec<TrackerSummary>, ServerFnError> {
    use crate::server::{state::AppState, tracking::store};
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    use crate::server::tracking::series::{change_since, hourly_lasts};
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not list trackers");
        ServerFnError::new("Could not load your trackers. Please try again.")
    };
    let trackers = store::list_trackers(&state.pool, user.workspace_id)
        .await
        .map_err(failed)?;
    // The first metric of each: its trend from the hourly rollups.
    let now = chrono::Utc::now();
    let week = chrono::TimeDelta::days(7);
    let main: Vec<crate::domain::MetricId> = trackers
        .iter()
        .filter_map(|tracker| tracker.metrics.first().map(|metric| metric.id))
        .collect();
    let hourly = hourly_lasts(&state.pool, &main, now - week - chrono::TimeDelta::hours(3))
        .await
        .map_err(failed)?;
    // The bells: every tracker's alerts of the last 24 hours, in one statement.
    let fired = crate::server::alerts::events::counts_since(
        &state.pool,
        user.workspace_id,
        now - chrono::TimeDelta::hours(24),
    )
    .await
    .map_err(failed)?;
    Ok(trackers
        .into_iter()
        .map(|tracker| {
            let trend = tracker.metrics.first().map(|metric| {
                let points = hourly
                    .get(&metric.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                (points.to_vec(), metric.latest)
            });
            let mut summary = TrackerSummary::from(tracker);
            summary.alerts_24h = fired.get(&summary.id).copied().unwrap_or_default();
            if let Some((points, Some(latest))) = trend {
                let change = |period| {
                    change_since(&points, latest, now - period)
                        .map(|(absolute, percent)| Change { absolute, percent })
                };
                summary.change_24h = change(chrono::TimeDelta::hours(24));
                summary.change_7d = change(week);
                summary.sparkline = points
                    .iter()
                    .filter(|(time, _)| *time >= now - week)
                    .map(|(_, value)| *value)
                    .collect();
            }
            summary
        })
        .collect())
}

/// Adds a tracker for `url` to the signed-in user's workspace: the same checks as
/// `POST /api/v1/trackers`, and the same messages.
#[server]
pub async fn add_tracker(
    url: String,
    label: Option<String>,
    interval_secs: Option<i64>,
) -> Result<TrackerSummary, ServerFnError> {
    use crate::server::{
        state::AppState,
        tracking::{
            engine::TrackRequest,
            service::{self, AddTracker, ServiceError},
        },
    };
    let user = signed_in().await?;
    user.may(crate::domain::Action::EditTrackers)
        .map_err(|refusal| ServerFnError::new(refusal.to_string()))?;
    let state = expect_context::<AppState>();
    let input = AddTracker {
        what: TrackRequest {
            url: Some(url),
            ..TrackRequest::default()
        },
        label: label.filter(|label| !label.trim().is_empty()),
        interval_secs,
        ends_at: None,
        created_by: Some(user.id),
    };
    match service::add_tracker(&state.pool, &state.engine, user.workspace_id, &input).await {
        Ok((_, tracker)) => Ok(tracker.into()),
        Err(ServiceError::Database(error)) => {
            tracing::error!(error = %error, "could not add a tracker");
            Err(ServerFnError::new(
                "Something went wrong on our side. Please try again.",
            ))
        }
        Err(error) => Err(ServerFnError::new(error.to_string())),
    }
}

/// Kept under `api` for the add form; the type lives in `domain`.
pub use crate::domain::Preview;

/// The live preview of adding `url` (with `metrics`, one `name: expression` a line, for a
/// JSON API). `Ok(Err(problem))` is the exact problem in words: not recognised, not found,
/// a credential the server lacks, the upstream down.
#[server]
pub async fn preview_tracker(
    url: String,
    metrics: String,
) -> Result<Result<Preview, String>, ServerFnError> {
    use crate::server::{state::AppState, tracking::service};
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    if url.trim().is_empty() {
        return Ok(Err("Paste the link of the thing to track.".into()));
    }
    let metrics = match crate::domain::json_pick::parse_metric_lines(&metrics) {
        Ok(metrics) => metrics,
        Err(problem) => return Ok(Err(problem)),
    };
    match service::preview(
        &state.pool,
        &state.engine,
        user.workspace_id,
        url.trim(),
        metrics,
    )
    .await
    {
        Ok(preview) => Ok(Ok(preview)),
        Err(service::ServiceError::Database(error)) => {
            tracing::error!(error = %error, "could not preview a tracker");
            Err(ServerFnError::new(
                "Something went wrong on our side. Please try again.",
            ))
        }
        Err(error) => Ok(Err(error.to_string())),
    }
}

/// The choices of the add form: the poll intervals this server allows, in seconds, and
/// the default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormOptions {
    pub intervals: Vec<i64>,
    pub default_interval: i64,
    /// The shortest interval the workspace's plan allows; shorter ones need an upgrade.
    pub plan_min_interval: i64,
    pub plan_name: String,
    /// What links the form takes, from the provider registry.
    pub hint: String,
}

#[server]
pub async fn tracker_form_options() -> Result<FormOptions, ServerFnError> {
    use crate::server::{state::AppState, tracking::service::MAX_INTERVAL_SECS};
    let user = signed_in().await?;
    let state = expect_context::<AppState>();
    let plan = crate::server::billing::store::workspace_plan(&state.pool, user.workspace_id)
        .await
        .map_err(|error| {
            tracing::error!(error = %error, "could not read the workspace's plan");
            ServerFnError::new("Could not load the form. Please reload the page.")
        })?;
    let plan_min_interval = i64::from(plan.min_interval_secs);
    let config = state.engine.config();
    let min = config.min_interval.as_secs() as i64;
    let default_interval = (config.default_interval.as_secs() as i64).max(plan_min_interval);
    let mut intervals: Vec<i64> = [60, 300, 900, 1_800, 3_600, 6 * 3_600, 86_400]
        .into_iter()
        .filter(|secs| (min..=MAX_INTERVAL_SECS).contains(secs))
        .collect();
    for extra in [min, default_interval] {
        if !intervals.contains(&extra) {
            intervals.push(extra);
        }
    }
    intervals.sort_unstable();
    Ok(FormOptions {
        intervals,
        default_interval,
        plan_min_interval,
        plan_name: plan.name,
        hint: crate::server::tracking::providers::link_hint(),
    })
}
