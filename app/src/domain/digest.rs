//! How often a user gets the digest email (`users.digest`): never (the default), every
//! day (the previous UTC day) or every week (the previous ISO week, Monday to Monday UTC).

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// How often a user gets the digest email.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "lowercase"))]
pub enum DigestFrequency {
    /// No digest.
    #[default]
    Off,
    /// Every day, about the previous UTC day.
    Daily,
    /// Every Monday, about the previous ISO week.
    Weekly,
}

impl DigestFrequency {
    /// Every choice, in the order the account page offers them.
    pub const ALL: [DigestFrequency; 3] = [
        DigestFrequency::Off,
        DigestFrequency::Daily,
        DigestFrequency::Weekly,
    ];

    /// `off`, `daily` or `weekly` (surrounding spaces and case ignored).
    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(DigestFrequency::Off),
            "daily" => Ok(DigestFrequency::Daily),
            "weekly" => Ok(DigestFrequency::Weekly),
            _ => Err("Choose off, daily or weekly.".into()),
        }
    }

    /// The key in forms, JSON and the database: `off`, `daily`, `weekly`.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestFrequency::Off => "off",
            DigestFrequency::Daily => "daily",
            DigestFrequency::Weekly => "weekly",
        }
    }

    /// For people: "Off", "Daily", "Weekly".
    pub fn label(self) -> &'static str {
        match self {
            DigestFrequency::Off => "Off",
            DigestFrequency::Daily => "Daily",
            DigestFrequency::Weekly => "Weekly",
        }
    }

    /// The last whole period before `now`: `[start, end)`, the previous UTC day or the
    /// previous ISO week (Monday 00:00 UTC to Monday 00:00 UTC). `None` for `Off`.
    pub fn period_before(self, now: DateTime<Utc>) -> Option<Period> {
        let today = now.date_naive().and_hms_opt(0, 0, 0)?.and_utc();
        let (start, end) = match self {
            DigestFrequency::Off => return None,
            DigestFrequency::Daily => (today - TimeDelta::days(1), today),
            DigestFrequency::Weekly => {
                let monday =
                    today - TimeDelta::days(i64::from(now.weekday().num_days_from_monday()));
                (monday - TimeDelta::days(7), monday)
            }
        };
        Some(Period {
            frequency: self,
            start,
            end,
        })
    }
}

/// The span of time one digest covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub frequency: DigestFrequency,
    /// Its first instant (00:00 UTC).
    pub start: DateTime<Utc>,
    /// The instant after it.
    pub end: DateTime<Utc>,
}

impl Period {
    /// For people: "Wednesday 2 December 2026" (a day) or "the week of 23 November 2026"
    /// (a week, by its Monday).
    pub fn describe(&self) -> String {
        match self.frequency {
            DigestFrequency::Weekly => {
                format!("the week of {}", self.start.format("%-d %B %Y"))
            }
            _ => self.start.format("%A %-d %B %Y").to_string(),
        }
    }

    /// Its name in keys: `daily:2026-12-02`, `weekly:2026-11-23` (by its first day). The
    /// frequency is part of it: a day and a week may start on the same Monday.
    pub fn key(&self) -> String {
        format!(
            "{}:{}",
            self.frequency.as_str(),
            self.start.format("%Y-%m-%d")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn parses_its_three_keys_and_nothing_else() {
        for frequency in DigestFrequency::ALL {
            assert_eq!(DigestFrequency::parse(frequency.as_str()), Ok(frequency));
            assert_eq!(
                serde_json::to_string(&frequency).expect("json"),
                format!("\"{}\"", frequency.as_str())
            );
        }
        assert_eq!(
            DigestFrequency::parse(" Weekly "),
            Ok(DigestFrequency::Weekly)
        );
        for bad in ["", "hourly", "monthly", "0", "on"] {
            assert_eq!(
                DigestFrequency::parse(bad),
                Err("Choose off, daily or weekly.".to_string()),
                "{bad:?}"
            );
        }
        assert_eq!(DigestFrequency::default(), DigestFrequency::Off);
    }

    #[test]
    fn a_day_is_the_previous_utc_day() {
        let period = DigestFrequency::Daily
            .period_before(at("2026-12-03T00:15:00Z"))
            .expect("a period");
        assert_eq!(period.start, at("2026-12-02T00:00:00Z"));
        assert_eq!(period.end, at("2026-12-03T00:00:00Z"));
        assert_eq!(period.key(), "daily:2026-12-02");
        assert_eq!(period.describe(), "Wednesday 2 December 2026");
        // Any time of the day names the same period.
        assert_eq!(
            DigestFrequency::Daily.period_before(at("2026-12-03T23:59:59Z")),
            Some(period)
        );
        assert_eq!(
            DigestFrequency::Off.period_before(at("2026-12-03T00:15:00Z")),
            None
        );
    }

    #[test]
    fn a_week_runs_monday_to_monday() {
        // 2026-12-03 is a Thursday; its ISO week began on Monday 30 November.
        let period = DigestFrequency::Weekly
            .period_before(at("2026-12-03T10:00:00Z"))
            .expect("a period");
        assert_eq!(period.start, at("2026-11-23T00:00:00Z"));
        assert_eq!(period.end, at("2026-11-30T00:00:00Z"));
        assert_eq!(period.key(), "weekly:2026-11-23");
        assert_eq!(period.describe(), "the week of 23 November 2026");
        // Sunday night is still the same week; Monday 00:00 starts the next one.
        assert_eq!(
            DigestFrequency::Weekly
                .period_before(at("2026-12-06T23:59:59Z"))
                .map(|period| period.start),
            Some(at("2026-11-23T00:00:00Z"))
        );
        assert_eq!(
            DigestFrequency::Weekly
                .period_before(at("2026-12-07T00:00:00Z"))
                .map(|period| period.start),
            Some(at("2026-11-30T00:00:00Z"))
        );
    }
}
