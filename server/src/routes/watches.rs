//! Watches: `GET/POST /api/v1/watches`, `GET/PATCH/DELETE /api/v1/watches/{id}` and
//! `POST /api/v1/watches/{id}/poll` ("look now").

use app::{
    domain::{
        Action, WatchId,
        watch::{WatchDetail, WatchItemView, WatchView},
    },
    server::{
        state::AppState,
        watches::{
            WatchError,
            read::ReadReport,
            service::{self, NewWatch, WatchEdit},
            store,
        },
    },
};
use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::errors::{ApiError, ErrorBody, UpgradeRequiredBody, body, upgrade_required};
use crate::extract::{ApiCaller, ApiPath, ApiWriter};

/// `{"watches": [...]}`, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchesBody {
    pub watches: Vec<WatchView>,
}

/// `{"watch": {...}, "trackers": [...], "history": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchBody {
    pub watch: WatchView,
    /// The trackers it made (`tracker_id`, item `url` and `title`, latest value), newest
    /// first.
    pub trackers: Vec<WatchItemView>,
    /// The items it did not track: there before it began, skipped at the plan's limit,
    /// failed, or tracked and deleted since.
    pub history: Vec<WatchItemView>,
}

impl From<WatchDetail> for WatchBody {
    fn from(detail: WatchDetail) -> Self {
        Self {
            watch: detail.watch,
            trackers: detail.trackers,
            history: detail.history,
        }
    }
}

/// The answer of "look now": what the read found, and the watch.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookBody {
    /// Items the container listed, trackers made, items skipped at the plan's limit and
    /// items that could not be tracked.
    pub listed: usize,
    pub tracked: usize,
    pub skipped: usize,
    pub failed: usize,
    pub watch: WatchView,
    pub trackers: Vec<WatchItemView>,
    pub history: Vec<WatchItemView>,
}

impl From<WatchError> for ApiError {
    fn from(error: WatchError) -> Self {
        let code = error.code();
        match &error {
            WatchError::Track(_) | WatchError::Invalid(_) | WatchError::Upstream(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, error.to_string())
            }
            WatchError::NotFound => Self::not_found(),
            WatchError::UpgradeRequired(limit) => {
                ApiError::Ready(Box::new(upgrade_required(limit)))
            }
            WatchError::TooSoon(wait) => ApiError::Ready(Box::new(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(axum::http::header::RETRY_AFTER, wait.to_string())],
                    Json(ErrorBody {
                        error: error.to_string(),
                        code: Some(code.to_string()),
                    }),
                )
                    .into_response(),
            )),
            WatchError::Paused | WatchError::Busy => {
                Self::new(StatusCode::CONFLICT, code, error.to_string())
            }
            WatchError::Database(inner) => {
                tracing::error!(error = %inner, "watch request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "Something went wrong on our side.",
                )
            }
        }
    }
}

#[utoipa::path(
    get, path = "/api/v1/watches", tag = "watches",
    security(("api_token" = []), ("session" = [])),
    responses((status = 200, description = "Every watch of the workspace, newest first.", body = WatchesBody)),
)]
/// `GET /api/v1/watches`.
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, ApiError> {
    let watches = store::list_watches(&state.pool, caller.workspace_id).await?;
    Ok(Json(WatchesBody { watches }).into_response())
}

#[utoipa::path(
    post, path = "/api/v1/watches", tag = "watches",
    security(("api_token" = []), ("session" = [])),
    request_body = NewWatch,
    responses(
        (status = 201, description = "Watching: what the container lists now is its starting point; what it publishes next becomes trackers.", body = WatchBody),
        (status = 200, description = "The workspace already watches it.", body = WatchBody),
        (status = 402, description = "Past the plan's watches, or an interval shorter than the plan's.", body = UpgradeRequiredBody),
        (status = 403, description = "The caller's role may not change trackers.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "Not a link Upcount can watch, a wrong field, or a container that does not exist or cannot be read.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/watches`: `{"url", "poll_every_secs"?, "interval_secs"?,
/// "track_for_days"?, "label"?, "alerts"?, "min_score"?, "top_per_day"?}`.
pub async fn create(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    request: Result<Json<NewWatch>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.may(Action::EditTrackers)?;
    let input = body(request)?;
    let (created, detail) = service::create_watch(
        &state.pool,
        &state.engine,
        caller.workspace_id,
        caller.user_id,
        &input,
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(WatchBody::from(detail))).into_response())
}

#[utoipa::path(
    get, path = "/api/v1/watches/{id}", tag = "watches",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The watch's id.")),
    responses(
        (status = 200, description = "The watch, the trackers it made and the items it did not track.", body = WatchBody),
        (status = 404, description = "No such watch in this workspace.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/watches/{id}`.
pub async fn show(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<WatchId>,
) -> Result<Response, ApiError> {
    let detail = service::watch_detail(&state.pool, caller.workspace_id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(WatchBody::from(detail)).into_response())
}

#[utoipa::path(
    patch, path = "/api/v1/watches/{id}", tag = "watches",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The watch's id.")),
    request_body = WatchEdit,
    responses(
        (status = 200, description = "Changed: new items are tracked with the new template.", body = WatchBody),
        (status = 402, description = "An interval shorter than the plan's.", body = UpgradeRequiredBody),
        (status = 403, description = "The caller's role may not change trackers.", body = ErrorBody),
        (status = 404, description = "No such watch in this workspace.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "What is wrong with the change.", body = ErrorBody),
    ),
)]
/// `PATCH /api/v1/watches/{id}`: the template, `paused`.
pub async fn update(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<WatchId>,
    request: Result<Json<WatchEdit>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.may(Action::EditTrackers)?;
    let edit = body(request)?;
    let detail =
        service::update_watch(&state.pool, &state.engine, caller.workspace_id, id, &edit).await?;
    Ok(Json(WatchBody::from(detail)).into_response())
}

#[utoipa::path(
    delete, path = "/api/v1/watches/{id}", tag = "watches",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The watch's id.")),
    responses(
        (status = 204, description = "Stopped; the trackers it made stay."),
        (status = 403, description = "The caller's role may not change trackers.", body = ErrorBody),
        (status = 404, description = "No such watch in this workspace.", body = ErrorBody),
    ),
)]
/// `DELETE /api/v1/watches/{id}`: 204; its trackers stay.
pub async fn delete(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<WatchId>,
) -> Result<Response, ApiError> {
    caller.may(Action::EditTrackers)?;
    service::delete_watch(&state.pool, caller.workspace_id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post, path = "/api/v1/watches/{id}/poll", tag = "watches",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The watch's id.")),
    responses(
        (status = 200, description = "Looked now: what the container listed and the trackers made.", body = LookBody),
        (status = 403, description = "The caller's role may not change trackers.", body = ErrorBody),
        (status = 404, description = "No such watch in this workspace.", body = ErrorBody),
        (status = 409, description = "Paused, or the container is being read right now.", body = ErrorBody),
        (status = 422, description = "The container could not be read.", body = ErrorBody),
        (status = 429, description = "Looked now less than a minute ago.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
/// `POST /api/v1/watches/{id}/poll`: reads the container now and tracks what is new, at
/// most once a minute.
pub async fn look_now(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<WatchId>,
) -> Result<Response, ApiError> {
    caller.may(Action::EditTrackers)?;
    let (report, detail): (ReadReport, WatchDetail) =
        service::look_now(&state.pool, &state.engine, caller.workspace_id, id).await?;
    Ok(Json(LookBody {
        listed: report.listed,
        tracked: report.tracked,
        skipped: report.skipped,
        failed: report.failed,
        watch: detail.watch,
        trackers: detail.trackers,
        history: detail.history,
    })
    .into_response())
}
