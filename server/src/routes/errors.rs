//! How the REST API answers when a request fails: `{"error": "…", "code": "…"}` with a
//! status that says which kind of failure it is.

use app::server::{
    billing::store::UpgradeRequired,
    rate_limit::Limited,
    tracking::{FetchError, engine::TrackError, service::ServiceError},
};
use axum::{
    Json,
    extract::{FromRequestParts, Query, rejection::JsonRejection},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// How every REST API error reads (Prometheus's query API aside, which answers
/// Prometheus's own shape: [`PromErrorBody`]).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in a sentence for people.
    pub error: String,
    /// A stable word for programs (`not_found`, `invalid`, `out_of_range`, …); absent
    /// where the status says it all (authentication, a missing endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// 402: a plan's limit stands in the way.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpgradeRequiredBody {
    /// Always `upgrade_required`.
    pub error: String,
    /// Always `upgrade_required`.
    pub code: String,
    /// A sentence for people, naming the limit.
    pub message: String,
    /// `trackers`, `interval`, `api_tokens`, …
    pub limit: String,
    /// The plan whose limit it is.
    pub plan: String,
    /// Where to upgrade (`/billing`).
    pub upgrade_url: String,
}

/// An error of the Prometheus-compatible query API, in Prometheus's own shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromErrorBody {
    /// Always `error`.
    pub status: String,
    /// `bad_data` (400), `execution` (422: not supported by Upcount), `unavailable` (503).
    #[serde(rename = "errorType")]
    pub error_type: String,
    /// What went wrong; for an unsupported query, what is not supported.
    pub error: String,
}

/// `{ "error": message }` with `status`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            error: message.to_string(),
            code: None,
        }),
    )
        .into_response()
}

/// `{ "error": message, "code": code }` with `status`.
pub fn coded_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            error: message.to_string(),
            code: Some(code.to_string()),
        }),
    )
        .into_response()
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
            } => coded_error(status, code, &message),
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
                    Json(ErrorBody {
                        error: error.to_string(),
                        code: Some(code.to_string()),
                    }),
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
        Json(UpgradeRequiredBody {
            error: "upgrade_required".into(),
            code: "upgrade_required".into(),
            message: limit.message.clone(),
            limit: limit.limit.to_string(),
            plan: limit.plan.clone(),
            upgrade_url: "/billing".into(),
        }),
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

/// A query string decoded into `T`, or a 400 in the API's error shape (axum's own
/// `Query` answers plain text) naming what is wrong.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid", rejection.body_text())
            })
    }
}
