//! History on day one: what an upstream keeps of a source's past (GitHub's star history,
//! npm's daily downloads…), loaded page by page by the `backfill` job when a tracker is
//! added for a source that was never polled. A provider that keeps history says where it
//! comes from ([`Provider::history_from`](super::providers::Provider::history_from)) and
//! answers one [`HistoryPage`] at a time; the job saves each page's points (through the
//! same sample writer as polling), its cursor and its progress in one transaction, so a
//! crash or a rate limit resumes at the page after the last one saved. Every backfilled
//! point lies before the source's first observed sample (`source_backfills.before`): a
//! point's origin is `upstream` before that time and `observed` from it on.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, de::DeserializeOwned};

use super::FetchError;

/// One page of an upstream's history of a source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryPage {
    pub points: Vec<HistoryPoint>,
    /// Where the next page starts, saved with this page's points so that a crash resumes
    /// there; `None` when this page was the last.
    pub next: Option<serde_json::Value>,
    /// How much of the history is loaded once this page is, from 0 to 1.
    pub progress: f64,
}

/// One value of one metric at one time, as the upstream kept it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPoint {
    pub metric: &'static str,
    pub t: DateTime<Utc>,
    pub value: f64,
}

impl HistoryPage {
    /// The last page: `points`, and nothing after.
    pub fn last(points: Vec<HistoryPoint>) -> Self {
        Self {
            points,
            next: None,
            progress: 1.0,
        }
    }

    /// A page with more after it, at `cursor`.
    pub fn more(
        points: Vec<HistoryPoint>,
        cursor: &impl Serialize,
        progress: f64,
    ) -> Result<Self, FetchError> {
        let next = serde_json::to_value(cursor)
            .map_err(|error| FetchError::Invalid(format!("could not save a cursor: {error}")))?;
        Ok(Self {
            points,
            next: Some(next),
            progress: progress.clamp(0.0, 1.0),
        })
    }
}

/// A provider's cursor read back from where [`HistoryPage::more`] saved it; `None` for
/// the first page. A cursor that no longer reads (saved by an older version) is an error,
/// not a silent restart.
pub fn cursor<T: DeserializeOwned>(
    cursor: Option<&serde_json::Value>,
) -> Result<Option<T>, FetchError> {
    cursor
        .map(|value| serde_json::from_value(value.clone()))
        .transpose()
        .map_err(|error| {
            FetchError::Invalid(format!("the saved history cursor is unusable: {error}"))
        })
}

/// Midnight UTC at the start of `day`: the time a daily value is stamped with.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// A day as upstreams write it: `2026-11-30`, or an RFC 3339 time on that day.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_from_dates_and_times() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 30);
        assert_eq!(parse_day("2026-11-30"), day);
        assert_eq!(parse_day("2026-11-30T17:00:00Z"), day);
        assert_eq!(parse_day("30/11/2026"), None);
        assert_eq!(
            day_start(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default()).to_rfc3339(),
            "2026-11-30T00:00:00+00:00"
        );
    }

    #[test]
    fn cursors_round_trip_and_odd_ones_are_errors() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Cursor {
            page: u32,
        }
        let page = HistoryPage::more(Vec::new(), &Cursor { page: 2 }, 1.5).expect("a page");
        assert_eq!(page.progress, 1.0);
        assert_eq!(
            cursor::<Cursor>(page.next.as_ref()).expect("read"),
            Some(Cursor { page: 2 })
        );
        assert_eq!(cursor::<Cursor>(None).expect("read"), None);
        assert!(cursor::<Cursor>(Some(&serde_json::json!({ "page": "x" }))).is_err());
    }
}
