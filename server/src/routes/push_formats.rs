//! The push formats other programs already speak, into a push source like the JSON push
//! ([`super::push`]): InfluxDB's line protocol, as Telegraf's `outputs.influxdb` (v1
//! `/write`), `outputs.influxdb_v2` (`/api/v2/write`) and `outputs.http` send it, and the
//! Prometheus text format, as a Pushgateway client sends it.
//!
//! - `POST /api/v1/push/influx`, `…/influx/write` and `…/influx/api/v2/write`: the token
//!   as `Authorization: Bearer|Token upp_…`, the password of basic auth (Telegraf's v1
//!   `password`), or the v1 `p=` parameter; `precision=` as InfluxDB reads it. As InfluxDB
//!   answers, a write with nothing refused is 204 (Telegraf counts anything else as a
//!   failure), with the counts in `X-Upcount-Accepted` and `X-Upcount-Duplicates`; a
//!   partial one is 400 `{"error": "partial write: …", "accepted", "duplicates",
//!   "refused"}`, which Telegraf logs and does not send again.
//! - `POST`/`PUT /api/v1/push/prometheus` and `…/prometheus/metrics/job/{job}/{label}/
//!   {value}…` (the Pushgateway's path: `job` and the grouping labels are added to every
//!   series): the token as a bearer or basic-auth password; answered like the JSON push.
//!
//! Bodies may be gzip-compressed (Telegraf's default); the size limit holds after
//! decompression.

use super::{
    errors::{ApiError, ErrorBody, coded_error},
    push::{PushRefusedBody, answer, push_body, push_source_of, unreadable_body},
};
use crate::extract::ApiPath;
use app::{
    domain::push::{Batch, influx, prometheus},
    server::{push, state::AppState},
};
use axum::{
    Json,
    body::Bytes,
    extract::{RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;

/// The push token however the request carries it: `Bearer` or `Token` (InfluxDB v2's
/// scheme) in `Authorization`, the password of basic auth, or (`param`) a query
/// parameter such as InfluxDB v1's `p`.
fn carried_token(
    headers: &HeaderMap,
    query: &[(String, String)],
    param: Option<&str>,
) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    {
        let (scheme, rest) = value.trim().split_once(' ')?;
        let rest = rest.trim();
        return if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
            Some(rest.to_string())
        } else if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let credentials = String::from_utf8(decoded).ok()?;
            credentials
                .split_once(':')
                .map(|(_user, password)| password.to_string())
        } else {
            None
        };
    }
    let param = param?;
    query
        .iter()
        .find(|(name, _)| name == param)
        .map(|(_, value)| value.clone())
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The body as text, or why it is not.
fn text(body: &Bytes) -> Result<&str, String> {
    std::str::from_utf8(body).map_err(|error| {
        format!(
            "The body is not UTF-8 text (invalid byte at {}): send the text format.",
            error.valid_up_to()
        )
    })
}

#[utoipa::path(
    post, path = "/api/v1/push/influx", tag = "push",
    security(("push_token" = []), ("influx_token" = []), ("push_basic" = []), ("influx_p" = [])),
    params(
        ("precision" = Option<String>, Query, description = "The timestamps' unit, as InfluxDB reads it (default: nanoseconds)."),
        ("db" = Option<String>, Query, description = "InfluxDB v1's database: accepted and ignored."),
        ("org" = Option<String>, Query, description = "InfluxDB v2's organisation: accepted and ignored."),
        ("bucket" = Option<String>, Query, description = "InfluxDB v2's bucket: accepted and ignored."),
    ),
    request_body(content = String, description = "InfluxDB line protocol, up to 5,000 lines; may be gzip-compressed.", content_type = "text/plain"),
    responses(
        (status = 204, description = "Every line stored (or already there).",
            headers(("X-Upcount-Accepted" = u64, description = "Points stored."), ("X-Upcount-Duplicates" = u64, description = "Points already recorded at that time."))),
        (status = 400, description = "A partial write (`partial_write`: the other lines are stored), every line refused, or an unreadable body.", body = PushRefusedBody),
        (status = 409, description = "The push source's tracker is paused or ended.", body = ErrorBody),
        (status = 413, description = "A body over the push limit.", body = ErrorBody),
    ),
)]
/// InfluxDB line protocol at `/api/v1/push/influx`, `…/write` (v1) and `…/api/v2/write`
/// (documented once: the others are aliases, see `crate::openapi`).
pub async fn influx(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now();
    let query = query_pairs(raw.as_deref());
    let token = carried_token(&headers, &query, Some("p"));
    let source = push_source_of(&state, token.as_deref()).await?;
    let body = push_body(body)?;
    let precision = query
        .iter()
        .find(|(name, _)| name == "precision")
        .map_or(Ok(influx::Precision::default()), |(_, value)| {
            influx::Precision::parse(value)
        });
    let precision = match precision {
        Ok(precision) => precision,
        Err(message) => return Ok(unreadable_body(&format!("`precision`: {message}"))),
    };
    let text = match text(&body) {
        Ok(text) => text,
        Err(message) => return Ok(unreadable_body(&message)),
    };
    let batch = influx::parse(text, precision);
    Ok(influx_answer(
        push::store(&state.pool, &source, batch, now).await,
    ))
}

/// As InfluxDB answers a write (see the module's documentation).
fn influx_answer(result: Result<push::PushAnswer, push::PushError>) -> Response {
    match result {
        Ok(stored) if stored.refused.is_empty() => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            let headers = response.headers_mut();
            for (name, count) in [
                ("x-upcount-accepted", stored.accepted),
                ("x-upcount-duplicates", stored.duplicates),
            ] {
                headers.insert(name, HeaderValue::from(count as u64));
            }
            response
        }
        Ok(stored) => {
            let first: Vec<String> = stored
                .refused
                .iter()
                .take(3)
                .map(|refusal| format!("line {}: {}", refusal.line, refusal.reason))
                .collect();
            (
                StatusCode::BAD_REQUEST,
                Json(PushRefusedBody {
                    error: format!(
                        "partial write: {} refused ({}{}); {} accepted",
                        stored.refused.len(),
                        first.join("; "),
                        if stored.refused.len() > first.len() {
                            "; …"
                        } else {
                            ""
                        },
                        stored.accepted
                    ),
                    code: if stored.accepted + stored.duplicates == 0 {
                        "all_refused"
                    } else {
                        "partial_write"
                    }
                    .into(),
                    accepted: stored.accepted,
                    duplicates: stored.duplicates,
                    refused: stored.refused,
                }),
            )
                .into_response()
        }
        Err(error) => answer(Err(error)),
    }
}

#[utoipa::path(
    post, path = "/api/v1/push/prometheus", tag = "push",
    security(("push_token" = []), ("push_basic" = [])),
    request_body(content = String, description = "The Prometheus text exposition format (`text/plain; version=0.0.4`), up to 5,000 samples; may be gzip-compressed.", content_type = "text/plain"),
    responses(
        (status = 200, description = "What was stored, what was already there, and every line refused with why.", body = app::server::push::PushAnswer),
        (status = 400, description = "Every sample was refused, or the body could not be read at all: nothing stored.", body = PushRefusedBody),
        (status = 409, description = "The push source's tracker is paused or ended.", body = ErrorBody),
        (status = 413, description = "A body over the push limit.", body = ErrorBody),
        (status = 415, description = "A protobuf body: Upcount reads the text format.", body = ErrorBody),
    ),
)]
/// The Prometheus text format, at `/api/v1/push/prometheus` (`POST` and `PUT`: the
/// Pushgateway's "replace" is a push here).
pub async fn prometheus(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    prometheus_with(state, headers, body, &[]).await
}

#[utoipa::path(
    post, path = "/api/v1/push/prometheus/metrics/{grouping}", tag = "push",
    params(("grouping" = String, Path, description = "`job/<job>` then `<label>/<value>` pairs (`<label>@base64/<base64url>` for a value with a slash).")),
    security(("push_token" = []), ("push_basic" = [])),
    request_body(content = String, description = "The Prometheus text exposition format (`text/plain; version=0.0.4`), up to 5,000 samples; may be gzip-compressed.", content_type = "text/plain"),
    responses(
        (status = 200, description = "What was stored, what was already there, and every line refused with why.", body = app::server::push::PushAnswer),
        (status = 400, description = "Every sample was refused, or the body could not be read at all: nothing stored.", body = PushRefusedBody),
        (status = 409, description = "The push source's tracker is paused or ended.", body = ErrorBody),
        (status = 413, description = "A body over the push limit.", body = ErrorBody),
        (status = 415, description = "A protobuf body: Upcount reads the text format.", body = ErrorBody),
    ),
)]
/// The Prometheus text format at the Pushgateway's path (`POST` and `PUT`): `job` and each
/// `label/value` pair after it label every series.
pub async fn pushgateway(
    State(state): State<AppState>,
    ApiPath(grouping): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let parts: Vec<&str> = grouping
        .split('/')
        .filter(|part| !part.is_empty())
        .collect();
    if parts.len() % 2 == 1 {
        return Ok(unreadable_body(
            "The grouping path must be `job/<job>` followed by `<label>/<value>` pairs.",
        ));
    }
    let mut labels = Vec::new();
    for pair in parts.chunks(2) {
        let (name, value) = (pair[0], pair[1]);
        // `label@base64/…` carries a value that may hold a slash.
        let (name, value) = match name.strip_suffix("@base64") {
            Some(name) => {
                let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(value.trim_end_matches('='))
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok());
                match decoded {
                    Some(value) => (name, value),
                    None => {
                        return Ok(unreadable_body(&format!(
                            "The grouping label `{name}` is not base64url: {value}"
                        )));
                    }
                }
            }
            None => (name, value.to_string()),
        };
        labels.push((name.to_string(), value));
    }
    prometheus_with(state, headers, body, &labels).await
}

async fn prometheus_with(
    state: AppState,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    grouping: &[(String, String)],
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now();
    let source = push_source_of(&state, carried_token(&headers, &[], None).as_deref()).await?;
    let body = push_body(body)?;
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("protobuf"))
    {
        return Ok(coded_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_format",
            "Upcount reads the Prometheus text format (text/plain; version=0.0.4), not protobuf: have the client push text (Go: `push.New(…).Format(expfmt.NewFormat(expfmt.TypeTextPlain))`).",
        ));
    }
    let text = match text(&body) {
        Ok(text) => text,
        Err(message) => return Ok(unreadable_body(&message)),
    };
    let mut batch = prometheus::parse(text);
    with_grouping(&mut batch, grouping);
    Ok(answer(push::store(&state.pool, &source, batch, now).await))
}

/// Adds the Pushgateway grouping labels to every point (a point's own label of the same
/// name gives way, as the Pushgateway's grouping key wins).
fn with_grouping(batch: &mut Batch, grouping: &[(String, String)]) {
    for (_, point) in &mut batch.points {
        for (name, value) in grouping {
            point.labels.insert(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(authorization).expect("a header"),
        );
        headers
    }

    #[test]
    fn the_token_comes_however_influx_and_prometheus_clients_send_it() {
        let none: &[(String, String)] = &[];
        for header in ["Bearer upp_a", "Token upp_a", "token  upp_a "] {
            assert_eq!(
                carried_token(&headers(header), none, Some("p")).as_deref(),
                Some("upp_a")
            );
        }
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("telegraf:upp_a")
        );
        assert_eq!(
            carried_token(&headers(&basic), none, None).as_deref(),
            Some("upp_a")
        );
        let query = vec![
            ("db".to_string(), "x".to_string()),
            ("p".to_string(), "upp_q".to_string()),
        ];
        assert_eq!(
            carried_token(&HeaderMap::new(), &query, Some("p")).as_deref(),
            Some("upp_q")
        );
        // Only where the format takes it, and a header wins.
        assert_eq!(carried_token(&HeaderMap::new(), &query, None), None);
        assert_eq!(
            carried_token(&headers("Bearer upp_a"), &query, Some("p")).as_deref(),
            Some("upp_a")
        );
        assert_eq!(carried_token(&headers("Digest x"), none, Some("p")), None);
    }
}
