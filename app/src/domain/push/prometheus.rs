//! The Prometheus text exposition format, version 0.0.4 (what Pushgateway clients send to
//! `POST /api/v1/push/prometheus`), with OpenMetrics' `# EOF` and `_total`/`_created`
//! counter samples understood.
//!
//! A hand parser: the crates that read this format either skip a line they cannot read
//! without saying so (`prometheus-parse`), fail the whole body at its first bad line
//! (`prom_text_format_parser`, `prometheus-exposition-format-rs`), or are LGPL-licensed
//! and fail the whole body too (`openmetrics-parser`), and an answer here must name every
//! refused line. The format is line-oriented and small, so each line is read on its own.
//!
//! What a body becomes:
//! - every sample is one point under its own name (`http_requests_total{code="200"} 3`),
//!   labels as given (`\\`, `\"` and `\n` unescaped in values); the optional timestamp is
//!   milliseconds since the epoch, without one the point's time is the request's;
//! - `# TYPE` decides the kind: `counter` samples (`x`, or OpenMetrics' `x_total`) are
//!   counters; `gauge` and `untyped` (and OpenMetrics' `unknown`, `info`, `stateset` and
//!   `gaugehistogram`) samples are gauges; a `histogram` is stored as its `x_bucket`
//!   series (by `le` label) and its `x_sum` and `x_count`, all counters; a `summary` as
//!   its quantile series (`x{quantile="0.5"}`, gauges) and its `x_sum` and `x_count`
//!   (counters). `x_created` samples of those families are gauges. A sample with no
//!   `# TYPE` is untyped: a gauge;
//! - refused, each on its line: a line that is not the format, an invalid metric or label
//!   name, a label given twice or starting with `__` (reserved), a value that is `NaN` or
//!   infinite (`+Inf` is a fine `le` label value, not a fine value), a timestamp that is
//!   not an integer, a histogram bucket without `le`, a summary sample without `quantile`,
//!   a second `# TYPE` for a family or one after its samples, and anything after `# EOF`.
//!
//! Lines count from 1; blank lines and other `#` comments (`# HELP`, OpenMetrics' `# UNIT`)
//! are skipped; a `\r` before a line's end and OpenMetrics exemplars (`# {…} v`) after a
//! sample are ignored.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{Batch, PushKind, PushPoint, is_label_name, is_metric_name};

/// A family's `# TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl Family {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "counter" => Some(Self::Counter),
            "gauge" => Some(Self::Gauge),
            "histogram" => Some(Self::Histogram),
            "summary" => Some(Self::Summary),
            // OpenMetrics' other types: their samples are plain numbers.
            "untyped" | "unknown" | "info" | "stateset" | "gaugehistogram" => Some(Self::Untyped),
            _ => None,
        }
    }
}

/// The suffixes a family's samples may add to its name.
const SUFFIXES: [&str; 5] = ["_bucket", "_sum", "_count", "_total", "_created"];

/// Reads a text exposition body into points, one per sample, and the refusals.
pub fn parse(body: &str) -> Batch {
    let mut reader = Reader::default();
    for (index, raw) in body.split('\n').enumerate() {
        let line = index + 1;
        let text = raw.trim_matches([' ', '\t', '\r']);
        if text.is_empty() {
            continue;
        }
        if reader.ended {
            reader
                .batch
                .refuse(line, "content after `# EOF`, which ends the exposition");
            continue;
        }
        let read = match text.strip_prefix('#') {
            Some(comment) => reader.comment(comment),
            None => reader.sample(line, text),
        };
        if let Err(reason) = read {
            reader.batch.refuse(line, reason);
        }
    }
    reader.batch
}

#[derive(Default)]
struct Reader {
    batch: Batch,
    families: HashMap<String, Family>,
    /// Names of the samples read so far (a `# TYPE` must come before them).
    sampled: HashSet<String>,
    ended: bool,
}

impl Reader {
    fn comment(&mut self, comment: &str) -> Result<(), String> {
        let mut tokens = comment.split([' ', '\t']).filter(|t| !t.is_empty());
        match tokens.next() {
            Some("EOF") if tokens.next().is_none() => self.ended = true,
            Some("HELP") => match tokens.next() {
                Some(name) if is_metric_name(name) => {}
                Some(name) => return Err(format!("`# HELP {name}`: {}", bad_metric_name(name))),
                None => return Err("`# HELP` names no metric".to_owned()),
            },
            Some("TYPE") => {
                let (Some(name), Some(kind)) = (tokens.next(), tokens.next()) else {
                    return Err("`# TYPE` needs a metric name and a type".to_owned());
                };
                if !is_metric_name(name) {
                    return Err(format!("`# TYPE {name}`: {}", bad_metric_name(name)));
                }
                let family = Family::parse(kind).ok_or_else(|| {
                    format!(
                        "`# TYPE {name}`: unknown type `{kind}` (expected counter, gauge, \
                         histogram, summary or untyped)"
                    )
                })?;
                if let Some(extra) = tokens.next() {
                    return Err(format!("`# TYPE {name} {kind}`: unexpected `{extra}`"));
                }
                if self.families.contains_key(name) {
                    return Err(format!("a second `# TYPE` for `{name}`"));
                }
                let sampled = std::iter::once(name.to_owned())
                    .chain(SUFFIXES.iter().map(|suffix| format!("{name}{suffix}")))
                    .any(|sample| self.sampled.contains(&sample));
                if sampled {
                    return Err(format!(
                        "`# TYPE {name}` comes after samples of `{name}`; it must come before them"
                    ));
                }
                self.families.insert(name.to_owned(), family);
            }
            // Any other comment, OpenMetrics' `# UNIT` included.
            _ => {}
        }
        Ok(())
    }

    fn sample(&mut self, line: usize, text: &str) -> Result<(), String> {
        let sample = read_sample(text)?;
        self.sampled.insert(sample.name.to_owned());
        let kind = self.kind(sample.name, &sample.labels)?;
        self.batch.push(
            line,
            PushPoint {
                metric: sample.name.to_owned(),
                labels: sample.labels,
                value: sample.value,
                t: sample.t,
                kind,
            },
        );
        Ok(())
    }

    /// The kind of a sample, from its family's `# TYPE`.
    fn kind(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<PushKind, String> {
        if let Some(family) = self.families.get(name) {
            return match family {
                Family::Counter => Ok(PushKind::Counter),
                Family::Gauge | Family::Untyped => Ok(PushKind::Gauge),
                Family::Histogram => Err(format!(
                    "`{name}` is a histogram: its samples are `{name}_bucket`, `{name}_sum` \
                     and `{name}_count`"
                )),
                Family::Summary => {
                    bound(labels, "quantile", name, "a summary sample")?;
                    Ok(PushKind::Gauge)
                }
            };
        }
        for suffix in SUFFIXES {
            let Some(family) = name
                .strip_suffix(suffix)
                .and_then(|base| self.families.get(base))
            else {
                continue;
            };
            match (family, suffix) {
                (Family::Histogram, "_bucket") => {
                    bound(labels, "le", name, "a histogram bucket")?;
                    return Ok(PushKind::Counter);
                }
                (Family::Histogram | Family::Summary, "_sum" | "_count")
                | (Family::Counter, "_total") => return Ok(PushKind::Counter),
                (Family::Counter | Family::Histogram | Family::Summary, "_created") => {
                    return Ok(PushKind::Gauge);
                }
                _ => {}
            }
        }
        Ok(PushKind::Gauge)
    }
}

/// Checks that `labels` has `label` holding a number (`+Inf` included).
fn bound(
    labels: &BTreeMap<String, String>,
    label: &str,
    name: &str,
    what: &str,
) -> Result<(), String> {
    match labels.get(label) {
        None => Err(format!("`{name}` is {what} and needs a `{label}` label")),
        Some(value) if parse_float(value).is_none_or(f64::is_nan) => Err(format!(
            "`{name}`'s `{label}` label is `{value}`, not a number"
        )),
        Some(_) => Ok(()),
    }
}

fn bad_metric_name(name: &str) -> String {
    format!(
        "`{name}` is not a metric name (letters, digits, `_` and `:`, not starting with a digit)"
    )
}

/// One sample line, read.
#[derive(Debug)]
struct Sample<'a> {
    name: &'a str,
    labels: BTreeMap<String, String>,
    value: f64,
    t: Option<DateTime<Utc>>,
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Reads `name[{label="value",…}] value [timestamp]`.
fn read_sample(text: &str) -> Result<Sample<'_>, String> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    let (name, rest) = text.split_at(end);
    if name.is_empty() {
        return Err(format!(
            "expected a metric name at the start of `{}`",
            shorten(text)
        ));
    }
    if !is_metric_name(name) {
        return Err(bad_metric_name(name));
    }
    let trimmed = rest.trim_start_matches(is_blank);
    let mut labels = BTreeMap::new();
    let rest = if let Some(after) = trimmed.strip_prefix('{') {
        read_labels(name, after, &mut labels)?
    } else if trimmed.len() == rest.len() && !rest.is_empty() {
        return Err(format!(
            "unexpected `{}` after the metric name `{name}`",
            shorten(rest)
        ));
    } else {
        trimmed
    };
    let mut tokens = rest.split(is_blank).filter(|t| !t.is_empty());
    let value = match tokens.next() {
        None => return Err(format!("`{name}` has no value")),
        Some(token) => match parse_float(token) {
            None => return Err(format!("`{name}`'s value `{token}` is not a number")),
            Some(value) if value.is_nan() => {
                return Err(format!("`{name}`'s value is NaN; only numbers are stored"));
            }
            Some(value) if value.is_infinite() => {
                return Err(format!(
                    "`{name}`'s value `{token}` is not finite; only finite numbers are stored"
                ));
            }
            Some(value) => value,
        },
    };
    let t = match tokens.next() {
        // An OpenMetrics exemplar, ignored.
        None => None,
        Some(token) if token.starts_with('#') => {
            return Ok(Sample {
                name,
                labels,
                value,
                t: None,
            });
        }
        Some(token) => {
            let millis: i64 = token.parse().map_err(|_| {
                format!("`{name}`'s timestamp `{token}` is not an integer of milliseconds")
            })?;
            Some(
                DateTime::from_timestamp_millis(millis)
                    .ok_or_else(|| format!("`{name}`'s timestamp `{token}` is out of range"))?,
            )
        }
    };
    match tokens.next() {
        Some(token) if !token.starts_with('#') => {
            Err(format!("unexpected `{token}` after `{name}`'s timestamp"))
        }
        _ => Ok(Sample {
            name,
            labels,
            value,
            t,
        }),
    }
}

/// Reads `label="value",…}` (after the `{`) into `labels`, answering what follows the `}`.
fn read_labels<'a>(
    name: &str,
    mut rest: &'a str,
    labels: &mut BTreeMap<String, String>,
) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start_matches(is_blank);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (label, after) = rest.split_at(end);
        if label.is_empty() {
            return Err(if rest.is_empty() {
                format!("`{name}`'s labels have no closing `}}`")
            } else {
                format!(
                    "expected a label name or `}}` in `{name}`'s labels, found `{}`",
                    shorten(rest)
                )
            });
        }
        if !is_label_name(label) {
            return Err(format!(
                "`{label}` is not a label name (letters, digits and `_`, not starting with a digit)"
            ));
        }
        if label.starts_with("__") {
            return Err(format!(
                "label `{label}`: names starting with `__` are reserved"
            ));
        }
        let after = after.trim_start_matches(is_blank);
        let Some(after) = after.strip_prefix('=') else {
            return Err(format!("expected `=` after the label `{label}`"));
        };
        let after = after.trim_start_matches(is_blank);
        let Some(after) = after.strip_prefix('"') else {
            return Err(format!(
                "the label `{label}`'s value must be in double quotes"
            ));
        };
        let (value, after) = read_quoted(label, after)?;
        if labels.insert(label.to_owned(), value).is_some() {
            return Err(format!("the label `{label}` is given twice"));
        }
        rest = after.trim_start_matches(is_blank);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(if rest.is_empty() {
                format!("`{name}`'s labels have no closing `}}`")
            } else {
                format!(
                    "expected `,` or `}}` after the label `{label}`, found `{}`",
                    shorten(rest)
                )
            });
        }
    }
}

/// Reads a label value up to its closing quote, unescaping `\\`, `\"` and `\n`.
fn read_quoted<'a>(label: &str, text: &'a str) -> Result<(String, &'a str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[at + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) => {
                    return Err(format!(
                        "the label `{label}`'s value has an unknown escape `\\{other}` \
                         (only `\\\\`, `\\\"` and `\\n` are escapes)"
                    ));
                }
                None => break,
            },
            c => value.push(c),
        }
    }
    Err(format!("the label `{label}`'s value has no closing quote"))
}

/// A float as Prometheus writes them: `1.5`, `1e3`, `+Inf`, `-Inf`, `NaN`.
fn parse_float(token: &str) -> Option<f64> {
    token.parse().ok()
}

/// At most 40 characters of `text`, for messages.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::MAX_POINTS_PER_REQUEST;
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn point(
        metric: &str,
        pairs: &[(&str, &str)],
        value: f64,
        t: Option<DateTime<Utc>>,
        kind: PushKind,
    ) -> PushPoint {
        PushPoint {
            metric: metric.to_owned(),
            labels: labels(pairs),
            value,
            t,
            kind,
        }
    }

    fn refusals(batch: &Batch) -> Vec<(usize, &str)> {
        batch
            .refused
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect()
    }

    fn millis(ms: i64) -> Option<DateTime<Utc>> {
        Utc.timestamp_millis_opt(ms).single()
    }

    use PushKind::{Counter, Gauge};

    /// What a Go client's registry writes for an upload service, with a histogram, a
    /// summary, escaped label values and timestamps.
    const CLIENT: &str = r#"# HELP uploads_total Files uploaded, by outcome.
# TYPE uploads_total counter
uploads_total{outcome="stored",plan="pro"} 5120 1733230800000
uploads_total{outcome="rejected",plan="free"}	17	1733230800000

# HELP upload_queue_depth Files waiting to be scanned.
# TYPE upload_queue_depth gauge
upload_queue_depth 4
# A path with backslashes and a message with quotes and a newline:
upload_last_error{path="D:\\inbox\\a.pdf",message="scan \"failed\":\nretry"} 1 -1500
# HELP upload_size_bytes Sizes of uploaded files.
# TYPE upload_size_bytes histogram
upload_size_bytes_bucket{le="1024"} 310
upload_size_bytes_bucket{le="1.048576e+06"} 4022
upload_size_bytes_bucket{le="+Inf"} 5120
upload_size_bytes_sum 2.07e+09
upload_size_bytes_count 5120
# HELP scan_seconds Virus scan durations.
# TYPE scan_seconds summary
scan_seconds{quantile="0.5"} 0.8
scan_seconds{quantile="0.99"} 4.25
scan_seconds_sum 4301.5
scan_seconds_count 5120
build_info{version="1.4.2",commit="9f1c2ab"} 1
"#;

    #[test]
    fn a_client_exposition_with_every_family() {
        let batch = parse(CLIENT);
        assert!(batch.refused.is_empty(), "{:?}", batch.refused);
        let t = millis(1733230800000);
        assert_eq!(
            batch.points,
            vec![
                (
                    3,
                    point(
                        "uploads_total",
                        &[("outcome", "stored"), ("plan", "pro")],
                        5120.0,
                        t,
                        Counter
                    )
                ),
                (
                    4,
                    point(
                        "uploads_total",
                        &[("outcome", "rejected"), ("plan", "free")],
                        17.0,
                        t,
                        Counter
                    )
                ),
                (8, point("upload_queue_depth", &[], 4.0, None, Gauge)),
                (
                    10,
                    point(
                        "upload_last_error",
                        &[
                            ("message", "scan \"failed\":\nretry"),
                            ("path", r"D:\inbox\a.pdf")
                        ],
                        1.0,
                        millis(-1500),
                        Gauge
                    )
                ),
                (
                    13,
                    point(
                        "upload_size_bytes_bucket",
                        &[("le", "1024")],
                        310.0,
                        None,
                        Counter
                    )
                ),
                (
                    14,
                    point(
                        "upload_size_bytes_bucket",
                        &[("le", "1.048576e+06")],
                        4022.0,
                        None,
                        Counter
                    )
                ),
                (
                    15,
                    point(
                        "upload_size_bytes_bucket",
                        &[("le", "+Inf")],
                        5120.0,
                        None,
                        Counter
                    )
                ),
                (
                    16,
                    point("upload_size_bytes_sum", &[], 2.07e9, None, Counter)
                ),
                (
                    17,
                    point("upload_size_bytes_count", &[], 5120.0, None, Counter)
                ),
                (
                    20,
                    point("scan_seconds", &[("quantile", "0.5")], 0.8, None, Gauge)
                ),
                (
                    21,
                    point("scan_seconds", &[("quantile", "0.99")], 4.25, None, Gauge)
                ),
                (22, point("scan_seconds_sum", &[], 4301.5, None, Counter)),
                (23, point("scan_seconds_count", &[], 5120.0, None, Counter)),
                (
                    24,
                    point(
                        "build_info",
                        &[("commit", "9f1c2ab"), ("version", "1.4.2")],
                        1.0,
                        None,
                        Gauge
                    )
                ),
            ]
        );
    }

    #[test]
    fn python_and_openmetrics_counters() {
        // Python's client writes `_created` as its own gauge family; OpenMetrics names
        // the counter family without `_total` and ends with `# EOF`.
        let body = "\
# HELP jobs_processed_total Jobs processed.
# TYPE jobs_processed_total counter
jobs_processed_total{queue=\"mail\"} 12.0
# TYPE jobs_processed_created gauge
jobs_processed_created{queue=\"mail\"} 1.7332308e+09
# TYPE signups counter
# UNIT signups users
signups_total 3
signups_created 1.7332308e+09
# TYPE latency histogram
latency_bucket{le=\"0.5\"} 2 # {trace_id=\"abc\"} 0.3 1733230800.5
latency_count 2
latency_created 1.7332308e+09
# EOF
late 1
";
        let batch = parse(body);
        let kinds: Vec<(usize, &str, PushKind)> = batch
            .points
            .iter()
            .map(|(line, p)| (*line, p.metric.as_str(), p.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (3, "jobs_processed_total", Counter),
                (5, "jobs_processed_created", Gauge),
                (8, "signups_total", Counter),
                (9, "signups_created", Gauge),
                (11, "latency_bucket", Counter),
                (12, "latency_count", Counter),
                (13, "latency_created", Gauge),
            ]
        );
        assert_eq!(batch.points[0].1.value, 12.0);
        assert_eq!(batch.points[4].1.t, None);
        assert_eq!(
            refusals(&batch),
            vec![(15, "content after `# EOF`, which ends the exposition")]
        );
    }

    #[test]
    fn nan_and_infinite_values_are_refused_but_inf_labels_are_fine() {
        let body = "\
# TYPE rpc_seconds summary
rpc_seconds{quantile=\"0.99\"} NaN
rpc_seconds_sum 0
something_weird{problem=\"division by zero\"} +Inf -3982045
cold -Inf
# TYPE d histogram
d_bucket{le=\"+Inf\"} 3
";
        let batch = parse(body);
        assert_eq!(
            refusals(&batch),
            vec![
                (2, "`rpc_seconds`'s value is NaN; only numbers are stored"),
                (
                    4,
                    "`something_weird`'s value `+Inf` is not finite; only finite numbers are stored"
                ),
                (
                    5,
                    "`cold`'s value `-Inf` is not finite; only finite numbers are stored"
                ),
            ]
        );
        assert_eq!(
            batch
                .points
                .iter()
                .map(|(line, p)| (*line, p.metric.as_str()))
                .collect::<Vec<_>>(),
            vec![(3, "rpc_seconds_sum"), (7, "d_bucket")]
        );
    }

    #[test]
    fn bad_lines_among_good_ones_are_refused_by_line() {
        let body = "\
ok_one 1
no_value
bad{label=\"x\" 1
bad{label=\"x} 1
bad{label=x} 1
bad{9label=\"x\"} 1
bad{a=\"1\",a=\"2\"} 1
bad{__name__=\"x\"} 1
bad{a=\"\\t\"} 1
1bad 1
bad-name 1
bad 1 1.5
bad 1 1733230800000 extra
bad abc
ok_two{a=\"b\",} 2 1733230800000
# TYPE ok_two gauge
# TYPE fam summary
# TYPE fam counter
# TYPE fam2 teapot
# TYPE
fam 3
fam{quantile=\"x\"} 3
# TYPE h histogram
h 1
h_bucket 1
h_bucket{le=\"soon\"} 1
{__name__=\"x\"} 1
ok_three{} 3
";
        let batch = parse(body);
        assert_eq!(
            batch
                .points
                .iter()
                .map(|(line, p)| (*line, p.metric.as_str(), p.value))
                .collect::<Vec<_>>(),
            vec![
                (1, "ok_one", 1.0),
                (15, "ok_two", 2.0),
                (28, "ok_three", 3.0)
            ]
        );
        assert_eq!(
            refusals(&batch),
            vec![
                (2, "`no_value` has no value"),
                (3, "expected `,` or `}` after the label `label`, found `1`"),
                (4, "the label `label`'s value has no closing quote"),
                (5, "the label `label`'s value must be in double quotes"),
                (
                    6,
                    "`9label` is not a label name (letters, digits and `_`, not starting with a digit)"
                ),
                (7, "the label `a` is given twice"),
                (8, "label `__name__`: names starting with `__` are reserved"),
                (
                    9,
                    "the label `a`'s value has an unknown escape `\\t` (only `\\\\`, `\\\"` and `\\n` are escapes)"
                ),
                (
                    10,
                    "`1bad` is not a metric name (letters, digits, `_` and `:`, not starting with a digit)"
                ),
                (11, "unexpected `-name 1` after the metric name `bad`"),
                (
                    12,
                    "`bad`'s timestamp `1.5` is not an integer of milliseconds"
                ),
                (13, "unexpected `extra` after `bad`'s timestamp"),
                (14, "`bad`'s value `abc` is not a number"),
                (
                    16,
                    "`# TYPE ok_two` comes after samples of `ok_two`; it must come before them"
                ),
                (18, "a second `# TYPE` for `fam`"),
                (
                    19,
                    "`# TYPE fam2`: unknown type `teapot` (expected counter, gauge, histogram, summary or untyped)"
                ),
                (20, "`# TYPE` needs a metric name and a type"),
                (21, "`fam` is a summary sample and needs a `quantile` label"),
                (22, "`fam`'s `quantile` label is `x`, not a number"),
                (
                    24,
                    "`h` is a histogram: its samples are `h_bucket`, `h_sum` and `h_count`"
                ),
                (
                    25,
                    "`h_bucket` is a histogram bucket and needs a `le` label"
                ),
                (26, "`h_bucket`'s `le` label is `soon`, not a number"),
                (
                    27,
                    "expected a metric name at the start of `{__name__=\"x\"} 1`"
                ),
            ]
        );
    }

    #[test]
    fn blanks_tabs_and_crlf_are_read() {
        let body =
            "# TYPE a counter\r\n  a { x = \"1\" , y=\"2\" }\t7\t1000  \r\n\r\n\tb 0.5e1\r\n";
        let batch = parse(body);
        assert!(batch.refused.is_empty(), "{:?}", batch.refused);
        assert_eq!(
            batch.points,
            vec![
                (
                    2,
                    point("a", &[("x", "1"), ("y", "2")], 7.0, millis(1000), Counter)
                ),
                (4, point("b", &[], 5.0, None, Gauge)),
            ]
        );
    }

    #[test]
    fn an_unclosed_label_set_and_an_out_of_range_timestamp() {
        let batch = parse("a{x=\"1\"\nb{x=\"1\",|} 2\nc 1 99999999999999999");
        assert_eq!(
            refusals(&batch),
            vec![
                (1, "`a`'s labels have no closing `}`"),
                (
                    2,
                    "expected a label name or `}` in `b`'s labels, found `|} 2`"
                ),
                (3, "`c`'s timestamp `99999999999999999` is out of range"),
            ]
        );
    }

    #[test]
    fn an_empty_body_is_an_empty_batch() {
        assert_eq!(parse(""), Batch::default());
        assert_eq!(parse("\n# just a comment\n\n"), Batch::default());
    }

    #[test]
    fn samples_past_the_request_limit_are_refused_by_line() {
        let mut body = String::from("# TYPE requests_total counter\n");
        for i in 0..MAX_POINTS_PER_REQUEST + 3 {
            body.push_str(&format!("requests_total{{worker=\"{i}\"}} {i}\n"));
        }
        let batch = parse(&body);
        assert_eq!(batch.points.len(), MAX_POINTS_PER_REQUEST);
        assert_eq!(batch.points.last().map(|(line, _)| *line), Some(5001));
        assert_eq!(
            batch.refused.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![5002, 5003, 5004]
        );
        assert!(
            batch
                .refused
                .iter()
                .all(|r| r.reason == "a request holds at most 5000 points")
        );
    }
}
