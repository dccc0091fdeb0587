//! Writing Prometheus's text exposition format, version 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>), for answers built per
//! request from the database (the workspace scrape endpoint). The process's own `/metrics`
//! is written by `metrics-exporter-prometheus` from its global recorder, which cannot hold
//! per-request series; `prometheus-client` writes OpenMetrics only. The format is small:
//! what needs care is escaping (label values: `\`, `"` and line feeds; help text: `\` and
//! line feeds) and numbers (`+Inf`, `-Inf`, `NaN`), each tested below.

use std::fmt::Write as _;

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family's type, as its `# TYPE` line says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
}

impl MetricType {
    fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
        }
    }
}

/// An exposition being written. A family's samples must follow its [`Exposition::family`]
/// line, together: the format does not allow a family's lines to be split up.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the family `name`: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &'static str, kind: MetricType, help: &str) {
        debug_assert!(is_metric_name(name), "{name:?} is not a metric name");
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample of the family `name`, without a timestamp (Prometheus stamps it with the
    /// scrape's time), its labels in the order given.
    pub fn sample(&mut self, name: &'static str, labels: &[(&str, &str)], value: f64) {
        debug_assert!(is_metric_name(name), "{name:?} is not a metric name");
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (index, (label, value)) in labels.iter().enumerate() {
                debug_assert!(is_label_name(label), "{label:?} is not a label name");
                if index > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape_label_value(value));
            }
            self.text.push('}');
        }
        self.text.push(' ');
        self.text.push_str(&format_value(value));
        self.text.push('\n');
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.text
    }
}

/// A label value as it goes between the quotes: `\` as `\\`, `"` as `\"`, a line feed as
/// `\n`; everything else (other UTF-8 included) as it is.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Help text: `\` as `\\` and a line feed as `\n` (quotes stay as they are).
pub fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value as Go's `ParseFloat` (Prometheus's parser) reads it: integers without a
/// fraction (`19000`), the shortest text that reads back as the same number otherwise,
/// and `+Inf`, `-Inf`, `NaN`.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value == f64::INFINITY {
        "+Inf".to_string()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        // Rust never writes an exponent here; Go reads long digit strings exactly.
        value.to_string()
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslashes_quotes_and_line_feeds() {
        assert_eq!(escape_label_value("plain"), "plain");
        assert_eq!(
            escape_label_value(r#"say "hi" \ bye"#),
            r#"say \"hi\" \\ bye"#
        );
        assert_eq!(escape_label_value("two\nlines"), r"two\nlines");
        // A backslash before an n stays two characters, not a line feed.
        assert_eq!(escape_label_value(r"C:\new"), r"C:\\new");
        assert_eq!(escape_label_value("Köln ☃\t"), "Köln ☃\t");
    }

    #[test]
    fn help_text_escapes_backslashes_and_line_feeds_only() {
        assert_eq!(
            escape_help("a \"quote\" \\ and\nmore"),
            r#"a "quote" \\ and\nmore"#
        );
    }

    #[test]
    fn values_read_back_the_same_in_go_syntax() {
        assert_eq!(format_value(19000.0), "19000");
        assert_eq!(format_value(0.5), "0.5");
        assert_eq!(format_value(-3.25), "-3.25");
        assert_eq!(format_value(1764547200.123), "1764547200.123");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        let huge = format_value(1e300);
        assert_eq!(huge.parse::<f64>(), Ok(1e300));
        let tiny = format_value(1.5e-10);
        assert_eq!(tiny.parse::<f64>(), Ok(1.5e-10));
    }

    #[test]
    fn a_family_and_its_samples() {
        let mut exposition = Exposition::new();
        exposition.family("demo_value", MetricType::Gauge, "A demo.\nSecond line.");
        exposition.sample("demo_value", &[("a", "x"), ("b", "q\"")], 1.0);
        exposition.sample("demo_value", &[], 2.5);
        assert_eq!(
            exposition.finish(),
            "# HELP demo_value A demo.\\nSecond line.\n\
             # TYPE demo_value gauge\n\
             demo_value{a=\"x\",b=\"q\\\"\"} 1\n\
             demo_value 2.5\n"
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(is_metric_name("upcount_value"));
        assert!(is_metric_name("a:b_c1"));
        assert!(!is_metric_name("1abc"));
        assert!(!is_metric_name("a-b"));
        assert!(!is_metric_name(""));
        assert!(is_label_name("tracker"));
        assert!(!is_label_name("a:b"));
    }
}
