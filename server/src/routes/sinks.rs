//! `/api/v1/sinks`: where a workspace's new samples are forwarded. Make one (an InfluxDB
//! 1.x or 2.x, a Graphite server, a webhook; a webhook's signing secret comes back once),
//! list them with their state and backlog, delete one, send one a test. Scoped to the
//! caller's workspace: another workspace's sink is a 404. Secrets (passwords, tokens) are
//! stored encrypted and never shown back.

use app::{
    domain::{
        SinkId,
        sink::{SinkFields, SinkSpec},
    },
    server::{
        sinks::{self, store},
        state::AppState,
    },
};
use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::errors::{ApiError, ErrorBody, body};
use crate::{
    extract::{ApiCaller, ApiPath, ApiWriter},
    openapi::{SentBody, SinkBody, SinksBody},
};

fn sink_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "There is no such sink.")
}

fn sink_id(text: &str) -> Result<SinkId, ApiError> {
    text.parse().map_err(|_| sink_not_found())
}

/// A refusal as the API answers it.
pub fn refusal(refusal: store::SinkRefusal) -> ApiError {
    match refusal {
        store::SinkRefusal::Database(error) => error.into(),
        store::SinkRefusal::Secret(error) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_configured",
            error.to_string(),
        ),
        other => ApiError::invalid(other.to_string()),
    }
}

#[utoipa::path(
    post, path = "/api/v1/sinks", tag = "sinks",
    security(("api_token" = []), ("session" = [])),
    request_body = SinkFields,
    responses(
        (status = 201, description = "Made; a webhook's signing `secret` is shown this once.", body = SinkBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "The field at fault; `not_configured` without the server's secret key; past 10 sinks.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/sinks`: 201 `{"sink": {…}}`.
pub async fn create_sink(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    request: Result<Json<SinkFields>, JsonRejection>,
) -> Result<Response, ApiError> {
    let fields = body(request)?;
    let spec = SinkSpec::parse(&fields).map_err(ApiError::invalid)?;
    let key = state.engine.config().secret_key;
    let made = store::create_sink(&state.pool, key.as_ref(), caller.workspace_id, &spec)
        .await
        .map_err(refusal)?;
    Ok((StatusCode::CREATED, Json(SinkBody { sink: made })).into_response())
}

#[utoipa::path(
    get, path = "/api/v1/sinks", tag = "sinks",
    security(("api_token" = []), ("session" = [])),
    responses((status = 200, description = "The workspace's sinks, with their state and backlog.", body = SinksBody)),
)]
/// `GET /api/v1/sinks`.
pub async fn list_sinks(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Response, ApiError> {
    let sinks = store::list_sinks(&state.pool, caller.workspace_id).await?;
    Ok(Json(SinksBody { sinks }).into_response())
}

#[utoipa::path(
    delete, path = "/api/v1/sinks/{id}", tag = "sinks",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The sink's id.")),
    responses(
        (status = 204, description = "Deleted, with its backlog."),
        (status = 404, description = "No such sink in this workspace.", body = ErrorBody),
    ),
)]
/// `DELETE /api/v1/sinks/{id}`: 204; its backlog goes with it.
pub async fn delete_sink(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = sink_id(&id)?;
    if store::delete_sink(&state.pool, caller.workspace_id, id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(sink_not_found())
    }
}

#[utoipa::path(
    post, path = "/api/v1/sinks/{id}/test", tag = "sinks",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The sink's id.")),
    responses(
        (status = 200, description = "The sink took an empty batch.", body = SentBody),
        (status = 404, description = "No such sink in this workspace.", body = ErrorBody),
        (status = 502, description = "The sink did not take it (`sink_failed`), with its answer.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/sinks/{id}/test`: sends the sink an empty batch now (InfluxDB checks
/// the database and the credentials, Graphite the connection, a webhook gets
/// `{"sink", "points": []}`, signed): 200 `{"sent": true}`, or 502 with its answer.
pub async fn test_sink(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = sink_id(&id)?;
    let key = state.engine.config().secret_key;
    let sink = store::get_sink(&state.pool, key.as_ref(), caller.workspace_id, id)
        .await?
        .ok_or_else(sink_not_found)?;
    let outcome = match sink {
        Ok(sink) => sinks::send::send(state.engine.http(), &sink, &[], chrono::Utc::now()).await,
        Err(reason) => Err(reason),
    };
    match outcome {
        Ok(()) => Ok(Json(SentBody { sent: true }).into_response()),
        Err(error) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "sink_failed",
            format!("The test batch was not taken: {error}."),
        )),
    }
}
