//! Forwarding: each new sample of a workspace's trackers (all, or the ones a sink chose)
//! goes to the workspace's sinks. A poll queues its samples in `sink_backlog` in the
//! transaction that writes them ([`store::queue_polled`]); the `forward_samples` job sends
//! each sink's backlog in batches, oldest first, and deletes what was sent. A failing sink
//! keeps its backlog (bounded: the oldest points are dropped and counted past it) and is
//! retried with backoff. `send` speaks each sink's protocol.

pub mod send;
pub mod store;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{SinkId, TrackerId, sink::SinkTarget};
use crate::server::tracking::secrets;

/// A sink as sending needs it: its target and its secret in clear.
#[derive(Clone)]
pub struct Sink {
    pub id: SinkId,
    pub target: SinkTarget,
    /// The InfluxDB password or token, or the webhook's signing secret.
    pub secret: Option<String>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("id", &self.id)
            .field("target", &self.target)
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Sink {
    /// A stored sink: its config read, its secret decrypted; the reason when either fails.
    pub fn read(
        key: Option<&[u8; 32]>,
        id: SinkId,
        config: serde_json::Value,
        secret: Option<&str>,
    ) -> Result<Sink, String> {
        let target = serde_json::from_value(config)
            .map_err(|error| format!("the sink's settings could not be read: {error}"))?;
        let secret = secret
            .map(|stored| secrets::decrypt(key, stored))
            .transpose()
            .map_err(|error| error.to_string())?;
        Ok(Sink { id, target, secret })
    }
}

/// One sample to forward, with its tracker and series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Its row in the backlog.
    #[serde(skip)]
    pub backlog_id: i64,
    pub tracker: TrackerId,
    pub label: String,
    pub kind: String,
    pub key: String,
    /// The metric without labels (`signups`), and a pushed series' labels (`plan`).
    pub metric: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub t: DateTime<Utc>,
    pub value: f64,
}
