//! Every provider against the stand-in upstream, through the real engine and reqwest
//! client: the normal answer and the awkward ones each API documents.

use std::sync::Arc;

use app::server::tracking::{
    Engine, FetchError, Metadata, Readings, SourceRef,
    engine::{Resolved, TrackError, TrackRequest},
};
use serde_json::json;

use crate::{
    helpers::settings,
    standin::{Canned, StandIn, fixtures},
};

mod github;
mod hubs;
mod json;
mod markets;
mod reddit;
mod registries;
mod social;

pub(crate) fn engine_for(standin: &StandIn, extra: &[(&str, &str)]) -> Arc<Engine> {
    let env = standin.env();
    let mut vars: Vec<(&str, &str)> = env
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    vars.push(("DATABASE_URL", "postgres://nobody@127.0.0.1:1/unused"));
    vars.extend_from_slice(extra);
    upcount::startup::engine(&settings(&vars)).expect("an engine")
}

/// The outcome for each of `keys`, fetched as one batch by the provider of `kind`.
async fn fetch(engine: &Engine, kind: &str, keys: &[&str]) -> Vec<Result<Readings, FetchError>> {
    let provider = engine
        .provider(&kind.parse().expect("a kind"))
        .expect("a provider");
    let sources: Vec<SourceRef> = keys.iter().map(|key| SourceRef::new(*key)).collect();
    engine
        .fetch(provider.as_ref(), &sources)
        .await
        .expect("fetch")
}

/// The metadata of `key` from the provider of `kind`.
async fn metadata_of(engine: &Engine, kind: &str, key: &str) -> Result<Metadata, FetchError> {
    let provider = engine
        .provider(&kind.parse().expect("a kind"))
        .expect("a provider");
    engine
        .metadata(provider.as_ref(), &SourceRef::new(key))
        .await
}

/// Checks that the provider of `kind` finds no `key`.
async fn assert_gone(engine: &Engine, kind: &str, key: &str) {
    let error = metadata_of(engine, kind, key).await.expect_err(key);
    assert!(
        matches!(error, FetchError::Gone(_)),
        "{kind} {key}: {error:?}"
    );
}

/// The metadata of what the link `url` names, which must exist.
async fn metadata_of_link(engine: &Engine, url: &str) -> Metadata {
    let resolved = engine
        .resolve(&TrackRequest {
            url: Some(url.into()),
            ..Default::default()
        })
        .expect("recognised");
    engine
        .metadata(resolved.provider.as_ref(), &resolved.source)
        .await
        .expect("exists")
}

/// The outcome of fetching the one source `resolved` names.
async fn fetch_resolved(engine: &Engine, resolved: &Resolved) -> Result<Readings, FetchError> {
    let mut outcomes = engine
        .fetch(
            resolved.provider.as_ref(),
            std::slice::from_ref(&resolved.source),
        )
        .await
        .expect("fetch");
    outcomes.remove(0)
}

fn value(readings: &Readings, name: &str) -> Option<f64> {
    readings
        .values
        .iter()
        .find(|(candidate, _)| candidate == name)
        .map(|(_, value)| *value)
}

fn ok(outcome: &Result<Readings, FetchError>) -> &Readings {
    outcome
        .as_ref()
        .unwrap_or_else(|error| panic!("expected readings, got {error:?}"))
}

fn gone(outcome: &Result<Readings, FetchError>) -> String {
    match outcome {
        Err(FetchError::Gone(message)) => message.clone(),
        other => panic!("expected gone, got {other:?}"),
    }
}

/// The reason of a fetch refused before connecting.
fn refusal(outcome: &Result<Readings, FetchError>) -> String {
    match outcome {
        Err(FetchError::Refused(message)) => message.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The outcome of fetching `key` alone.
async fn fetch_one(engine: &Engine, kind: &str, key: &str) -> Result<Readings, FetchError> {
    fetch(engine, kind, &[key]).await.remove(0)
}

/// The message of a fetch that failed for want of working credentials.
fn not_configured(outcome: &Result<Readings, FetchError>) -> String {
    match outcome {
        Err(FetchError::NotConfigured(message)) => message.clone(),
        other => panic!("expected not configured, got {other:?}"),
    }
}

/// Adding `url` is refused with `not_configured`, naming `var`.
fn assert_refused_without(engine: &Engine, url: &str, var: &str) {
    let error = engine
        .resolve(&TrackRequest {
            url: Some(url.into()),
            ..Default::default()
        })
        .err()
        .expect("needs credentials");
    assert_eq!(error.code(), "not_configured", "{error:?}");
    assert!(
        matches!(error, TrackError::NotConfigured(ref message) if message.contains(var)),
        "{error:?}"
    );
}

/// Fails unless the fetch was refused as rate-limited, waiting at least `secs`.
fn assert_rate_limited(outcome: &Result<Readings, FetchError>, secs: u64) {
    match outcome {
        Err(FetchError::RateLimited {
            retry_after: Some(after),
            ..
        }) => assert!(after.as_secs() >= secs, "waits: {after:?}"),
        other => panic!("expected a rate limit, got {other:?}"),
    }
}
