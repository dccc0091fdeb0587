//! Where a point of a series comes from, and how far a source's backfill (the history its
//! upstream keeps, loaded on day one) has got. Stored as text
//! (`source_backfills.state`), written in JSON by key.

use serde::{Deserialize, Serialize};

/// Where a sample (or a bucket) comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum Origin {
    /// Loaded from the upstream's own history by a backfill ("history from GitHub").
    Upstream,
    /// Recorded by Upcount's polls. A bucket holding both is observed.
    #[default]
    Observed,
}

impl Origin {
    /// The key in JSON and exports: `upstream`, `observed`.
    pub fn key(self) -> &'static str {
        match self {
            Origin::Upstream => "upstream",
            Origin::Observed => "observed",
        }
    }
}

/// How far a source's backfill has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum BackfillState {
    /// Not started, or between two pages.
    #[default]
    Pending,
    /// Paused by the upstream (a rate limit, an outage) until its next attempt.
    Waiting,
    /// Everything the upstream keeps is loaded.
    Done,
    /// Given up: the upstream refused for good, or failed too often.
    Failed,
}

impl BackfillState {
    /// The key in JSON and the database: `pending`, `waiting`, `done`, `failed`.
    pub fn key(self) -> &'static str {
        match self {
            BackfillState::Pending => "pending",
            BackfillState::Waiting => "waiting",
            BackfillState::Done => "done",
            BackfillState::Failed => "failed",
        }
    }

    /// Whether the backfill may still load more.
    pub fn is_running(self) -> bool {
        matches!(self, BackfillState::Pending | BackfillState::Waiting)
    }
}

/// A source's backfill as its tracker page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackfillStatus {
    pub state: BackfillState,
    /// From 0 to 1.
    pub progress: f64,
    /// Points loaded so far.
    pub points: i64,
    /// Why it waits or failed.
    pub error: Option<String>,
}

impl BackfillStatus {
    /// "loading history: 40%", "history loaded", …, naming the upstream (`GitHub`).
    pub fn describe(&self, from: &str) -> String {
        let percent = (self.progress * 100.0).floor().clamp(0.0, 99.0);
        match self.state {
            BackfillState::Pending => format!("Loading history from {from}: {percent}%"),
            BackfillState::Waiting => {
                format!("Loading history from {from}: {percent}%, waiting for {from}'s limits")
            }
            BackfillState::Done => format!("History from {from} loaded"),
            BackfillState::Failed => format!(
                "Could not load the history from {from}: {}",
                self.error.as_deref().unwrap_or("the upstream refused")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_states_are_written_by_key() {
        assert_eq!(
            serde_json::to_string(&Origin::Upstream).expect("json"),
            "\"upstream\""
        );
        assert_eq!(Origin::Observed.key(), "observed");
        assert_eq!(
            serde_json::to_string(&BackfillState::Waiting).expect("json"),
            "\"waiting\""
        );
        assert!(BackfillState::Waiting.is_running());
        for state in [
            BackfillState::Pending,
            BackfillState::Waiting,
            BackfillState::Done,
            BackfillState::Failed,
        ] {
            assert_eq!(
                serde_json::to_string(&state).expect("json"),
                format!("\"{}\"", state.key())
            );
        }
        assert!(!BackfillState::Done.is_running());
    }

    #[test]
    fn progress_reads_as_people_say_it() {
        let status = |state, progress| BackfillStatus {
            state,
            progress,
            points: 10,
            error: None,
        };
        assert_eq!(
            status(BackfillState::Pending, 0.4).describe("GitHub"),
            "Loading history from GitHub: 40%"
        );
        assert_eq!(
            status(BackfillState::Pending, 1.0).describe("npm"),
            "Loading history from npm: 99%"
        );
        assert_eq!(
            status(BackfillState::Done, 1.0).describe("npm"),
            "History from npm loaded"
        );
    }
}
