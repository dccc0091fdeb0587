//! The state of a source, and of a tracker (its own pause and end date first, then its
//! source's). Stored as text (`sources.state`), written in JSON and URLs by its key.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum SourceState {
    /// Polled on schedule.
    #[default]
    Ok,
    /// Polls failed: polled again after a pause that grows.
    BackingOff,
    /// Paused (by its trackers, or by an administrator): not polled.
    Paused,
    /// The thing is gone upstream: not polled.
    Gone,
    /// Every tracker is past its end date: not polled.
    Ended,
}

impl SourceState {
    pub const ALL: [SourceState; 5] = [
        SourceState::Ok,
        SourceState::BackingOff,
        SourceState::Gone,
        SourceState::Paused,
        SourceState::Ended,
    ];

    /// The key in the database, JSON and URLs: `backing_off`.
    pub fn key(self) -> &'static str {
        match self {
            SourceState::Ok => "ok",
            SourceState::BackingOff => "backing_off",
            SourceState::Paused => "paused",
            SourceState::Gone => "gone",
            SourceState::Ended => "ended",
        }
    }

    /// For people: `backing off`.
    pub fn label(self) -> &'static str {
        match self {
            SourceState::BackingOff => "backing off",
            other => other.key(),
        }
    }

    /// The state of `key`; `None` for anything else.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.key() == key)
    }
}

impl std::fmt::Display for SourceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_stored_and_written_ones() {
        for state in SourceState::ALL {
            assert_eq!(SourceState::parse(state.key()), Some(state));
            let json = serde_json::to_string(&state).expect("json");
            assert_eq!(json, format!("\"{}\"", state.key()));
        }
        assert_eq!(SourceState::parse("orphaned"), None);
        assert_eq!(SourceState::BackingOff.label(), "backing off");
    }
}
