//! How the REST API answers when a request fails: `{"error": "…", "code": "…"}` with a
//! status that says which kind of failure it is.

use app::server::{
    billing::store::UpgradeRequired,
    rate_limit::Limited,
    tracking::{FetchError, engine::TrackError, service::ServiceError},
};
use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

/// `{ "error": message }` with `status`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// What a read-only token gets when it tries to change something.
pub fn read_only() -> Response {
    json_error(
        StatusCode::FORBIDDEN,
        "This API token is read-only; create a read-write token to make changes.",
    )
}

/// A failed API request.
#[derive(Debug)]
pub enum ApiError {
    /// `{"error": message, "code": code}` with `status`.
    Json {
        status: StatusCode,
        message: String,
        code: &'static str,
    },
    /// An answer made elsewhere (authentication).
    Ready(Box<Response>),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Json {
            status,
            message: message.into(),
            code,
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no such tracker.",
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Json {
                status,
                message,
                code,
            } => (status, Json(json!({ "error": message, "code": code }))).into_response(),
            ApiError::Ready(response) => *response,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let code = error.code();
        match &error {
            // Too many at once: a 429 that says when to come back.
            ServiceError::Throttled(Limited { retry_after })
            | ServiceError::Track(TrackError::Fetch(FetchError::Throttled {
                retry_after, ..
            })) => ApiError::Ready(Box::new(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(
                        axum::http::header::RETRY_AFTER,
                        retry_after.as_secs().max(1).to_string(),
                    )],
                    Json(json!({ "error": error.to_string(), "code": code })),
                )
                    .into_response(),
            )),
            ServiceError::Track(_) | ServiceError::Invalid(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, error.to_string())
            }
            ServiceError::NotFound => Self::not_found(),
            ServiceError::UpgradeRequired(limit) => {
                ApiError::Ready(Box::new(upgrade_required(limit)))
            }
            ServiceError::Database(inner) => {
                tracing::error!(error = %inner, "tracker request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "Something went wrong on our side.",
                )
            }
        }
    }
}

/// 402 `{"error": "upgrade_required", "message", "limit", "plan", "upgrade_url"}`.
pub fn upgrade_required(limit: &UpgradeRequired) -> Response {
    (
        StatusCode::PAYMENT_REQUIRED,
        Json(json!({
            "error": "upgrade_required",
            "code": "upgrade_required",
            "message": limit.message,
            "limit": limit.limit,
            "plan": limit.plan,
            "upgrade_url": "/billing",
        })),
    )
        .into_response()
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ServiceError::Database(error).into()
    }
}

pub fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(value)| value).map_err(|rejection| {
        let status = if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        ApiError::new(status, "invalid", rejection.body_text())
    })
}
