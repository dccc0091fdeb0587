//! Providers: one module per upstream thing, each implementing [`Provider`] and listed in
//! [`all`]. Adding a provider touches no migration and no other provider.

pub mod coingecko;
pub mod github;
pub mod hackernews;
pub mod json;
pub mod reddit;
pub mod twitch;
pub mod youtube;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use url::Url;

use super::{
    FetchError, Metadata, MetricSpec, Readings, SourceRef,
    config::{Service, TrackingConfig},
    http::Upstreams,
};

/// The outcome per source of a batch fetch, in the order the sources were given.
pub type BatchOutcome = Vec<Result<Readings, FetchError>>;

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// `github.repo`: stored with every source, never renamed.
    fn kind(&self) -> &'static str;

    /// What the provider tracks, for people: "GitHub repository".
    fn label(&self) -> &'static str;

    /// The upstream it talks to (base URL, credentials, rate limit).
    fn service(&self) -> Service;

    /// The key of the thing `url` points at, when this provider recognises it.
    fn recognise(&self, url: &Url) -> Option<String>;

    /// Checks and normalises a key given directly (`{"kind": …, "key": …}`).
    fn parse_key(&self, key: &str) -> Result<String, String>;

    /// The metrics of `source`.
    fn metrics(&self, source: &SourceRef) -> Vec<MetricSpec>;

    /// How many sources one request can fetch.
    fn batch_size(&self) -> usize {
        1
    }

    /// `Some(reason)` when the server lacks a credential this provider needs.
    fn missing_credentials(&self, _config: &TrackingConfig) -> Option<String> {
        None
    }

    /// Title, link, author…; also the existence check when a tracker is added.
    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError>;

    /// The current values of up to [`batch_size`](Self::batch_size) sources. `Err` when the
    /// whole request failed; per source otherwise.
    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError>;
}

/// Every provider, in the order URLs are tried.
pub fn all() -> Vec<Arc<dyn Provider>> {
    vec![
        Arc::new(hackernews::Item),
        Arc::new(hackernews::User),
        Arc::new(github::Repo),
        Arc::new(reddit::Post),
        Arc::new(reddit::Subreddit),
        Arc::new(youtube::Video),
        Arc::new(youtube::Channel),
        Arc::new(twitch::Clip),
        Arc::new(twitch::Video),
        Arc::new(twitch::Stream),
        Arc::new(coingecko::Coin),
        Arc::new(json::Json),
    ]
}

// Helpers the providers share.

/// The host of `url` without `www.`/`m.`/`old.` prefixes, lowercased.
pub(crate) fn bare_host(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host
        .strip_prefix("www.")
        .or_else(|| host.strip_prefix("m."))
        .or_else(|| host.strip_prefix("old."))
        .or_else(|| host.strip_prefix("new."))
        .unwrap_or(&host)
        .to_string();
    Some(host)
}

/// The non-empty path segments of `url`.
pub(crate) fn segments(url: &Url) -> Vec<String> {
    url.path_segments()
        .map(|segments| {
            segments
                .filter(|segment| !segment.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The value of query parameter `name`.
pub(crate) fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A JSON number, or a string holding one (YouTube sends counts as strings).
pub(crate) fn number(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Number(number) => number.as_f64(),
        serde_json::Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// An RFC 3339 timestamp.
pub(crate) fn rfc3339(value: &serde_json::Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// A Unix time in seconds (integer or float).
pub(crate) fn unix_time(value: &serde_json::Value) -> Option<DateTime<Utc>> {
    let seconds = value.as_f64()?;
    Utc.timestamp_opt(seconds as i64, 0).single()
}

/// Whether `text` is 1..=`max` characters from `allowed`.
pub(crate) fn is_token(text: &str, max: usize, allowed: impl Fn(char) -> bool) -> bool {
    !text.is_empty() && text.chars().count() <= max && text.chars().all(allowed)
}

/// A parse error for a payload that is missing `what`.
pub(crate) fn missing(what: &str, json: &serde_json::Value) -> FetchError {
    FetchError::parse(
        format!("the answer has no {what}"),
        json.to_string().as_bytes(),
    )
}
