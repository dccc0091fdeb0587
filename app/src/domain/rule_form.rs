//! Alert rules as people read and write them on the tracker page: a short description
//! ("stars above 20,000", "stars up 20% in 24 h"), and the page's HTML form read into the
//! rule's flat JSON form (so [`RuleSpec::from_json`] and [`RuleSpec::patched`] check a form
//! exactly as they check a REST body) and written back into it to edit a rule.
//!
//! A form's fields carry the REST API's names (`metric`, `condition`, `value`, `amount`,
//! `percent`, `window`, `direction`, `every`, `duration_secs`, `margin`, `cooldown_secs`,
//! and one `channels` per ticked channel). An empty field is left out. The form shows every
//! condition's parameters at once, so those the chosen condition does not take are left
//! out too (an API body with one is refused). A number may group its thousands with
//! commas, as the page writes them (`20,000`); anything else that is not a number goes on
//! as text, for the rule's parser to refuse with the field's name.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::AlertRuleId;
use super::alerts::{
    AlertWindow, Condition, ConditionKind, Direction, FIELDS, RuleSpec, format_secs, format_value,
};

/// The flash of the tracker page's Alerts section: its notices, and errors about a rule as
/// a whole (gone, or a pause that failed).
pub const ALERTS_FLASH: &str = "alerts";
/// The flash of the add form ("new-alert"): its errors and the values typed.
pub const NEW_ALERT_FORM: &str = "new-alert";

/// The flash of rule `id`'s edit form.
pub fn edit_form(id: AlertRuleId) -> String {
    format!("edit-alert-{id}")
}

/// The fields that hold numbers.
const NUMBERS: [&str; 7] = [
    "value",
    "margin",
    "amount",
    "percent",
    "every",
    "duration_secs",
    "cooldown_secs",
];

impl Condition {
    /// What the condition watches for, on `metric`: "stars above 20,000", "stars up 20% in
    /// 24 h", "stars at every 1,000", "no data for 1 h".
    pub fn describe(&self, metric: &str) -> String {
        let metric = metric.replace('_', " ");
        match self {
            Condition::Above { value, margin } => {
                with_margin(format!("{metric} above {}", format_value(*value)), *margin)
            }
            Condition::Below { value, margin } => {
                with_margin(format!("{metric} below {}", format_value(*value)), *margin)
            }
            Condition::Change {
                amount,
                percent,
                window,
                direction,
            } => {
                let size = match (amount, percent) {
                    (_, Some(percent)) => format!("{}%", format_value(*percent)),
                    (Some(amount), None) => format_value(*amount),
                    (None, None) => "?".to_string(),
                };
                let way = match direction {
                    Direction::Up => "up",
                    Direction::Down => "down",
                    Direction::Either => "up or down",
                };
                format!("{metric} {way} {size} in {}", window.label())
            }
            Condition::NewHigh { window } => format!("{metric} at a new {} high", span(*window)),
            Condition::NewLow { window } => format!("{metric} at a new {} low", span(*window)),
            Condition::Milestone { every: Some(every) } => {
                format!("{metric} at every {}", format_value(*every))
            }
            Condition::Milestone { every: None } => {
                format!("{metric} at round numbers (1k, 10k, 100k…)")
            }
            Condition::NoData { duration_secs } => {
                format!("no data for {}", format_secs(*duration_secs))
            }
            Condition::Gone => format!("the source of {metric} gone upstream"),
        }
    }
}

fn with_margin(text: String, margin: f64) -> String {
    if margin > 0.0 {
        format!("{text} (margin {})", format_value(margin))
    } else {
        text
    }
}

fn span(window: Option<AlertWindow>) -> &'static str {
    window.map_or("all-time", AlertWindow::adjective)
}

impl RuleSpec {
    /// The rule in a few words, for lists and notices: [`Condition::describe`] on its metric.
    pub fn describe(&self) -> String {
        self.condition.describe(&self.metric)
    }

    /// The rule as its edit form shows it: each field's text by name (`channels`: the ids
    /// joined by commas), as [`form_json`] reads it back.
    pub fn form_values(&self) -> BTreeMap<String, String> {
        let mut values = BTreeMap::new();
        if let Value::Object(fields) = self.to_json() {
            for (field, value) in fields {
                let text = match value {
                    Value::String(text) => text,
                    Value::Number(number) => number.as_f64().map(plain_number).unwrap_or_default(),
                    Value::Array(items) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => continue,
                };
                values.insert(field, text);
            }
        }
        values
    }
}

/// A number as a form field shows it: `20000`, `12.5`, no grouping (so that it reads back).
fn plain_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        number.to_string()
    }
}

/// A form's number: `20000`, `-1.5`, `20,000` (thousands grouped by commas, as the page
/// writes them); `None` for anything else.
fn form_number(text: &str) -> Option<Value> {
    let text = text.trim();
    let plain = if text.contains(',') {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let unsigned = whole.strip_prefix('-').unwrap_or(whole);
        let mut groups = unsigned.split(',');
        let first = groups.next().unwrap_or_default();
        let grouped = (1..=3).contains(&first.len())
            && groups.all(|group| group.len() == 3)
            && unsigned.chars().all(|c| c.is_ascii_digit() || c == ',');
        if !grouped {
            return None;
        }
        let digits = whole.replace(',', "");
        if fraction.is_empty() && !text.ends_with('.') {
            digits
        } else {
            format!("{digits}.{fraction}")
        }
    } else {
        text.to_string()
    };
    if let Ok(whole) = plain.parse::<i64>() {
        return Some(Value::from(whole));
    }
    plain
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite())
        .map(Value::from)
}

/// A rule's flat JSON form from the tracker page's form fields (name, value pairs as
/// posted). Only rule fields are read (a form's other fields are not the rule's), empty
/// ones are left out, and so are parameters the chosen condition does not take.
pub fn form_json(pairs: &[(String, String)]) -> Value {
    let mut out = Map::new();
    let mut channels = Vec::new();
    for (field, text) in pairs {
        let text = text.trim();
        if text.is_empty() || !FIELDS.contains(&field.as_str()) {
            continue;
        }
        let value = if field == "channels" {
            channels.push(Value::from(text));
            continue;
        } else if NUMBERS.contains(&field.as_str()) {
            form_number(text).unwrap_or_else(|| Value::from(text))
        } else {
            Value::from(text)
        };
        out.insert(field.clone(), value);
    }
    if !channels.is_empty() {
        out.insert("channels".into(), Value::Array(channels));
    }
    let kind = out
        .get("condition")
        .and_then(Value::as_str)
        .and_then(ConditionKind::parse);
    if let Some(kind) = kind {
        let takes = kind.params();
        out.retain(|field, _| !is_param(field) || takes.contains(&field.as_str()));
    }
    Value::Object(out)
}

/// Whether `field` is some condition's parameter (rather than a field of every rule).
fn is_param(field: &str) -> bool {
    !matches!(field, "metric" | "condition" | "cooldown_secs" | "channels")
}

/// A PATCH body that makes a rule exactly what `form` (from [`form_json`]) says: every
/// field the form left out is reset (`null`), so a cleared field is cleared.
pub fn replacing(form: &Value) -> Value {
    let mut patch = form.as_object().cloned().unwrap_or_default();
    for field in FIELDS {
        patch.entry(field).or_insert(Value::Null);
    }
    Value::Object(patch)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn described(body: Value) -> String {
        RuleSpec::from_json(&body).expect("a rule").describe()
    }

    #[test]
    fn rules_read_as_a_few_words() {
        let cases = [
            (
                json!({"metric": "stars", "condition": "above", "value": 20000}),
                "stars above 20,000",
            ),
            (
                json!({"metric": "stars", "condition": "below", "value": 150.5, "margin": 10}),
                "stars below 150.5 (margin 10)",
            ),
            (
                json!({"metric": "stars", "condition": "change", "percent": 20, "window": "24h", "direction": "up"}),
                "stars up 20% in 24 h",
            ),
            (
                json!({"metric": "stars", "condition": "change", "amount": 500, "window": "7d", "direction": "down"}),
                "stars down 500 in 7 d",
            ),
            (
                json!({"metric": "stars", "condition": "change", "amount": 5, "window": "1h"}),
                "stars up or down 5 in 1 h",
            ),
            (
                json!({"metric": "stars", "condition": "new_high"}),
                "stars at a new all-time high",
            ),
            (
                json!({"metric": "price", "condition": "new_low", "window": "7d"}),
                "price at a new 7-day low",
            ),
            (
                json!({"metric": "stars", "condition": "milestone", "every": 1000}),
                "stars at every 1,000",
            ),
            (
                json!({"metric": "stars", "condition": "milestone"}),
                "stars at round numbers (1k, 10k, 100k…)",
            ),
            (
                json!({"metric": "stars", "condition": "no_data", "duration_secs": 3600}),
                "no data for 1 h",
            ),
            (
                json!({"metric": "open_issues", "condition": "gone"}),
                "the source of open issues gone upstream",
            ),
        ];
        for (body, text) in cases {
            assert_eq!(described(body.clone()), text, "{body}");
        }
    }

    #[test]
    fn a_form_reads_as_the_rest_body() {
        let channel = "3f2a4c1e-8b7d-4e2f-9a1b-0c5d6e7f8a9b";
        let other = "4f2a4c1e-8b7d-4e2f-9a1b-0c5d6e7f8a9b";
        let form = pairs(&[
            ("tracker", "ignored"),
            ("metric", "stars"),
            ("condition", "above"),
            ("value", "20,000"),
            ("amount", ""),
            ("margin", " 100 "),
            // Another condition's parameter, left in the form: not the rule's.
            ("percent", "5"),
            ("window", "24h"),
            ("cooldown_secs", "0"),
            ("channels", channel),
            ("channels", other),
        ]);
        let body = form_json(&form);
        assert_eq!(
            body,
            json!({"metric": "stars", "condition": "above", "value": 20000, "margin": 100,
                   "cooldown_secs": 0, "channels": [channel, other]})
        );
        let spec = RuleSpec::from_json(&body).expect("a rule");
        assert_eq!(spec.describe(), "stars above 20,000 (margin 100)");
        // And back into the form.
        let values = spec.form_values();
        assert_eq!(values["value"], "20000");
        assert_eq!(values["margin"], "100");
        assert_eq!(values["condition"], "above");
        assert_eq!(values["channels"], format!("{channel},{other}"));
    }

    #[test]
    fn what_is_not_a_number_is_refused_by_the_rule_parser() {
        let body = form_json(&pairs(&[
            ("metric", "stars"),
            ("condition", "above"),
            ("value", "lots"),
        ]));
        assert_eq!(body["value"], "lots");
        let error = RuleSpec::from_json(&body).expect_err("refused");
        assert_eq!(error.to_string(), "`value` must be a number");
        assert_eq!(error.field(), Some("value"));
        for text in ["1,00", "12,3456", "1,,000", "1e400"] {
            assert_eq!(form_number(text), None, "{text}");
        }
        assert_eq!(form_number("-1,234.5"), Some(json!(-1234.5)));
        assert_eq!(form_number("0.25"), Some(json!(0.25)));
        // An unknown condition keeps every field, for the parser to name the condition.
        let body = form_json(&pairs(&[("metric", "stars"), ("condition", "soars")]));
        assert_eq!(
            RuleSpec::from_json(&body).expect_err("refused").field(),
            Some("condition")
        );
    }

    #[test]
    fn an_edit_replaces_the_rule() {
        let spec = RuleSpec::from_json(&json!({"metric": "stars", "condition": "new_high",
            "window": "7d", "cooldown_secs": 60}))
        .expect("a rule");
        // The window and the cooldown cleared, the condition kept.
        let form = form_json(&pairs(&[("metric", "stars"), ("condition", "new_high")]));
        let edited = spec.patched(&replacing(&form)).expect("edited");
        assert_eq!(edited.condition, Condition::NewHigh { window: None });
        assert_eq!(
            edited.cooldown_secs,
            crate::domain::alerts::DEFAULT_COOLDOWN_SECS
        );
        // A new condition with its parameter.
        let form = form_json(&pairs(&[
            ("metric", "stars"),
            ("condition", "milestone"),
            ("every", "500"),
            ("window", "7d"),
        ]));
        let edited = spec.patched(&replacing(&form)).expect("edited");
        assert_eq!(edited.describe(), "stars at every 500");
    }
}
