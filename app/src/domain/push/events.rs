//! Events (`POST /api/v1/events`): an array of
//! `{"type": "file_uploaded", "t": "2026-12-01T10:00:00Z"?, "properties": {…}?}`, each
//! counted into its push source's [`EVENTS_METRIC`] series, labelled with its type and
//! with the properties the push source names as its event labels. This module reads a
//! body into events (each item that cannot be read refused on its own, by its position
//! counted from 1, as the JSON push does) and holds the rules: an event type's, the
//! properties', the event labels', and the series an event counts into.
//!
//! - **type**: 1 to [`MAX_TYPE_CHARS`] characters, ASCII letters, digits, `_`, `-`, `.`
//!   and `:`, starting with a letter (`file_uploaded`, `page.view`, `signup:pro`);
//! - **t**: an RFC 3339 time, the request's time when left out;
//! - **properties**: an object of at most [`MAX_PROPERTIES`] properties, at most
//!   [`MAX_PROPERTIES_BYTES`] bytes as JSON; a property that is an event label must be a
//!   string (up to 200 characters), a number or a boolean (or null/absent: no label).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::items::{self, describe, shorten};
use super::{MAX_POINTS_PER_REQUEST, Refusal, series};

/// The metric every event is counted under: `events_total{type="file_uploaded"}`.
pub const EVENTS_METRIC: &str = "events_total";
/// The label holding the event's type.
pub const TYPE_LABEL: &str = "type";
/// The longest event type.
pub const MAX_TYPE_CHARS: usize = 100;
/// At most this many properties on one event.
pub const MAX_PROPERTIES: usize = 64;
/// At most this many bytes of properties (as JSON) on one event.
pub const MAX_PROPERTIES_BYTES: usize = 8 * 1024;
/// At most this many event labels on a push source.
pub const MAX_EVENT_LABELS: usize = 8;

/// The fields an event may have.
const FIELDS: [&str; 3] = ["type", "t", "properties"];
/// An event, for messages.
const EXAMPLE: &str = "{\"type\": \"file_uploaded\"}";

/// One event as sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: String,
    pub t: Option<DateTime<Utc>>,
    pub properties: Map<String, Value>,
}

/// What a body held: the events with their positions, and the items refused.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventBatch {
    pub events: Vec<(usize, Event)>,
    pub refused: Vec<Refusal>,
}

impl EventBatch {
    fn refuse(&mut self, line: usize, reason: impl Into<String>) {
        self.refused.push(Refusal {
            line,
            reason: reason.into(),
        });
    }
}

/// Reads an events body. `Err` (a sentence) when the body as a whole is not a JSON array;
/// otherwise every item is an event or a refusal of its own, and items past
/// [`MAX_POINTS_PER_REQUEST`] are refused.
pub fn parse(body: &[u8]) -> Result<EventBatch, String> {
    let items = items::array(body, "events", EXAMPLE)?;
    let mut batch = EventBatch::default();
    for (index, item) in items.into_iter().enumerate() {
        let line = index + 1;
        if batch.events.len() >= MAX_POINTS_PER_REQUEST {
            batch.refuse(
                line,
                format!("a request holds at most {MAX_POINTS_PER_REQUEST} events"),
            );
            continue;
        }
        match read_event(item) {
            Ok(event) => batch.events.push((line, event)),
            Err(reason) => batch.refuse(line, reason),
        }
    }
    Ok(batch)
}

/// One item of the array.
fn read_event(item: Value) -> Result<Event, String> {
    let mut fields = items::object(
        item,
        "an event",
        EXAMPLE,
        &FIELDS,
        "`type`, and optionally `t` and `properties`",
    )?;
    let kind = match fields.remove("type") {
        None | Some(Value::Null) => return Err("`type` is missing".into()),
        Some(Value::String(kind)) => kind,
        Some(other) => {
            return Err(format!("`type` must be a string, not {}", describe(&other)));
        }
    };
    check_type(&kind)?;
    let t = items::optional_time(fields.remove("t"))?;
    let properties = match fields.remove("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(properties)) => properties,
        Some(other) => {
            return Err(format!(
                "`properties` must be an object like {{\"plan\": \"pro\"}}, not {}",
                describe(&other)
            ));
        }
    };
    check_properties(&properties)?;
    Ok(Event {
        kind,
        t,
        properties,
    })
}

/// Checks an event type: 1 to [`MAX_TYPE_CHARS`] characters of ASCII letters, digits,
/// `_`, `-`, `.` and `:`, starting with a letter.
pub fn check_type(kind: &str) -> Result<(), String> {
    if kind.is_empty() {
        return Err("`type` is empty".into());
    }
    if kind.chars().count() > MAX_TYPE_CHARS {
        return Err(format!("`type` is longer than {MAX_TYPE_CHARS} characters"));
    }
    let mut chars = kind.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(format!(
            "`type` \"{}\" is not a valid event type: use letters, digits, `_`, `-`, `.` and `:`, starting with a letter",
            shorten(kind)
        ));
    }
    Ok(())
}

/// Checks an event's properties: at most [`MAX_PROPERTIES`] of them, at most
/// [`MAX_PROPERTIES_BYTES`] bytes as JSON, no empty names.
pub fn check_properties(properties: &Map<String, Value>) -> Result<(), String> {
    if properties.len() > MAX_PROPERTIES {
        return Err(format!(
            "an event has at most {MAX_PROPERTIES} properties; this one has {}",
            properties.len()
        ));
    }
    if properties.keys().any(String::is_empty) {
        return Err("a property name is empty".into());
    }
    let size = serde_json::to_vec(properties).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_PROPERTIES_BYTES {
        return Err(format!(
            "`properties` is {size} bytes as JSON; an event's properties may hold at most {MAX_PROPERTIES_BYTES}"
        ));
    }
    if properties
        .iter()
        .any(|(name, value)| name.contains('\0') || holds_nul(value))
    {
        // PostgreSQL's jsonb cannot hold one.
        return Err("`properties` holds a NUL character".into());
    }
    Ok(())
}

/// Checks and normalises a push source's event labels: at most [`MAX_EVENT_LABELS`]
/// distinct label names (Prometheus's rule, [`series::check_label_name`]), not `type`
/// (the event's type is that label).
pub fn check_event_labels(names: &[String]) -> Result<Vec<String>, String> {
    if names.len() > MAX_EVENT_LABELS {
        return Err(format!(
            "`event_labels` holds at most {MAX_EVENT_LABELS} property names; this has {}",
            names.len()
        ));
    }
    let mut checked: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let name = name.trim();
        series::check_label_name(name).map_err(|reason| format!("`event_labels`: {reason}"))?;
        if name == TYPE_LABEL {
            return Err(format!(
                "`event_labels`: `{TYPE_LABEL}` is the label of the event's type already"
            ));
        }
        if checked.iter().any(|known| known == name) {
            return Err(format!("`event_labels` names `{name}` twice"));
        }
        checked.push(name.to_string());
    }
    Ok(checked)
}

/// Reads event labels as a form's field writes them: names separated by commas or spaces.
pub fn parse_event_labels(text: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect();
    check_event_labels(&names)
}

/// The labels of the series `event` counts into: its type, and each of `event_labels`
/// the event has (a string as it is, a number or a boolean as JSON writes it; null, an
/// empty string or no such property: no label). A label property that is an object or
/// an array, or too long, refuses the event.
pub fn event_series_labels(
    event: &Event,
    event_labels: &[String],
) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    labels.insert(TYPE_LABEL.to_string(), event.kind.clone());
    for name in event_labels {
        let value = match event.properties.get(name) {
            None | Some(Value::Null) => continue,
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            Some(Value::Bool(flag)) => flag.to_string(),
            Some(other) => {
                return Err(format!(
                    "property `{name}` is a label of this push source's events, so it must be a string, a number or a boolean, not {}",
                    describe(other)
                ));
            }
        };
        if value.is_empty() {
            continue;
        }
        if value.chars().count() > series::MAX_LABEL_VALUE_CHARS {
            return Err(format!(
                "property `{name}` is a label of this push source's events, and labels hold at most {} characters",
                series::MAX_LABEL_VALUE_CHARS
            ));
        }
        labels.insert(name.clone(), value);
    }
    Ok(labels)
}

/// Whether a NUL character is in any string or name inside `value`.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(name, value)| name.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_str(body: &str) -> EventBatch {
        parse(body.as_bytes()).expect("an array")
    }

    fn refusal(body: &str) -> String {
        let batch = parse_str(body);
        assert!(batch.events.is_empty(), "{batch:?}");
        assert_eq!(batch.refused.len(), 1, "{batch:?}");
        batch.refused[0].reason.clone()
    }

    fn event(kind: &str, properties: Value) -> Event {
        let Value::Object(properties) = properties else {
            panic!("an object")
        };
        Event {
            kind: kind.into(),
            t: None,
            properties,
        }
    }

    #[test]
    fn reads_every_field() {
        let batch = parse_str(
            r#"[{"type": "file_uploaded", "t": "2026-12-01T12:00:00+02:00", "properties": {"plan": "pro", "size": 3}},
                {"type": "page.view"}, {"type": "signup:pro", "t": null, "properties": null}]"#,
        );
        assert!(batch.refused.is_empty(), "{batch:?}");
        let (line, first) = &batch.events[0];
        assert_eq!(*line, 1);
        assert_eq!(first.kind, "file_uploaded");
        assert_eq!(first.t, Some("2026-12-01T10:00:00Z".parse().expect("time")));
        assert_eq!(first.properties.get("plan"), Some(&json!("pro")));
        assert_eq!(batch.events[1].1.t, None);
        assert!(batch.events[2].1.properties.is_empty());
    }

    #[test]
    fn event_types_are_names_of_a_sane_length_and_charset() {
        for good in ["file_uploaded", "page.view", "signup:pro", "a", "Ping-2"] {
            assert_eq!(check_type(good), Ok(()), "{good}");
        }
        assert_eq!(check_type(""), Err("`type` is empty".into()));
        for bad in ["1st", "_x", "file uploaded", "café", "a/b", "a\"b", "-x"] {
            assert!(
                check_type(bad)
                    .unwrap_err()
                    .contains("is not a valid event type"),
                "{bad}"
            );
        }
        assert_eq!(check_type(&"a".repeat(100)), Ok(()));
        assert!(
            check_type(&"a".repeat(101))
                .unwrap_err()
                .contains("longer than 100")
        );
    }

    #[test]
    fn names_what_is_wrong_with_an_item() {
        assert_eq!(refusal(r#"[{}]"#), "`type` is missing");
        assert_eq!(
            refusal(r#"[{"type": 3}]"#),
            "`type` must be a string, not a number (3)"
        );
        assert!(refusal(r#"[{"type": "a b"}]"#).contains("not a valid event type"));
        assert_eq!(
            refusal(r#"[{"type": "x", "t": "yesterday"}]"#),
            "`t` \"yesterday\" is not an RFC 3339 time like \"2026-12-01T10:00:00Z\""
        );
        assert!(refusal(r#"[{"type": "x", "t": 17}]"#).starts_with("`t` must be an RFC 3339"));
        assert_eq!(
            refusal(r#"[{"type": "x", "properties": [1]}]"#),
            "`properties` must be an object like {\"plan\": \"pro\"}, not an array"
        );
        assert_eq!(
            refusal(r#"[{"type": "x", "props": {}}]"#),
            "unknown field `props`: an event has `type`, and optionally `t` and `properties`"
        );
        assert_eq!(
            refusal(r#"["file_uploaded"]"#),
            "an event must be an object like {\"type\": \"file_uploaded\"}, not a string (\"file_uploaded\")"
        );
        assert_eq!(
            refusal(r#"[{"type": "x", "properties": {"": 1}}]"#),
            "a property name is empty"
        );
        assert_eq!(
            refusal(r#"[{"type": "x", "properties": {"a": ["\u0000"]}}]"#),
            "`properties` holds a NUL character"
        );
        let big = "v".repeat(MAX_PROPERTIES_BYTES);
        assert!(
            refusal(&format!(
                r#"[{{"type": "x", "properties": {{"a": "{big}"}}}}]"#
            ))
            .contains("may hold at most 8192")
        );
        let many: Vec<String> = (0..65).map(|i| format!(r#""p{i}": 1"#)).collect();
        assert!(
            refusal(&format!(
                r#"[{{"type": "x", "properties": {{{}}}}}]"#,
                many.join(",")
            ))
            .contains("at most 64 properties")
        );
    }

    #[test]
    fn bad_items_are_refused_by_position_and_the_rest_kept() {
        let batch = parse_str(r#"[{"type": "ok"}, 7, {"type": ""}, {"type": "ok2"}]"#);
        assert_eq!(
            batch
                .events
                .iter()
                .map(|(line, _)| *line)
                .collect::<Vec<_>>(),
            vec![1, 4]
        );
        assert_eq!(
            batch.refused.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![2, 3]
        );
    }

    #[test]
    fn a_body_that_is_no_array_is_refused_whole() {
        assert!(parse(b"").unwrap_err().contains("the body is empty"));
        assert!(
            parse(b"[{\"type\": ")
                .unwrap_err()
                .starts_with("the body is not valid JSON")
        );
        assert!(
            parse(br#"{"type": "x"}"#)
                .unwrap_err()
                .contains("must be a JSON array of events")
        );
        assert_eq!(parse(b"[]").expect("an array"), EventBatch::default());
    }

    #[test]
    fn events_past_the_request_limit_are_refused_by_position() {
        let items = vec![r#"{"type": "x"}"#; MAX_POINTS_PER_REQUEST + 2].join(",");
        let batch = parse_str(&format!("[{items}]"));
        assert_eq!(batch.events.len(), MAX_POINTS_PER_REQUEST);
        assert_eq!(
            batch.refused.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![MAX_POINTS_PER_REQUEST + 1, MAX_POINTS_PER_REQUEST + 2]
        );
        assert_eq!(
            batch.refused[0].reason,
            "a request holds at most 5000 events"
        );
    }

    #[test]
    fn event_labels_are_label_names_but_not_type() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_event_labels(&names(&["plan", " region "])),
            Ok(names(&["plan", "region"]))
        );
        assert_eq!(check_event_labels(&[]), Ok(vec![]));
        assert!(
            check_event_labels(&names(&["type"]))
                .unwrap_err()
                .contains("is the label of the event's type")
        );
        assert!(
            check_event_labels(&names(&["a-b"]))
                .unwrap_err()
                .contains("not a valid label name")
        );
        assert!(
            check_event_labels(&names(&["__x"]))
                .unwrap_err()
                .contains("reserved")
        );
        assert!(
            check_event_labels(&names(&["plan", "plan"]))
                .unwrap_err()
                .contains("twice")
        );
        let nine: Vec<String> = (0..9).map(|i| format!("l{i}")).collect();
        assert!(check_event_labels(&nine).unwrap_err().contains("at most 8"));
        assert_eq!(
            parse_event_labels("plan, region  os"),
            Ok(names(&["plan", "region", "os"]))
        );
        assert_eq!(parse_event_labels("  "), Ok(vec![]));
    }

    #[test]
    fn chosen_properties_become_labels() {
        let labels = ["plan".to_string(), "size".to_string(), "beta".to_string()];
        let got = event_series_labels(
            &event(
                "file_uploaded",
                json!({"plan": "pro", "size": 3, "beta": true, "other": "x"}),
            ),
            &labels,
        )
        .expect("labels");
        assert_eq!(
            got,
            [
                ("beta", "true"),
                ("plan", "pro"),
                ("size", "3"),
                ("type", "file_uploaded")
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
        );
        assert_eq!(
            super::series::series_name(EVENTS_METRIC, &got),
            r#"events_total{beta="true",plan="pro",size="3",type="file_uploaded"}"#
        );
        // Missing, null or empty: no label.
        let got = event_series_labels(&event("x", json!({"plan": null, "size": ""})), &labels)
            .expect("labels");
        assert_eq!(got.len(), 1);
        assert!(
            event_series_labels(&event("x", json!({"plan": {"a": 1}})), &labels)
                .unwrap_err()
                .contains("must be a string, a number or a boolean, not an object")
        );
        assert!(
            event_series_labels(&event("x", json!({"plan": "p".repeat(201)})), &labels)
                .unwrap_err()
                .contains("at most 200 characters")
        );
    }
}
