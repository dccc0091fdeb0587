//! The JSON push format (`POST /api/v1/push`): an array of points,
//! `[{"metric": "signups", "value": 3, "t": "2026-12-01T10:00:00Z", "labels": {"plan": "pro"}, "type": "delta"}]`,
//! `t`, `labels` and `type` optional (`null` counts as left out). Each item that cannot be
//! read is refused on its own, its `line` being its position in the array counted from 1;
//! a body that is not a JSON array refuses the whole request. Names and values are
//! checked when the batch is stored ([`super::series::check_point`]), the same for
//! every format.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::items::{self, describe};
use super::{Batch, PushKind, PushPoint};

/// The fields a point may have.
const FIELDS: [&str; 5] = ["metric", "value", "t", "labels", "type"];
/// A point, for messages.
const EXAMPLE: &str = "{\"metric\": \"signups\", \"value\": 3}";

/// Reads a JSON push body. `Err` (a sentence) when the body as a whole is not an array
/// of points; otherwise every item is a point or a refusal of its own.
pub fn parse(body: &[u8]) -> Result<Batch, String> {
    let items = items::array(body, "points", EXAMPLE)?;
    let mut batch = Batch::default();
    for (index, item) in items.into_iter().enumerate() {
        let line = index + 1;
        match read_point(item) {
            Ok(point) => batch.push(line, point),
            Err(reason) => batch.refuse(line, reason),
        }
    }
    Ok(batch)
}

/// One item of the array.
fn read_point(item: Value) -> Result<PushPoint, String> {
    let mut fields = items::object(
        item,
        "a point",
        EXAMPLE,
        &FIELDS,
        "`metric`, `value`, and optionally `t`, `labels` and `type`",
    )?;
    let metric = match fields.remove("metric") {
        None | Some(Value::Null) => return Err("`metric` is missing".into()),
        Some(Value::String(metric)) => metric,
        Some(other) => {
            return Err(format!(
                "`metric` must be a string, not {}",
                describe(&other)
            ));
        }
    };
    let value = match fields.remove("value") {
        None | Some(Value::Null) => return Err("`value` is missing".into()),
        Some(Value::Number(number)) => number
            .as_f64()
            .ok_or_else(|| format!("`value` {number} is not a number Upcount can store"))?,
        Some(other) => {
            return Err(format!(
                "`value` must be a number, not {}",
                describe(&other)
            ));
        }
    };
    let t = items::optional_time(fields.remove("t"))?;
    let labels = match fields.remove("labels") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(labels)) => read_labels(&labels)?,
        Some(other) => {
            return Err(format!(
                "`labels` must be an object of strings like {{\"plan\": \"pro\"}}, not {}",
                describe(&other)
            ));
        }
    };
    let kind = match fields.remove("type") {
        None | Some(Value::Null) => PushKind::default(),
        Some(Value::String(kind)) => match kind.as_str() {
            "gauge" => PushKind::Gauge,
            "counter" => PushKind::Counter,
            "delta" => PushKind::Delta,
            other => {
                return Err(format!(
                    "`type` must be \"gauge\", \"counter\" or \"delta\", not \"{other}\""
                ));
            }
        },
        Some(other) => {
            return Err(format!(
                "`type` must be \"gauge\", \"counter\" or \"delta\", not {}",
                describe(&other)
            ));
        }
    };
    Ok(PushPoint {
        metric,
        labels,
        value,
        t,
        kind,
    })
}

fn read_labels(labels: &Map<String, Value>) -> Result<BTreeMap<String, String>, String> {
    labels
        .iter()
        .map(|(name, value)| match value {
            Value::String(value) => Ok((name.clone(), value.clone())),
            other => Err(format!(
                "label `{name}` must be a string, not {}",
                describe(other)
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::push::{MAX_POINTS_PER_REQUEST, Refusal};
    use chrono::{DateTime, Utc};

    fn parse_str(body: &str) -> Batch {
        parse(body.as_bytes()).expect("an array")
    }

    fn refusal(body: &str) -> String {
        let batch = parse_str(body);
        assert!(batch.points.is_empty(), "{batch:?}");
        assert_eq!(batch.refused.len(), 1, "{batch:?}");
        assert_eq!(batch.refused[0].line, 1);
        batch.refused[0].reason.clone()
    }

    #[test]
    fn reads_every_field() {
        let batch = parse_str(
            r#"[{"metric": "signups", "value": 3, "t": "2026-12-01T10:00:00Z",
                 "labels": {"plan": "pro"}, "type": "delta"},
                {"metric": "mrr", "value": 1.5e3}]"#,
        );
        assert!(batch.refused.is_empty());
        let (line, first) = &batch.points[0];
        assert_eq!(*line, 1);
        assert_eq!(first.metric, "signups");
        assert_eq!(first.value, 3.0);
        assert_eq!(
            first.t,
            Some(
                "2026-12-01T10:00:00Z"
                    .parse::<DateTime<Utc>>()
                    .expect("time")
            )
        );
        assert_eq!(first.labels.get("plan").map(String::as_str), Some("pro"));
        assert_eq!(first.kind, PushKind::Delta);
        let (line, second) = &batch.points[1];
        assert_eq!(*line, 2);
        assert_eq!(second.value, 1500.0);
        assert_eq!(second.t, None);
        assert!(second.labels.is_empty());
        assert_eq!(second.kind, PushKind::Gauge);
    }

    #[test]
    fn nulls_count_as_left_out_and_offsets_are_read() {
        let batch = parse_str(
            r#"[{"metric": "x", "value": -2, "t": "2026-12-01T12:00:00+02:00", "labels": null, "type": null}]"#,
        );
        let point = &batch.points[0].1;
        assert_eq!(point.value, -2.0);
        assert_eq!(
            point.t,
            Some(
                "2026-12-01T10:00:00Z"
                    .parse::<DateTime<Utc>>()
                    .expect("time")
            )
        );
        assert_eq!(point.kind, PushKind::Gauge);
    }

    #[test]
    fn each_bad_item_is_refused_with_its_reason_and_position() {
        let batch = parse_str(
            r#"[{"metric": "ok", "value": 1}, 7, {"metric": "ok", "value": "3"}, {"metric": "ok", "value": 2}]"#,
        );
        assert_eq!(
            batch
                .points
                .iter()
                .map(|(line, _)| *line)
                .collect::<Vec<_>>(),
            vec![1, 4]
        );
        assert_eq!(
            batch.refused,
            vec![
                Refusal {
                    line: 2,
                    reason: "a point must be an object like {\"metric\": \"signups\", \"value\": 3}, not a number (7)".into(),
                },
                Refusal {
                    line: 3,
                    reason: "`value` must be a number, not a string (\"3\")".into(),
                },
            ]
        );
    }

    #[test]
    fn names_what_is_wrong_with_an_item() {
        assert_eq!(refusal(r#"[{"value": 1}]"#), "`metric` is missing");
        assert_eq!(
            refusal(r#"[{"metric": 5, "value": 1}]"#),
            "`metric` must be a string, not a number (5)"
        );
        assert_eq!(refusal(r#"[{"metric": "x"}]"#), "`value` is missing");
        assert_eq!(
            refusal(r#"[{"metric": "x", "value": true}]"#),
            "`value` must be a number, not a boolean (true)"
        );
        assert_eq!(
            refusal(r#"[{"metric": "x", "value": 1, "t": "yesterday"}]"#),
            "`t` \"yesterday\" is not an RFC 3339 time like \"2026-12-01T10:00:00Z\""
        );
        assert_eq!(
            refusal(r#"[{"metric": "x", "value": 1, "t": 1700000000}]"#),
            "`t` must be an RFC 3339 time like \"2026-12-01T10:00:00Z\", not a number (1700000000)"
        );
        assert_eq!(
            refusal(r#"[{"metric": "x", "value": 1, "labels": ["a"]}]"#),
            "`labels` must be an object of strings like {\"plan\": \"pro\"}, not an array"
        );
        assert_eq!(
            refusal(r#"[{"metric": "x", "value": 1, "labels": {"plan": 2}}]"#),
            "label `plan` must be a string, not a number (2)"
        );
        assert_eq!(
            refusal(r#"[{"metric": "x", "value": 1, "type": "histogram"}]"#),
            "`type` must be \"gauge\", \"counter\" or \"delta\", not \"histogram\""
        );
        assert_eq!(
            refusal(r#"[{"metric": "x", "value": 1, "kind": "gauge"}]"#),
            "unknown field `kind`: a point has `metric`, `value`, and optionally `t`, `labels` and `type`"
        );
    }

    #[test]
    fn a_body_that_is_no_array_is_refused_whole() {
        assert!(parse(b"").unwrap_err().contains("the body is empty"));
        assert!(parse(b"  \n").unwrap_err().contains("the body is empty"));
        assert!(
            parse(b"[{\"metric\": ")
                .unwrap_err()
                .starts_with("the body is not valid JSON")
        );
        assert!(
            parse(br#"{"metric": "x", "value": 1}"#)
                .unwrap_err()
                .contains("must be a JSON array of points")
        );
        assert_eq!(parse(b"[]").expect("an array"), Batch::default());
    }

    #[test]
    fn points_past_the_request_limit_are_refused_by_position() {
        let items: Vec<String> = (0..MAX_POINTS_PER_REQUEST + 1)
            .map(|i| format!(r#"{{"metric": "x", "value": {i}}}"#))
            .collect();
        let batch = parse_str(&format!("[{}]", items.join(",")));
        assert_eq!(batch.points.len(), MAX_POINTS_PER_REQUEST);
        assert_eq!(batch.refused.len(), 1);
        assert_eq!(batch.refused[0].line, MAX_POINTS_PER_REQUEST + 1);
    }
}
