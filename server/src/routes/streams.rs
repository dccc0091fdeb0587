//! Twitch streams as sessions: `GET /api/v1/trackers/{id}/streams`, `…/stream-stats`, and
//! the workspace's channels ranked, `GET /api/v1/streams`.

use app::{
    domain::{
        TrackerId,
        streams::{RankBy, StreamRange, StreamSession, StreamStats, WorkspaceStreams},
    },
    server::{
        state::AppState,
        tracking::streams::{self, StreamsError},
    },
};
use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    errors::{ApiError, ApiQuery, ErrorBody},
    trackers::time_param,
};
use crate::extract::{ApiCaller, ApiPath};

/// The sessions listed when `from` is left out: the last 30 days before `to`.
const DEFAULT_DAYS: i64 = 30;
/// The longest range one request lists.
const MAX_DAYS: i64 = 400;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// RFC 3339 (default: 30 days before `to`).
    from: Option<String>,
    /// RFC 3339 (default: now).
    to: Option<String>,
}

/// `{"streams": [...]}`, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamsBody {
    pub streams: Vec<StreamSession>,
}

fn refused(error: StreamsError) -> ApiError {
    match error {
        StreamsError::NotFound => ApiError::not_found(),
        StreamsError::NotAChannel => ApiError::invalid(error.to_string()),
        StreamsError::Database(error) => error.into(),
    }
}

#[utoipa::path(
    get, path = "/api/v1/trackers/{id}/streams", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id (a Twitch channel)."), StreamParams),
    responses(
        (status = 200, description = "Every stream session that runs at some time in the range, oldest first: start, end (`null` while live), duration, peak and time-weighted average viewers, hours watched, titles, games with their time, tags and the viewer series.", body = StreamsBody),
        (status = 400, description = "A time out of range, or a query string that cannot be read.", body = ErrorBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
        (status = 422, description = "A bad time, `from` after `to`, a range over 400 days, or a tracker that is not a Twitch channel.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/trackers/{id}/streams?from=&to=`.
pub async fn tracker_streams(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<TrackerId>,
    ApiQuery(params): ApiQuery<StreamParams>,
) -> Result<Response, ApiError> {
    let to = time_param("to", params.to.as_deref(), Utc::now())?;
    let from = time_param(
        "from",
        params.from.as_deref(),
        to - Duration::days(DEFAULT_DAYS),
    )?;
    if from > to {
        return Err(ApiError::invalid("`from` must not be after `to`"));
    }
    if to - from > Duration::days(MAX_DAYS) {
        return Err(ApiError::invalid(format!(
            "a request lists at most {MAX_DAYS} days of streams: narrow `from` and `to`"
        )));
    }
    let streams = streams::tracker_sessions(&state.pool, caller.workspace_id, id, from, to)
        .await
        .map_err(refused)?;
    Ok(Json(StreamsBody { streams }).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// `7d`, `30d` (the default) or `90d`: the days before now.
    range: Option<String>,
}

/// A range's figures, with the range itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamStatsBody {
    /// `7d`, `30d` or `90d`.
    pub range: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(flatten)]
    pub stats: StreamStats,
}

fn range_of(params: &RangeParams) -> Result<StreamRange, ApiError> {
    match params.range.as_deref() {
        None | Some("") => Ok(StreamRange::default()),
        Some(text) => StreamRange::parse(text).map_err(ApiError::invalid),
    }
}

#[utoipa::path(
    get, path = "/api/v1/trackers/{id}/stream-stats", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id (a Twitch channel)."), RangeParams),
    responses(
        (status = 200, description = "Over the range: hours streamed, number of streams, average (time-weighted) and peak viewers, hours watched, the most-streamed games and the most common tags.", body = StreamStatsBody),
        (status = 400, description = "A query string that cannot be read.", body = ErrorBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
        (status = 422, description = "A range other than 7d, 30d or 90d, or a tracker that is not a Twitch channel.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/trackers/{id}/stream-stats?range=30d`.
pub async fn tracker_stream_stats(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<TrackerId>,
    ApiQuery(params): ApiQuery<RangeParams>,
) -> Result<Response, ApiError> {
    let range = range_of(&params)?;
    let now = Utc::now();
    let stats = streams::tracker_stats(&state.pool, caller.workspace_id, id, range, now)
        .await
        .map_err(refused)?;
    Ok(Json(StreamStatsBody {
        range: range.key().to_string(),
        from: now - Duration::days(range.days()),
        to: now,
        stats,
    })
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RankingParams {
    /// `7d`, `30d` (the default) or `90d`: the days before now.
    range: Option<String>,
    /// `hours` (streamed, the default) or `average` (viewers).
    by: Option<String>,
}

/// The workspace's channels ranked, with the range.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankingBody {
    pub range: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(flatten)]
    pub ranking: WorkspaceStreams,
}

#[utoipa::path(
    get, path = "/api/v1/streams", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(RankingParams),
    responses(
        (status = 200, description = "Every Twitch channel the workspace tracks with its figures over the range, ranked by hours streamed or average viewers, and the most common tags across all their streams.", body = RankingBody),
        (status = 400, description = "A query string that cannot be read.", body = ErrorBody),
        (status = 422, description = "A range other than 7d, 30d or 90d, or `by` other than hours or average.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/streams?range=30d&by=hours`.
pub async fn ranking(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(params): ApiQuery<RankingParams>,
) -> Result<Response, ApiError> {
    let range = range_of(&RangeParams {
        range: params.range.clone(),
    })?;
    let by = RankBy::parse(params.by.as_deref().unwrap_or_default()).map_err(ApiError::invalid)?;
    let now = Utc::now();
    let ranking =
        streams::workspace_streams(&state.pool, caller.workspace_id, range, by, now).await?;
    Ok(Json(RankingBody {
        range: range.key().to_string(),
        from: now - Duration::days(range.days()),
        to: now,
        ranking,
    })
    .into_response())
}
