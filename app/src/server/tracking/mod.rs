//! The tracking engine: providers that recognise URLs and fetch numbers from upstream
//! APIs, the guarded HTTP client they fetch through, and the store that keeps sources,
//! trackers and time series in PostgreSQL. Polling jobs (in the server crate), the REST
//! API and server functions all go through [`Engine`].
//!
//! Words: a **source** is one thing upstream (`github.repo` + `leptos-rs/leptos`), stored
//! once however many workspaces track it; a **tracker** is a workspace's subscription to
//! a source; a **sample** is one value of one metric of a source at one time.

pub mod backfill;
pub mod batch;
pub mod config;
pub mod engine;
pub mod export;
pub mod guard;
pub mod http;
pub mod page;
pub mod providers;
pub mod secrets;
pub mod series;
pub mod service;
pub mod store;
pub mod streams;
#[cfg(test)]
pub(crate) mod testing;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use config::{Service, TrackingConfig};
pub use engine::Engine;

/// How a metric's values behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// A level that goes up and down (viewers, price).
    Gauge,
    /// A running total that mostly grows (stars, views).
    Counter,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
        }
    }
}

/// A metric a provider declares for a source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSpec {
    pub name: String,
    pub kind: MetricKind,
    pub unit: String,
}

impl MetricSpec {
    pub fn new(name: &str, kind: MetricKind, unit: &str) -> Self {
        Self {
            name: name.to_string(),
            kind,
            unit: unit.to_string(),
        }
    }
}

/// What a provider knows about a source besides its numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metadata {
    /// The canonical key (a provider may learn it only from upstream: a YouTube `@handle`
    /// becomes a channel id, a GitHub repository its exact owner/name).
    pub key: String,
    pub title: String,
    /// A link to the thing itself.
    pub url: String,
    pub author: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
}

/// The values of one poll of one source. A metric that could not be read (a `json`
/// expression that matched a string) is in `errors` with the reason.
///
/// An upstream that answers conditional requests gives a `validator` (an `ETag`) with
/// what it answered; the poll stores it with the source and hands it back in
/// [`SourceRef::validator`] next time. When the upstream says nothing changed since
/// (`304 Not Modified`), the readings are [`Readings::unchanged`]: no values, and the poll
/// records the source's last values again at the new time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Readings {
    pub values: Vec<(String, f64)>,
    pub errors: Vec<(String, String)>,
    /// What to send back as `If-None-Match` next time, when the upstream gave one.
    pub validator: Option<String>,
    /// The upstream answered that nothing changed since `validator`.
    pub unchanged: bool,
    /// What a channel's poll saw of its stream (`twitch.stream`), for stream sessions.
    pub stream: Option<crate::domain::streams::StreamSeen>,
}

impl Readings {
    /// Nothing changed upstream since the validator was given out: the last values hold.
    pub fn unchanged(validator: impl Into<String>) -> Self {
        Self {
            validator: Some(validator.into()),
            unchanged: true,
            ..Self::default()
        }
    }

    /// These readings, with the validator the upstream answered them with.
    pub fn with_validator(self, validator: Option<String>) -> Self {
        Self { validator, ..self }
    }

    pub fn push(&mut self, name: &str, value: f64) {
        self.values.push((name.to_string(), value));
    }

    /// The readings of `values`, in their order; a `None` is left out as by
    /// [`push_some`](Self::push_some).
    pub fn of<'a>(values: impl IntoIterator<Item = (&'a str, Option<f64>)>) -> Self {
        let mut readings = Self::default();
        for (name, value) in values {
            readings.push_some(name, value);
        }
        readings
    }

    /// Adds `value` when there is one (a hidden like count, for example, is left out).
    pub fn push_some(&mut self, name: &str, value: Option<f64>) {
        if let Some(value) = value {
            self.push(name, value);
        }
    }

    /// The value read for metric `name`, if one was.
    pub fn value_of(&self, name: &str) -> Option<f64> {
        self.values
            .iter()
            .find(|(metric, _)| metric == name)
            .map(|(_, value)| *value)
    }

    /// Why metric `name` could not be read, if it could not.
    pub fn error_of(&self, name: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(metric, _)| metric == name)
            .map(|(_, error)| error.as_str())
    }
}

/// Why a fetch failed. The variant decides what happens next: transient failures are
/// retried and back off, `Gone` stops the source, the others are reported as they are.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// The thing does not exist (any more): 404/410, a deleted item, an unknown id.
    #[error("{0}")]
    Gone(String),
    /// The upstream asked us to slow down (429, or a rate-limit answer).
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The upstream is down or unreachable: 5xx, timeouts, connection errors.
    #[error("{0}")]
    Unavailable(String),
    /// The upstream answered something we cannot read.
    #[error("{message}")]
    Parse { message: String, excerpt: String },
    /// The request was not sent: the address is not allowed.
    #[error("{0}")]
    Refused(String),
    /// The server lacks a credential this provider needs.
    #[error("{0}")]
    NotConfigured(String),
    /// The request itself is wrong (a bad expression, a rejected credential).
    #[error("{0}")]
    Invalid(String),
    /// Not sent: this process's own rate limit for the upstream is used up for now. Not a
    /// failure of the source; it is simply polled later.
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after: Duration,
    },
}

impl FetchError {
    /// Worth trying again later: the upstream may recover.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FetchError::RateLimited { .. }
                | FetchError::Unavailable(_)
                | FetchError::Throttled { .. }
        )
    }

    /// A short machine-readable name, for the API and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::Gone(_) => "not_found",
            FetchError::RateLimited { .. } | FetchError::Throttled { .. } => "rate_limited",
            FetchError::Unavailable(_) => "upstream_unavailable",
            FetchError::Parse { .. } => "upstream_unreadable",
            FetchError::Refused(_) => "address_refused",
            FetchError::NotConfigured(_) => "not_configured",
            FetchError::Invalid(_) => "invalid",
        }
    }

    pub fn parse(message: impl Into<String>, body: &[u8]) -> Self {
        FetchError::Parse {
            message: message.into(),
            excerpt: excerpt(body),
        }
    }
}

/// At most 500 characters of a payload, for error reports (never a NUL, which PostgreSQL
/// text cannot hold).
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = clean_text(&text.chars().take(500).collect::<String>());
    if text.chars().count() > 500 {
        out.push('…');
    }
    out
}

/// `text` without NUL characters (PostgreSQL text cannot hold them; upstream payloads can).
pub fn clean_text(text: &str) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text.to_string()
    }
}

/// A source as a provider sees it: its key and, for providers that have one, its config
/// (secret values already decrypted); when polled, the validator its last answer came with
/// (see [`Readings`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRef {
    pub key: String,
    pub config: serde_json::Value,
    /// The `ETag` the upstream gave with the last values recorded, for a conditional
    /// request; `None` outside polls (an add, a preview, metadata), which read afresh.
    pub validator: Option<String>,
}

impl SourceRef {
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            config: serde_json::Value::Object(Default::default()),
            validator: None,
        }
    }
}
