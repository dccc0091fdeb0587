//! `upcount poll-once <kind> <key-or-url>`: what Upcount would record for a source, now,
//! without storing anything. For trying a provider against the real API, or a stand-in.

use std::{collections::BTreeMap, process::ExitCode};

use app::domain::provider_kind::InvalidProviderKind;
use app::server::tracking::{
    Engine, FetchError,
    engine::{HeaderInput, TrackError, TrackRequest},
    service::describe,
};
use serde_json::json;

/// Runs the command; prints JSON to standard output, or the problem to standard error.
pub async fn run(
    engine: &Engine,
    kind: &str,
    target: &str,
    metrics: &[String],
    headers: &[String],
) -> ExitCode {
    match poll(engine, kind, target, metrics, headers).await {
        Ok(output) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&output).unwrap_or_else(|_| output.to_string())
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("upcount: {}", describe(&error));
            ExitCode::from(exit_code(&error))
        }
    }
}

fn exit_code(error: &TrackError) -> u8 {
    match error {
        TrackError::Unrecognised(_) | TrackError::Invalid(_) => 2,
        TrackError::NotConfigured(_) => 5,
        TrackError::Fetch(FetchError::Gone(_)) => 3,
        TrackError::Fetch(
            FetchError::Unavailable(_)
            | FetchError::RateLimited { .. }
            | FetchError::Throttled { .. },
        ) => 4,
        TrackError::Fetch(FetchError::Refused(_) | FetchError::NotConfigured(_)) => 5,
        TrackError::Fetch(_) => 1,
    }
}

async fn poll(
    engine: &Engine,
    kind: &str,
    target: &str,
    metrics: &[String],
    headers: &[String],
) -> Result<serde_json::Value, TrackError> {
    let mut request = TrackRequest::default();
    if kind == "url" || kind == "json" {
        request.url = Some(target.to_string());
    } else {
        request.kind = Some(
            kind.parse()
                .map_err(|error: InvalidProviderKind| TrackError::Invalid(error.to_string()))?,
        );
        request.key = Some(target.to_string());
    }
    if !metrics.is_empty() {
        let metrics = split_each(metrics, '=', "--metric must be NAME=EXPRESSION")?;
        request.metrics = Some(metrics.into_iter().collect::<BTreeMap<_, _>>());
    }
    if !headers.is_empty() {
        let headers = split_each(headers, ':', "--header must be `Name: value`")?;
        request.headers = Some(
            headers
                .into_iter()
                .map(|(name, value)| HeaderInput {
                    name,
                    value,
                    secret: false,
                })
                .collect(),
        );
    }
    let resolved = engine.resolve(&request)?;
    let provider = resolved.provider;
    let metadata = engine
        .metadata(provider.as_ref(), &resolved.source)
        .await
        .map_err(TrackError::Fetch)?;
    let mut source = resolved.source;
    source.key = metadata.key.clone();
    let readings = engine
        .fetch(provider.as_ref(), std::slice::from_ref(&source))
        .await
        .map_err(TrackError::Fetch)?
        .pop()
        .ok_or_else(|| TrackError::Invalid("the provider answered nothing".into()))?
        .map_err(TrackError::Fetch)?;
    let specs = provider.metrics(&source);
    let values: Vec<serde_json::Value> = specs
        .iter()
        .map(|spec| {
            let value = readings.value_of(&spec.name);
            let error = readings.error_of(&spec.name);
            json!({ "name": spec.name, "kind": spec.kind, "unit": spec.unit, "value": value, "error": error })
        })
        .collect();
    Ok(json!({
        "kind": provider.kind(),
        "key": metadata.key,
        "metadata": metadata,
        "metrics": values,
    }))
}

/// Each argument split at its first `separator` into a trimmed name and value; `rule` is
/// the error for one without it.
fn split_each(
    arguments: &[String],
    separator: char,
    rule: &str,
) -> Result<Vec<(String, String)>, TrackError> {
    arguments
        .iter()
        .map(|argument| {
            let (name, value) = argument
                .split_once(separator)
                .ok_or_else(|| TrackError::Invalid(format!("{rule}, not `{argument}`")))?;
            Ok((name.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}
