//! Reading a JSON body that is an array of items (the JSON push's points, the events
//! endpoint's events): the body as a whole, each item as an object of known fields, and
//! the fields both formats share, with messages that say what was sent instead.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The items of `body`, which must be a JSON array of `what` (plural: "points"), each
/// like `example`. `Err` (a sentence) when it is empty, not JSON or not an array.
pub fn array(body: &[u8], what: &str, example: &str) -> Result<Vec<Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(format!(
            "the body is empty: send a JSON array of {what}, like [{example}]"
        ));
    }
    let document: Value = serde_json::from_slice(body)
        .map_err(|error| format!("the body is not valid JSON: {error}"))?;
    match document {
        Value::Array(items) => Ok(items),
        other => Err(format!(
            "the body must be a JSON array of {what}, like [{example}], not {}",
            describe(&other)
        )),
    }
}

/// The fields of `item`, which must be an object (`a_what`: "a point") like `example`
/// holding no field but `known` ones; `known_sentence` says which, for the refusal of an
/// unknown one.
pub fn object(
    item: Value,
    a_what: &str,
    example: &str,
    known: &[&str],
    known_sentence: &str,
) -> Result<Map<String, Value>, String> {
    let Value::Object(fields) = item else {
        return Err(format!(
            "{a_what} must be an object like {example}, not {}",
            describe(&item)
        ));
    };
    if let Some(unknown) = fields.keys().find(|key| !known.contains(&key.as_str())) {
        return Err(format!(
            "unknown field `{}`: {a_what} has {known_sentence}",
            shorten(unknown)
        ));
    }
    Ok(fields)
}

/// The optional `t` field: an RFC 3339 time, `None` when absent or null.
pub fn optional_time(field: Option<Value>) -> Result<Option<DateTime<Utc>>, String> {
    match field {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text.trim())
            .map(|time| Some(time.with_timezone(&Utc)))
            .map_err(|_| {
                format!(
                    "`t` \"{}\" is not an RFC 3339 time like \"2026-12-01T10:00:00Z\"",
                    shorten(&text)
                )
            }),
        Some(other) => Err(format!(
            "`t` must be an RFC 3339 time like \"2026-12-01T10:00:00Z\", not {}",
            describe(&other)
        )),
    }
}

/// What a JSON value is, for messages: `a number (3)`, `an array`.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(value) => format!("a boolean ({value})"),
        Value::Number(number) => format!("a number ({number})"),
        Value::String(text) => format!("a string (\"{}\")", shorten(text)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// At most 40 characters of `text`, for messages.
pub fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_that_is_not_an_array_says_what_it_is() {
        assert!(array(b"  ", "points", "{}").unwrap_err().contains("empty"));
        assert!(
            array(b"{", "points", "{}")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert_eq!(
            array(b"3", "points", "{}").unwrap_err(),
            "the body must be a JSON array of points, like [{}], not a number (3)"
        );
        assert_eq!(
            array(b"[1, 2]", "points", "{}").map(|items| items.len()),
            Ok(2)
        );
    }

    #[test]
    fn an_item_must_be_an_object_of_known_fields() {
        let known = ["a", "b"];
        assert_eq!(
            object(json!([1]), "a thing", "{\"a\": 1}", &known, "`a` and `b`").unwrap_err(),
            "a thing must be an object like {\"a\": 1}, not an array"
        );
        assert_eq!(
            object(json!({"c": 1}), "a thing", "{}", &known, "`a` and `b`").unwrap_err(),
            "unknown field `c`: a thing has `a` and `b`"
        );
        assert!(object(json!({"a": 1}), "a thing", "{}", &known, "").is_ok());
    }

    #[test]
    fn times_are_rfc_3339_or_left_out() {
        assert_eq!(optional_time(None), Ok(None));
        assert_eq!(optional_time(Some(Value::Null)), Ok(None));
        assert!(
            optional_time(Some(json!("2026-12-01T10:00:00+01:00")))
                .is_ok_and(|t| t.is_some_and(|t| t.to_rfc3339() == "2026-12-01T09:00:00+00:00"))
        );
        assert!(
            optional_time(Some(json!("yesterday")))
                .unwrap_err()
                .contains("\"yesterday\"")
        );
        assert!(
            optional_time(Some(json!(3)))
                .unwrap_err()
                .contains("a number (3)")
        );
    }
}
