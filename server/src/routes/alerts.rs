//! `/api/v1/trackers/{id}/alerts` and `/api/v1/alerts/{id}`: a tracker's alert rules.
//! `/api/v1/alert-events`: what the workspace's rules fired, with each delivery.
//! `/api/v1/channels`: where a workspace's alerts go. Make one (`{"kind": "email",
//! "address"}`, or `{"kind": "webhook" | "slack" | "discord", "url"}`; a webhook's signing
//! secret comes back once), list them, delete one, send one a test. Scoped to the caller's
//! workspace: another workspace's channel is a 404.

use app::{
    domain::{AlertRuleId, ChannelId, ChannelKind, ChannelTarget, RuleSpec, TrackerId},
    server::{
        alerts::{
            channels,
            events::{self, EventFilter},
            rules,
        },
        state::AppState,
    },
};
use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::Value;

use super::errors::{ApiQuery, ErrorBody, UpgradeRequiredBody};
use super::{
    errors::{ApiError, body},
    trackers::time_param,
};
use crate::{
    extract::{ApiCaller, ApiPath, ApiWriter},
    openapi::{
        AlertBody, AlertEventsBody, AlertsBody, ChannelBody, ChannelsBody, RuleFields, SentBody,
    },
};

/// `POST /api/v1/channels`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannelRequest {
    /// `email`, `webhook`, `slack`, …
    kind: String,
    /// An email channel's address.
    address: Option<String>,
    /// A webhook's (or chat hook's) URL.
    url: Option<String>,
}

fn channel_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no such channel.",
    )
}

fn channel_id(text: &str) -> Result<ChannelId, ApiError> {
    text.parse().map_err(|_| channel_not_found())
}

#[utoipa::path(
    post, path = "/api/v1/channels", tag = "alerts",
    security(("api_token" = []), ("session" = [])),
    request_body = NewChannelRequest,
    responses(
        (status = 201, description = "Made.", body = ChannelBody),
        (status = 403, description = "Your own email address not yet confirmed (`unverified`), an address no member of the workspace has confirmed (`not_a_member`), a read-only token.", body = ErrorBody),
        (status = 409, description = "The workspace already has this channel.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "A bad kind, address or URL.", body = ErrorBody),
    ),
)]
pub async fn create_channel(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    request: Result<Json<NewChannelRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input = body(request)?;
    let kind = ChannelKind::parse(&input.kind).map_err(ApiError::invalid)?;
    let target = ChannelTarget::parse(kind, input.address.as_deref(), input.url.as_deref())
        .map_err(ApiError::invalid)?;
    if kind == ChannelKind::Email {
        let allowed = channels::may_email(
            &state.pool,
            caller.workspace_id,
            caller.user_id,
            target.as_str(),
        )
        .await?;
        if let Some(refusal) = allowed.refusal() {
            let code = match allowed {
                channels::EmailTarget::ConfirmYoursFirst => "unverified",
                _ => "not_a_member",
            };
            return Err(ApiError::new(StatusCode::FORBIDDEN, code, refusal));
        }
    }
    let made = channels::create_channel(&state.pool, caller.workspace_id, kind, &target)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "This workspace already has this channel.",
            )
        })?;
    Ok((StatusCode::CREATED, Json(ChannelBody { channel: made })).into_response())
}

#[utoipa::path(
    get, path = "/api/v1/channels", tag = "alerts",
    security(("api_token" = []), ("session" = [])),
    responses((status = 200, description = "The workspace's alert channels.", body = ChannelsBody)),
)]
/// `GET /api/v1/channels`.
pub async fn list_channels(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Response, ApiError> {
    let channels = channels::list_channels(&state.pool, caller.workspace_id).await?;
    Ok(Json(ChannelsBody { channels }).into_response())
}

#[utoipa::path(
    delete, path = "/api/v1/channels/{id}", tag = "alerts",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The channel's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such channel in this workspace.", body = ErrorBody),
    ),
)]
/// `DELETE /api/v1/channels/{id}`: 204.
pub async fn delete_channel(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = channel_id(&id)?;
    if channels::delete_channel(&state.pool, caller.workspace_id, id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(channel_not_found())
    }
}

#[utoipa::path(
    post, path = "/api/v1/channels/{id}/test", tag = "alerts",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The channel's id.")),
    responses(
        (status = 200, description = "The test alert was delivered.", body = SentBody),
        (status = 404, description = "No such channel in this workspace.", body = ErrorBody),
        (status = 502, description = "The channel did not take it (`channel_failed`), with its answer.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/channels/{id}/test`: sends a test alert now and says how it went: 200
/// `{"sent": true}`, or 502 with the channel's answer.
pub async fn test_channel(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = channel_id(&id)?;
    let channel = channels::get_channel(&state.pool, caller.workspace_id, id)
        .await?
        .ok_or_else(channel_not_found)?;
    match super::alert_forms::send_test(&state, &channel).await {
        Ok(()) => Ok(Json(SentBody { sent: true }).into_response()),
        Err(error) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "channel_failed",
            format!("The test alert was not delivered: {error}."),
        )),
    }
}

/// `GET /api/v1/alert-events?tracker=&from=&to=&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Only this tracker's (an id).
    tracker: Option<String>,
    /// RFC 3339: fired at or after.
    from: Option<String>,
    /// RFC 3339: fired at or before.
    to: Option<String>,
    /// 1 to 1,000 (default 100).
    limit: Option<String>,
}

/// The workspace's alert events, newest first (100 unless `limit`, at most 1,000), each
/// with its deliveries.
#[utoipa::path(
    get, path = "/api/v1/alert-events", tag = "alerts",
    security(("api_token" = []), ("session" = [])),
    params(EventParams),
    responses(
        (status = 200, description = "Alert events, newest first, each with its deliveries.", body = AlertEventsBody),
        (status = 400, description = "A time out of range, or a query string that cannot be read (an unknown parameter).", body = ErrorBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
        (status = 422, description = "A bad time or limit.", body = ErrorBody),
    ),
)]
pub async fn list_events(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Response, ApiError> {
    let tracker = match params.tracker.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(text.parse().map_err(|_| ApiError::not_found())?),
    };
    let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let from = params
        .from
        .as_deref()
        .map(|from| time_param("from", Some(from), epoch))
        .transpose()?;
    let to = params
        .to
        .as_deref()
        .map(|to| time_param("to", Some(to), epoch))
        .transpose()?;
    let limit = match params.limit.as_deref() {
        None => 100,
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=1000).contains(limit))
            .ok_or_else(|| ApiError::invalid("`limit` must be a whole number from 1 to 1000"))?,
    };
    let filter = EventFilter {
        tracker,
        from,
        to,
        limit,
    };
    let events = events::list_events(&state.pool, caller.workspace_id, filter).await?;
    Ok(Json(AlertEventsBody { events }).into_response())
}

fn rule_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no such alert rule.",
    )
}

fn rule_error(error: app::domain::RuleError) -> ApiError {
    ApiError::invalid(error.to_string())
}

fn refusal(refusal: rules::RuleRefusal) -> ApiError {
    match refusal {
        rules::RuleRefusal::NotFound => ApiError::not_found(),
        rules::RuleRefusal::UpgradeRequired(limit) => {
            ApiError::Ready(Box::new(super::errors::upgrade_required(&limit)))
        }
        other => ApiError::invalid(other.message()),
    }
}

#[utoipa::path(
    post, path = "/api/v1/trackers/{id}/alerts", tag = "alerts",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id.")),
    request_body = RuleFields,
    responses(
        (status = 201, description = "Made.", body = AlertBody),
        (status = 402, description = "Past the plan's alert rules.", body = UpgradeRequiredBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "What is wrong with the rule.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/trackers/{id}/alerts`: `{"metric", "condition", …, "channels": [id]}`.
/// 201 `{"alert": …}`.
pub async fn create_rule(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(tracker): ApiPath<TrackerId>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input = body(request)?;
    let spec = RuleSpec::from_json(&input).map_err(rule_error)?;
    match rules::create_rule(
        &state.pool,
        caller.workspace_id,
        tracker,
        &spec,
        caller.user_id,
    )
    .await?
    {
        Ok(rule) => {
            Ok((StatusCode::CREATED, Json(AlertBody { alert: rule.view() })).into_response())
        }
        Err(why) => Err(refusal(why)),
    }
}

#[utoipa::path(
    get, path = "/api/v1/trackers/{id}/alerts", tag = "alerts",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id.")),
    responses(
        (status = 200, description = "The tracker's alert rules.", body = AlertsBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/trackers/{id}/alerts`.
pub async fn list_rules(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(tracker): ApiPath<TrackerId>,
) -> Result<Response, ApiError> {
    let found = rules::list_rules(&state.pool, caller.workspace_id, tracker)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let alerts = found.iter().map(rules::RuleRow::view).collect();
    Ok(Json(AlertsBody { alerts }).into_response())
}

#[utoipa::path(
    patch, path = "/api/v1/alerts/{id}", tag = "alerts",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The alert rule's id.")),
    request_body = RuleFields,
    responses(
        (status = 200, description = "Changed.", body = AlertBody),
        (status = 402, description = "Past a plan's limit.", body = UpgradeRequiredBody),
        (status = 404, description = "No such alert rule in this workspace.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "What is wrong with the change.", body = ErrorBody),
    ),
)]
/// `PATCH /api/v1/alerts/{id}`: any of the rule's fields, and `paused`.
pub async fn update_rule(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let id: AlertRuleId = id.parse().map_err(|_| rule_not_found())?;
    let patch = body(request)?;
    match rules::update_rule(&state.pool, caller.workspace_id, id, &patch).await? {
        Ok(Ok(rule)) => Ok(Json(AlertBody { alert: rule.view() }).into_response()),
        Ok(Err(error)) => Err(rule_error(error)),
        Err(rules::RuleRefusal::NotFound) => Err(rule_not_found()),
        Err(why) => Err(refusal(why)),
    }
}

#[utoipa::path(
    delete, path = "/api/v1/alerts/{id}", tag = "alerts",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The alert rule's id.")),
    responses(
        (status = 204, description = "Deleted; its events stay."),
        (status = 404, description = "No such alert rule in this workspace.", body = ErrorBody),
    ),
)]
/// `DELETE /api/v1/alerts/{id}`: 204; its events stay.
pub async fn delete_rule(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id: AlertRuleId = id.parse().map_err(|_| rule_not_found())?;
    if rules::delete_rule(&state.pool, caller.workspace_id, id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(rule_not_found())
    }
}
