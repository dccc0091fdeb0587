//! Alert rules: what a rule says (its condition and parameters, read from and written to
//! its flat JSON form), and when it fires (pure functions of the rule's state and one new
//! observation, or of the clock for silence). No database and no clock here: the poller
//! reads what [`Condition::lookback`] asks for, calls [`evaluate`] (after a successful
//! poll) or [`evaluate_silence`] (on schedule), stores the returned [`RuleState`] and
//! records each [`Firing`] as an alert event.
//!
//! # How alert rules behave
//!
//! A rule belongs to a tracker and one of its metrics. Its condition is one of:
//!
//! - `above` / `below` a `value`: the metric rose above (fell below) the value.
//! - `change` by at least an `amount` or a `percent` (exactly one of them) over a `window`
//!   (`1h`, `24h`, `7d`), in a `direction` (`up`, `down`, or `either`, the default): the
//!   value now against the value at the start of the window (the last sample at or before
//!   it). A percentage is of the start's size, so it cannot be measured from a start of 0:
//!   such a rule waits (neither fires nor re-arms) until the window starts away from 0; use
//!   an `amount` for metrics that start at zero.
//! - `new_high` / `new_low`: the value is higher (lower) than every earlier sample, of all
//!   time or over the optional `window`. A metric with no earlier sample has no high yet,
//!   so its first sample never fires.
//! - `milestone`: the value passed a multiple of `every` (1,000 stars, 2,000 stars…) or,
//!   without `every`, a round number: 1k, 10k, 100k, 1M and every further power of ten.
//!   Milestones count on the way up only. When one poll passes several, the alert names
//!   the highest. A milestone is announced once: after a fall and a new climb past it the
//!   rule stays quiet until a higher one, and milestones already passed when the rule
//!   first sees the metric do not count.
//! - `no_data`: no successful poll for `duration_secs` (from one minute to 30 days).
//! - `gone`: the source went away upstream.
//!
//! Rules do not spam:
//!
//! - **Hysteresis.** A rule fires when its condition becomes true, then waits to be
//!   re-armed by the condition being false again. For `above`, false means at or below
//!   `value - margin` (`below`: at or above `value + margin`), so a metric hovering around
//!   the threshold does not fire at every crossing; `margin` defaults to 0. A `change` rule
//!   re-arms when the change no longer qualifies, a `new_high` (`new_low`) rule at a sample
//!   that is not a new high (low), a `no_data` rule at the next successful poll, a `gone`
//!   rule when the source is back. A new rule is armed: if its condition already holds at
//!   its first evaluation, it fires then.
//! - **Cooldown.** A rule fires at most once per `cooldown_secs` (default one hour, at most
//!   seven days, 0 for none). A condition that becomes true during the cooldown does not
//!   fire, but the rule stays armed: it fires at the first evaluation after the cooldown if
//!   the condition still holds then (a milestone still pending is announced then).
//! - Each firing is an alert event carrying the value, the previous sample, what the
//!   value was compared with (the threshold, the window's start, the earlier high, the
//!   milestone) and a sentence for people: "stars rose above 20,000 (now 20,140)".
//!
//! A rule whose condition changes should start again from [`RuleState::default`].
//!
//! # The flat JSON form
//!
//! `{"metric": "stars", "condition": "above", "value": 20000, "margin": 0,
//! "cooldown_secs": 3600, "channels": ["…"]}`: the condition's name and its parameters
//! side by side ([`ConditionKind::params`] lists which a condition takes). A parameter of
//! another condition, an unknown field, a missing parameter or a bad value is refused with
//! a message naming the field ([`RuleError`]); `null` is the same as leaving a field out.
//! [`RuleSpec::to_json`] writes the same form, and [`RuleSpec`]'s serde uses it.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ids::ChannelId;

/// A rule's cooldown when the body gives none: one hour.
pub const DEFAULT_COOLDOWN_SECS: i64 = 3_600;
/// The longest cooldown: seven days.
pub const MAX_COOLDOWN_SECS: i64 = 7 * 86_400;
/// The shortest `no_data` duration: one minute.
pub const MIN_NO_DATA_SECS: i64 = 60;
/// The longest `no_data` duration: 30 days.
pub const MAX_NO_DATA_SECS: i64 = 30 * 86_400;
/// The longest metric name (as the providers name them: `stars`, `downloads_7d`).
pub const MAX_METRIC_LEN: usize = 40;
/// The first round number a `milestone` rule without `every` announces.
pub const FIRST_ROUND_NUMBER: f64 = 1_000.0;

/// Every field of a rule's flat JSON form, in the order [`RuleSpec::to_json`] documents them.
pub const FIELDS: [&str; 12] = [
    "metric",
    "condition",
    "value",
    "margin",
    "amount",
    "percent",
    "window",
    "direction",
    "every",
    "duration_secs",
    "cooldown_secs",
    "channels",
];

/// The fields that are a condition's parameters (the rest belong to every rule).
const PARAMS: [&str; 8] = [
    "value",
    "margin",
    "amount",
    "percent",
    "window",
    "direction",
    "every",
    "duration_secs",
];

/// The span a `change` rule compares over, or a `new_high`/`new_low` rule looks back on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text"))]
pub enum AlertWindow {
    /// One hour: `1h`.
    #[serde(rename = "1h")]
    #[cfg_attr(feature = "ssr", sqlx(rename = "1h"))]
    Hour,
    /// One day: `24h`.
    #[serde(rename = "24h")]
    #[cfg_attr(feature = "ssr", sqlx(rename = "24h"))]
    Day,
    /// One week: `7d`.
    #[serde(rename = "7d")]
    #[cfg_attr(feature = "ssr", sqlx(rename = "7d"))]
    Week,
}

impl AlertWindow {
    /// Every window, shortest first.
    pub const ALL: [AlertWindow; 3] = [AlertWindow::Hour, AlertWindow::Day, AlertWindow::Week];

    /// The key in JSON and the database: `1h`, `24h`, `7d`.
    pub fn key(self) -> &'static str {
        match self {
            AlertWindow::Hour => "1h",
            AlertWindow::Day => "24h",
            AlertWindow::Week => "7d",
        }
    }

    /// Its length in seconds.
    pub fn secs(self) -> i64 {
        match self {
            AlertWindow::Hour => 3_600,
            AlertWindow::Day => 86_400,
            AlertWindow::Week => 7 * 86_400,
        }
    }

    /// Its length.
    pub fn duration(self) -> TimeDelta {
        TimeDelta::seconds(self.secs())
    }

    /// For people: `1 h`, `24 h`, `7 d`.
    pub fn label(self) -> &'static str {
        match self {
            AlertWindow::Hour => "1 h",
            AlertWindow::Day => "24 h",
            AlertWindow::Week => "7 d",
        }
    }

    /// As an adjective: `1-hour`, `24-hour`, `7-day`.
    pub fn adjective(self) -> &'static str {
        match self {
            AlertWindow::Hour => "1-hour",
            AlertWindow::Day => "24-hour",
            AlertWindow::Week => "7-day",
        }
    }

    /// The window of `key`; `None` for anything else.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|window| window.key() == key)
    }
}

impl fmt::Display for AlertWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Which way a `change` rule watches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum Direction {
    /// A rise only.
    Up,
    /// A fall only.
    Down,
    /// A rise or a fall (the default).
    #[default]
    Either,
}

impl Direction {
    /// Every direction.
    pub const ALL: [Direction; 3] = [Direction::Up, Direction::Down, Direction::Either];

    /// The key in JSON and the database: `up`, `down`, `either`.
    pub fn key(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::Either => "either",
        }
    }

    /// The direction of `key`; `None` for anything else.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|direction| direction.key() == key)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The name of a condition, without its parameters. Stored as text (`alert_rules.condition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum ConditionKind {
    /// `above`.
    Above,
    /// `below`.
    Below,
    /// `change`.
    Change,
    /// `new_high`.
    NewHigh,
    /// `new_low`.
    NewLow,
    /// `milestone`.
    Milestone,
    /// `no_data`.
    NoData,
    /// `gone`.
    Gone,
}

impl ConditionKind {
    /// Every condition, in the order the issue and the docs list them.
    pub const ALL: [ConditionKind; 8] = [
        ConditionKind::Above,
        ConditionKind::Below,
        ConditionKind::Change,
        ConditionKind::NewHigh,
        ConditionKind::NewLow,
        ConditionKind::Milestone,
        ConditionKind::NoData,
        ConditionKind::Gone,
    ];

    /// The key in JSON and the database: `above`, `new_high`, `no_data`…
    pub fn key(self) -> &'static str {
        match self {
            ConditionKind::Above => "above",
            ConditionKind::Below => "below",
            ConditionKind::Change => "change",
            ConditionKind::NewHigh => "new_high",
            ConditionKind::NewLow => "new_low",
            ConditionKind::Milestone => "milestone",
            ConditionKind::NoData => "no_data",
            ConditionKind::Gone => "gone",
        }
    }

    /// The condition of `key`; `None` for anything else.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.key() == key)
    }

    /// The parameters this condition takes in the flat JSON form (required or optional).
    pub fn params(self) -> &'static [&'static str] {
        match self {
            ConditionKind::Above | ConditionKind::Below => &["value", "margin"],
            ConditionKind::Change => &["amount", "percent", "window", "direction"],
            ConditionKind::NewHigh | ConditionKind::NewLow => &["window"],
            ConditionKind::Milestone => &["every"],
            ConditionKind::NoData => &["duration_secs"],
            ConditionKind::Gone => &[],
        }
    }

    /// Whether [`evaluate_silence`] judges it (on the clock), rather than [`evaluate`]
    /// (on a new sample).
    pub fn is_silence(self) -> bool {
        matches!(self, ConditionKind::NoData | ConditionKind::Gone)
    }

    /// Whether its state keeps the last value seen ([`RuleState::last_value`]): a
    /// `milestone` falls back on it when the sample before is gone, and `no_data`/`gone`
    /// report it when they fire. The others judge the samples read at each evaluation, so
    /// their state changes only when they fire or re-arm, and most evaluations need no
    /// write at all.
    pub fn remembers_value(self) -> bool {
        matches!(
            self,
            ConditionKind::Milestone | ConditionKind::NoData | ConditionKind::Gone
        )
    }
}

impl fmt::Display for ConditionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A condition with its parameters. Build one by parsing a rule ([`RuleSpec::from_json`]),
/// or by hand followed by [`Condition::validate`].
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// The value rose above `value`; re-armed at or below `value - margin`.
    Above { value: f64, margin: f64 },
    /// The value fell below `value`; re-armed at or above `value + margin`.
    Below { value: f64, margin: f64 },
    /// The value moved by at least `amount`, or `percent` of the window's start (exactly
    /// one of them is set, above 0), over `window`, in `direction`.
    Change {
        amount: Option<f64>,
        percent: Option<f64>,
        window: AlertWindow,
        direction: Direction,
    },
    /// A value above every earlier one, over `window` or (`None`) all time.
    NewHigh { window: Option<AlertWindow> },
    /// A value below every earlier one, over `window` or (`None`) all time.
    NewLow { window: Option<AlertWindow> },
    /// The value passed a multiple of `every` or (`None`) a power of ten from 1,000.
    Milestone { every: Option<f64> },
    /// No successful poll for `duration_secs`.
    NoData { duration_secs: i64 },
    /// The source went away upstream.
    Gone,
}

/// Whose history a sample's extremes are taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extremes {
    /// Every earlier sample.
    AllTime,
    /// The earlier samples of the last so many seconds.
    LastSecs(i64),
}

/// What an evaluation of a condition needs read besides the new sample and the one before
/// it (which every rule gets, for [`Observation::previous`]), so that one batched read can
/// serve many rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Lookback {
    /// For [`Observation::window_start`]: the value at or just before `at` minus this many
    /// seconds.
    pub window_start_secs: Option<i64>,
    /// For [`Observation::window_high`] and [`Observation::window_low`]: the highest and
    /// lowest value before the new sample over this span.
    pub extremes: Option<Extremes>,
}

impl Condition {
    /// Its name.
    pub fn kind(&self) -> ConditionKind {
        match self {
            Condition::Above { .. } => ConditionKind::Above,
            Condition::Below { .. } => ConditionKind::Below,
            Condition::Change { .. } => ConditionKind::Change,
            Condition::NewHigh { .. } => ConditionKind::NewHigh,
            Condition::NewLow { .. } => ConditionKind::NewLow,
            Condition::Milestone { .. } => ConditionKind::Milestone,
            Condition::NoData { .. } => ConditionKind::NoData,
            Condition::Gone => ConditionKind::Gone,
        }
    }

    /// What [`evaluate`] needs in its [`Observation`] besides the value and the previous one.
    pub fn lookback(&self) -> Lookback {
        match self {
            Condition::Change { window, .. } => Lookback {
                window_start_secs: Some(window.secs()),
                extremes: None,
            },
            Condition::NewHigh { window } | Condition::NewLow { window } => Lookback {
                window_start_secs: None,
                extremes: Some(window.map_or(Extremes::AllTime, |w| Extremes::LastSecs(w.secs()))),
            },
            _ => Lookback::default(),
        }
    }

    /// Checks the parameters: finite numbers, a non-negative margin, exactly one positive
    /// `amount` or `percent`, a positive `every`, a `no_data` duration from one minute to
    /// 30 days.
    pub fn validate(&self) -> Result<(), RuleError> {
        match *self {
            Condition::Above { value, margin } | Condition::Below { value, margin } => {
                finite("value", value)?;
                finite("margin", margin)?;
                if margin < 0.0 {
                    return Err(invalid("margin", "must be 0 or more"));
                }
            }
            Condition::Change {
                amount, percent, ..
            } => match (amount, percent) {
                (Some(size), None) => positive("amount", size)?,
                (None, Some(size)) => positive("percent", size)?,
                _ => return Err(RuleError::ChangeNeedsOne),
            },
            Condition::Milestone { every: Some(every) } => positive("every", every)?,
            Condition::NoData { duration_secs } => {
                if !(MIN_NO_DATA_SECS..=MAX_NO_DATA_SECS).contains(&duration_secs) {
                    return Err(invalid(
                        "duration_secs",
                        format!(
                            "must be from {MIN_NO_DATA_SECS} (one minute) to \
                             {MAX_NO_DATA_SECS} (30 days) seconds"
                        ),
                    ));
                }
            }
            Condition::NewHigh { .. }
            | Condition::NewLow { .. }
            | Condition::Milestone { every: None }
            | Condition::Gone => {}
        }
        Ok(())
    }

    /// Reads the condition and its parameters from a rule's fields.
    fn from_fields(fields: &Fields<'_>) -> Result<Self, RuleError> {
        let name = fields
            .text("condition")?
            .ok_or(RuleError::Missing("condition"))?;
        let kind = ConditionKind::parse(name)
            .ok_or_else(|| RuleError::UnknownCondition(name.to_string()))?;
        if let Some(field) = PARAMS
            .into_iter()
            .find(|param| fields.has(param) && !kind.params().contains(param))
        {
            return Err(RuleError::NotApplicable {
                field,
                condition: kind,
            });
        }
        let required = |field: &'static str| RuleError::MissingFor {
            field,
            condition: kind,
        };
        let condition = match kind {
            ConditionKind::Above | ConditionKind::Below => {
                let value = fields.number("value")?.ok_or_else(|| required("value"))?;
                let margin = fields.number("margin")?.unwrap_or(0.0);
                if kind == ConditionKind::Above {
                    Condition::Above { value, margin }
                } else {
                    Condition::Below { value, margin }
                }
            }
            ConditionKind::Change => Condition::Change {
                amount: fields.number("amount")?,
                percent: fields.number("percent")?,
                window: fields.window()?.ok_or_else(|| required("window"))?,
                direction: fields.direction()?.unwrap_or_default(),
            },
            ConditionKind::NewHigh => Condition::NewHigh {
                window: fields.window()?,
            },
            ConditionKind::NewLow => Condition::NewLow {
                window: fields.window()?,
            },
            ConditionKind::Milestone => Condition::Milestone {
                every: fields.number("every")?,
            },
            ConditionKind::NoData => Condition::NoData {
                duration_secs: fields
                    .whole("duration_secs")?
                    .ok_or_else(|| required("duration_secs"))?,
            },
            ConditionKind::Gone => Condition::Gone,
        };
        condition.validate()?;
        Ok(condition)
    }

    /// Writes the condition's name and parameters into a rule's flat form (leaving out
    /// optional parameters that are not set).
    fn write_fields(&self, out: &mut Map<String, Value>) {
        let mut put = |field: &str, value: Value| {
            out.insert(field.to_string(), value);
        };
        put("condition", Value::from(self.kind().key()));
        match self {
            Condition::Above { value, margin } | Condition::Below { value, margin } => {
                put("value", Value::from(*value));
                put("margin", Value::from(*margin));
            }
            Condition::Change {
                amount,
                percent,
                window,
                direction,
            } => {
                if let Some(amount) = amount {
                    put("amount", Value::from(*amount));
                }
                if let Some(percent) = percent {
                    put("percent", Value::from(*percent));
                }
                put("window", Value::from(window.key()));
                put("direction", Value::from(direction.key()));
            }
            Condition::NewHigh { window } | Condition::NewLow { window } => {
                if let Some(window) = window {
                    put("window", Value::from(window.key()));
                }
            }
            Condition::Milestone { every } => {
                if let Some(every) = every {
                    put("every", Value::from(*every));
                }
            }
            Condition::NoData { duration_secs } => {
                put("duration_secs", Value::from(*duration_secs))
            }
            Condition::Gone => {}
        }
    }
}

/// Why a rule's body (or a patch to it) is refused. Each message names the field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// The body is not a JSON object.
    #[error(
        "a rule is a JSON object, like {{\"metric\": \"stars\", \"condition\": \"above\", \"value\": 20000}}"
    )]
    NotAnObject,
    /// A field no rule has.
    #[error("`{0}` is not a field of a rule: the fields are {fields}", fields = list(&FIELDS))]
    UnknownField(String),
    /// A field every rule needs (`metric`, `condition`).
    #[error("`{0}` is required")]
    Missing(&'static str),
    /// A parameter the condition needs.
    #[error("`{field}` is required for `{condition}`")]
    MissingFor {
        field: &'static str,
        condition: ConditionKind,
    },
    /// A condition name Upcount does not know.
    #[error(
        "`{0}` is not a condition: use one of {names}",
        names = list(&ConditionKind::ALL.map(ConditionKind::key))
    )]
    UnknownCondition(String),
    /// A parameter of another condition.
    #[error("`{field}` does not apply to `{condition}` ({takes})", takes = takes(*.condition))]
    NotApplicable {
        field: &'static str,
        condition: ConditionKind,
    },
    /// A `change` rule without its size, or with both.
    #[error("`change` needs exactly one of `amount` and `percent`")]
    ChangeNeedsOne,
    /// A field with a value it cannot take.
    #[error("`{field}` {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl RuleError {
    /// The field the message is about, for a form to show it beside (`None`: the whole body).
    pub fn field(&self) -> Option<&str> {
        match self {
            RuleError::NotAnObject => None,
            RuleError::UnknownField(field) => Some(field),
            RuleError::Missing(field)
            | RuleError::MissingFor { field, .. }
            | RuleError::NotApplicable { field, .. }
            | RuleError::Invalid { field, .. } => Some(field),
            RuleError::UnknownCondition(_) => Some("condition"),
            RuleError::ChangeNeedsOne => Some("amount"),
        }
    }
}

/// `` `a`, `b` and `c` ``.
fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// What a condition takes, for a refusal: "it takes `value` and `margin`".
fn takes(kind: ConditionKind) -> String {
    match kind.params() {
        [] => "it takes no parameters".to_string(),
        params => format!("it takes {}", list(params)),
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> RuleError {
    RuleError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn finite(field: &'static str, number: f64) -> Result<(), RuleError> {
    if number.is_finite() {
        Ok(())
    } else {
        Err(invalid(field, "must be a finite number"))
    }
}

fn positive(field: &'static str, number: f64) -> Result<(), RuleError> {
    finite(field, number)?;
    if number > 0.0 {
        Ok(())
    } else {
        Err(invalid(field, "must be more than 0"))
    }
}

/// A rule's fields that are present and not `null`, checked to be fields of a rule.
struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>) -> Result<Self, RuleError> {
        if let Some(unknown) = map.keys().find(|key| !FIELDS.contains(&key.as_str())) {
            return Err(RuleError::UnknownField(unknown.clone()));
        }
        Ok(Self { map })
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|value| !value.is_null())
    }

    fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    fn text(&self, field: &'static str) -> Result<Option<&'a str>, RuleError> {
        self.get(field)
            .map(|value| {
                value
                    .as_str()
                    .ok_or_else(|| invalid(field, "must be a string"))
            })
            .transpose()
    }

    fn number(&self, field: &'static str) -> Result<Option<f64>, RuleError> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let number = value
            .as_f64()
            .ok_or_else(|| invalid(field, "must be a number"))?;
        finite(field, number)?;
        Ok(Some(number))
    }

    /// A whole number (of seconds): `3600` or `3600.0`, not `3600.5` or `"3600"`.
    fn whole(&self, field: &'static str) -> Result<Option<i64>, RuleError> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let refused = || invalid(field, "must be a whole number of seconds");
        if let Some(whole) = value.as_i64() {
            return Ok(Some(whole));
        }
        let number = value.as_f64().ok_or_else(refused)?;
        // Beyond ±2^53 floats are all whole; any of those is out of every range anyway.
        if number.fract() == 0.0 && number.abs() < 9.0e15 {
            Ok(Some(number as i64))
        } else {
            Err(refused())
        }
    }

    fn window(&self) -> Result<Option<AlertWindow>, RuleError> {
        let Some(value) = self.get("window") else {
            return Ok(None);
        };
        value
            .as_str()
            .and_then(AlertWindow::parse)
            .map(Some)
            .ok_or_else(|| {
                invalid(
                    "window",
                    format!(
                        "must be one of {} (not {value})",
                        list(&AlertWindow::ALL.map(AlertWindow::key))
                    ),
                )
            })
    }

    fn direction(&self) -> Result<Option<Direction>, RuleError> {
        let Some(value) = self.get("direction") else {
            return Ok(None);
        };
        value
            .as_str()
            .and_then(Direction::parse)
            .map(Some)
            .ok_or_else(|| {
                invalid(
                    "direction",
                    format!(
                        "must be one of {} (not {value})",
                        list(&Direction::ALL.map(Direction::key))
                    ),
                )
            })
    }

    fn channels(&self) -> Result<Vec<ChannelId>, RuleError> {
        let Some(value) = self.get("channels") else {
            return Ok(Vec::new());
        };
        let items = value
            .as_array()
            .ok_or_else(|| invalid("channels", "must be a list of channel ids"))?;
        let mut channels = Vec::with_capacity(items.len());
        for item in items {
            let id: ChannelId = item
                .as_str()
                .and_then(|text| text.parse().ok())
                .ok_or_else(|| {
                    invalid(
                        "channels",
                        format!("holds {item}, which is not a channel id"),
                    )
                })?;
            // The same channel twice is the same channel.
            if !channels.contains(&id) {
                channels.push(id);
            }
        }
        Ok(channels)
    }
}

/// A rule as its owner writes it: a metric of the tracker, a condition, a cooldown and
/// the channels to notify. Its serde form is the flat JSON form ([`RuleSpec::from_json`],
/// [`RuleSpec::to_json`]), so a server function or a `jsonb` column can carry it as is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct RuleSpec {
    /// The metric's name (`stars`). Whether the tracker has it is the caller's check.
    pub metric: String,
    /// What makes the rule fire.
    pub condition: Condition,
    /// The least time between two firings, in seconds (default [`DEFAULT_COOLDOWN_SECS`]).
    pub cooldown_secs: i64,
    /// Where its alerts go (whether each is the workspace's is the caller's check).
    pub channels: Vec<ChannelId>,
}

impl RuleSpec {
    /// A rule on `metric` with the default cooldown and no channels (not yet validated).
    pub fn new(metric: impl Into<String>, condition: Condition) -> Self {
        Self {
            metric: metric.into(),
            condition,
            cooldown_secs: DEFAULT_COOLDOWN_SECS,
            channels: Vec::new(),
        }
    }

    /// Reads a rule from its flat JSON form (the REST body), refusing anything that is not
    /// a valid rule with a message naming the field. A channel listed twice counts once.
    pub fn from_json(body: &Value) -> Result<Self, RuleError> {
        let map = body.as_object().ok_or(RuleError::NotAnObject)?;
        let fields = Fields::new(map)?;
        let metric = fields
            .text("metric")?
            .ok_or(RuleError::Missing("metric"))?
            .trim()
            .to_string();
        let condition = Condition::from_fields(&fields)?;
        let spec = Self {
            metric,
            condition,
            cooldown_secs: fields
                .whole("cooldown_secs")?
                .unwrap_or(DEFAULT_COOLDOWN_SECS),
            channels: fields.channels()?,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// The flat JSON form [`RuleSpec::from_json`] reads: `metric`, `condition` and its
    /// parameters (optional ones only when set; `margin` always for `above`/`below`),
    /// `cooldown_secs`, `channels`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("metric".to_string(), Value::from(self.metric.clone()));
        self.condition.write_fields(&mut out);
        out.insert("cooldown_secs".to_string(), Value::from(self.cooldown_secs));
        out.insert(
            "channels".to_string(),
            Value::Array(
                self.channels
                    .iter()
                    .map(|id| Value::from(id.to_string()))
                    .collect(),
            ),
        );
        Value::Object(out)
    }

    /// Checks a rule built by hand: the metric's name (a lowercase letter, then letters,
    /// digits and `_`, at most [`MAX_METRIC_LEN`]), the condition, the cooldown (0 to 7 days).
    pub fn validate(&self) -> Result<(), RuleError> {
        let metric = &self.metric;
        let well_formed = metric.len() <= MAX_METRIC_LEN
            && metric.starts_with(|c: char| c.is_ascii_lowercase())
            && metric
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if metric.is_empty() {
            return Err(RuleError::Missing("metric"));
        }
        if !well_formed {
            return Err(invalid(
                "metric",
                format!(
                    "`{metric}` is not a metric name: a lowercase letter, then a-z, 0-9 and _ \
                     (at most {MAX_METRIC_LEN})"
                ),
            ));
        }
        self.condition.validate()?;
        if !(0..=MAX_COOLDOWN_SECS).contains(&self.cooldown_secs) {
            return Err(invalid(
                "cooldown_secs",
                format!("must be from 0 to {MAX_COOLDOWN_SECS} (7 days) seconds"),
            ));
        }
        Ok(())
    }

    /// The rule with `patch` (a partial flat form, as a PATCH body) merged in: given
    /// fields replace the rule's, `null` resets a field to its default (or removes it),
    /// and the result is checked as a whole. Giving `amount` drops the rule's `percent`
    /// and the other way round. Changing `condition` drops the old condition's parameters,
    /// so the patch must give the new one's.
    pub fn patched(&self, patch: &Value) -> Result<Self, RuleError> {
        let patch = patch.as_object().ok_or(RuleError::NotAnObject)?;
        Fields::new(patch)?;
        let Value::Object(mut merged) = self.to_json() else {
            return Err(RuleError::NotAnObject);
        };
        let new_kind = patch
            .get("condition")
            .and_then(Value::as_str)
            .and_then(ConditionKind::parse);
        if patch.contains_key("condition") && new_kind != Some(self.condition.kind()) {
            for param in PARAMS {
                merged.remove(param);
            }
        }
        for (given, other) in [("amount", "percent"), ("percent", "amount")] {
            if patch.get(given).is_some_and(|value| !value.is_null()) && !patch.contains_key(other)
            {
                merged.remove(other);
            }
        }
        for (field, value) in patch {
            if value.is_null() {
                merged.remove(field);
            } else {
                merged.insert(field.clone(), value.clone());
            }
        }
        Self::from_json(&Value::Object(merged))
    }

    /// The cooldown as a duration.
    pub fn cooldown(&self) -> TimeDelta {
        TimeDelta::seconds(self.cooldown_secs)
    }

    /// [`evaluate`] with this rule's metric, condition and cooldown.
    pub fn evaluate(&self, state: &RuleState, observation: &Observation) -> Evaluation {
        evaluate(
            &self.metric,
            &self.condition,
            state,
            self.cooldown(),
            observation,
        )
    }

    /// [`evaluate_silence`] with this rule's metric, condition and cooldown.
    pub fn evaluate_silence(
        &self,
        state: &RuleState,
        now: DateTime<Utc>,
        last_success: Option<DateTime<Utc>>,
        source_gone: bool,
    ) -> Evaluation {
        evaluate_silence(
            &self.metric,
            &self.condition,
            state,
            self.cooldown(),
            now,
            last_success,
            source_gone,
        )
    }
}

impl TryFrom<Value> for RuleSpec {
    type Error = RuleError;

    fn try_from(body: Value) -> Result<Self, Self::Error> {
        Self::from_json(&body)
    }
}

impl From<RuleSpec> for Value {
    fn from(spec: RuleSpec) -> Self {
        spec.to_json()
    }
}

/// What a rule remembers between evaluations (stored as `jsonb`; missing keys take their
/// defaults, so fields can be added).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleState {
    /// Whether the rule may fire: false from a firing until its condition has been false
    /// again (hysteresis). A new rule is armed.
    pub armed: bool,
    /// Its last firing, for the cooldown.
    pub last_fired_at: Option<DateTime<Utc>>,
    /// The value of the last sample it saw.
    pub last_value: Option<f64>,
    /// For `milestone`: the highest milestone announced, or already passed when the rule
    /// first saw the metric.
    pub last_milestone: Option<f64>,
}

impl Default for RuleState {
    fn default() -> Self {
        Self {
            armed: true,
            last_fired_at: None,
            last_value: None,
            last_milestone: None,
        }
    }
}

impl RuleState {
    /// Whether a firing at `at` would come within `cooldown` of the last one.
    pub fn in_cooldown(&self, at: DateTime<Utc>, cooldown: TimeDelta) -> bool {
        self.last_fired_at
            .is_some_and(|fired| at.signed_duration_since(fired) < cooldown)
    }
}

/// A new sample of the rule's metric, with what its condition's [`Lookback`] asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// Its value.
    pub value: f64,
    /// The metric's sample before this one (`None`: this is the first).
    pub previous: Option<f64>,
    /// For `change`: the value at or just before `at` minus the window (`None`: no sample
    /// that old).
    pub window_start: Option<f64>,
    /// For `new_high`: the highest value before this sample, over the window or all time
    /// (`None`: no earlier sample).
    pub window_high: Option<f64>,
    /// For `new_low`: the lowest value before this sample, over the window or all time.
    pub window_low: Option<f64>,
}

/// One firing of a rule: the alert event to store and deliver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Firing {
    /// The condition that fired.
    pub condition: ConditionKind,
    /// The metric's value that caused it (for `no_data`/`gone`: the last one seen, if any).
    pub value: Option<f64>,
    /// The sample before it, if any.
    pub previous: Option<f64>,
    /// What the value was compared with: the threshold, the window's start, the earlier
    /// high or low, the milestone passed (`None` for `no_data`/`gone`).
    pub reference: Option<f64>,
    /// When: the sample's time, or the clock's for `no_data`/`gone`.
    pub at: DateTime<Utc>,
    /// A sentence for people: "stars rose above 20,000 (now 20,140)".
    pub reason: String,
}

/// The outcome of an evaluation: maybe a firing, and the state to store either way.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The firing, if the rule fired.
    pub fired: Option<Firing>,
    /// The rule's state from now on.
    pub state: RuleState,
}

/// How a threshold-like condition judges one sample.
enum Check {
    /// The condition holds: fire if armed and out of cooldown.
    Holds { reference: f64, reason: String },
    /// The condition is false (beyond any margin): re-arm.
    Rearms,
    /// Neither (inside the margin, or nothing to judge by): leave the rule as it is.
    Neutral,
}

/// Judges a rule after a successful poll of its metric: fires at most once, by the rules
/// of the module's documentation, and returns the state to store. `no_data` and `gone`
/// rules never fire here, but a new sample re-arms them. A non-finite value is ignored.
pub fn evaluate(
    metric: &str,
    condition: &Condition,
    state: &RuleState,
    cooldown: TimeDelta,
    observation: &Observation,
) -> Evaluation {
    let value = observation.value;
    if !value.is_finite() {
        return Evaluation {
            fired: None,
            state: state.clone(),
        };
    }
    let mut next = state.clone();
    if condition.kind().remembers_value() {
        next.last_value = Some(value);
    }
    let cooling = state.in_cooldown(observation.at, cooldown);
    let fire = |reference: Option<f64>, reason: String| Firing {
        condition: condition.kind(),
        value: Some(value),
        previous: observation.previous,
        reference,
        at: observation.at,
        reason,
    };
    let check = match *condition {
        Condition::Above {
            value: threshold,
            margin,
        } => {
            if value > threshold {
                Check::Holds {
                    reference: threshold,
                    reason: format!(
                        "{metric} rose above {} (now {})",
                        format_value(threshold),
                        format_value(value)
                    ),
                }
            } else if value <= threshold - margin {
                Check::Rearms
            } else {
                Check::Neutral
            }
        }
        Condition::Below {
            value: threshold,
            margin,
        } => {
            if value < threshold {
                Check::Holds {
                    reference: threshold,
                    reason: format!(
                        "{metric} fell below {} (now {})",
                        format_value(threshold),
                        format_value(value)
                    ),
                }
            } else if value >= threshold + margin {
                Check::Rearms
            } else {
                Check::Neutral
            }
        }
        Condition::Change {
            amount,
            percent,
            window,
            direction,
        } => check_change(
            metric,
            value,
            observation.window_start,
            amount,
            percent,
            window,
            direction,
        ),
        Condition::NewHigh { window } => match observation.window_high {
            None => Check::Neutral,
            Some(high) if value > high => Check::Holds {
                reference: high,
                reason: format!(
                    "{metric} reached a new {} high of {} (the previous high was {})",
                    window.map_or("all-time", AlertWindow::adjective),
                    format_value(value),
                    format_value(high)
                ),
            },
            Some(_) => Check::Rearms,
        },
        Condition::NewLow { window } => match observation.window_low {
            None => Check::Neutral,
            Some(low) if value < low => Check::Holds {
                reference: low,
                reason: format!(
                    "{metric} reached a new {} low of {} (the previous low was {})",
                    window.map_or("all-time", AlertWindow::adjective),
                    format_value(value),
                    format_value(low)
                ),
            },
            Some(_) => Check::Rearms,
        },
        Condition::Milestone { every } => {
            let previous = observation.previous.or(state.last_value);
            let fired =
                milestone(every, state, previous, value, cooling, &mut next).map(|passed| {
                    fire(
                        Some(passed),
                        format!(
                            "{metric} passed {} (now {})",
                            format_value(passed),
                            format_value(value)
                        ),
                    )
                });
            if fired.is_some() {
                next.last_fired_at = Some(observation.at);
            }
            return Evaluation { fired, state: next };
        }
        Condition::NoData { .. } | Condition::Gone => {
            next.armed = true;
            Check::Neutral
        }
    };
    let fired = match check {
        Check::Holds { reference, reason } if state.armed && !cooling => {
            next.armed = false;
            next.last_fired_at = Some(observation.at);
            Some(fire(Some(reference), reason))
        }
        Check::Holds { .. } | Check::Neutral => None,
        Check::Rearms => {
            next.armed = true;
            None
        }
    };
    Evaluation { fired, state: next }
}

/// A `change` rule's judgement of `value` against the window's start.
fn check_change(
    metric: &str,
    value: f64,
    start: Option<f64>,
    amount: Option<f64>,
    percent: Option<f64>,
    window: AlertWindow,
    direction: Direction,
) -> Check {
    let Some(start) = start.filter(|start| start.is_finite()) else {
        return Check::Neutral;
    };
    let delta = value - start;
    let (moved, wanted, shown) = match (amount, percent) {
        (Some(amount), _) => (delta.abs(), amount, format_value(delta.abs())),
        // A percentage of nothing is not a number: wait for a start away from 0.
        (None, Some(_)) if start == 0.0 => return Check::Neutral,
        (None, Some(percent)) => {
            let moved = delta.abs() / start.abs() * 100.0;
            (moved, percent, format!("{}%", format_value(moved)))
        }
        (None, None) => return Check::Neutral,
    };
    let right_way = match direction {
        Direction::Up => delta > 0.0,
        Direction::Down => delta < 0.0,
        Direction::Either => delta != 0.0,
    };
    if right_way && moved >= wanted {
        let verb = if delta > 0.0 { "rose" } else { "fell" };
        Check::Holds {
            reference: start,
            reason: format!(
                "{metric} {verb} by {shown} in {}, from {} to {}",
                window.label(),
                format_value(start),
                format_value(value)
            ),
        }
    } else {
        Check::Rearms
    }
}

/// The index of the highest milestone at or below `value`: `k` for `k × every`, or the
/// power of ten for round numbers (`None` below 1,000).
fn milestone_index(every: Option<f64>, value: f64) -> Option<i64> {
    // The small allowance keeps an exact multiple (0.3 with every 0.1) on its milestone.
    match every {
        Some(every) => Some((value / every + 1e-9).floor() as i64),
        None if value >= FIRST_ROUND_NUMBER => Some((value.log10() + 1e-12).floor() as i64),
        None => None,
    }
}

/// The milestone of an index.
fn milestone_value(every: Option<f64>, index: i64) -> f64 {
    match every {
        Some(every) => index as f64 * every,
        None => 10f64.powi(i32::try_from(index).unwrap_or(i32::MAX)),
    }
}

/// The index of a milestone's own value (as stored in the state).
fn milestone_index_of(every: Option<f64>, milestone: f64) -> i64 {
    match every {
        Some(every) => (milestone / every).round() as i64,
        None => milestone.log10().round() as i64,
    }
}

/// A `milestone` rule's judgement: the milestone to announce, if any, updating the state's
/// `last_milestone` (to what is announced, or to what was already passed).
fn milestone(
    every: Option<f64>,
    state: &RuleState,
    previous: Option<f64>,
    value: f64,
    cooling: bool,
    next: &mut RuleState,
) -> Option<f64> {
    let reached = milestone_index(every, value);
    let baseline = match state.last_milestone {
        Some(milestone) => Some(milestone_index_of(every, milestone)),
        // The first sample the rule sees: nothing is passed by it.
        None => match previous {
            None => return None,
            Some(previous) => milestone_index(every, previous),
        },
    };
    // `None` (below the first round number) is below any milestone.
    if reached > baseline {
        if cooling {
            // Pending: announced after the cooldown if the value is still past it.
            next.last_milestone = baseline.map(|index| milestone_value(every, index));
            return None;
        }
        let passed = reached.map(|index| milestone_value(every, index))?;
        next.last_milestone = Some(passed);
        Some(passed)
    } else {
        next.last_milestone = baseline.map(|index| milestone_value(every, index));
        None
    }
}

/// Judges a `no_data` or `gone` rule on the clock: a `no_data` rule fires once when more
/// than its duration has passed since `last_success` (pass the tracker's creation time
/// when it never had one: `None` never fires), and is re-armed by a successful poll; a
/// `gone` rule fires once while `source_gone`, and is re-armed when the source is back.
/// Other conditions are left as they are.
pub fn evaluate_silence(
    metric: &str,
    condition: &Condition,
    state: &RuleState,
    cooldown: TimeDelta,
    now: DateTime<Utc>,
    last_success: Option<DateTime<Utc>>,
    source_gone: bool,
) -> Evaluation {
    let mut next = state.clone();
    let holds = match *condition {
        Condition::NoData { duration_secs } => match last_success {
            None => None,
            Some(success) => {
                let gap = now.signed_duration_since(success);
                if gap > TimeDelta::seconds(duration_secs) {
                    Some(format!(
                        "no successful poll of {metric} for {}",
                        format_secs(gap.num_seconds())
                    ))
                } else {
                    next.armed = true;
                    None
                }
            }
        },
        Condition::Gone => {
            if source_gone {
                Some(format!("the source of {metric} went away upstream"))
            } else {
                next.armed = true;
                None
            }
        }
        _ => None,
    };
    let fired = match holds {
        Some(reason) if state.armed && !state.in_cooldown(now, cooldown) => {
            next.armed = false;
            next.last_fired_at = Some(now);
            Some(Firing {
                condition: condition.kind(),
                value: state.last_value,
                previous: None,
                reference: None,
                at: now,
                reason,
            })
        }
        _ => None,
    };
    Evaluation { fired, state: next }
}

/// A value for people: thousands grouped, at most two decimals from 1 up (`20,140`,
/// `12.5`), up to six below (`0.000123`), no trailing zeros.
pub fn format_value(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let decimals = if value.abs() >= 1.0 { 2 } else { 6 };
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) if rest.chars().any(|c| c != '0' && c != '.') => ("-", rest),
        Some(rest) => ("", rest),
        None => ("", text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction}")
    }
}

/// A duration for people: `45 s`, `12 min`, `2 h 5 min`, `3 d 4 h`.
pub fn format_secs(secs: i64) -> String {
    let secs = secs.max(0);
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const CHANNEL: &str = "3f2a4c1e-8b7d-4e2f-9a1b-0c5d6e7f8a9b";

    /// Minutes after a fixed instant.
    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("a time") + TimeDelta::minutes(minutes)
    }

    fn observe(minute: i64, value: f64, previous: Option<f64>) -> Observation {
        Observation {
            at: at(minute),
            value,
            previous,
            ..Observation::default()
        }
    }

    /// Feeds `values` (one a minute, each with the one before as `previous`) and returns
    /// the indices that fired, with the final state.
    fn run(condition: &Condition, cooldown_secs: i64, values: &[f64]) -> (Vec<usize>, RuleState) {
        run_from(condition, cooldown_secs, values, RuleState::default())
    }

    fn run_from(
        condition: &Condition,
        cooldown_secs: i64,
        values: &[f64],
        mut state: RuleState,
    ) -> (Vec<usize>, RuleState) {
        let mut fired = Vec::new();
        let mut previous = None;
        for (i, &value) in values.iter().enumerate() {
            let minute = i64::try_from(i).expect("small");
            let evaluation = evaluate(
                "stars",
                condition,
                &state,
                TimeDelta::seconds(cooldown_secs),
                &observe(minute, value, previous),
            );
            if evaluation.fired.is_some() {
                fired.push(i);
            }
            state = evaluation.state;
            previous = Some(value);
        }
        (fired, state)
    }

    fn parse(body: Value) -> Result<RuleSpec, String> {
        RuleSpec::from_json(&body).map_err(|error| error.to_string())
    }

    fn refused(body: Value) -> String {
        match parse(body) {
            Ok(spec) => panic!("accepted: {spec:?}"),
            Err(message) => message,
        }
    }

    // Keys, windows and directions.

    #[test]
    fn keys_are_the_stored_and_written_ones() {
        for kind in ConditionKind::ALL {
            assert_eq!(ConditionKind::parse(kind.key()), Some(kind));
            assert_eq!(
                serde_json::to_string(&kind).expect("json"),
                format!("\"{}\"", kind.key())
            );
        }
        for window in AlertWindow::ALL {
            assert_eq!(AlertWindow::parse(window.key()), Some(window));
            assert_eq!(
                serde_json::to_string(&window).expect("json"),
                format!("\"{}\"", window.key())
            );
        }
        for direction in Direction::ALL {
            assert_eq!(Direction::parse(direction.key()), Some(direction));
        }
        assert_eq!(AlertWindow::Hour.secs(), 3_600);
        assert_eq!(AlertWindow::Day.secs(), 86_400);
        assert_eq!(AlertWindow::Week.secs(), 604_800);
        assert_eq!(ConditionKind::NewHigh.key(), "new_high");
        assert!(ConditionKind::NoData.is_silence() && ConditionKind::Gone.is_silence());
        assert!(!ConditionKind::Above.is_silence());
        assert_eq!(ConditionKind::parse("Above"), None);
    }

    #[test]
    fn lookback_says_what_to_read() {
        let change = Condition::Change {
            amount: Some(10.0),
            percent: None,
            window: AlertWindow::Day,
            direction: Direction::Up,
        };
        assert_eq!(
            change.lookback(),
            Lookback {
                window_start_secs: Some(86_400),
                extremes: None
            }
        );
        assert_eq!(
            Condition::NewHigh { window: None }.lookback().extremes,
            Some(Extremes::AllTime)
        );
        assert_eq!(
            Condition::NewLow {
                window: Some(AlertWindow::Week)
            }
            .lookback()
            .extremes,
            Some(Extremes::LastSecs(604_800))
        );
        assert_eq!(
            Condition::Above {
                value: 1.0,
                margin: 0.0
            }
            .lookback(),
            Lookback::default()
        );
        assert_eq!(Condition::Gone.lookback(), Lookback::default());
    }

    // Parsing.

    #[test]
    fn the_issues_example_body_is_a_rule() {
        let spec = parse(json!({
            "metric": "stars", "condition": "above", "value": 20000, "channels": [CHANNEL]
        }))
        .expect("a rule");
        assert_eq!(spec.metric, "stars");
        assert_eq!(
            spec.condition,
            Condition::Above {
                value: 20_000.0,
                margin: 0.0
            }
        );
        assert_eq!(spec.cooldown_secs, DEFAULT_COOLDOWN_SECS);
        assert_eq!(
            spec.channels,
            vec![CHANNEL.parse::<ChannelId>().expect("id")]
        );
    }

    #[test]
    fn every_condition_parses_with_its_parameters() {
        let cases = [
            (
                json!({"metric": "stars", "condition": "below", "value": 5, "margin": 2}),
                Condition::Below {
                    value: 5.0,
                    margin: 2.0,
                },
            ),
            (
                json!({"metric": "stars", "condition": "change", "percent": 10, "window": "7d", "direction": "down"}),
                Condition::Change {
                    amount: None,
                    percent: Some(10.0),
                    window: AlertWindow::Week,
                    direction: Direction::Down,
                },
            ),
            (
                json!({"metric": "stars", "condition": "change", "amount": 100, "window": "1h"}),
                Condition::Change {
                    amount: Some(100.0),
                    percent: None,
                    window: AlertWindow::Hour,
                    direction: Direction::Either,
                },
            ),
            (
                json!({"metric": "stars", "condition": "new_high"}),
                Condition::NewHigh { window: None },
            ),
            (
                json!({"metric": "stars", "condition": "new_low", "window": "24h"}),
                Condition::NewLow {
                    window: Some(AlertWindow::Day),
                },
            ),
            (
                json!({"metric": "stars", "condition": "milestone", "every": 500}),
                Condition::Milestone { every: Some(500.0) },
            ),
            (
                json!({"metric": "stars", "condition": "milestone", "every": null}),
                Condition::Milestone { every: None },
            ),
            (
                json!({"metric": "stars", "condition": "no_data", "duration_secs": 7200}),
                Condition::NoData {
                    duration_secs: 7_200,
                },
            ),
            (
                json!({"metric": "stars", "condition": "gone", "cooldown_secs": 0}),
                Condition::Gone,
            ),
        ];
        for (body, condition) in cases {
            let spec = parse(body.clone()).unwrap_or_else(|error| panic!("{body}: {error}"));
            assert_eq!(spec.condition, condition, "{body}");
        }
    }

    #[test]
    fn bad_bodies_are_refused_naming_the_field() {
        let cases = [
            (json!([1, 2]), "a rule is a JSON object"),
            (
                json!({"condition": "above", "value": 1}),
                "`metric` is required",
            ),
            (
                json!({"metric": "Stars!", "condition": "above", "value": 1}),
                "`metric` `Stars!` is not a metric name",
            ),
            (json!({"metric": "stars"}), "`condition` is required"),
            (
                json!({"metric": "stars", "condition": "sideways"}),
                "`sideways` is not a condition: use one of `above`, `below`, `change`, \
                 `new_high`, `new_low`, `milestone`, `no_data` and `gone`",
            ),
            (
                json!({"metric": "stars", "condition": "above"}),
                "`value` is required for `above`",
            ),
            (
                json!({"metric": "stars", "condition": "below", "value": "10"}),
                "`value` must be a number",
            ),
            (
                json!({"metric": "stars", "condition": "above", "value": 1, "percent": 5}),
                "`percent` does not apply to `above` (it takes `value` and `margin`)",
            ),
            (
                json!({"metric": "stars", "condition": "gone", "window": "1h"}),
                "`window` does not apply to `gone` (it takes no parameters)",
            ),
            (
                json!({"metric": "stars", "condition": "above", "value": 1, "valeu": 5}),
                "`valeu` is not a field of a rule: the fields are `metric`, `condition`",
            ),
            (
                json!({"metric": "stars", "condition": "above", "value": 1, "margin": -1}),
                "`margin` must be 0 or more",
            ),
            (
                json!({"metric": "stars", "condition": "change", "window": "1h"}),
                "`change` needs exactly one of `amount` and `percent`",
            ),
            (
                json!({"metric": "stars", "condition": "change", "amount": 1, "percent": 2, "window": "1h"}),
                "`change` needs exactly one of `amount` and `percent`",
            ),
            (
                json!({"metric": "stars", "condition": "change", "amount": 0, "window": "1h"}),
                "`amount` must be more than 0",
            ),
            (
                json!({"metric": "stars", "condition": "change", "percent": -5, "window": "1h"}),
                "`percent` must be more than 0",
            ),
            (
                json!({"metric": "stars", "condition": "change", "amount": 5}),
                "`window` is required for `change`",
            ),
            (
                json!({"metric": "stars", "condition": "change", "amount": 5, "window": "2h"}),
                "`window` must be one of `1h`, `24h` and `7d` (not \"2h\")",
            ),
            (
                json!({"metric": "stars", "condition": "new_high", "window": 3600}),
                "`window` must be one of `1h`, `24h` and `7d` (not 3600)",
            ),
            (
                json!({"metric": "stars", "condition": "change", "amount": 5, "window": "1h", "direction": "sideways"}),
                "`direction` must be one of `up`, `down` and `either` (not \"sideways\")",
            ),
            (
                json!({"metric": "stars", "condition": "milestone", "every": 0}),
                "`every` must be more than 0",
            ),
            (
                json!({"metric": "stars", "condition": "no_data"}),
                "`duration_secs` is required for `no_data`",
            ),
            (
                json!({"metric": "stars", "condition": "no_data", "duration_secs": 59}),
                "`duration_secs` must be from 60 (one minute) to 2592000 (30 days) seconds",
            ),
            (
                json!({"metric": "stars", "condition": "no_data", "duration_secs": 2_592_001}),
                "`duration_secs` must be from 60",
            ),
            (
                json!({"metric": "stars", "condition": "no_data", "duration_secs": 90.5}),
                "`duration_secs` must be a whole number of seconds",
            ),
            (
                json!({"metric": "stars", "condition": "gone", "cooldown_secs": -1}),
                "`cooldown_secs` must be from 0 to 604800 (7 days) seconds",
            ),
            (
                json!({"metric": "stars", "condition": "gone", "cooldown_secs": 604_801}),
                "`cooldown_secs` must be from 0 to 604800",
            ),
            (
                json!({"metric": "stars", "condition": "gone", "channels": "all"}),
                "`channels` must be a list of channel ids",
            ),
            (
                json!({"metric": "stars", "condition": "gone", "channels": ["nope"]}),
                "`channels` holds \"nope\", which is not a channel id",
            ),
        ];
        for (body, message) in cases {
            let error = refused(body.clone());
            assert!(
                error.starts_with(message),
                "{body}: `{error}` does not start with `{message}`"
            );
        }
    }

    #[test]
    fn errors_name_their_field() {
        let error = RuleSpec::from_json(&json!({"metric": "stars", "condition": "x"}))
            .expect_err("refused");
        assert_eq!(error.field(), Some("condition"));
        let error = RuleSpec::from_json(
            &json!({"metric": "stars", "condition": "above", "value": 1, "every": 2}),
        )
        .expect_err("refused");
        assert_eq!(error.field(), Some("every"));
        assert_eq!(RuleError::NotAnObject.field(), None);
    }

    #[test]
    fn non_finite_numbers_are_refused() {
        for number in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let spec = RuleSpec::new(
                "stars",
                Condition::Above {
                    value: number,
                    margin: 0.0,
                },
            );
            assert_eq!(
                spec.validate().map_err(|e| e.to_string()),
                Err("`value` must be a finite number".to_string())
            );
            let change = Condition::Change {
                amount: None,
                percent: Some(number),
                window: AlertWindow::Hour,
                direction: Direction::Up,
            };
            assert!(change.validate().is_err());
            assert!(
                Condition::Milestone {
                    every: Some(number)
                }
                .validate()
                .is_err()
            );
        }
        // JSON itself has no NaN: a value that becomes one is `null`, hence missing.
        assert_eq!(
            refused(json!({"metric": "stars", "condition": "above", "value": f64::NAN})),
            "`value` is required for `above`"
        );
    }

    #[test]
    fn channels_listed_twice_count_once_and_whole_floats_are_seconds() {
        let spec = parse(json!({
            "metric": "stars", "condition": "gone", "cooldown_secs": 60.0,
            "channels": [CHANNEL, CHANNEL]
        }))
        .expect("a rule");
        assert_eq!(spec.channels.len(), 1);
        assert_eq!(spec.cooldown_secs, 60);
    }

    #[test]
    fn to_json_round_trips() {
        let bodies = [
            json!({"metric": "stars", "condition": "above", "value": 20000, "channels": [CHANNEL]}),
            json!({"metric": "forks", "condition": "below", "value": -2.5, "margin": 1}),
            json!({"metric": "stars", "condition": "change", "percent": 10, "window": "7d", "direction": "up"}),
            json!({"metric": "stars", "condition": "change", "amount": 3, "window": "1h"}),
            json!({"metric": "stars", "condition": "new_high", "window": "24h"}),
            json!({"metric": "stars", "condition": "new_low"}),
            json!({"metric": "stars", "condition": "milestone", "every": 250}),
            json!({"metric": "stars", "condition": "milestone"}),
            json!({"metric": "stars", "condition": "no_data", "duration_secs": 3600, "cooldown_secs": 0}),
            json!({"metric": "stars", "condition": "gone"}),
        ];
        for body in bodies {
            let spec = parse(body.clone()).expect("a rule");
            let written = spec.to_json();
            assert_eq!(parse(written.clone()), Ok(spec.clone()), "{body}");
            // serde goes through the same form.
            let text = serde_json::to_string(&spec).expect("json");
            assert_eq!(serde_json::from_str::<RuleSpec>(&text).expect("back"), spec);
            assert_eq!(
                serde_json::from_str::<Value>(&text).expect("value"),
                written
            );
        }
        let written = parse(json!({"metric": "stars", "condition": "above", "value": 20000}))
            .expect("a rule")
            .to_json();
        assert_eq!(
            written,
            json!({
                "metric": "stars", "condition": "above", "value": 20000.0, "margin": 0.0,
                "cooldown_secs": 3600, "channels": []
            })
        );
        let error = serde_json::from_str::<RuleSpec>(r#"{"metric": "stars", "condition": "up"}"#)
            .expect_err("refused");
        assert!(
            error.to_string().contains("`up` is not a condition"),
            "{error}"
        );
    }

    #[test]
    fn patched_merges_the_given_fields() {
        let spec = parse(json!({
            "metric": "stars", "condition": "above", "value": 100, "margin": 5,
            "cooldown_secs": 60, "channels": [CHANNEL]
        }))
        .expect("a rule");

        let higher = spec.patched(&json!({"value": 200})).expect("patched");
        assert_eq!(
            higher.condition,
            Condition::Above {
                value: 200.0,
                margin: 5.0
            }
        );
        assert_eq!(higher.cooldown_secs, 60);
        assert_eq!(higher.channels, spec.channels);

        // `null` resets to the default.
        let reset = spec
            .patched(&json!({"cooldown_secs": null, "margin": null, "channels": null}))
            .expect("patched");
        assert_eq!(reset.cooldown_secs, DEFAULT_COOLDOWN_SECS);
        assert!(reset.channels.is_empty());
        assert_eq!(
            reset.condition,
            Condition::Above {
                value: 100.0,
                margin: 0.0
            }
        );

        // The same condition keeps its parameters; another needs its own.
        assert_eq!(
            spec.patched(&json!({"condition": "above"})),
            Ok(spec.clone())
        );
        assert_eq!(
            spec.patched(&json!({"condition": "below"}))
                .map_err(|e| e.to_string()),
            Err("`value` is required for `below`".to_string())
        );
        let below = spec
            .patched(&json!({"condition": "below", "value": 10}))
            .expect("patched");
        assert_eq!(
            below.condition,
            Condition::Below {
                value: 10.0,
                margin: 0.0
            }
        );
        let gone = spec
            .patched(&json!({"condition": "gone"}))
            .expect("patched");
        assert_eq!(gone.condition, Condition::Gone);
        assert_eq!(gone.cooldown_secs, 60);

        // Parameters of another condition, unknown fields and bad values are refused.
        assert_eq!(
            spec.patched(&json!({"percent": 5}))
                .map_err(|e| e.to_string()),
            Err("`percent` does not apply to `above` (it takes `value` and `margin`)".to_string())
        );
        assert!(spec.patched(&json!({"colour": "red"})).is_err());
        assert!(spec.patched(&json!({"value": "high"})).is_err());
        assert_eq!(spec.patched(&json!(3)), Err(RuleError::NotAnObject));
        assert_eq!(
            spec.patched(&json!({"condition": null})),
            Err(RuleError::Missing("condition"))
        );

        // `amount` and `percent` replace each other.
        let change =
            parse(json!({"metric": "stars", "condition": "change", "amount": 10, "window": "1h"}))
                .expect("a rule");
        let by_percent = change.patched(&json!({"percent": 5})).expect("patched");
        assert_eq!(
            by_percent.condition,
            Condition::Change {
                amount: None,
                percent: Some(5.0),
                window: AlertWindow::Hour,
                direction: Direction::Either,
            }
        );
        assert_eq!(
            change.patched(&json!({"percent": 5, "amount": 3})),
            Err(RuleError::ChangeNeedsOne)
        );
        let by_amount = by_percent.patched(&json!({"amount": 7})).expect("patched");
        assert!(matches!(
            by_amount.condition,
            Condition::Change {
                amount: Some(_),
                percent: None,
                ..
            }
        ));
    }

    // Thresholds.

    #[test]
    fn above_fires_once_and_rearms_after_being_false() {
        let above = Condition::Above {
            value: 100.0,
            margin: 0.0,
        };
        let (fired, state) = run(&above, 0, &[90.0, 101.0, 120.0, 150.0, 100.0, 105.0, 99.0]);
        assert_eq!(fired, vec![1, 5]);
        assert!(state.armed);
        // A threshold judges each sample as it comes: nothing to remember but its firing.
        assert_eq!(state.last_value, None);
        assert_eq!(state.last_fired_at, Some(at(5)));

        // Exactly at the threshold is not above it.
        let (fired, _) = run(&above, 0, &[100.0, 100.0]);
        assert!(fired.is_empty());
    }

    #[test]
    fn a_quiet_sample_leaves_the_state_as_it_was() {
        // What lets the evaluation after a poll skip writing most rules.
        let above = Condition::Above {
            value: 100.0,
            margin: 0.0,
        };
        let quiet = evaluate(
            "stars",
            &above,
            &RuleState::default(),
            TimeDelta::hours(1),
            &observe(0, 50.0, Some(40.0)),
        );
        assert_eq!(quiet.state, RuleState::default());
        let fired = evaluate(
            "stars",
            &above,
            &RuleState::default(),
            TimeDelta::hours(1),
            &observe(1, 150.0, Some(50.0)),
        );
        let still = evaluate(
            "stars",
            &above,
            &fired.state,
            TimeDelta::hours(1),
            &observe(2, 160.0, Some(150.0)),
        );
        assert_eq!(still.state, fired.state);
        // A milestone remembers the value, for when the sample before is gone.
        let milestone = evaluate(
            "stars",
            &Condition::Milestone {
                every: Some(1_000.0),
            },
            &RuleState::default(),
            TimeDelta::hours(1),
            &observe(0, 50.0, None),
        );
        assert_eq!(milestone.state.last_value, Some(50.0));
    }

    #[test]
    fn above_reports_what_caused_it() {
        let above = Condition::Above {
            value: 20_000.0,
            margin: 0.0,
        };
        let evaluation = evaluate(
            "stars",
            &above,
            &RuleState::default(),
            TimeDelta::hours(1),
            &observe(3, 20_140.0, Some(19_990.0)),
        );
        let firing = evaluation.fired.expect("fired");
        assert_eq!(
            firing,
            Firing {
                condition: ConditionKind::Above,
                value: Some(20_140.0),
                previous: Some(19_990.0),
                reference: Some(20_000.0),
                at: at(3),
                reason: "stars rose above 20,000 (now 20,140)".to_string(),
            }
        );
        assert!(!evaluation.state.armed);
    }

    #[test]
    fn a_new_rule_whose_condition_holds_fires_at_once() {
        let (fired, _) = run(
            &Condition::Above {
                value: 10.0,
                margin: 0.0,
            },
            0,
            &[50.0, 60.0],
        );
        assert_eq!(fired, vec![0]);
    }

    #[test]
    fn margins_keep_a_hovering_value_quiet() {
        let above = Condition::Above {
            value: 100.0,
            margin: 10.0,
        };
        let (fired, state) = run(&above, 0, &[101.0, 99.0, 101.0, 95.0, 101.0, 90.0, 101.0]);
        assert_eq!(fired, vec![0, 6]);
        assert!(!state.armed);

        let below = Condition::Below {
            value: 50.0,
            margin: 5.0,
        };
        let (fired, _) = run(&below, 0, &[60.0, 49.0, 52.0, 48.0, 55.0, 49.5]);
        assert_eq!(fired, vec![1, 5]);
        let evaluation = evaluate(
            "forks",
            &below,
            &RuleState::default(),
            TimeDelta::zero(),
            &observe(0, 49.5, Some(60.0)),
        );
        assert_eq!(
            evaluation.fired.expect("fired").reason,
            "forks fell below 50 (now 49.5)"
        );
    }

    #[test]
    fn cooldown_blocks_then_allows_while_still_true() {
        let above = Condition::Above {
            value: 100.0,
            margin: 0.0,
        };
        // Fires at minute 0, re-armed at 1, true again at 2 but cooling (10 minutes).
        let (fired, state) = run(
            &above,
            600,
            &[
                101.0, 90.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0, 108.0, 109.0, 110.0,
            ],
        );
        assert_eq!(fired, vec![0, 10]);
        assert!(!state.armed);

        // False again by the end of the cooldown: nothing fires.
        let (fired, state) = run(
            &above,
            600,
            &[
                101.0, 90.0, 101.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0,
            ],
        );
        assert_eq!(fired, vec![0]);
        assert!(state.armed);

        // Zero cooldown: never blocked.
        assert!(
            !RuleState {
                last_fired_at: Some(at(0)),
                ..RuleState::default()
            }
            .in_cooldown(at(0), TimeDelta::zero())
        );
    }

    // Change.

    fn change(amount: Option<f64>, percent: Option<f64>, direction: Direction) -> Condition {
        Condition::Change {
            amount,
            percent,
            window: AlertWindow::Day,
            direction,
        }
    }

    /// Evaluates `value` against a window starting at `start`, from `state`.
    fn over_window(
        condition: &Condition,
        state: &RuleState,
        minute: i64,
        start: Option<f64>,
        value: f64,
    ) -> Evaluation {
        evaluate(
            "stars",
            condition,
            state,
            TimeDelta::zero(),
            &Observation {
                at: at(minute),
                value,
                previous: None,
                window_start: start,
                ..Observation::default()
            },
        )
    }

    #[test]
    fn change_by_amount_in_each_direction() {
        let fresh = RuleState::default();
        let cases = [
            (Direction::Up, 100.0, 150.0, true),
            (Direction::Up, 100.0, 149.0, false),
            (Direction::Up, 100.0, 50.0, false),
            (Direction::Down, 100.0, 50.0, true),
            (Direction::Down, 100.0, 150.0, false),
            (Direction::Either, 100.0, 150.0, true),
            (Direction::Either, 100.0, 50.0, true),
            (Direction::Either, 100.0, 120.0, false),
        ];
        for (direction, start, value, fires) in cases {
            let rule = change(Some(50.0), None, direction);
            let evaluation = over_window(&rule, &fresh, 0, Some(start), value);
            assert_eq!(
                evaluation.fired.is_some(),
                fires,
                "{direction} from {start} to {value}"
            );
        }
        let rule = change(Some(50.0), None, Direction::Either);
        let firing = over_window(&rule, &fresh, 0, Some(1_200.0), 1_140.0)
            .fired
            .expect("fired");
        assert_eq!(
            firing.reason,
            "stars fell by 60 in 24 h, from 1,200 to 1,140"
        );
        assert_eq!(firing.reference, Some(1_200.0));
    }

    #[test]
    fn change_by_percent_in_each_direction() {
        let fresh = RuleState::default();
        let cases = [
            (Direction::Up, 200.0, 220.0, true),
            (Direction::Up, 200.0, 219.0, false),
            (Direction::Down, 200.0, 180.0, true),
            (Direction::Down, 200.0, 220.0, false),
            (Direction::Either, 200.0, 180.0, true),
            // Of the start's size: -200 to -180 is up 10%.
            (Direction::Up, -200.0, -180.0, true),
        ];
        for (direction, start, value, fires) in cases {
            let rule = change(None, Some(10.0), direction);
            let evaluation = over_window(&rule, &fresh, 0, Some(start), value);
            assert_eq!(
                evaluation.fired.is_some(),
                fires,
                "{direction} from {start} to {value}"
            );
        }
        let rule = change(None, Some(10.0), Direction::Up);
        let firing = over_window(&rule, &fresh, 0, Some(1_200.0), 1_350.0)
            .fired
            .expect("fired");
        assert_eq!(
            firing.reason,
            "stars rose by 12.5% in 24 h, from 1,200 to 1,350"
        );
    }

    #[test]
    fn a_percent_change_from_zero_waits() {
        let rule = change(None, Some(10.0), Direction::Either);
        let disarmed = RuleState {
            armed: false,
            ..RuleState::default()
        };
        for state in [RuleState::default(), disarmed] {
            let evaluation = over_window(&rule, &state, 0, Some(0.0), 500.0);
            assert!(evaluation.fired.is_none());
            assert_eq!(evaluation.state.armed, state.armed);
        }
        // By amount, zero is a start like any other.
        let rule = change(Some(10.0), None, Direction::Up);
        assert!(
            over_window(&rule, &RuleState::default(), 0, Some(0.0), 500.0)
                .fired
                .is_some()
        );
        // No sample as old as the window: nothing to compare.
        let evaluation = over_window(&rule, &RuleState::default(), 0, None, 500.0);
        assert!(evaluation.fired.is_none() && evaluation.state.armed);
    }

    #[test]
    fn change_fires_once_until_it_no_longer_qualifies() {
        let rule = change(Some(10.0), None, Direction::Up);
        let mut state = RuleState::default();
        let mut fired = Vec::new();
        for (minute, (start, value)) in [(0.0, 20.0), (1.0, 25.0), (5.0, 12.0), (5.0, 30.0)]
            .into_iter()
            .enumerate()
        {
            let minute = i64::try_from(minute).expect("small");
            let evaluation = over_window(&rule, &state, minute, Some(start), value);
            if evaluation.fired.is_some() {
                fired.push(minute);
            }
            state = evaluation.state;
        }
        assert_eq!(fired, vec![0, 3]);
    }

    // New highs and lows.

    fn extremes(minute: i64, value: f64, high: Option<f64>, low: Option<f64>) -> Observation {
        Observation {
            at: at(minute),
            value,
            previous: None,
            window_start: None,
            window_high: high,
            window_low: low,
        }
    }

    #[test]
    fn new_high_needs_history_and_rearms_after_a_lower_sample() {
        let rule = Condition::NewHigh { window: None };
        let quiet = TimeDelta::zero();
        let first = evaluate(
            "stars",
            &rule,
            &RuleState::default(),
            quiet,
            &extremes(0, 10.0, None, None),
        );
        assert!(first.fired.is_none() && first.state.armed);

        let high = evaluate(
            "stars",
            &rule,
            &first.state,
            quiet,
            &extremes(1, 12.0, Some(10.0), Some(10.0)),
        );
        let firing = high.fired.expect("fired");
        assert_eq!(
            firing.reason,
            "stars reached a new all-time high of 12 (the previous high was 10)"
        );
        assert_eq!(firing.reference, Some(10.0));

        // Higher still, but it has not been false since: quiet.
        let higher = evaluate(
            "stars",
            &rule,
            &high.state,
            quiet,
            &extremes(2, 13.0, Some(12.0), Some(10.0)),
        );
        assert!(higher.fired.is_none());
        // Equal to the high is not a new one: re-arms.
        let flat = evaluate(
            "stars",
            &rule,
            &higher.state,
            quiet,
            &extremes(3, 13.0, Some(13.0), Some(10.0)),
        );
        assert!(flat.fired.is_none() && flat.state.armed);
        let again = evaluate(
            "stars",
            &rule,
            &flat.state,
            quiet,
            &extremes(4, 14.0, Some(13.0), Some(10.0)),
        );
        assert!(again.fired.is_some());
    }

    #[test]
    fn new_high_over_a_window_and_new_low() {
        let rule = Condition::NewHigh {
            window: Some(AlertWindow::Week),
        };
        let firing = evaluate(
            "stars",
            &rule,
            &RuleState::default(),
            TimeDelta::zero(),
            &extremes(0, 80.0, Some(75.0), Some(60.0)),
        )
        .fired
        .expect("fired");
        assert_eq!(
            firing.reason,
            "stars reached a new 7-day high of 80 (the previous high was 75)"
        );

        let rule = Condition::NewLow { window: None };
        let low = evaluate(
            "price",
            &rule,
            &RuleState::default(),
            TimeDelta::zero(),
            &extremes(0, 0.5, Some(2.0), Some(0.75)),
        );
        assert_eq!(
            low.fired.expect("fired").reason,
            "price reached a new all-time low of 0.5 (the previous low was 0.75)"
        );
        let not_low = evaluate(
            "price",
            &rule,
            &RuleState::default(),
            TimeDelta::zero(),
            &extremes(0, 0.8, Some(2.0), Some(0.75)),
        );
        assert!(not_low.fired.is_none());
        let no_history = evaluate(
            "price",
            &rule,
            &RuleState::default(),
            TimeDelta::zero(),
            &extremes(0, 0.8, None, None),
        );
        assert!(no_history.fired.is_none());
    }

    // Milestones.

    #[test]
    fn milestones_every_n_fire_once_each_on_the_way_up() {
        let rule = Condition::Milestone { every: Some(100.0) };
        let (fired, state) = run(
            &rule,
            0,
            &[
                95.0, 99.0, 100.0, 150.0, 99.0, 100.0, 101.0, 199.0, 205.0, 180.0, 210.0,
            ],
        );
        // 100 at index 2; not again after the fall (5); 200 at index 8; not again at 10.
        assert_eq!(fired, vec![2, 8]);
        assert_eq!(state.last_milestone, Some(200.0));
    }

    #[test]
    fn several_milestones_at_once_name_the_highest() {
        let rule = Condition::Milestone {
            every: Some(1_000.0),
        };
        let evaluation = evaluate(
            "stars",
            &rule,
            &RuleState::default(),
            TimeDelta::zero(),
            &observe(0, 4_250.0, Some(900.0)),
        );
        let firing = evaluation.fired.expect("fired");
        assert_eq!(firing.reason, "stars passed 4,000 (now 4,250)");
        assert_eq!(firing.reference, Some(4_000.0));
        assert_eq!(evaluation.state.last_milestone, Some(4_000.0));
    }

    #[test]
    fn round_number_milestones_are_powers_of_ten_from_a_thousand() {
        let rule = Condition::Milestone { every: None };
        let (fired, state) = run(
            &rule,
            0,
            &[
                10.0,
                999.0,
                1_000.0,
                5_000.0,
                9_999.0,
                10_000.0,
                9_000.0,
                12_000.0,
                1_500_000.0,
            ],
        );
        assert_eq!(fired, vec![2, 5, 8]);
        assert_eq!(state.last_milestone, Some(1_000_000.0));
        let firing = evaluate(
            "stars",
            &rule,
            &RuleState::default(),
            TimeDelta::zero(),
            &observe(0, 1_500_000.0, Some(20.0)),
        )
        .fired
        .expect("fired");
        assert_eq!(firing.reason, "stars passed 1,000,000 (now 1,500,000)");
    }

    #[test]
    fn milestones_passed_before_the_rule_do_not_count() {
        let rule = Condition::Milestone { every: Some(100.0) };
        // The first sample has nothing before it: no crossing, whatever its value.
        let (fired, state) = run(&rule, 0, &[1_050.0]);
        assert!(fired.is_empty());
        // Seen since: 1,000 was already passed, so a dip and a climb back stay quiet.
        let (fired, _) = run_from(&rule, 0, &[950.0, 1_010.0, 1_100.0], state);
        assert_eq!(fired, vec![2]);
        // Fractional steps stay on their milestones.
        let (fired, _) = run(
            &Condition::Milestone { every: Some(0.1) },
            0,
            &[0.25, 0.3, 0.35],
        );
        assert_eq!(fired, vec![1]);
    }

    #[test]
    fn a_milestone_during_the_cooldown_is_announced_after_it() {
        let rule = Condition::Milestone { every: Some(10.0) };
        // 10 at minute 1; 20 at minute 2, cooling until minute 6; still past 20 then.
        let (fired, state) = run(&rule, 300, &[5.0, 10.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0]);
        assert_eq!(fired, vec![1, 6]);
        assert_eq!(state.last_milestone, Some(20.0));
    }

    // Silence.

    #[test]
    fn no_data_fires_once_after_the_duration_and_rearms_on_data() {
        let rule = RuleSpec {
            cooldown_secs: 0,
            ..RuleSpec::new(
                "stars",
                Condition::NoData {
                    duration_secs: 3_600,
                },
            )
        };
        let success = Some(at(0));
        let state = RuleState {
            last_value: Some(42.0),
            ..RuleState::default()
        };
        let early = rule.evaluate_silence(&state, at(60), success, false);
        assert!(early.fired.is_none());
        let late = rule.evaluate_silence(&early.state, at(61), success, false);
        let firing = late.fired.expect("fired");
        assert_eq!(firing.reason, "no successful poll of stars for 1 h 1 min");
        assert_eq!(firing.value, Some(42.0));
        assert_eq!(firing.condition, ConditionKind::NoData);
        let later = rule.evaluate_silence(&late.state, at(200), success, false);
        assert!(later.fired.is_none());

        // A sample re-arms it; the next silence fires again.
        let polled = rule.evaluate(&later.state, &observe(201, 43.0, Some(42.0)));
        assert!(polled.fired.is_none() && polled.state.armed);
        let silent_again = rule.evaluate_silence(&polled.state, at(300), Some(at(201)), false);
        assert!(silent_again.fired.is_some());

        // Never a success to measure from: nothing.
        assert!(
            rule.evaluate_silence(&RuleState::default(), at(10_000), None, false)
                .fired
                .is_none()
        );
    }

    #[test]
    fn gone_fires_once_and_rearms_when_the_source_is_back() {
        let rule = RuleSpec {
            cooldown_secs: 0,
            ..RuleSpec::new("stars", Condition::Gone)
        };
        let first = rule.evaluate_silence(&RuleState::default(), at(0), Some(at(0)), true);
        assert_eq!(
            first.fired.as_ref().expect("fired").reason,
            "the source of stars went away upstream"
        );
        let second = rule.evaluate_silence(&first.state, at(10), Some(at(0)), true);
        assert!(second.fired.is_none());
        let back = rule.evaluate_silence(&second.state, at(20), Some(at(20)), false);
        assert!(back.fired.is_none() && back.state.armed);
        assert!(
            rule.evaluate_silence(&back.state, at(30), Some(at(20)), true)
                .fired
                .is_some()
        );
    }

    #[test]
    fn silence_leaves_other_rules_and_samples_leave_silence_rules_quiet() {
        let above = Condition::Above {
            value: 1.0,
            margin: 0.0,
        };
        let state = RuleState::default();
        let evaluation = evaluate_silence(
            "stars",
            &above,
            &state,
            TimeDelta::zero(),
            at(0),
            None,
            true,
        );
        assert_eq!(
            evaluation,
            Evaluation {
                fired: None,
                state: state.clone()
            }
        );
        let gone = evaluate(
            "stars",
            &Condition::Gone,
            &state,
            TimeDelta::zero(),
            &observe(0, 5.0, None),
        );
        assert!(gone.fired.is_none());
    }

    #[test]
    fn the_state_is_stored_as_json_with_defaults() {
        let state: RuleState = serde_json::from_str("{}").expect("state");
        assert_eq!(state, RuleState::default());
        assert!(state.armed);
        let state = RuleState {
            armed: false,
            last_fired_at: Some(at(0)),
            last_value: Some(3.5),
            last_milestone: Some(1_000.0),
        };
        let text = serde_json::to_string(&state).expect("json");
        assert_eq!(
            serde_json::from_str::<RuleState>(&text).expect("back"),
            state
        );
    }

    #[test]
    fn a_non_finite_sample_is_ignored() {
        let above = Condition::Above {
            value: 1.0,
            margin: 0.0,
        };
        let state = RuleState::default();
        let evaluation = evaluate(
            "stars",
            &above,
            &state,
            TimeDelta::zero(),
            &observe(0, f64::NAN, None),
        );
        assert_eq!(evaluation, Evaluation { fired: None, state });
    }

    // People's text.

    #[test]
    fn values_and_durations_read_as_people_write_them() {
        assert_eq!(format_value(20_140.0), "20,140");
        assert_eq!(format_value(1_000_000.0), "1,000,000");
        assert_eq!(format_value(999.0), "999");
        assert_eq!(format_value(12.5), "12.5");
        assert_eq!(format_value(-1_234.567), "-1,234.57");
        assert_eq!(format_value(0.000_123), "0.000123");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(-0.000_000_1), "0");
        assert_eq!(format_secs(45), "45 s");
        assert_eq!(format_secs(720), "12 min");
        assert_eq!(format_secs(7_200), "2 h");
        assert_eq!(format_secs(7_500), "2 h 5 min");
        assert_eq!(format_secs(86_400 * 3 + 3_600 * 4), "3 d 4 h");
        assert_eq!(format_secs(86_400), "1 d");
    }
}
