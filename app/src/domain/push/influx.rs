//! InfluxDB line protocol, as Telegraf's `outputs.influxdb` and `outputs.http` and the
//! Influx client libraries send it (`POST /api/v1/push/influx` and the v1 `/write` path).
//!
//! Lines are read by `influxdb-line-protocol`, InfluxDB IOx's parser (a port of the Go
//! parser's rules, escapes included). It is pure Rust (nom, smallvec, snafu), so it is an
//! ordinary dependency and this module builds for the browser too, like the rest of the
//! domain. Each line is handed to it alone, so a bad line is refused with its own number
//! and the parser's message while the lines around it are read.
//!
//! What a line becomes:
//! - every field is one point named `<measurement>_<field>` (`cpu value=0.5` is
//!   `cpu_value`), with characters a metric name cannot hold turned into `_` as Telegraf's
//!   Prometheus serializer does (`disk io,… read-bytes=1i` is `disk_io_read_bytes`);
//! - tags become labels, their keys sanitized the same way (`host-name` is `host_name`);
//!   two tags that sanitize to one label, and keys starting with `__` (reserved), refuse
//!   the line;
//! - floats, integers (`12i`), unsigned integers (`12u`) and booleans (`true` is 1,
//!   `false` is 0, as Telegraf's Prometheus serializer counts them) are numbers; a string
//!   field is refused on its own (naming the field), the line's other fields are kept;
//! - the timestamp is read in the request's [`Precision`]; without one the point's time
//!   is the request's (`t: None`). Every point is a gauge.
//!
//! Lines count from 1, as in the body (a string field spanning lines counts them all);
//! blank lines and `#` comments are skipped; a `\r` before a line's end is ignored.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use influxdb_line_protocol::{Error as LineError, FieldValue, ParsedLine};

use super::{Batch, PushKind, PushPoint, is_label_name, is_metric_name};

/// The unit of the line protocol's timestamps: the `precision=` query parameter of
/// InfluxDB 1.x (`n`/`ns`, `u`/`us`, `ms`, `s`, `m`, `h`) and 2.x (`ns`, `us`, `ms`, `s`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    #[default]
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
}

impl Precision {
    /// Reads a `precision=` value. An empty value is the default (nanoseconds), as
    /// InfluxDB takes it.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "" | "n" | "ns" => Ok(Self::Nanoseconds),
            "u" | "us" => Ok(Self::Microseconds),
            "ms" => Ok(Self::Milliseconds),
            "s" => Ok(Self::Seconds),
            "m" => Ok(Self::Minutes),
            "h" => Ok(Self::Hours),
            other => Err(format!(
                "unknown precision `{other}`: use ns, us, ms or s (InfluxDB 1.x's n, u, m and h work too)"
            )),
        }
    }

    /// The canonical name, as in InfluxDB's documentation.
    pub fn key(self) -> &'static str {
        match self {
            Self::Nanoseconds => "ns",
            Self::Microseconds => "us",
            Self::Milliseconds => "ms",
            Self::Seconds => "s",
            Self::Minutes => "m",
            Self::Hours => "h",
        }
    }

    fn nanos(self) -> i128 {
        match self {
            Self::Nanoseconds => 1,
            Self::Microseconds => 1_000,
            Self::Milliseconds => 1_000_000,
            Self::Seconds => 1_000_000_000,
            Self::Minutes => 60_000_000_000,
            Self::Hours => 3_600_000_000_000,
        }
    }

    /// The time of a timestamp in this precision, if chrono can hold it.
    fn time(self, timestamp: i64) -> Option<DateTime<Utc>> {
        let nanos = i128::from(timestamp) * self.nanos();
        let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
        let subsec = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok()?;
        DateTime::from_timestamp(secs, subsec)
    }
}

/// Reads a line protocol body into points, one per numeric field, and the refusals.
pub fn parse(body: &str, precision: Precision) -> Batch {
    let mut batch = Batch::default();
    let mut rest = body;
    let mut line = 1;
    while !rest.is_empty() {
        let physical = rest.split('\n').next().unwrap_or(rest);
        let trimmed = physical.trim_matches([' ', '\t', '\r']);
        // The logical line: one physical line, or several when a string field holds
        // newlines (the protocol's own splitting rules, from the parser).
        let skipped = trimmed.is_empty() || trimmed.starts_with('#');
        let logical = if skipped {
            physical
        } else {
            influxdb_line_protocol::split_lines(rest)
                .next()
                .unwrap_or(physical)
        };
        if !skipped {
            read_line(&mut batch, line, logical, precision);
        }
        line += 1 + logical.matches('\n').count();
        rest = rest.get(logical.len() + 1..).unwrap_or("");
    }
    batch
}

fn read_line(batch: &mut Batch, line: usize, text: &str, precision: Precision) {
    let text = text.trim_end_matches([' ', '\t', '\r']);
    match influxdb_line_protocol::parse_lines(text).next() {
        None => {}
        Some(Err(error)) => batch.refuse(line, describe(&error)),
        Some(Ok(parsed)) => {
            if let Err(reason) = add_points(batch, line, &parsed, precision) {
                batch.refuse(line, reason);
            }
        }
    }
}

/// The parser's message, with its catch-all made readable.
fn describe(error: &LineError) -> String {
    match error {
        LineError::GenericParsingError { .. } => "invalid line protocol: expected \
             `measurement[,tag=value…] field=value[,field=value…] [timestamp]`"
            .to_owned(),
        other => format!("invalid line protocol: {other}"),
    }
}

/// Pushes the line's numeric fields as points, refusing its string and non-finite fields
/// one by one; an error refuses the whole line (its tags or timestamp).
fn add_points(
    batch: &mut Batch,
    line: usize,
    parsed: &ParsedLine<'_>,
    precision: Precision,
) -> Result<(), String> {
    let measurement = parsed.series.measurement.as_str();
    // Each label with the tag key it came from.
    let mut tags: BTreeMap<String, (&str, &str)> = BTreeMap::new();
    for (key, value) in parsed.series.tag_set.iter().flatten() {
        let label = sanitize(key, is_label_name, is_label_char, is_label_char_after)
            .ok_or_else(|| format!("tag key `{key}` has no character a label name can hold"))?;
        if label.starts_with("__") {
            return Err(format!(
                "tag key `{key}`: label names starting with `__` are reserved"
            ));
        }
        if let Some((other, _)) = tags.get(&label) {
            return Err(if *other == key.as_str() {
                format!("tag `{key}` is given twice")
            } else {
                format!("tags `{other}` and `{key}` both become the label `{label}`")
            });
        }
        tags.insert(label, (key.as_str(), value.as_str()));
    }
    let labels: BTreeMap<String, String> = tags
        .into_iter()
        .map(|(label, (_, value))| (label, value.to_owned()))
        .collect();
    let t = match parsed.timestamp {
        None => None,
        Some(timestamp) => Some(precision.time(timestamp).ok_or_else(|| {
            format!(
                "timestamp {timestamp} (in {}) is out of range",
                precision.key()
            )
        })?),
    };
    for (field, value) in &parsed.field_set {
        let value = match value {
            FieldValue::F64(value) if value.is_finite() => *value,
            FieldValue::F64(value) => {
                batch.refuse(
                    line,
                    format!("field `{field}` is {value}, not a finite number"),
                );
                continue;
            }
            // Lossy above 2^53, as every f64 store is.
            FieldValue::I64(value) => *value as f64,
            FieldValue::U64(value) => *value as f64,
            FieldValue::Boolean(value) => f64::from(u8::from(*value)),
            FieldValue::String(_) => {
                batch.refuse(
                    line,
                    format!(
                        "field `{field}` is a string; only numeric and boolean fields are stored"
                    ),
                );
                continue;
            }
        };
        let joined = format!("{measurement}_{field}");
        let Some(metric) = sanitize(
            &joined,
            is_metric_name,
            is_metric_char,
            is_metric_char_after,
        ) else {
            batch.refuse(
                line,
                format!("`{joined}` has no character a metric name can hold"),
            );
            continue;
        };
        batch.push(
            line,
            PushPoint {
                metric,
                labels: labels.clone(),
                value,
                t,
                kind: PushKind::Gauge,
            },
        );
    }
    Ok(())
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_metric_char_after(c: char) -> bool {
    is_metric_char(c) || c.is_ascii_digit()
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_label_char_after(c: char) -> bool {
    is_label_char(c) || c.is_ascii_digit()
}

/// Telegraf's rule for names Prometheus cannot hold: a valid name is kept; otherwise a
/// first character that cannot start one is dropped, every other character that cannot
/// be in one becomes `_`, and `_` are trimmed from both ends. `None` when nothing is left.
fn sanitize(
    name: &str,
    valid: fn(&str) -> bool,
    first: fn(char) -> bool,
    after: fn(char) -> bool,
) -> Option<String> {
    if valid(name) {
        return Some(name.to_owned());
    }
    let mut chars = name.chars();
    let mut out: String = chars.next().filter(|&c| first(c)).into_iter().collect();
    out.extend(chars.map(|c| if after(c) { c } else { '_' }));
    let out = out.trim_matches('_');
    (!out.is_empty()).then(|| out.to_owned())
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

    /// `(line, metric, labels, value)` of every point, in order.
    fn summary(batch: &Batch) -> Vec<(usize, String, BTreeMap<String, String>, f64)> {
        batch
            .points
            .iter()
            .map(|(line, p)| (*line, p.metric.clone(), p.labels.clone(), p.value))
            .collect()
    }

    fn refusals(batch: &Batch) -> Vec<(usize, &str)> {
        batch
            .refused
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect()
    }

    fn at(secs: i64) -> Option<DateTime<Utc>> {
        Utc.timestamp_opt(secs, 0).single()
    }

    #[test]
    fn a_field_is_a_point_named_measurement_underscore_field() {
        let batch = parse("cpu value=0.5", Precision::Nanoseconds);
        assert!(batch.refused.is_empty(), "{:?}", batch.refused);
        assert_eq!(
            batch.points,
            vec![(
                1,
                PushPoint {
                    metric: "cpu_value".into(),
                    labels: BTreeMap::new(),
                    value: 0.5,
                    t: None,
                    kind: PushKind::Gauge,
                }
            )]
        );
    }

    #[test]
    fn a_telegraf_cpu_and_mem_batch() {
        let body = "\
cpu,cpu=cpu-total,host=web-1 usage_idle=97.51,usage_user=1.25,usage_system=0.75,usage_iowait=0 1733230800000000000
cpu,cpu=cpu0,host=web-1 usage_idle=96.2,usage_user=2.4,usage_system=1.4,usage_iowait=0 1733230800000000000
mem,host=web-1 total=8589934592i,used=4294967296i,used_percent=50,available=4294967296i 1733230800000000000
system,host=web-1 load1=0.42,n_cpus=4i,uptime=86400u 1733230810000000000
";
        let batch = parse(body, Precision::default());
        assert!(batch.refused.is_empty(), "{:?}", batch.refused);
        assert_eq!(batch.points.len(), 4 + 4 + 4 + 3);
        let got = summary(&batch);
        let total = labels(&[("cpu", "cpu-total"), ("host", "web-1")]);
        assert_eq!(got[0], (1, "cpu_usage_idle".into(), total.clone(), 97.51));
        assert_eq!(got[3], (1, "cpu_usage_iowait".into(), total, 0.0));
        assert_eq!(
            got[5],
            (
                2,
                "cpu_usage_user".into(),
                labels(&[("cpu", "cpu0"), ("host", "web-1")]),
                2.4
            )
        );
        let host = labels(&[("host", "web-1")]);
        assert_eq!(got[8], (3, "mem_total".into(), host.clone(), 8589934592.0));
        assert_eq!(got[10], (3, "mem_used_percent".into(), host.clone(), 50.0));
        assert_eq!(got[13], (4, "system_n_cpus".into(), host.clone(), 4.0));
        assert_eq!(got[14], (4, "system_uptime".into(), host, 86400.0));
        assert!(
            batch.points[..12]
                .iter()
                .all(|(_, p)| p.t == at(1733230800))
        );
        assert_eq!(batch.points[12].1.t, at(1733230810));
        assert!(batch.points.iter().all(|(_, p)| p.kind == PushKind::Gauge));
    }

    #[test]
    fn escaped_measurements_tags_and_fields_are_read_and_sanitized() {
        let body = concat!(
            r"disk\ io,mount\ point=/var/lib\,data,opts=rw\=1,host-name=db\ 1 read\ bytes=10i,write-bytes=2i",
            "\n",
            r#"nginx.requests,server=a\"b active=3"#,
            "\n",
            "1weird,__x=1 v=1\n",
        );
        let batch = parse(body, Precision::Nanoseconds);
        let expected = labels(&[
            ("host_name", "db 1"),
            ("mount_point", "/var/lib,data"),
            ("opts", "rw=1"),
        ]);
        assert_eq!(
            summary(&batch),
            vec![
                (1, "disk_io_read_bytes".into(), expected.clone(), 10.0),
                (1, "disk_io_write_bytes".into(), expected, 2.0),
                (
                    2,
                    "nginx_requests_active".into(),
                    labels(&[("server", r#"a\"b"#)]),
                    3.0
                ),
            ]
        );
        assert_eq!(
            refusals(&batch),
            vec![(
                3,
                "tag key `__x`: label names starting with `__` are reserved"
            )]
        );
    }

    #[test]
    fn a_name_that_starts_with_a_digit_loses_it_as_in_telegraf() {
        let batch = parse("1weird v=1\n_:x,a.b=c y=2", Precision::Nanoseconds);
        assert_eq!(
            summary(&batch),
            vec![
                (1, "weird_v".into(), BTreeMap::new(), 1.0),
                (2, "_:x_y".into(), labels(&[("a_b", "c")]), 2.0),
            ]
        );
    }

    #[test]
    fn tags_that_sanitize_to_one_label_refuse_the_line() {
        let batch = parse(
            "cpu,a-b=1,a_b=2 value=1\ncpu value=2",
            Precision::Nanoseconds,
        );
        assert_eq!(
            summary(&batch),
            vec![(2, "cpu_value".into(), BTreeMap::new(), 2.0)]
        );
        assert_eq!(
            refusals(&batch),
            vec![(1, "tags `a-b` and `a_b` both become the label `a_b`")]
        );
        let batch = parse("cpu,host=a,host=b value=1", Precision::Nanoseconds);
        assert_eq!(refusals(&batch), vec![(1, "tag `host` is given twice")]);
        let batch = parse("cpu,-=x value=1", Precision::Nanoseconds);
        assert_eq!(
            refusals(&batch),
            vec![(1, "tag key `-` has no character a label name can hold")]
        );
    }

    #[test]
    fn every_precision_reads_the_same_instant() {
        let cases = [
            ("n", "1733230800000000000"),
            ("ns", "1733230800000000000"),
            ("u", "1733230800000000"),
            ("us", "1733230800000000"),
            ("ms", "1733230800000"),
            ("s", "1733230800"),
            ("m", "28887180"),
            ("h", "481453"),
        ];
        for (key, timestamp) in cases {
            let precision = Precision::parse(key).unwrap();
            let batch = parse(&format!("cpu value=1 {timestamp}"), precision);
            assert!(batch.refused.is_empty(), "{key}: {:?}", batch.refused);
            assert_eq!(batch.points[0].1.t, at(1733230800), "{key}");
        }
    }

    #[test]
    fn sub_second_and_pre_epoch_timestamps() {
        let batch = parse(
            "cpu value=1 1733230800123456789\ncpu value=2 -1500",
            Precision::default(),
        );
        assert_eq!(
            batch.points[0].1.t,
            Utc.timestamp_opt(1733230800, 123_456_789).single()
        );
        let batch2 = parse("cpu value=2 -1500", Precision::Milliseconds);
        assert_eq!(
            batch2.points[0].1.t,
            Utc.timestamp_opt(-2, 500_000_000).single()
        );
        assert_eq!(
            batch.points[1].1.t,
            Utc.timestamp_opt(-1, 999_998_500).single()
        );
    }

    #[test]
    fn precisions_are_parsed_by_their_influx_names() {
        assert_eq!(Precision::parse(""), Ok(Precision::Nanoseconds));
        assert_eq!(Precision::default(), Precision::Nanoseconds);
        assert_eq!(Precision::parse("us"), Ok(Precision::Microseconds));
        assert_eq!(Precision::parse("h").map(Precision::key), Ok("h"));
        for bad in ["sec", "NS", "µs", "1s", "d"] {
            let error = Precision::parse(bad).unwrap_err();
            assert_eq!(
                error,
                format!(
                    "unknown precision `{bad}`: use ns, us, ms or s (InfluxDB 1.x's n, u, m and h work too)"
                )
            );
        }
    }

    #[test]
    fn a_timestamp_out_of_range_refuses_its_line() {
        let batch = parse("cpu value=1 9000000000000\ncpu value=2 1", Precision::Hours);
        assert_eq!(
            refusals(&batch),
            vec![(1, "timestamp 9000000000000 (in h) is out of range")]
        );
        assert_eq!(batch.points.len(), 1);
        assert_eq!(batch.points[0].0, 2);
    }

    #[test]
    fn string_fields_are_refused_one_by_one_and_the_others_kept() {
        let body = r#"system,host=web-1 uptime_format="1 day,  2:03",load1=0.5,note="a \"b\"",load5=0.25 1733230800000000000"#;
        let batch = parse(body, Precision::default());
        assert_eq!(
            summary(&batch),
            vec![
                (1, "system_load1".into(), labels(&[("host", "web-1")]), 0.5),
                (1, "system_load5".into(), labels(&[("host", "web-1")]), 0.25),
            ]
        );
        assert_eq!(
            refusals(&batch),
            vec![
                (
                    1,
                    "field `uptime_format` is a string; only numeric and boolean fields are stored"
                ),
                (
                    1,
                    "field `note` is a string; only numeric and boolean fields are stored"
                ),
            ]
        );
    }

    #[test]
    fn booleans_are_one_and_zero_and_integers_keep_their_sign() {
        let batch = parse(
            "up,host=a ok=true,down=F,yes=T,no=false\nx a=-5i,b=18446744073709551615u,c=-1.5e3",
            Precision::default(),
        );
        let values: Vec<f64> = batch.points.iter().map(|(_, p)| p.value).collect();
        assert_eq!(
            values,
            vec![1.0, 0.0, 1.0, 0.0, -5.0, 18446744073709551615.0, -1500.0]
        );
    }

    #[test]
    fn a_float_too_large_for_f64_is_refused() {
        let batch = parse("cpu value=1e400,ok=1", Precision::default());
        assert_eq!(
            refusals(&batch),
            vec![(1, "field `value` is inf, not a finite number")]
        );
        assert_eq!(batch.points.len(), 1);
    }

    #[test]
    fn bad_lines_among_good_ones_are_refused_by_line() {
        let body = "\
# Telegraf's batch, with comments
cpu value=1

  # an indented comment
cpu value=
not_a_line
cpu,host=a value=2 1733230800000000000
cpu,host=a value=3 12abc
cpu,host= value=4
cpu value=5i9
mem used=1
";
        let batch = parse(body, Precision::default());
        assert_eq!(
            summary(&batch)
                .into_iter()
                .map(|(line, metric, _, value)| (line, metric, value))
                .collect::<Vec<_>>(),
            vec![
                (2, "cpu_value".into(), 1.0),
                (7, "cpu_value".into(), 2.0),
                (11, "mem_used".into(), 1.0),
            ]
        );
        assert_eq!(
            refusals(&batch),
            vec![
                (5, "invalid line protocol: No fields were provided"),
                (
                    6,
                    "invalid line protocol: expected \
                     `measurement[,tag=value…] field=value[,field=value…] [timestamp]`"
                ),
                (
                    8,
                    "invalid line protocol: Could not parse entire line. Found trailing content: 'abc'"
                ),
                (9, "invalid line protocol: Tag Set Malformed"),
                (
                    10,
                    "invalid line protocol: Could not parse entire line. Found trailing content: '9'"
                ),
            ]
        );
    }

    #[test]
    fn a_string_spanning_lines_counts_them_and_crlf_is_read() {
        let body = "note,host=a text=\"one\ntwo\nthree\",v=1\r\ncpu value=3\r\n\r\ncpu value=4";
        let batch = parse(body, Precision::default());
        assert_eq!(
            summary(&batch)
                .into_iter()
                .map(|(line, metric, _, value)| (line, metric, value))
                .collect::<Vec<_>>(),
            vec![
                (1, "note_v".into(), 1.0),
                (4, "cpu_value".into(), 3.0),
                (6, "cpu_value".into(), 4.0),
            ]
        );
        assert_eq!(batch.refused.len(), 1);
        assert_eq!(batch.refused[0].line, 1);
    }

    #[test]
    fn a_comment_with_quotes_does_not_swallow_lines() {
        let body = "# host=\"a b, c=\"d\ncpu value=1\ncpu value=2";
        let batch = parse(body, Precision::default());
        assert_eq!(
            batch.points.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert!(batch.refused.is_empty());
    }

    #[test]
    fn an_empty_body_is_an_empty_batch() {
        assert_eq!(parse("", Precision::default()), Batch::default());
        assert_eq!(
            parse("\n\n# nothing\n", Precision::default()),
            Batch::default()
        );
    }

    #[test]
    fn points_past_the_request_limit_are_refused_by_line() {
        // Two fields a line: the last line's two points are over the limit.
        let body: String = (1..=MAX_POINTS_PER_REQUEST / 2 + 1)
            .map(|i| format!("cpu,core={i} user={i},system=1\n"))
            .collect();
        let batch = parse(&body, Precision::default());
        assert_eq!(batch.points.len(), MAX_POINTS_PER_REQUEST);
        let last = MAX_POINTS_PER_REQUEST / 2 + 1;
        assert_eq!(
            refusals(&batch),
            vec![
                (last, "a request holds at most 5000 points"),
                (last, "a request holds at most 5000 points"),
            ]
        );
    }
}
