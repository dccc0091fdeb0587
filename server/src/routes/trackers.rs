//! `/api/v1/trackers`: add, list, read, change and delete trackers, and read their time
//! series. Everything is scoped to the caller's workspace: another workspace's tracker is
//! a 404. Errors are `{"error": "…", "code": "…"}`.

use app::{
    domain::TrackerId,
    server::{
        auth::Auth,
        state::AppState,
        tracking::{
            series::Series,
            service::{self, AddTracker, ServiceError, TrackerEdit},
            store,
        },
    },
};
use axum::{
    Extension, Json,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::errors::{ApiError, ApiQuery, ErrorBody, UpgradeRequiredBody, body};
use crate::extract::{ApiCaller, ApiPath, ApiWriter};
use crate::openapi::{CreatedTrackerBody, PollBody, PreviewBody, TrackerBody, TrackersBody};

#[utoipa::path(
    post, path = "/api/v1/trackers", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    request_body = AddTracker,
    responses(
        (status = 201, description = "Added.", body = CreatedTrackerBody),
        (status = 200, description = "The workspace already tracks it.", body = CreatedTrackerBody),
        (status = 402, description = "Past the plan's trackers or its shortest interval.", body = UpgradeRequiredBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "What is wrong with the request, or why the upstream could not be read.", body = ErrorBody),
        (status = 429, description = "Too many adds and previews this minute, or the upstream's budget is used up.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
/// `POST /api/v1/trackers`: `{"url": "…"}`, or `{"kind", "key"}`, or for any JSON API
/// `{"url", "metrics": {name: JMESPath}, "headers": [{name, value, secret}]}`; optional
/// `label`, `interval_secs`, `ends_at`. 201 with the tracker; 200 when the workspace
/// already tracks it; 422 naming what is wrong.
pub async fn create(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    request: Result<Json<AddTracker>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input = AddTracker {
        created_by: caller.user_id,
        ..body(request)?
    };
    let (created, tracker) =
        service::add_tracker(&state.pool, &state.engine, caller.workspace_id, &input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(CreatedTrackerBody { tracker, created })).into_response())
}

/// `POST /api/v1/trackers/preview` `{"url": …, "metrics": {name: expression}?}`: what
/// adding would track, fetched now and saved nowhere; a JSON API's document comes back
/// for picking values. The same 422s as adding.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    url: String,
    /// For a JSON API: metric name to JMESPath expression.
    #[serde(default)]
    metrics: std::collections::BTreeMap<String, String>,
}

#[utoipa::path(
    post, path = "/api/v1/trackers/preview", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "What adding would track, fetched now.", body = PreviewBody),
        (status = 402, description = "Past a plan's limit.", body = UpgradeRequiredBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "What is wrong with the request, or why the upstream could not be read.", body = ErrorBody),
        (status = 429, description = "Too many adds and previews this minute.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
pub async fn preview(
    State(state): State<AppState>,
    caller: ApiCaller,
    request: Result<Json<PreviewRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input = body(request)?;
    if input.url.trim().is_empty() {
        return Err(ApiError::invalid("`url` is empty"));
    }
    let found = service::preview(
        &state.pool,
        &state.engine,
        caller.workspace_id,
        input.url.trim(),
        input.metrics,
    )
    .await?;
    Ok(Json(PreviewBody::new(found)).into_response())
}

#[utoipa::path(
    get, path = "/api/v1/trackers", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    responses((status = 200, description = "Every tracker of the workspace.", body = TrackersBody)),
)]
/// `GET /api/v1/trackers`: every tracker of the workspace with its state and latest values.
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, ApiError> {
    let trackers = store::list_trackers(&state.pool, caller.workspace_id).await?;
    Ok(Json(TrackersBody { trackers }).into_response())
}

#[utoipa::path(
    get, path = "/api/v1/trackers/{id}", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id.")),
    responses(
        (status = 200, description = "The tracker.", body = TrackerBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/trackers/{id}`.
pub async fn show(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<TrackerId>,
) -> Result<Response, ApiError> {
    let tracker = store::get_tracker(&state.pool, caller.workspace_id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(TrackerBody { tracker }).into_response())
}

#[utoipa::path(
    patch, path = "/api/v1/trackers/{id}", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id.")),
    request_body = TrackerEdit,
    responses(
        (status = 200, description = "Changed.", body = TrackerBody),
        (status = 402, description = "An interval shorter than the plan's.", body = UpgradeRequiredBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "What is wrong with the change.", body = ErrorBody),
    ),
)]
/// `PATCH /api/v1/trackers/{id}`: label, paused, end date (`null` removes it), interval.
pub async fn update(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<TrackerId>,
    request: Result<Json<TrackerEdit>, JsonRejection>,
) -> Result<Response, ApiError> {
    let edit = body(request)?;
    let tracker =
        service::update_tracker(&state.pool, &state.engine, caller.workspace_id, id, &edit).await?;
    Ok(Json(TrackerBody { tracker }).into_response())
}

#[utoipa::path(
    delete, path = "/api/v1/trackers/{id}", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
    ),
)]
/// `DELETE /api/v1/trackers/{id}`: 204. The source's data stays for other workspaces.
pub async fn delete(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<TrackerId>,
) -> Result<Response, ApiError> {
    if store::delete_tracker(&state.pool, caller.workspace_id, id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found())
    }
}

#[utoipa::path(
    post, path = "/api/v1/trackers/{id}/poll", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id.")),
    responses(
        (status = 202, description = "Due now: the workers take it within seconds.", body = PollBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
        (status = 409, description = "Not polled now (paused or past its end date).", body = ErrorBody),
        (status = 429, description = "Polled on demand less than a minute ago.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
/// `POST /api/v1/trackers/{id}/poll`: "poll now". 202 `{"polling": true}`: the source is
/// due now and the workers take it within seconds; 429 with `Retry-After` when it was
/// asked less than a minute ago (by any workspace); 409 when it is not polled at all.
pub async fn poll_now(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<TrackerId>,
) -> Result<Response, ApiError> {
    match store::poll_now(&state.pool, caller.workspace_id, id).await? {
        store::PollNow::Queued => {
            Ok((StatusCode::ACCEPTED, Json(PollBody { polling: true })).into_response())
        }
        store::PollNow::NotFound => Err(ApiError::not_found()),
        store::PollNow::Inactive => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_polled",
            "This tracker is not polled now (paused or past its end date); resume it first.",
        )),
        store::PollNow::TooSoon(wait) => Err(ApiError::Ready(Box::new(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(axum::http::header::RETRY_AFTER, wait.to_string())],
                Json(json!({
                    "error": format!("This tracker was polled on demand less than a minute ago; try again in {wait} s."),
                    "code": "rate_limited",
                })),
            )
                .into_response(),
        ))),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// The metric (default: the tracker's first).
    metric: Option<String>,
    /// RFC 3339 (default: seven days before `to`).
    from: Option<String>,
    /// RFC 3339 (default: now).
    to: Option<String>,
    /// At most this many points (default 500).
    points: Option<String>,
    /// A time zone (`Europe/Berlin`): buckets of whole days start at its midnights.
    tz: Option<String>,
    /// A label (`plan`): the sum of the metric's series across it.
    sum: Option<String>,
}

pub fn time_param(
    name: &str,
    value: Option<&str>,
    default: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    match value {
        None => Ok(default),
        Some(text) => {
            let out_of_range =
                |reason: String| ApiError::new(StatusCode::BAD_REQUEST, "out_of_range", reason);
            // A signed or five-digit year (`+262143-12-31`) is a time out of range, not a
            // typo: it can never be a valid time here.
            let year_digits = text
                .trim_start_matches(['+', '-'])
                .chars()
                .take_while(char::is_ascii_digit)
                .count();
            if text.starts_with(['+', '-']) || year_digits > 4 {
                return Err(out_of_range(format!(
                    "`{name}` is out of range: times must fall in the years 1 to 9999"
                )));
            }
            let time = DateTime::parse_from_rfc3339(text)
                .map(|time| time.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::invalid(format!(
                        "`{name}` must be an RFC 3339 time such as 2026-01-31T12:00:00Z, not `{}`",
                        text.chars().take(64).collect::<String>()
                    ))
                })?;
            app::server::tracking::series::check_time(name, time).map_err(out_of_range)?;
            Ok(time)
        }
    }
}

#[utoipa::path(
    get, path = "/api/v1/trackers/{id}/series", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id."), SeriesParams),
    responses(
        (status = 200, description = "The series: raw samples, or buckets.", body = SeriesBody),
        (status = 400, description = "A time out of range, or a query string that cannot be read.", body = ErrorBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
        (status = 422, description = "A parameter that is not what it should be.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/trackers/{id}/series?metric=…&from=…&to=…&points=N`: at most N points
/// (default 500), raw samples when there are no more than N in the range, else buckets
/// with avg/min/max/last. `to` defaults to now, `from` to seven days before `to`; with
/// `tz=Europe/Berlin`, day buckets start at that zone's midnights; with `sum=plan`, the
/// sum of the metric's series across the label `plan` (a pushed metric's label sets).
pub async fn series(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<TrackerId>,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> Result<Response, ApiError> {
    let to = time_param("to", params.to.as_deref(), Utc::now())?;
    let from = time_param("from", params.from.as_deref(), to - Duration::days(7))?;
    let points = match params.points.as_deref() {
        None => 500,
        Some(text) => text
            .parse::<i64>()
            .map_err(|_| ApiError::invalid("`points` must be a whole number"))?,
    };
    let (
        metric,
        Series {
            resolution,
            bucket_secs,
            points,
        },
    ) = service::series(
        &state.pool,
        caller.workspace_id,
        id,
        service::SeriesRequest {
            metric: params.metric.as_deref(),
            from,
            to,
            points,
            zone: params.tz.as_deref().filter(|zone| !zone.is_empty()),
            sum: params.sum.as_deref().filter(|label| !label.is_empty()),
        },
    )
    .await?;
    Ok(Json(SeriesBody {
        metric: &metric,
        sum: params.sum.as_deref().filter(|label| !label.is_empty()),
        from,
        to,
        resolution,
        bucket_secs,
        points: &points,
    })
    .into_response())
}

/// A series answer, serialized straight from the points (no intermediate JSON tree).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SeriesBody<'a> {
    metric: &'a str,
    /// The label the series are summed across, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    sum: Option<&'a str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    resolution: app::server::tracking::series::Resolution,
    bucket_secs: Option<i64>,
    #[schema(value_type = Vec<app::server::tracking::series::Point>)]
    points: &'a [app::server::tracking::series::Point],
}

/// The dashboard's "Add a tracker" form.
#[derive(Debug, Default, Deserialize)]
pub struct AddTrackerForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    label: String,
    /// Seconds between polls; empty for the default.
    #[serde(default)]
    interval: String,
    /// The last day to poll (`YYYY-MM-DD`, UTC); empty for none.
    #[serde(default)]
    ends_on: String,
    /// For a JSON API: one `name: JMESPath expression` a line.
    #[serde(default)]
    metrics: String,
}

impl AddTrackerForm {
    /// The request the form describes, or the field at fault and why.
    fn to_request(&self) -> Result<AddTracker, (&'static str, String)> {
        use app::{domain::json_pick::parse_metric_lines, server::tracking::engine::TrackRequest};
        let url = self.url.trim();
        if url.is_empty() {
            return Err(("url", "Paste the link of the thing to track.".into()));
        }
        let interval_secs = match self.interval.trim() {
            "" => None,
            text => Some(
                text.parse::<i64>()
                    .map_err(|_| ("interval", format!("`{text}` is not a number of seconds")))?,
            ),
        };
        let ends_at = match self.ends_on.trim() {
            "" => None,
            text => {
                let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| ("ends_on", format!("`{text}` is not a date (YYYY-MM-DD)")))?;
                // Polling goes on until the end of that day.
                let end = day
                    .succ_opt()
                    .and_then(|next| next.and_hms_opt(0, 0, 0))
                    .ok_or(("ends_on", format!("`{text}` is too far away")))?;
                Some(end.and_utc())
            }
        };
        let metrics = parse_metric_lines(&self.metrics).map_err(|problem| ("metrics", problem))?;
        Ok(AddTracker {
            what: TrackRequest {
                url: Some(url.to_string()),
                metrics: (!metrics.is_empty()).then_some(metrics),
                ..TrackRequest::default()
            },
            label: Some(self.label.trim().to_string()).filter(|label| !label.is_empty()),
            interval_secs,
            ends_at,
            created_by: None,
        })
    }
}

const DASHBOARD: &str = "/dashboard";

/// `POST /dashboard/trackers` (the dashboard's form): adds a tracker by URL, then back to
/// the dashboard with a notice, or with the problem next to the field.
pub async fn add_from_form(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: tower_sessions::Session,
    form: Result<axum::Form<AddTrackerForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    use app::{api::flash::Flash, domain::NextPath, server::tracking::engine::TrackError};

    use super::forms::{redirect_with, unexpected};

    let Some(user) = auth.0 else {
        return axum::response::Redirect::to(&NextPath::sign_in_url(DASHBOARD)).into_response();
    };
    if let Err(refusal) = user.may(app::domain::Action::EditTrackers) {
        return super::forms::refused(&session, "add-tracker", refusal, DASHBOARD).await;
    }
    let axum::Form(form) = form.unwrap_or_default();
    let messages = Flash::for_form("add-tracker")
        .with_value("url", &form.url)
        .with_value("label", &form.label)
        .with_value("interval", &form.interval)
        .with_value("ends_on", &form.ends_on)
        .with_value("metrics", &form.metrics);
    let input = match form.to_request() {
        Ok(input) => AddTracker {
            created_by: Some(user.id),
            ..input
        },
        Err((field, problem)) => {
            let flash = messages.with_field_error(field, problem);
            return redirect_with(&session, flash, DASHBOARD).await;
        }
    };
    match service::add_tracker(&state.pool, &state.engine, user.workspace_id, &input).await {
        Ok((created, tracker)) => {
            let notice = if created {
                format!("Now tracking {}.", tracker.label)
            } else {
                format!("You already track {}.", tracker.label)
            };
            redirect_with(&session, Flash::notice(notice), DASHBOARD).await
        }
        Err(ServiceError::Database(error)) => {
            unexpected(&session, "add-tracker", DASHBOARD, error).await
        }
        Err(error) => {
            let field = match &error {
                ServiceError::Invalid(message) if message.contains("label") => "label",
                ServiceError::Invalid(message) if message.contains("interval") => "interval",
                ServiceError::UpgradeRequired(limit) if limit.limit == "interval" => "interval",
                ServiceError::Invalid(message) if message.contains("ends_at") => "ends_on",
                ServiceError::Track(TrackError::Invalid(message)) if message.contains("metric") => {
                    "metrics"
                }
                _ => "url",
            };
            let flash = messages.with_field_error(field, error.to_string());
            redirect_with(&session, flash, DASHBOARD).await
        }
    }
}

/// `POST /dashboard/trackers/{id}/share` and `/unshare` (the dashboard's buttons).
pub async fn sharing_from_form(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: tower_sessions::Session,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    use app::{api::flash::Flash, domain::NextPath};

    use super::forms::{either, no_such_action, redirect_with, unexpected};

    let Some(share) = either(&action, "share", "unshare") else {
        return no_such_action();
    };
    let Some(user) = auth.0 else {
        return axum::response::Redirect::to(&NextPath::sign_in_url(DASHBOARD)).into_response();
    };
    if let Err(refusal) = user.may(app::domain::Action::EditShares) {
        return super::forms::refused(&session, "add-tracker", refusal, DASHBOARD).await;
    }
    let missing = || Flash::notice("That tracker no longer exists.");
    let Ok(id) = id.parse::<TrackerId>() else {
        return redirect_with(&session, missing(), DASHBOARD).await;
    };
    let outcome = if share {
        store::share_tracker(&state.pool, user.workspace_id, id, Some(user.id))
            .await
            .map(|token| {
                token.map(|token| {
                    format!(
                        "Shared publicly: {}/s/{token}. Anyone with the link can see it.",
                        state.web.public_origin
                    )
                })
            })
    } else {
        store::unshare_tracker(&state.pool, user.workspace_id, id)
            .await
            .map(|done| {
                done.then(|| "No longer shared: its public page and badge are gone.".to_string())
            })
    };
    match outcome {
        Ok(Some(notice)) => redirect_with(&session, Flash::notice(notice), DASHBOARD).await,
        Ok(None) => redirect_with(&session, missing(), DASHBOARD).await,
        Err(error) => unexpected(&session, "add-tracker", DASHBOARD, error).await,
    }
}

/// `POST /trackers/{id}/poll`: the tracker page's "Poll now" button; back to the page
/// with what happened.
pub async fn poll_now_from_form(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: tower_sessions::Session,
    Path(id): Path<String>,
) -> Response {
    use app::{api::flash::Flash, domain::NextPath};

    use super::forms::{redirect_with, unexpected};

    let page = format!("/trackers/{}", id.trim());
    let Some(user) = auth.0 else {
        return axum::response::Redirect::to(&NextPath::sign_in_url(&page)).into_response();
    };
    if let Err(refusal) = user.may(app::domain::Action::EditTrackers) {
        return super::forms::refused(&session, "poll-now", refusal, &page).await;
    }
    let Ok(tracker) = id.parse::<TrackerId>() else {
        return redirect_with(
            &session,
            Flash::notice("That tracker no longer exists."),
            DASHBOARD,
        )
        .await;
    };
    let form = || Flash::for_form("poll-now");
    let flash = match store::poll_now(&state.pool, user.workspace_id, tracker).await {
        Ok(store::PollNow::Queued) => {
            Flash::notice("Polling now: the new values show here in a few seconds.")
        }
        Ok(store::PollNow::NotFound) => {
            return redirect_with(
                &session,
                Flash::notice("That tracker no longer exists."),
                DASHBOARD,
            )
            .await;
        }
        Ok(store::PollNow::Inactive) => {
            form().with_error("This tracker is not polled now (paused or past its end date).")
        }
        Ok(store::PollNow::TooSoon(wait)) => form().with_error(format!(
            "It was polled on demand less than a minute ago; try again in {wait} s."
        )),
        Err(error) => return unexpected(&session, "poll-now", &page, error).await,
    };
    redirect_with(&session, flash, &page).await
}
