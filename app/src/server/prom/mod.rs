//! A Prometheus-compatible query API over a workspace's series, so Grafana's Prometheus
//! data source and `promtool` read Upcount as they read Prometheus: `query`,
//! `query_range`, `series`, `labels` and `label/{name}/values`, answered in Prometheus's
//! JSON shapes. Every series is `upcount_value{tracker, label, kind, key, metric}`.
//! Parsing is the `promql-parser` crate's; evaluating the supported subset is [`eval`]'s,
//! over points [`load`] reads like charts do; [`params`] reads times and steps.

pub mod eval;
pub mod load;
pub mod params;

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};
use sqlx::PgPool;

use crate::domain::WorkspaceId;
use eval::{Labels, PromError, Value};

/// Why a query has no answer: the caller's query, or the database.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{}", .0.message())]
    Prom(PromError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<PromError> for QueryError {
    fn from(error: PromError) -> Self {
        Self::Prom(error)
    }
}

fn labels_json(labels: &Labels) -> Json {
    Json::Object(
        labels
            .iter()
            .map(|(name, value)| (name.clone(), Json::from(value.as_str())))
            .collect(),
    )
}

fn pair(t: i64, value: f64) -> Json {
    json!([params::seconds(t), params::number(value)])
}

/// `GET /api/v1/query`: `query` at `time` (milliseconds).
pub async fn instant(
    pool: &PgPool,
    workspace: WorkspaceId,
    query: &str,
    time: i64,
) -> Result<Json, QueryError> {
    let expr = eval::parse(query)?;
    let reaches = eval::check(&expr)?;
    let data = if reaches.is_empty() {
        Vec::new()
    } else {
        let catalogue = load::catalogue(pool, workspace).await?;
        load::points(pool, &catalogue, &reaches, time, time).await?
    };
    Ok(match eval::eval(&expr, time, &data)? {
        Value::Scalar(value) => json!({ "resultType": "scalar", "result": pair(time, value) }),
        Value::Vector(items) => {
            let result: Vec<Json> = items
                .iter()
                .map(|(labels, value)| json!({ "metric": labels_json(labels), "value": pair(time, *value) }))
                .collect();
            json!({ "resultType": "vector", "result": result })
        }
    })
}

/// `GET /api/v1/query_range`: `query` at every `step` from `start` to `end`
/// (milliseconds), one series per label set.
pub async fn range(
    pool: &PgPool,
    workspace: WorkspaceId,
    query: &str,
    start: i64,
    end: i64,
    step: i64,
) -> Result<Json, QueryError> {
    let instants = params::steps(start, end, step)?;
    let expr = eval::parse(query)?;
    let reaches = eval::check(&expr)?;
    let data = if reaches.is_empty() {
        Vec::new()
    } else {
        let catalogue = load::catalogue(pool, workspace).await?;
        load::points(pool, &catalogue, &reaches, start, end).await?
    };
    let mut series: std::collections::BTreeMap<Labels, Vec<Json>> = Default::default();
    for t in instants {
        match eval::eval(&expr, t, &data)? {
            Value::Scalar(value) => series
                .entry(Labels::new())
                .or_default()
                .push(pair(t, value)),
            Value::Vector(items) => {
                for (labels, value) in items {
                    series.entry(labels).or_default().push(pair(t, value));
                }
            }
        }
    }
    let result: Vec<Json> = series
        .into_iter()
        .map(|(labels, values)| json!({ "metric": labels_json(&labels), "values": values }))
        .collect();
    Ok(json!({ "resultType": "matrix", "result": result }))
}

/// The series of the workspace picked by any of `matches` (selectors such as
/// `upcount_value{metric="stars"}`); with none, every series.
async fn picked(
    pool: &PgPool,
    workspace: WorkspaceId,
    matches: &[String],
) -> Result<Vec<Labels>, QueryError> {
    let mut selectors = Vec::new();
    for text in matches {
        match eval::parse(text)? {
            promql_parser::parser::Expr::VectorSelector(selector) => selectors.push(selector),
            _ => {
                return Err(PromError::BadData(format!(
                    "invalid parameter \"match[]\": {text} is not a series selector"
                ))
                .into());
            }
        }
    }
    let catalogue = load::catalogue(pool, workspace).await?;
    Ok(catalogue
        .into_iter()
        .filter(|info| {
            selectors.is_empty()
                || selectors
                    .iter()
                    .any(|selector| eval::selects(selector, &info.labels))
        })
        .map(|info| info.labels)
        .collect())
}

/// `GET /api/v1/series`: the label sets of the series `matches` picks (at least one).
pub async fn series(
    pool: &PgPool,
    workspace: WorkspaceId,
    matches: &[String],
) -> Result<Json, QueryError> {
    if matches.is_empty() {
        return Err(PromError::BadData("no match[] parameter provided".into()).into());
    }
    let picked = picked(pool, workspace, matches).await?;
    Ok(Json::Array(picked.iter().map(labels_json).collect()))
}

/// `GET /api/v1/labels`: the label names of the series `matches` picks (every series
/// with none), sorted.
pub async fn labels(
    pool: &PgPool,
    workspace: WorkspaceId,
    matches: &[String],
) -> Result<Json, QueryError> {
    let names: BTreeSet<String> = picked(pool, workspace, matches)
        .await?
        .into_iter()
        .flat_map(|labels| labels.into_keys())
        .collect();
    Ok(json!(names))
}

/// `GET /api/v1/label/{name}/values`: the values `name` takes among the series `matches`
/// picks, sorted.
pub async fn label_values(
    pool: &PgPool,
    workspace: WorkspaceId,
    name: &str,
    matches: &[String],
) -> Result<Json, QueryError> {
    let values: BTreeSet<String> = picked(pool, workspace, matches)
        .await?
        .into_iter()
        .filter_map(|mut labels| labels.remove(name))
        .collect();
    Ok(json!(values))
}
