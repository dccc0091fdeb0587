//! Push sources and `POST /api/v1/push`: making, listing and deleting push sources (their
//! tokens shown once, scoped to the workspace, under the plan's tracker limit), and
//! pushing JSON into them: refusals by item, labels, the series cap, counters, deltas from
//! concurrent senders, late points and duplicates, tokens, alerts and charts; and events
//! (`POST /api/v1/events`) counted into series, kept raw, exported and pruned.

use app::domain::{Role, TokenScope};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

mod events;
mod formats;
mod label_sets;
mod limits;
mod out;
mod pushing;
mod semantics;
mod sources;

/// The app and a read-write API token of a (Business) workspace.
async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    (app, token)
}

/// A push source just made.
struct Made {
    id: String,
    tracker: String,
    token: String,
}

/// Makes a push source named `name` through the API with `api_token`.
async fn make_source(app: &TestApp, api_token: &str, name: &str) -> Made {
    let (status, body) = app
        .api_post("/api/v1/push-sources", api_token, json!({ "name": name }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let field = |name: &str| {
        body["push_source"][name]
            .as_str()
            .unwrap_or_else(|| panic!("`{name}` in {body}"))
            .to_string()
    };
    Made {
        id: field("id"),
        tracker: field("tracker_id"),
        token: field("token"),
    }
}

/// `POST path` of `body` with `Authorization: Bearer token`.
async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    app.api(Method::POST, path, token, Some(body)).await
}

/// Posts `body`, which must be accepted whole: the answer.
async fn post_ok(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let (status, answer) = post(app, path, token, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["refused"], json!([]), "{answer}");
    answer
}

/// `POST /api/v1/push` of `body` with `Authorization: Bearer token`.
async fn push(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    post(app, "/api/v1/push", token, body).await
}

/// Pushes `body`, which must be accepted whole: the answer.
async fn push_ok(app: &TestApp, token: &str, body: Value) -> Value {
    post_ok(app, "/api/v1/push", token, body).await
}

/// The refusals of an answer as (line, reason).
fn refusals(answer: &Value) -> Vec<(u64, String)> {
    answer["refused"]
        .as_array()
        .expect("refused")
        .iter()
        .map(|refusal| {
            (
                refusal["line"].as_u64().expect("a line"),
                refusal["reason"].as_str().expect("a reason").to_string(),
            )
        })
        .collect()
}

/// The rollup row of series `name` in `table` for the bucket starting at `bucket`:
/// (min, max, sum, count, last, last_t as RFC 3339).
async fn rollup(
    app: &TestApp,
    table: &str,
    name: &str,
    bucket: &str,
) -> (f64, f64, f64, i64, f64, String) {
    let sql = format!(
        r#"SELECT r.min, r.max, r.sum, r.count, r.last,
                  to_char(r.last_t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
           FROM {table} r JOIN source_metrics m ON m.id = r.metric_id
           WHERE m.name = $1 AND r.bucket = $2::timestamptz"#
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .bind(bucket)
        .fetch_one(&app.pool)
        .await
        .expect("the rollup row")
}

/// The samples of series `name` (of any source), oldest first, as (RFC 3339 UTC, value).
async fn samples(app: &TestApp, name: &str) -> Vec<(String, f64)> {
    sqlx::query_as::<_, (String, f64)>(
        r#"SELECT to_char(s.t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), s.value
           FROM samples s JOIN source_metrics m ON m.id = s.metric_id
           WHERE m.name = $1 ORDER BY s.t"#,
    )
    .bind(name)
    .fetch_all(&app.pool)
    .await
    .expect("samples")
}

/// The latest value of series `name`.
async fn last_value(app: &TestApp, name: &str) -> Option<f64> {
    sqlx::query_scalar::<_, Option<f64>>("SELECT last_value FROM source_metrics WHERE name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .expect("the series")
}
