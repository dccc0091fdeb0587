//! Push sources and pushing into them: `/api/v1/push-sources` (make, list, delete; the
//! caller's workspace only), the dashboard's "New push source" form, and
//! `POST /api/v1/push`, the JSON format.
//!
//! Every push format's route is the same three steps, and the helpers here are shared by
//! them: [`push_source_of`] (the token, however the format carries it, to its push source,
//! or a 401 naming the problem), the format's parser into a `Batch`, and
//! `app::server::push::store`, answered with [`answer`].

use app::{
    domain::{PushSourceId, push::json},
    server::{
        auth::{Auth, TakenFlash},
        push::{self, PushAnswer, PushError, PushSource, PushSourceError},
        state::AppState,
        tokens,
    },
};
use axum::{
    Extension, Json,
    body::{Body, Bytes},
    extract::{Request, State, rejection::BytesRejection, rejection::JsonRejection},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use super::errors::{
    ApiError, ErrorBody, UpgradeRequiredBody, body, coded_error, upgrade_required,
};
use crate::{
    extract::{ApiCaller, ApiPath, ApiWriter},
    openapi::{CreatedPushSourceBody, PushPoint, PushSourceBody, PushSourcesBody},
};

/// A push of which nothing was stored: every point refused (`all_refused`), a body that
/// could not be read as the format (`invalid_body`), or for InfluxDB a partial write
/// (`partial_write`: the accepted points are stored).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PushRefusedBody {
    pub error: String,
    pub code: String,
    pub accepted: usize,
    pub duplicates: usize,
    pub refused: Vec<app::domain::push::Refusal>,
}

/// `POST /api/v1/push-sources` `{"name": "…", "event_labels"?: ["plan", …]}`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPushSource {
    #[serde(default)]
    name: String,
    #[serde(default)]
    event_labels: Vec<String>,
}

/// `PATCH /api/v1/push-sources/{id}` `{"name"?: "…", "event_labels"?: ["plan", …]}`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushSourcePatch {
    name: Option<String>,
    event_labels: Option<Vec<String>>,
}

impl From<PushSourceError> for ApiError {
    fn from(error: PushSourceError) -> Self {
        match error {
            PushSourceError::Invalid(message) => ApiError::invalid(message),
            PushSourceError::UpgradeRequired(limit) => {
                ApiError::Ready(Box::new(upgrade_required(&limit)))
            }
            PushSourceError::Database(error) => error.into(),
        }
    }
}

#[utoipa::path(
    post, path = "/api/v1/push-sources", tag = "push",
    security(("api_token" = []), ("session" = [])),
    request_body = NewPushSource,
    responses(
        (status = 201, description = "Made; `token` is shown this once.", body = CreatedPushSourceBody),
        (status = 402, description = "Past the plan's trackers.", body = UpgradeRequiredBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "A bad name or event label.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/push-sources`: 201 `{"push_source": {"id", "tracker_id", "token"}}`, the
/// token shown this once; 422 for a bad name; 402 past the plan's trackers.
pub async fn create_source(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    request: Result<Json<NewPushSource>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input = body(request)?;
    let created = push::create_push_source(
        &state.pool,
        caller.workspace_id,
        &input.name,
        &input.event_labels,
        caller.user_id,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedPushSourceBody {
            push_source: created,
        }),
    )
        .into_response())
}

#[utoipa::path(
    get, path = "/api/v1/push-sources", tag = "push",
    security(("api_token" = []), ("session" = [])),
    responses((status = 200, description = "The workspace's push sources, without their tokens.", body = PushSourcesBody)),
)]
/// `GET /api/v1/push-sources`: `{"push_sources": [{"id", "tracker_id", "name",
/// "token_prefix", "series", "created_at", "last_push_at"}]}`, never the tokens.
pub async fn list_sources(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Response, ApiError> {
    let sources = push::list_push_sources(&state.pool, caller.workspace_id).await?;
    Ok(Json(PushSourcesBody {
        push_sources: sources,
    })
    .into_response())
}

#[utoipa::path(
    patch, path = "/api/v1/push-sources/{id}", tag = "push",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The push source's id.")),
    request_body = PushSourcePatch,
    responses(
        (status = 200, description = "Changed.", body = PushSourceBody),
        (status = 404, description = "No such push source in this workspace.", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 422, description = "A bad name or event label.", body = ErrorBody),
    ),
)]
/// `PATCH /api/v1/push-sources/{id}`: changes its name or its event labels (the
/// properties of `POST /api/v1/events` that become labels); 200 `{"push_source": {…}}`
/// as the list shows it, 422 for a bad name or label, 404 for another workspace's.
pub async fn update_source(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<PushSourceId>,
    request: Result<Json<PushSourcePatch>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input = body(request)?;
    let change = push::PushSourceChange {
        name: input.name,
        event_labels: input.event_labels,
    };
    match push::update_push_source(&state.pool, caller.workspace_id, id, change).await? {
        Some(source) => Ok(Json(PushSourceBody {
            push_source: source,
        })
        .into_response()),
        None => Err(no_such_push_source()),
    }
}

#[utoipa::path(
    delete, path = "/api/v1/push-sources/{id}", tag = "push",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The push source's id.")),
    responses(
        (status = 204, description = "Deleted, with its tracker, series and samples."),
        (status = 404, description = "No such push source in this workspace.", body = ErrorBody),
    ),
)]
/// `DELETE /api/v1/push-sources/{id}`: 204; its tracker, series and samples go with it.
pub async fn delete_source(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<PushSourceId>,
) -> Result<Response, ApiError> {
    if push::delete_push_source(&state.pool, caller.workspace_id, id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(no_such_push_source())
    }
}

pub(super) fn no_such_push_source() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no such push source.",
    )
}

/// The token of `Authorization: Bearer upp_…`, if the request has one that shape
/// (`None` without the header, or with another scheme).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// A 401 naming what is wrong with the push token, for every push format.
pub fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(ErrorBody {
            error: message.to_string(),
            code: Some("unauthorized".into()),
        }),
    )
        .into_response()
}

/// The push source whose token the request carried (`token`: however its format
/// carries it), or the 401 to answer: no token, an API token instead of a push token,
/// an unknown one.
pub async fn push_source_of(state: &AppState, token: Option<&str>) -> Result<PushSource, ApiError> {
    find_push_source(state, token)
        .await
        .map_err(|response| ApiError::Ready(Box::new(response)))
}

async fn find_push_source(state: &AppState, token: Option<&str>) -> Result<PushSource, Response> {
    let Some(token) = token.map(str::trim).filter(|token| !token.is_empty()) else {
        return Err(unauthorized(
            "Send the push source's token: `Authorization: Bearer upp_…` (shown when the push source was made).",
        ));
    };
    if tokens::looks_like_token(token) {
        return Err(unauthorized(
            "This is an API token (`upc_…`); pushing takes a push source's own token (`upp_…`), shown when the push source was made.",
        ));
    }
    match push::authenticate(&state.pool, token).await {
        Ok(Some(source)) => Ok(source),
        Ok(None) => Err(unauthorized(
            "Unknown push token: the push source was deleted, or the token is mistyped.",
        )),
        Err(error) => {
            tracing::error!(error = %error, "could not check a push token");
            Err(coded_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Please try again in a moment.",
            ))
        }
    }
}

/// The answer to a push: 200 `{"accepted", "duplicates", "refused": [{"line", "reason"}]}`;
/// 400 with the same fields (and `error`) when every point was refused; 409 when the push
/// source's tracker is paused or ended; 401 when it was deleted meanwhile.
pub fn answer(result: Result<PushAnswer, PushError>) -> Response {
    match result {
        Ok(answer) if answer.all_refused() => (
            StatusCode::BAD_REQUEST,
            Json(PushRefusedBody {
                error: "Every point was refused; `refused` says why, line by line.".into(),
                code: "all_refused".into(),
                accepted: answer.accepted,
                duplicates: answer.duplicates,
                refused: answer.refused,
            }),
        )
            .into_response(),
        Ok(answer) => Json(answer).into_response(),
        Err(PushError::NotAccepting(message)) => {
            coded_error(StatusCode::CONFLICT, "paused", &message)
        }
        Err(PushError::Gone) => unauthorized("Unknown push token: the push source was deleted."),
        Err(PushError::Database(error)) => {
            tracing::error!(error = %error, "could not store a push");
            coded_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on our side; nothing was stored. Please send it again.",
            )
        }
    }
}

/// A body that could not be read as the format at all: 400, nothing stored.
pub fn unreadable_body(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(PushRefusedBody {
            error: message.to_string(),
            code: "invalid_body".into(),
            accepted: 0,
            duplicates: 0,
            refused: Vec::new(),
        }),
    )
        .into_response()
}

/// The body of a push, or the answer for one too large (413) or cut off.
pub fn push_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let status = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        };
        coded_error(
            status,
            "invalid_body",
            &format!(
                "The body could not be read ({}); a push body may hold up to {} MiB.",
                rejection.body_text(),
                push::MAX_BODY_BYTES / (1024 * 1024)
            ),
        )
    })
    .map_err(|response| ApiError::Ready(Box::new(response)))
}

#[utoipa::path(
    post, path = "/api/v1/push", tag = "push",
    security(("push_token" = [])),
    request_body(content = Vec<PushPoint>, description = "Up to 5,000 points; any content type.", content_type = "application/json"),
    responses(
        (status = 200, description = "What was stored, what was already there, and every line refused with why.", body = PushAnswer),
        (status = 400, description = "Every point was refused, or the body could not be read at all: nothing stored.", body = PushRefusedBody),
        (status = 409, description = "The push source's tracker is paused or ended.", body = ErrorBody),
        (status = 413, description = "A body over the push limit.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/push` with `Authorization: Bearer upp_…`: a JSON array of points (see
/// `app::domain::push::json`), any content type.
pub async fn push_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now();
    let source = push_source_of(&state, bearer_token(&headers)).await?;
    let body = push_body(body)?;
    let batch = match json::parse(&body) {
        Ok(batch) => batch,
        Err(message) => return Ok(unreadable_body(&message)),
    };
    Ok(answer(push::store(&state.pool, &source, batch, now).await))
}

/// Where the dashboard is.
const DASHBOARD: &str = "/dashboard";

#[derive(Debug, Default, Deserialize)]
pub struct PushSourceForm {
    #[serde(default)]
    name: String,
    /// Event labels, separated by commas or spaces.
    #[serde(default)]
    event_labels: String,
}

/// `POST /dashboard/push-sources` (the dashboard's "New push source" form): makes one and
/// answers with the dashboard showing its token, this once, with an example `curl`; or
/// back to the dashboard with the problem beside the name.
pub async fn create_from_form(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: tower_sessions::Session,
    form: Result<axum::Form<PushSourceForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    use app::{
        api::flash::{Flash, NewTokenShown},
        domain::NextPath,
    };

    use super::forms::{redirect_with, unexpected};

    let Some(user) = auth.0 else {
        return axum::response::Redirect::to(&NextPath::sign_in_url(DASHBOARD)).into_response();
    };
    if let Err(refusal) = user.may(app::domain::Action::EditTrackers) {
        return super::forms::refused(&session, "new-push-source", refusal, DASHBOARD).await;
    }
    let axum::Form(form) = form.unwrap_or_default();
    let messages = Flash::for_form("new-push-source")
        .with_value("name", &form.name)
        .with_value("event_labels", &form.event_labels);
    let event_labels = match app::domain::push::events::parse_event_labels(&form.event_labels) {
        Ok(labels) => labels,
        Err(error) => {
            let flash = messages.with_field_error("event_labels", error);
            return redirect_with(&session, flash, DASHBOARD).await;
        }
    };
    let created = push::create_push_source(
        &state.pool,
        user.workspace_id,
        &form.name,
        &event_labels,
        Some(user.id),
    )
    .await;
    match created {
        Ok(created) => {
            tracing::info!(workspace.id = %user.workspace_id, push_source.id = %created.id, "push source made");
            let name = push::check_name(&form.name).unwrap_or_default();
            let mut shown = Flash::for_form("new-push-source")
                .with_value(
                    "push_url",
                    &format!("{}/api/v1/push", state.web.public_origin),
                )
                .with_value("tracker", &created.tracker_id.to_string());
            shown.notice = Some(format!("Push source {name} made."));
            shown.new_token = Some(NewTokenShown {
                name,
                token: created.token,
            });
            // The token is shown in this very response, never kept anywhere but as a hash
            // (as the account page shows a new API token): the dashboard is rendered here.
            let mut request = Request::new(Body::empty());
            *request.uri_mut() = Uri::from_static("/dashboard/push-sources");
            request.extensions_mut().insert(Auth(Some(user)));
            request.extensions_mut().insert(TakenFlash(Some(shown)));
            let mut response = crate::router::render_page(&state, request).await;
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(PushSourceError::Database(error)) => {
            unexpected(&session, "new-push-source", DASHBOARD, error).await
        }
        // The event labels were checked above: what is left is the name.
        Err(error) => {
            let flash = messages.with_field_error("name", error.to_string());
            redirect_with(&session, flash, DASHBOARD).await
        }
    }
}
