//! Reading numbers out of JSON with JMESPath, shared by the poller (server) and the add
//! form's live preview (browser), so the preview shows exactly what polling will record.

use std::collections::BTreeMap;

use super::jmes_path::{self, JmesPath, MAX_METRICS};

/// The number `expression` finds in `document`, or why there is none. A value must be a
/// number, a numeric string or a boolean (1/0). The expression is bounded as
/// [`JmesPath`] says, before and while it runs.
pub fn number_at(expression: &str, document: &serde_json::Value) -> Result<f64, String> {
    let compiled = JmesPath::parse(expression)
        .map_err(|error| format!("`{}` {error}", jmes_path::shown(expression)))?;
    number_in(&compiled, document)
}

/// The number a parsed expression finds in `document`.
pub fn number_in(path: &JmesPath, document: &serde_json::Value) -> Result<f64, String> {
    let expression = path.shown();
    let found = path
        .search(document)
        .map_err(|error| format!("`{expression}` {error}"))?;
    let describe = |kind: &str| format!("`{expression}` found {kind}, not a number");
    match &*found {
        jmespath::Variable::Number(number) => number
            .as_f64()
            .filter(|value| value.is_finite())
            .ok_or_else(|| describe("a number out of range")),
        jmespath::Variable::Bool(flag) => Ok(if *flag { 1.0 } else { 0.0 }),
        jmespath::Variable::String(text) => match text.trim().parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(value),
            _ => {
                let shown: String = text.chars().take(40).collect();
                Err(describe(&format!("the text \"{shown}\"")))
            }
        },
        jmespath::Variable::Null => Err(format!("`{expression}` matched nothing (null)")),
        jmespath::Variable::Array(_) => Err(describe("a list")),
        jmespath::Variable::Object(_) => Err(describe("an object")),
        jmespath::Variable::Expref(_) => Err(describe("an expression")),
    }
}

/// The JMESPath expression of the value at `path` (object keys and array indexes from the
/// root): `data.items[0]."download-count"`. Keys that are not plain identifiers are quoted.
pub fn expression_for(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Index(index) => out.push_str(&format!("[{index}]")),
            PathStep::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let plain = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if plain {
                    out.push_str(key);
                } else {
                    // A JSON string is a valid JMESPath quoted identifier.
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                }
            }
        }
    }
    if out.is_empty() { "@".to_string() } else { out }
}

/// One step from a JSON value to one inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// A metric name made from the last key of a path: `download-count` → `download_count`.
pub fn metric_name_for(path: &[PathStep]) -> String {
    let key = path
        .iter()
        .rev()
        .find_map(|step| match step {
            PathStep::Key(key) => Some(key.as_str()),
            PathStep::Index(_) => None,
        })
        .unwrap_or("value");
    let mut name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "v_");
    }
    name.chars().take(40).collect()
}

/// The limits every source's metrics keep, the same for a preview as for an add: at most
/// [`MAX_METRICS`] metrics, each expression within [`JmesPath`]'s limits. A plain syntax
/// error is not a limit: a preview shows it beside its metric.
pub fn check_limits(metrics: &BTreeMap<String, String>) -> Result<(), String> {
    if metrics.len() > MAX_METRICS {
        return Err(format!(
            "{} metrics is too many: the limit is {MAX_METRICS} metrics per source",
            metrics.len()
        ));
    }
    for (name, expression) in metrics {
        if let Err(error) = JmesPath::parse(expression)
            && error.is_limit()
        {
            return Err(format!("the expression of metric `{name}` {error}"));
        }
    }
    Ok(())
}

/// The metrics of the add form: one `name: expression` a line, blank lines ignored.
pub fn parse_metric_lines(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut metrics = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, expression)) = line.split_once(':') else {
            return Err(format!(
                "line {}: write `name: expression`, for example `stars: data.stars`",
                number + 1
            ));
        };
        let (name, expression) = (name.trim(), expression.trim());
        if name.is_empty() || expression.is_empty() {
            return Err(format!(
                "line {}: both a name and an expression are needed",
                number + 1
            ));
        }
        if metrics
            .insert(name.to_string(), expression.to_string())
            .is_some()
        {
            return Err(format!("line {}: `{name}` is named twice", number + 1));
        }
    }
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_must_be_numbers_numeric_strings_or_booleans() {
        let document = json!({
            "data": {"count": 42, "price": "12.5", "up": true, "name": "x", "list": [1, 2]},
        });
        assert_eq!(number_at("data.count", &document), Ok(42.0));
        assert_eq!(number_at("data.price", &document), Ok(12.5));
        assert_eq!(number_at("data.up", &document), Ok(1.0));
        assert_eq!(number_at("length(data.list)", &document), Ok(2.0));
        let error = |expression| number_at(expression, &document).unwrap_err();
        assert!(error("data.name").contains("the text \"x\""));
        assert!(error("data.missing").contains("matched nothing"));
        assert!(error("data.list").contains("a list"));
        assert!(error("data.[").contains("not valid JMESPath"));
    }

    #[test]
    fn picked_paths_become_expressions_that_find_them() {
        let document = json!({"data": {"items": [{"download-count": 7}, {"n": 3}]}, "9x": 1});
        let path = [
            PathStep::Key("data".into()),
            PathStep::Key("items".into()),
            PathStep::Index(0),
            PathStep::Key("download-count".into()),
        ];
        let expression = expression_for(&path);
        assert_eq!(expression, r#"data.items[0]."download-count""#);
        assert_eq!(number_at(&expression, &document), Ok(7.0));
        assert_eq!(metric_name_for(&path), "download_count");
        let odd = [PathStep::Key("9x".into())];
        assert_eq!(number_at(&expression_for(&odd), &document), Ok(1.0));
        assert_eq!(metric_name_for(&odd), "v_9x");
        assert_eq!(expression_for(&[]), "@");
        let top = json!([5, 6]);
        assert_eq!(
            number_at(&expression_for(&[PathStep::Index(1)]), &top),
            Ok(6.0)
        );
    }

    #[test]
    fn metric_lines() {
        let parsed = parse_metric_lines("stars: data.stars\n\n  price : \"a-b\".c \n").unwrap();
        assert_eq!(parsed.get("stars").map(String::as_str), Some("data.stars"));
        assert_eq!(parsed.get("price").map(String::as_str), Some("\"a-b\".c"));
        assert!(parse_metric_lines("stars").unwrap_err().contains("line 1"));
        assert!(
            parse_metric_lines("a: x\na: y")
                .unwrap_err()
                .contains("twice")
        );
        assert!(parse_metric_lines("").unwrap().is_empty());
    }
}
