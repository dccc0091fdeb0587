//! `/api/v1/trackers`: add, list, read, change and delete trackers, and read their time
//! series. Everything is scoped to the caller's workspace: another workspace's tracker is
//! a 404.

use app::{
    domain::TokenScope,
    server::{
        auth::Auth,
        state::AppState,
        tracking::{
            series::Series,
            service::{self, AddTracker, ServiceError},
            store,
        },
    },
};
use axum::{
    Extension, Json,
    extract::{Path, Query, State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use uuid::Uuid;

use super::api::{ApiCaller, caller, json_error, read_only};

fn service_error(error: ServiceError) -> Response {
    let (status, message) = match &error {
        ServiceError::Track(_) | ServiceError::Invalid(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
        }
        ServiceError::NotFound => (StatusCode::NOT_FOUND, "There is no such tracker.".into()),
        ServiceError::Database(inner) => {
            tracing::error!(error = %inner, "tracker request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.".into(),
            )
        }
    };
    (
        status,
        Json(json!({ "error": message, "code": error.code() })),
    )
        .into_response()
}

fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "There is no such tracker.")
}

async fn authorise(
    state: &AppState,
    headers: &HeaderMap,
    auth: Auth,
    write: bool,
) -> Result<ApiCaller, Response> {
    let caller = caller(state, headers, auth).await?;
    if write && caller.scope != TokenScope::Write {
        return Err(read_only());
    }
    Ok(caller)
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, Response> {
    body.map(|Json(value)| value).map_err(|rejection| {
        let status = if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        json_error(status, &rejection.body_text())
    })
}

fn tracker_id(id: &str) -> Result<Uuid, Response> {
    Uuid::parse_str(id).map_err(|_| not_found())
}

/// `POST /api/v1/trackers`: `{"url": "…"}`, or `{"kind", "key"}`, or for any JSON API
/// `{"url", "metrics": {name: JMESPath}, "headers": [{name, value, secret}]}`; optional
/// `label`, `interval_secs`, `ends_at`. 201 with the tracker; 200 when the workspace
/// already tracks it; 422 naming what is wrong.
pub async fn create(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    request: Result<Json<AddTracker>, JsonRejection>,
) -> Response {
    let caller = match authorise(&state, &headers, auth, true).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let input = match body(request) {
        Ok(input) => input,
        Err(response) => return response,
    };
    match service::add_tracker(&state.pool, &state.engine, caller.workspace_id, &input).await {
        Ok((created, tracker)) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(json!({ "tracker": tracker, "created": created }))).into_response()
        }
        Err(error) => service_error(error),
    }
}

/// `GET /api/v1/trackers`: every tracker of the workspace with its state and latest values.
pub async fn list(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
) -> Response {
    let caller = match authorise(&state, &headers, auth, false).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match store::list_trackers(&state.pool, caller.workspace_id).await {
        Ok(trackers) => Json(json!({ "trackers": trackers })).into_response(),
        Err(error) => service_error(error.into()),
    }
}

/// `GET /api/v1/trackers/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match authorise(&state, &headers, auth, false).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Ok(id) = tracker_id(&id) else {
        return not_found();
    };
    match store::get_tracker(&state.pool, caller.workspace_id, id).await {
        Ok(Some(tracker)) => Json(json!({ "tracker": tracker })).into_response(),
        Ok(None) => not_found(),
        Err(error) => service_error(error.into()),
    }
}

/// The fields `PATCH` may change; `ends_at: null` removes the end date.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackerPatch {
    label: Option<String>,
    paused: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    ends_at: Option<Option<DateTime<Utc>>>,
    interval_secs: Option<i64>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PATCH /api/v1/trackers/{id}`: label, paused, end date, interval.
pub async fn update(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    Path(id): Path<String>,
    request: Result<Json<TrackerPatch>, JsonRejection>,
) -> Response {
    let caller = match authorise(&state, &headers, auth, true).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Ok(id) = tracker_id(&id) else {
        return not_found();
    };
    let patch = match body(request) {
        Ok(patch) => patch,
        Err(response) => return response,
    };
    match service::update_tracker(
        &state.pool,
        &state.engine,
        caller.workspace_id,
        id,
        patch.label.as_deref(),
        patch.paused,
        patch.ends_at,
        patch.interval_secs,
    )
    .await
    {
        Ok(tracker) => Json(json!({ "tracker": tracker })).into_response(),
        Err(error) => service_error(error),
    }
}

/// `DELETE /api/v1/trackers/{id}`: 204. The source's data stays for other workspaces.
pub async fn delete(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match authorise(&state, &headers, auth, true).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Ok(id) = tracker_id(&id) else {
        return not_found();
    };
    match store::delete_tracker(&state.pool, caller.workspace_id, id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => not_found(),
        Err(error) => service_error(error.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct SeriesParams {
    metric: Option<String>,
    from: Option<String>,
    to: Option<String>,
    points: Option<String>,
}

fn time_param(name: &str, value: Option<&str>, default: DateTime<Utc>) -> Result<DateTime<Utc>, Response> {
    match value {
        None => Ok(default),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|_| {
                json_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("`{name}` must be an RFC 3339 time such as 2026-01-31T12:00:00Z, not `{text}`"),
                )
            }),
    }
}

/// `GET /api/v1/trackers/{id}/series?metric=…&from=…&to=…&points=N`: at most N points
/// (default 500), raw samples when there are no more than N in the range, else buckets
/// with avg/min/max/last. `to` defaults to now, `from` to seven days before `to`.
pub async fn series(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<SeriesParams>,
) -> Response {
    let caller = match authorise(&state, &headers, auth, false).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Ok(id) = tracker_id(&id) else {
        return not_found();
    };
    let to = match time_param("to", params.to.as_deref(), Utc::now()) {
        Ok(time) => time,
        Err(response) => return response,
    };
    let from = match time_param("from", params.from.as_deref(), to - Duration::days(7)) {
        Ok(time) => time,
        Err(response) => return response,
    };
    let points = match params.points.as_deref().map(str::parse::<i64>) {
        None => 500,
        Some(Ok(points)) => points,
        Some(Err(_)) => {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "`points` must be a whole number",
            );
        }
    };
    match service::series(
        &state.pool,
        caller.workspace_id,
        id,
        params.metric.as_deref(),
        from,
        to,
        points,
    )
    .await
    {
        Ok((metric, Series { resolution, bucket_secs, points })) => Json(json!({
            "metric": metric,
            "from": from,
            "to": to,
            "resolution": resolution,
            "bucket_secs": bucket_secs,
            "points": points,
        }))
        .into_response(),
        Err(error) => service_error(error),
    }
}
