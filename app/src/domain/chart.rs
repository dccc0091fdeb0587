//! How a chart is asked for: its range, its mode and its scale. Each is an enum with the
//! key it has in URLs (`?range=30d&mode=per_day&scale=log`), so a bad value is refused
//! while decoding and a page can fall back to the default.

use serde::{Deserialize, Serialize};

/// The time a tracker page or a comparison shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChartRange {
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[default]
    #[serde(rename = "30d")]
    Month,
    #[serde(rename = "90d")]
    Quarter,
    #[serde(rename = "1y")]
    Year,
    /// From the first sample.
    #[serde(rename = "all")]
    All,
    /// Whole days, from one date to another (given beside the range).
    #[serde(rename = "custom")]
    Custom,
}

impl ChartRange {
    /// The ranges offered as chips, in order (not `Custom`, which takes dates).
    pub const PRESETS: [ChartRange; 6] = [
        ChartRange::Day,
        ChartRange::Week,
        ChartRange::Month,
        ChartRange::Quarter,
        ChartRange::Year,
        ChartRange::All,
    ];

    /// The key in URLs: `30d`.
    pub fn key(self) -> &'static str {
        match self {
            ChartRange::Day => "24h",
            ChartRange::Week => "7d",
            ChartRange::Month => "30d",
            ChartRange::Quarter => "90d",
            ChartRange::Year => "1y",
            ChartRange::All => "all",
            ChartRange::Custom => "custom",
        }
    }

    /// How a chip says it: `30 d`.
    pub fn label(self) -> &'static str {
        match self {
            ChartRange::Day => "24 h",
            ChartRange::Week => "7 d",
            ChartRange::Month => "30 d",
            ChartRange::Quarter => "90 d",
            ChartRange::Year => "1 y",
            ChartRange::All => "All",
            ChartRange::Custom => "Custom",
        }
    }

    /// How far back from now it reaches, in seconds; `None` for `All` and `Custom`.
    pub fn length_secs(self) -> Option<i64> {
        const DAY: i64 = 86_400;
        match self {
            ChartRange::Day => Some(DAY),
            ChartRange::Week => Some(7 * DAY),
            ChartRange::Month => Some(30 * DAY),
            ChartRange::Quarter => Some(90 * DAY),
            ChartRange::Year => Some(365 * DAY),
            ChartRange::All | ChartRange::Custom => None,
        }
    }

    /// The range of `key`; `None` for anything else.
    pub fn parse(key: &str) -> Option<Self> {
        Self::PRESETS
            .into_iter()
            .chain([ChartRange::Custom])
            .find(|range| range.key() == key)
    }

    /// The range of `key`, or the default (30 days) for a missing or unknown one.
    pub fn parse_or_default(key: Option<&str>) -> Self {
        key.and_then(Self::parse).unwrap_or_default()
    }
}

/// How values are shown: as they are, or as their change per hour or per day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartMode {
    #[default]
    Value,
    PerHour,
    PerDay,
}

impl ChartMode {
    pub const ALL: [ChartMode; 3] = [ChartMode::Value, ChartMode::PerHour, ChartMode::PerDay];

    pub fn key(self) -> &'static str {
        match self {
            ChartMode::Value => "value",
            ChartMode::PerHour => "per_hour",
            ChartMode::PerDay => "per_day",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ChartMode::Value => "Value",
            ChartMode::PerHour => "Change per hour",
            ChartMode::PerDay => "Change per day",
        }
    }

    /// The period a change is counted over, in seconds; `None` for plain values.
    pub fn per_secs(self) -> Option<f64> {
        match self {
            ChartMode::Value => None,
            ChartMode::PerHour => Some(3_600.0),
            ChartMode::PerDay => Some(86_400.0),
        }
    }

    pub fn parse_or_default(key: Option<&str>) -> Self {
        key.and_then(|key| Self::ALL.into_iter().find(|mode| mode.key() == key))
            .unwrap_or_default()
    }
}

/// The value axis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    #[default]
    Linear,
    Log,
}

impl Scale {
    pub const ALL: [Scale; 2] = [Scale::Linear, Scale::Log];

    pub fn key(self) -> &'static str {
        match self {
            Scale::Linear => "linear",
            Scale::Log => "log",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scale::Linear => "Linear",
            Scale::Log => "Log",
        }
    }

    pub fn parse_or_default(key: Option<&str>) -> Self {
        key.and_then(|key| Self::ALL.into_iter().find(|scale| scale.key() == key))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_unknown_ones_fall_back() {
        for range in ChartRange::PRESETS.into_iter().chain([ChartRange::Custom]) {
            assert_eq!(ChartRange::parse(range.key()), Some(range));
            let json = serde_json::to_string(&range).expect("json");
            assert_eq!(json, format!("\"{}\"", range.key()));
        }
        assert_eq!(ChartRange::parse_or_default(Some("2w")), ChartRange::Month);
        assert_eq!(ChartRange::parse_or_default(None), ChartRange::Month);
        for mode in ChartMode::ALL {
            assert_eq!(ChartMode::parse_or_default(Some(mode.key())), mode);
            let json = serde_json::to_string(&mode).expect("json");
            assert_eq!(json, format!("\"{}\"", mode.key()));
        }
        assert_eq!(ChartMode::parse_or_default(Some("nope")), ChartMode::Value);
        assert_eq!(Scale::parse_or_default(Some("log")), Scale::Log);
        assert_eq!(Scale::parse_or_default(Some("LOG")), Scale::Linear);
        assert!(serde_json::from_str::<ChartRange>("\"2w\"").is_err());
        assert_eq!(ChartRange::Week.length_secs(), Some(7 * 86_400));
    }
}
