//! `/api/v1/prom/api/v1/…`: the Prometheus-compatible query API ([`app::server::prom`]),
//! with Prometheus's parameters (in the query string, or a form body as Grafana POSTs
//! them) and its answers: `{"status": "success", "data": …}`, or `{"status": "error",
//! "errorType", "error"}` with 400 for a query that does not parse, 422 for one Upcount
//! does not evaluate and 503 when the database fails. Authenticated like the rest of the
//! API, with a read token.

use app::server::{
    prom::{self, QueryError, eval::PromError, params},
    state::AppState,
};
use axum::{
    Json,
    body::Bytes,
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::errors::PromErrorBody;
use crate::{
    extract::{ApiPath, PromCaller},
    openapi::{PromLabelsForm, PromQueryForm, PromRangeForm, PromSuccessBody},
};

/// The parameters from the query string and a form body, in order.
struct Params(Vec<(String, String)>);

impl Params {
    fn read(query: Option<&str>, body: &[u8]) -> Self {
        let mut pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        pairs.extend(url::form_urlencoded::parse(body).into_owned());
        Self(pairs)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, PromError> {
        self.get(name)
            .ok_or_else(|| PromError::BadData(format!("invalid parameter \"{name}\": missing")))
    }

    /// Every `match[]`.
    fn matches(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == "match[]")
            .map(|(_, value)| value.clone())
            .collect()
    }

    fn time(&self, name: &str) -> Result<Option<i64>, PromError> {
        self.get(name)
            .map(|value| params::time(name, value))
            .transpose()
    }
}

fn answer(result: Result<Value, QueryError>) -> Response {
    match result {
        Ok(data) => Json(PromSuccessBody {
            status: "success".into(),
            data,
        })
        .into_response(),
        Err(QueryError::Prom(error)) => {
            let status = match error {
                PromError::BadData(_) => StatusCode::BAD_REQUEST,
                PromError::Unsupported(_) => StatusCode::UNPROCESSABLE_ENTITY,
            };
            (
                status,
                Json(PromErrorBody {
                    status: "error".into(),
                    error_type: error.error_type().to_string(),
                    error: error.message().to_string(),
                }),
            )
                .into_response()
        }
        Err(QueryError::Database(error)) => {
            tracing::error!(error = %error, "a PromQL query could not read its series");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(PromErrorBody {
                    status: "error".into(),
                    error_type: "unavailable".into(),
                    error:
                        "Upcount cannot reach its database right now. Please try again in a moment."
                            .into(),
                }),
            )
                .into_response()
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[utoipa::path(
    get, path = "/api/v1/prom/api/v1/query", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),
    params(
        ("query" = String, Query, description = "A PromQL expression."),
        ("time" = Option<String>, Query, description = "RFC 3339 or Unix seconds (default: now)."),
    ),
    responses(
        (status = 200, description = "`data`: `{resultType: vector|scalar, result}`.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `GET /api/v1/prom/api/v1/query`.
pub async fn query(
    State(state): State<AppState>,
    PromCaller(caller): PromCaller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::read(raw.as_deref(), &body);
    answer(
        async {
            let query = params.required("query")?;
            let time = params.time("time")?.unwrap_or_else(now_ms);
            prom::instant(&state.pool, caller.workspace_id, query, time).await
        }
        .await,
    )
}

#[utoipa::path(
    post, path = "/api/v1/prom/api/v1/query", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),
    request_body(content = PromQueryForm, content_type = "application/x-www-form-urlencoded", description = "The parameters as a form, as Grafana sends them (the query string counts too)."),
    responses(
        (status = 200, description = "`data`: `{resultType: vector|scalar, result}`.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `POST /api/v1/prom/api/v1/query`.
pub async fn query_post(
    state: State<AppState>,
    caller: PromCaller,
    raw: RawQuery,
    body: Bytes,
) -> Response {
    query(state, caller, raw, body).await
}

#[utoipa::path(
    get, path = "/api/v1/prom/api/v1/query_range", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),
    params(
        ("query" = String, Query, description = "A PromQL expression."),
        ("start" = String, Query, description = "RFC 3339 or Unix seconds."),
        ("end" = String, Query, description = "RFC 3339 or Unix seconds."),
        ("step" = String, Query, description = "A duration (`5m`) or seconds."),
    ),
    responses(
        (status = 200, description = "`data`: `{resultType: matrix, result}`.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `GET /api/v1/prom/api/v1/query_range`.
pub async fn query_range(
    State(state): State<AppState>,
    PromCaller(caller): PromCaller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::read(raw.as_deref(), &body);
    answer(
        async {
            let query = params.required("query")?;
            let start = params::time("start", params.required("start")?)?;
            let end = params::time("end", params.required("end")?)?;
            let step = params::duration("step", params.required("step")?)?;
            prom::range(&state.pool, caller.workspace_id, query, start, end, step).await
        }
        .await,
    )
}

#[utoipa::path(
    post, path = "/api/v1/prom/api/v1/query_range", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),
    request_body(content = PromRangeForm, content_type = "application/x-www-form-urlencoded", description = "The parameters as a form, as Grafana sends them (the query string counts too)."),
    responses(
        (status = 200, description = "`data`: `{resultType: matrix, result}`.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `POST /api/v1/prom/api/v1/query_range`.
pub async fn query_range_post(
    state: State<AppState>,
    caller: PromCaller,
    raw: RawQuery,
    body: Bytes,
) -> Response {
    query_range(state, caller, raw, body).await
}

#[utoipa::path(
    get, path = "/api/v1/prom/api/v1/series", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),
    params(("match[]" = Option<Vec<String>>, Query, description = "Series selectors.")),
    responses(
        (status = 200, description = "`data`: the label sets of the matching series.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `GET /api/v1/prom/api/v1/series`.
pub async fn series(
    State(state): State<AppState>,
    PromCaller(caller): PromCaller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::read(raw.as_deref(), &body);
    answer(prom::series(&state.pool, caller.workspace_id, &params.matches()).await)
}

#[utoipa::path(
    post, path = "/api/v1/prom/api/v1/series", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),
    request_body(content = PromLabelsForm, content_type = "application/x-www-form-urlencoded", description = "The parameters as a form, as Grafana sends them (the query string counts too)."),
    responses(
        (status = 200, description = "`data`: the label sets of the matching series.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `POST /api/v1/prom/api/v1/series`.
pub async fn series_post(
    state: State<AppState>,
    caller: PromCaller,
    raw: RawQuery,
    body: Bytes,
) -> Response {
    series(state, caller, raw, body).await
}

#[utoipa::path(
    get, path = "/api/v1/prom/api/v1/labels", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),
    params(("match[]" = Option<Vec<String>>, Query, description = "Series selectors.")),
    responses(
        (status = 200, description = "`data`: label names.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `GET /api/v1/prom/api/v1/labels`.
pub async fn labels(
    State(state): State<AppState>,
    PromCaller(caller): PromCaller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::read(raw.as_deref(), &body);
    answer(prom::labels(&state.pool, caller.workspace_id, &params.matches()).await)
}

#[utoipa::path(
    post, path = "/api/v1/prom/api/v1/labels", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),
    request_body(content = PromLabelsForm, content_type = "application/x-www-form-urlencoded", description = "The parameters as a form, as Grafana sends them (the query string counts too)."),
    responses(
        (status = 200, description = "`data`: label names.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `POST /api/v1/prom/api/v1/labels`.
pub async fn labels_post(
    state: State<AppState>,
    caller: PromCaller,
    raw: RawQuery,
    body: Bytes,
) -> Response {
    labels(state, caller, raw, body).await
}

#[utoipa::path(
    get, path = "/api/v1/prom/api/v1/label/{name}/values", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),
    params(
        ("name" = String, Path, description = "A label name."),
        ("match[]" = Option<Vec<String>>, Query, description = "Series selectors."),
    ),
    responses(
        (status = 200, description = "`data`: the values of the label.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `GET /api/v1/prom/api/v1/label/{name}/values`.
pub async fn label_values(
    State(state): State<AppState>,
    PromCaller(caller): PromCaller,
    ApiPath(name): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = Params::read(raw.as_deref(), &[]);
    answer(prom::label_values(&state.pool, caller.workspace_id, &name, &params.matches()).await)
}

#[utoipa::path(
    get, path = "/api/v1/prom/api/v1/status/buildinfo", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),

    responses(
        (status = 200, description = "`data`: the Prometheus version Upcount answers as.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `GET /api/v1/prom/api/v1/status/buildinfo`: what Grafana asks to learn which
/// Prometheus it talks to.
pub async fn buildinfo(_caller: PromCaller) -> Response {
    answer(Ok(json!({
        "version": "2.42.0",
        "revision": "upcount",
        "branch": "upcount",
        "buildUser": "upcount",
        "buildDate": "",
        "goVersion": "",
        "features": {},
    })))
}

#[utoipa::path(
    get, path = "/api/v1/prom/api/v1/metadata", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),

    responses(
        (status = 200, description = "`data`: metric name to its type and help.", body = PromSuccessBody),
        (status = 400, description = "A query that does not parse or a bad parameter (`bad_data`).", body = PromErrorBody),
        (status = 422, description = "A query Upcount does not evaluate (`execution`), naming what is not supported.", body = PromErrorBody),
    ),
)]
/// `GET /api/v1/prom/api/v1/metadata`: every series is the one gauge.
pub async fn metadata(_caller: PromCaller) -> Response {
    answer(Ok(json!({
        prom::load::METRIC: [{
            "type": "gauge",
            "help": "The latest value of a tracker's metric.",
            "unit": "",
        }]
    })))
}
