//! Watches: a workspace follows a container upstream (a YouTube channel's uploads, a
//! GitHub owner's repositories, a Hacker News user's stories), and each item it publishes
//! after the watch began becomes a tracker made from the watch's template (interval, how
//! long to track it, label pattern, alert rules). Containers are shared: one read serves
//! every workspace watching it. Container kinds live with their provider
//! ([`crate::server::tracking::providers::Container`]); the `read_container` job and
//! "look now" both go through [`read::read_container`].

pub mod read;
pub mod service;
pub mod store;

use crate::server::{billing::store::UpgradeRequired, tracking::engine::TrackError};

/// Why a request about a watch failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The link is not a container, or the container could not be read.
    #[error("{}", crate::server::tracking::service::describe(.0))]
    Track(TrackError),
    /// The container was found but reading its items failed.
    #[error("The upstream could not be read ({0}); please try again later.")]
    Upstream(String),
    /// A field is wrong.
    #[error("{0}")]
    Invalid(String),
    /// No such watch in the workspace.
    #[error("there is no such watch")]
    NotFound,
    /// The plan does not allow it.
    #[error("{}", .0.message)]
    UpgradeRequired(UpgradeRequired),
    /// Looked now less than a minute ago: again after this many seconds.
    #[error("This watch looked less than a minute ago; try again in {0} s.")]
    TooSoon(i64),
    /// Paused: it looks at nothing until resumed.
    #[error("This watch is paused; resume it first.")]
    Paused,
    /// Another read of the container is under way.
    #[error("This watch's container is being read right now; look again in a moment.")]
    Busy,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl WatchError {
    /// A short machine-readable name for the API.
    pub fn code(&self) -> &'static str {
        match self {
            WatchError::Track(error) => error.code(),
            WatchError::Upstream(_) => "upstream_unavailable",
            WatchError::Invalid(_) => "invalid",
            WatchError::NotFound => "not_found",
            WatchError::UpgradeRequired(_) => "upgrade_required",
            WatchError::TooSoon(_) => "rate_limited",
            WatchError::Paused => "paused",
            WatchError::Busy => "busy",
            WatchError::Database(_) => "internal",
        }
    }
}
