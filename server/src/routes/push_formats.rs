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
//! - `GET`/`HEAD /api/v1/push/influx/ping` and `GET`/`POST /api/v1/push/influx/query`:
//!   what InfluxDB clients ask besides writing. `/ping` is 204 with InfluxDB's version
//!   headers, and needs no token (as InfluxDB's does not). `/query` takes the token as
//!   the write does and answers only `CREATE DATABASE …` (Telegraf's `outputs.influxdb`
//!   sends it at start), as done: a push source needs no database. Any other InfluxQL is
//!   400 in InfluxDB's error shape, `{"error": "…"}`, naming the statement.
//!
//! Bodies may be gzip-compressed (Telegraf's default); the size limit holds after
//! decompression.

use super::{
    errors::{ApiError, ErrorBody, coded_error, json_error},
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
use serde::Serialize;

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

/// The InfluxDB version the ping and query paths answer as: the last 1.x, whose `/write`,
/// `/query` and `/ping` these paths follow.
const INFLUX_VERSION: &str = "1.8.10";

/// InfluxDB's headers on every answer: its version and build.
fn with_influx_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        "x-influxdb-version",
        HeaderValue::from_static(INFLUX_VERSION),
    );
    headers.insert("x-influxdb-build", HeaderValue::from_static("OSS"));
    response
}

#[utoipa::path(
    get, path = "/api/v1/push/influx/ping", tag = "push",
    security(()),
    responses(
        (status = 204, description = "Up, as InfluxDB 1.8 answers `/ping` (to `HEAD` too); no token needed, as InfluxDB needs none.",
            headers(("X-Influxdb-Version" = String, description = "The InfluxDB version Upcount answers as."), ("X-Influxdb-Build" = String, description = "Always `OSS`."))),
    ),
)]
/// `GET`/`HEAD /api/v1/push/influx/ping`: what InfluxDB clients ask to learn that the server
/// is up and which version it is.
pub async fn influx_ping() -> Response {
    with_influx_headers(StatusCode::NO_CONTENT.into_response())
}

/// InfluxDB's answer to a query of which every statement succeeded with no rows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InfluxQueryBody {
    /// One per statement, in order.
    pub results: Vec<InfluxStatementResult>,
}

/// One statement's result: its position in the query, from 0.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InfluxStatementResult {
    pub statement_id: usize,
}

#[utoipa::path(
    get, path = "/api/v1/push/influx/query", tag = "push",
    security(("push_token" = []), ("influx_token" = []), ("push_basic" = []), ("influx_p" = [])),
    params(
        ("q" = String, Query, description = "InfluxQL: only `CREATE DATABASE …` statements (separated by `;`), which change nothing: a push source needs no database."),
        ("db" = Option<String>, Query, description = "InfluxDB's database: accepted and ignored."),
    ),
    responses(
        (status = 200, description = "Every statement was a `CREATE DATABASE`: done, as InfluxDB answers it.", body = InfluxQueryBody),
        (status = 400, description = "No `q`, or a statement other than `CREATE DATABASE` (named): InfluxDB's error shape, `{\"error\"}`.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/push/influx/query`: see [`influx_query`].
pub async fn influx_query_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    influx_query_with(&state, &headers, query_pairs(raw.as_deref())).await
}

#[utoipa::path(
    post, path = "/api/v1/push/influx/query", tag = "push",
    security(("push_token" = []), ("influx_token" = []), ("push_basic" = []), ("influx_p" = [])),
    params(
        ("q" = Option<String>, Query, description = "InfluxQL, here or in the form body: only `CREATE DATABASE …` statements (separated by `;`), which change nothing: a push source needs no database."),
        ("db" = Option<String>, Query, description = "InfluxDB's database: accepted and ignored."),
    ),
    request_body(content = crate::openapi::InfluxQueryForm, content_type = "application/x-www-form-urlencoded", description = "`q` (and `p`, the token) as a form, as Telegraf's `outputs.influxdb` sends them (the form wins over the query string)."),
    responses(
        (status = 200, description = "Every statement was a `CREATE DATABASE`: done, as InfluxDB answers it.", body = InfluxQueryBody),
        (status = 400, description = "No `q`, or a statement other than `CREATE DATABASE` (named): InfluxDB's error shape, `{\"error\"}`.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/push/influx/query`: InfluxDB's query endpoint, answering the
/// `CREATE DATABASE "telegraf"` Telegraf's `outputs.influxdb` sends at start (a no-op: a
/// push source needs no database) and refusing any other statement by name.
pub async fn influx_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    // As InfluxDB (Go's `FormValue`) reads them: the form's parameters before the URL's.
    let mut pairs: Vec<(String, String)> = if is_form {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    pairs.extend(query_pairs(raw.as_deref()));
    influx_query_with(&state, &headers, pairs).await
}

async fn influx_query_with(
    state: &AppState,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let token = carried_token(headers, &pairs, Some("p"));
    push_source_of(state, token.as_deref()).await?;
    let q = pairs
        .iter()
        .find(|(name, _)| name == "q")
        .map_or("", |(_, value)| value.as_str());
    let answer = match answer_influxql(q) {
        Ok(results) => (StatusCode::OK, Json(results)).into_response(),
        Err(message) => json_error(StatusCode::BAD_REQUEST, &message),
    };
    Ok(with_influx_headers(answer))
}

/// The answer to the InfluxQL `q`: done, when every statement is a `CREATE DATABASE`, or
/// what InfluxDB's `error` should say.
fn answer_influxql(q: &str) -> Result<InfluxQueryBody, String> {
    let statements = influxql_statements(q);
    if statements.is_empty() {
        return Err("missing required parameter \"q\"".into());
    }
    if let Some(other) = statements
        .iter()
        .find(|statement| !creates_database(statement))
    {
        let mut shown: String = other.chars().take(60).collect();
        if shown.len() < other.len() {
            shown.push('…');
        }
        return Err(format!(
            "Upcount's InfluxDB paths answer only `CREATE DATABASE` (a push source needs no database), not `{shown}`: write with /api/v1/push/influx/write, and read the numbers through the Prometheus-compatible query API (/api/v1/prom/)."
        ));
    }
    Ok(InfluxQueryBody {
        results: (0..statements.len())
            .map(|statement_id| InfluxStatementResult { statement_id })
            .collect(),
    })
}

/// The statements of `q`: split at each `;` outside quotes, trimmed, the empty left out.
fn influxql_statements(q: &str) -> Vec<&str> {
    let mut statements = Vec::new();
    let mut quote = None;
    let mut start = 0;
    let mut escaped = false;
    for (at, c) in q.char_indices() {
        match (quote, c) {
            (Some(_), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(open), c) if c == open && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, ';') => {
                statements.push(&q[start..at]);
                start = at + 1;
            }
            _ => {}
        }
        escaped = false;
    }
    statements.push(&q[start..]);
    statements
        .into_iter()
        .map(str::trim)
        .filter(|statement| !statement.is_empty())
        .collect()
}

/// Whether `statement` is `CREATE DATABASE <name> …` (keywords in any case).
fn creates_database(statement: &str) -> bool {
    let mut words = statement.split_whitespace();
    matches!(
        (words.next(), words.next(), words.next()),
        (Some(create), Some(database), Some(_name))
            if create.eq_ignore_ascii_case("create") && database.eq_ignore_ascii_case("database")
    )
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

    #[test]
    fn only_create_database_is_answered_and_anything_else_is_named() {
        let ids = |q: &str| {
            answer_influxql(q).map(|body| {
                body.results
                    .iter()
                    .map(|result| result.statement_id)
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(ids(r#"CREATE DATABASE "telegraf""#), Ok(vec![0]));
        assert_eq!(
            ids("create database a WITH DURATION 1d;  CREATE DATABASE \"b;c\" ;"),
            Ok(vec![0, 1])
        );
        assert_eq!(
            ids("  ; "),
            Err("missing required parameter \"q\"".to_string())
        );
        let refused = ids(r#"CREATE DATABASE x; SHOW DATABASES"#).expect_err("refused");
        assert!(refused.contains("not `SHOW DATABASES`"), "{refused}");
        assert!(ids("CREATE DATABASE").is_err());
        assert!(ids("DROP DATABASE telegraf").is_err());
        let long = format!("SELECT {} FROM cpu", "x".repeat(100));
        assert!(
            ids(&long)
                .expect_err("refused")
                .contains(&format!("not `SELECT {}…`", "x".repeat(53)))
        );
    }
}
