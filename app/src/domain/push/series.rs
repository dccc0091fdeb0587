//! What makes a pushed point storable, whatever format it came in: Prometheus's naming
//! rules for metrics and labels, finite values, sizes; and the name a series is stored
//! and charted under (`signups{plan="pro"}`).

use std::collections::BTreeMap;

use super::PushPoint;

/// The longest metric name accepted.
pub const MAX_METRIC_CHARS: usize = 200;
/// The longest label name accepted.
pub const MAX_LABEL_NAME_CHARS: usize = 100;
/// The longest label value accepted.
pub const MAX_LABEL_VALUE_CHARS: usize = 200;
/// At most this many labels on one point.
pub const MAX_LABELS: usize = 16;

/// Checks a metric name against Prometheus's rule, `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn check_metric_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the metric name is empty".into());
    }
    if name.chars().count() > MAX_METRIC_CHARS {
        return Err(format!(
            "the metric name is longer than {MAX_METRIC_CHARS} characters"
        ));
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        return Err(format!(
            "`{}` is not a valid metric name: use letters, digits, `_` and `:`, not starting with a digit ([a-zA-Z_:][a-zA-Z0-9_:]*)",
            shorten(name)
        ));
    }
    Ok(())
}

/// Checks a label name against Prometheus's rule, `[a-zA-Z_][a-zA-Z0-9_]*`; names
/// starting with `__` are Prometheus's own.
pub fn check_label_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a label name is empty".into());
    }
    if name.chars().count() > MAX_LABEL_NAME_CHARS {
        return Err(format!(
            "the label name `{}` is longer than {MAX_LABEL_NAME_CHARS} characters",
            shorten(name)
        ));
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{}` is not a valid label name: use letters, digits and `_`, not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*)",
            shorten(name)
        ));
    }
    if name.starts_with("__") {
        return Err(format!(
            "the label name `{name}` is reserved: names starting with `__` are Prometheus's own"
        ));
    }
    Ok(())
}

/// Checks everything about a point that does not depend on what is stored: its metric
/// and label names, its label values and its value. The reason names the problem.
pub fn check_point(point: &PushPoint) -> Result<(), String> {
    check_metric_name(&point.metric)?;
    if point.labels.len() > MAX_LABELS {
        return Err(format!(
            "a point has at most {MAX_LABELS} labels; this one has {}",
            point.labels.len()
        ));
    }
    for (name, value) in &point.labels {
        check_label_name(name)?;
        if value.chars().count() > MAX_LABEL_VALUE_CHARS {
            return Err(format!(
                "the value of label `{name}` is longer than {MAX_LABEL_VALUE_CHARS} characters"
            ));
        }
        if value.chars().any(|c| c == '\0') {
            return Err(format!("the value of label `{name}` holds a NUL character"));
        }
    }
    if !point.value.is_finite() {
        return Err(format!(
            "the value of `{}` is {}: only finite numbers are stored",
            point.metric, point.value
        ));
    }
    Ok(())
}

/// The labels that make a series: a label with an empty value is no label (as in
/// Prometheus).
pub fn series_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The name a series is stored and charted under: the metric name, and its labels
/// written as Prometheus writes them (sorted by name, values quoted and escaped):
/// `signups`, `signups{plan="pro",region="eu"}`.
pub fn series_name(metric: &str, labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return metric.to_string();
    }
    let mut name = String::with_capacity(metric.len() + 16 * labels.len());
    name.push_str(metric);
    name.push('{');
    for (index, (label, value)) in labels.iter().enumerate() {
        if index > 0 {
            name.push(',');
        }
        name.push_str(label);
        name.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => name.push_str("\\\\"),
                '"' => name.push_str("\\\""),
                '\n' => name.push_str("\\n"),
                c => name.push(c),
            }
        }
        name.push('"');
    }
    name.push('}');
    name
}

/// The series names in a comma-separated list (`stars,signups{plan="pro",region="eu"}`):
/// commas inside a name's labels do not split it. Names are trimmed; empty ones dropped.
pub fn split_series_names(list: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let (mut start, mut in_labels, mut in_value, mut escaped) = (0, false, false, false);
    for (at, c) in list.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_value => escaped = true,
            '"' if in_labels => in_value = !in_value,
            '{' if !in_value => in_labels = true,
            '}' if !in_value => in_labels = false,
            ',' if !in_labels => {
                names.push(&list[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    names.push(&list[start..]);
    names
        .into_iter()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect()
}

/// At most 60 characters of `text`, for messages.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 60 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(60).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::push::PushKind;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn point(metric: &str, pairs: &[(&str, &str)], value: f64) -> PushPoint {
        PushPoint {
            metric: metric.into(),
            labels: labels(pairs),
            value,
            t: None,
            kind: PushKind::Gauge,
        }
    }

    #[test]
    fn metric_names_follow_prometheus() {
        for good in ["signups", "_x", "http:requests_total", "a1", "A_b:c"] {
            assert_eq!(check_metric_name(good), Ok(()), "{good}");
        }
        for bad in ["", "1abc", "sign-ups", "sign ups", "é", "a.b", "a{b}"] {
            assert!(check_metric_name(bad).is_err(), "{bad}");
        }
        assert!(
            check_metric_name("9lives")
                .unwrap_err()
                .contains("not a valid metric name")
        );
        assert!(
            check_metric_name(&"a".repeat(201))
                .unwrap_err()
                .contains("longer than 200")
        );
    }

    #[test]
    fn label_names_follow_prometheus() {
        for good in ["plan", "_x", "a1", "Region_2"] {
            assert_eq!(check_label_name(good), Ok(()), "{good}");
        }
        for bad in ["", "1a", "a:b", "a-b", "a b"] {
            assert!(
                check_label_name(bad).unwrap_err().contains("label name"),
                "{bad}"
            );
        }
        assert!(
            check_label_name("__name__")
                .unwrap_err()
                .contains("reserved")
        );
    }

    #[test]
    fn points_need_finite_values_and_good_labels() {
        assert_eq!(check_point(&point("x", &[("plan", "pro")], 1.5)), Ok(()));
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(
                check_point(&point("x", &[], value))
                    .unwrap_err()
                    .contains("only finite numbers")
            );
        }
        assert!(
            check_point(&point("x", &[("a-b", "1")], 1.0))
                .unwrap_err()
                .contains("`a-b` is not a valid label name")
        );
        let long = "v".repeat(201);
        assert!(
            check_point(&point("x", &[("a", &long)], 1.0))
                .unwrap_err()
                .contains("longer than 200")
        );
        let many: Vec<(String, String)> = (0..17).map(|i| (format!("l{i}"), "v".into())).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert!(
            check_point(&point("x", &many, 1.0))
                .unwrap_err()
                .contains("at most 16 labels")
        );
    }

    #[test]
    fn series_are_named_like_prometheus_writes_them() {
        assert_eq!(series_name("signups", &BTreeMap::new()), "signups");
        assert_eq!(
            series_name("signups", &labels(&[("region", "eu"), ("plan", "pro")])),
            r#"signups{plan="pro",region="eu"}"#
        );
        assert_eq!(
            series_name("x", &labels(&[("path", "a\"b\\c\nd")])),
            r#"x{path="a\"b\\c\nd"}"#
        );
    }

    #[test]
    fn empty_label_values_are_no_labels() {
        assert_eq!(
            series_labels(&labels(&[("plan", ""), ("region", "eu")])),
            labels(&[("region", "eu")])
        );
    }

    #[test]
    fn series_lists_split_at_commas_outside_labels() {
        use super::split_series_names;
        assert_eq!(
            split_series_names(r#"stars, signups{plan="pro",region="eu"},x{a="1,}\"2"},"#),
            [
                "stars",
                r#"signups{plan="pro",region="eu"}"#,
                r#"x{a="1,}\"2"}"#
            ]
        );
        assert!(split_series_names(" , ").is_empty());
    }
}
