//! Watches: a container upstream (a YouTube channel's uploads, a GitHub owner's
//! repositories, a Hacker News user's stories…) whose new items become trackers, each
//! made from the watch's template. What a watch did with each item it saw, the label
//! pattern of its trackers, and the views the API and the pages share.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    ChannelId, TrackerId, WatchId,
    alerts::{AlertWindow, ConditionKind, Direction},
};

/// What a watch did with an item of its container, once per item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum WatchItemState {
    /// Already published when the watch began: not tracked.
    Existing,
    /// A tracker was made (and, when its tracker is gone, deleted by the workspace: the
    /// item is never added again).
    Tracked,
    /// The plan's tracker limit was reached when the item appeared.
    Skipped,
    /// The tracker could not be made (the item is not trackable, or gone).
    Failed,
}

impl WatchItemState {
    pub const ALL: [WatchItemState; 4] = [
        WatchItemState::Existing,
        WatchItemState::Tracked,
        WatchItemState::Skipped,
        WatchItemState::Failed,
    ];

    pub fn key(self) -> &'static str {
        match self {
            WatchItemState::Existing => "existing",
            WatchItemState::Tracked => "tracked",
            WatchItemState::Skipped => "skipped",
            WatchItemState::Failed => "failed",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.key() == key)
    }
}

/// The label pattern of a watch's trackers: text with `{title}` (the item's title),
/// `{container}` (the container's title) and `{date}` (the item's publication day,
/// `2026-12-07`). Checked when the watch is saved, so rendering never fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LabelPattern(String);

/// The placeholders a [`LabelPattern`] may hold.
pub const LABEL_PLACEHOLDERS: [&str; 3] = ["title", "container", "date"];

/// Longest pattern, as a tracker's label.
const MAX_PATTERN_CHARS: usize = 200;

impl LabelPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_PATTERN_CHARS {
            return Err(format!(
                "`label` must be 1 to {MAX_PATTERN_CHARS} characters"
            ));
        }
        if text.chars().any(char::is_control) {
            return Err("`label` must not hold control characters".into());
        }
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| {
                "`label`: a `{` is never closed (placeholders are {title}, {container} and {date})"
                    .to_string()
            })?;
            let name = &after[..close];
            if !LABEL_PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "`label`: `{{{name}}}` is not a placeholder (use {{title}}, {{container}} or {{date}})"
                ));
            }
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err("`label`: a `}` closes nothing".into());
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The label of the tracker of an item: the placeholders filled in, cut to a label's
    /// length; the item's title when that leaves nothing.
    pub fn render(
        &self,
        item_title: &str,
        container: &str,
        published: Option<DateTime<Utc>>,
    ) -> String {
        let date = published
            .map(|at| at.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let label = self
            .0
            .replace("{title}", item_title)
            .replace("{container}", container)
            .replace("{date}", &date);
        let label: String = label.trim().chars().take(MAX_PATTERN_CHARS).collect();
        if label.is_empty() {
            item_title.chars().take(MAX_PATTERN_CHARS).collect()
        } else {
            label
        }
    }
}

impl TryFrom<String> for LabelPattern {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<LabelPattern> for String {
    fn from(pattern: LabelPattern) -> Self {
        pattern.0
    }
}

impl fmt::Display for LabelPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An alert rule a watch copies onto each new tracker, as `POST
/// /api/v1/trackers/{id}/alerts` takes it (saved checked; the parameters its condition
/// takes are set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TemplateRule {
    pub metric: String,
    pub condition: ConditionKind,
    pub cooldown_secs: i64,
    #[serde(default)]
    pub channels: Vec<ChannelId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<AlertWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<i64>,
}

/// A watch as the API and its page show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WatchView {
    pub id: WatchId,
    /// The container kind: `youtube.uploads`.
    pub kind: String,
    /// What it follows, for people: "YouTube channel".
    pub kind_label: String,
    /// What its items are: "videos".
    pub yields: String,
    /// The container's title and link.
    pub title: String,
    pub url: String,
    /// How often the container is looked at.
    pub poll_every_secs: i32,
    /// The template: each new tracker's interval (`None`: the default), how long each item
    /// is tracked (`None`: until deleted), its label pattern (`None`: the item's title) and
    /// the alert rules copied onto it.
    pub interval_secs: Option<i32>,
    pub track_for_days: Option<i32>,
    pub label: Option<String>,
    pub alerts: Vec<TemplateRule>,
    /// Only items with at least this score an hour after they appeared.
    pub min_score: Option<f64>,
    /// Only items among the container's N best-scoring of the past 24 hours.
    pub top_per_day: Option<i32>,
    pub paused: bool,
    pub created_at: DateTime<Utc>,
    /// When the container was last read, and why its last read failed (if it did).
    pub last_read_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Trackers it made (still tracked), and items skipped at the plan's limit.
    pub trackers: i64,
    pub skipped: i64,
}

/// An item a watch saw, with its tracker's latest value when it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WatchItemView {
    /// The item's id upstream (a video id, `owner/name`).
    pub key: String,
    pub url: String,
    pub title: String,
    pub state: WatchItemState,
    /// Its tracker; `None` for a tracked item whose tracker the workspace deleted.
    pub tracker_id: Option<TrackerId>,
    /// Why it failed.
    pub detail: Option<String>,
    /// When the watch saw it.
    pub at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    /// When its tracker stops (the template's `track_for_days`), and whether that is past.
    pub ends_at: Option<DateTime<Utc>>,
    pub ended: bool,
    /// The tracker's first metric: name, latest value, and its change over the last
    /// 7 days.
    pub metric: Option<String>,
    pub value: Option<f64>,
    pub change_7d: Option<f64>,
}

impl WatchItemView {
    /// Tracked, with its tracker deleted since.
    pub fn deleted(&self) -> bool {
        self.state == WatchItemState::Tracked && self.tracker_id.is_none()
    }

    /// For people: "tracked", "deleted", "skipped: limit reached"…
    pub fn status(&self) -> String {
        match self.state {
            WatchItemState::Existing => "there before the watch".into(),
            WatchItemState::Tracked if self.tracker_id.is_none() => "deleted".into(),
            WatchItemState::Tracked if self.ended => "tracked (ended)".into(),
            WatchItemState::Tracked => "tracked".into(),
            WatchItemState::Skipped => "skipped: limit reached".into(),
            WatchItemState::Failed => format!(
                "failed: {}",
                self.detail.as_deref().unwrap_or("could not be tracked")
            ),
        }
    }
}

/// A watch with what it saw: the API's `GET /api/v1/watches/{id}` and the watch page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WatchDetail {
    pub watch: WatchView,
    /// The trackers it made, newest first.
    pub trackers: Vec<WatchItemView>,
    /// Every item it saw but did not track (existing, skipped, failed), newest first.
    pub history: Vec<WatchItemView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_patterns_hold_known_placeholders_only() {
        let pattern = LabelPattern::parse(" {container}: {title} ({date}) ").expect("valid");
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        assert_eq!(
            pattern.render("Launch day", "Rick Astley", Some(at)),
            "Rick Astley: Launch day (2026-12-07)"
        );
        assert_eq!(
            pattern.render("Launch day", "RA", None),
            "RA: Launch day ()"
        );
        let error = LabelPattern::parse("{views} of {title}").expect_err("unknown");
        assert!(error.contains("`{views}` is not a placeholder"), "{error}");
        assert!(LabelPattern::parse("{title").is_err());
        assert!(LabelPattern::parse("title}").is_err());
        assert!(LabelPattern::parse("  ").is_err());
        assert!(LabelPattern::parse(&"x".repeat(201)).is_err());
        // What fills in nothing falls back on the item's title.
        let date_only = LabelPattern::parse("{date}").expect("valid");
        assert_eq!(date_only.render("A video", "C", None), "A video");
        let long = LabelPattern::parse("{title}{title}").expect("valid");
        assert_eq!(
            long.render(&"y".repeat(150), "C", None).chars().count(),
            200
        );
    }

    #[test]
    fn states_round_trip_through_their_keys() {
        for state in WatchItemState::ALL {
            assert_eq!(WatchItemState::parse(state.key()), Some(state));
        }
        assert_eq!(WatchItemState::parse("gone"), None);
    }
}
