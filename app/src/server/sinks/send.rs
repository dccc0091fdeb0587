//! Sending a batch of points to a sink, in its own protocol, through the outbound guard:
//!
//! - InfluxDB 1.x: `POST {url}/write?db=…&precision=ms`, line protocol, basic auth when
//!   the sink has a user name;
//! - InfluxDB 2.x: `POST {url}/api/v2/write?org=…&bucket=…&precision=ms` with
//!   `Authorization: Token …`;
//! - Graphite: the plaintext protocol over TCP, `path value timestamp\n` per point (see
//!   [`graphite_path`]);
//! - webhook: `POST {url}` of `{"sink", "points": [{"tracker", "label", "kind", "key",
//!   "metric", "labels", "t", "value"}]}`, signed like alert webhooks (`Upcount-Signature`).
//!
//! Every point of InfluxDB is measurement `upcount`, tags `key`, `kind`, `label`,
//! `metric`, `tracker` (and a pushed series' labels, `exported_` before a name that
//! clashes) and the field `value`, at the sample's time in milliseconds.

use chrono::{DateTime, Utc};
use influxdb_line_protocol::builder::LineProtocolBuilder;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use url::Url;

use super::{Point, Sink};
use crate::domain::{
    exported_labels::exported_labels,
    sink::{SinkTarget, graphite_path, graphite_word},
};
use crate::server::{
    alerts::deliver::SIGNATURE_HEADER,
    signature,
    tracking::{guard, http::Upstreams},
};

/// The InfluxDB measurement every point is written to.
pub const MEASUREMENT: &str = "upcount";

/// Sends `points` to `sink`; the reason in words when it did not take them (never a
/// secret: no URL query, no credential).
pub async fn send(
    http: &Upstreams,
    sink: &Sink,
    points: &[Point],
    now: DateTime<Utc>,
) -> Result<(), String> {
    match &sink.target {
        SinkTarget::Influxdb {
            url,
            database,
            username,
        } => {
            let mut url = endpoint(url, "write")?;
            url.query_pairs_mut()
                .append_pair("db", database)
                .append_pair("precision", "ms");
            let mut request = http.outbound().post(url);
            if let Some(username) = username {
                request = request.basic_auth(username, sink.secret.as_deref());
            }
            post(
                http,
                request,
                "text/plain; charset=utf-8",
                line_protocol(points),
            )
            .await
        }
        SinkTarget::Influxdb2 { url, org, bucket } => {
            let mut url = endpoint(url, "api/v2/write")?;
            url.query_pairs_mut()
                .append_pair("org", org)
                .append_pair("bucket", bucket)
                .append_pair("precision", "ms");
            let mut request = http.outbound().post(url);
            if let Some(token) = &sink.secret {
                request = request.header(reqwest::header::AUTHORIZATION, format!("Token {token}"));
            }
            post(
                http,
                request,
                "text/plain; charset=utf-8",
                line_protocol(points),
            )
            .await
        }
        SinkTarget::Graphite { address, prefix } => {
            graphite(http, address, &graphite_lines(prefix, points)).await
        }
        SinkTarget::Webhook { url } => {
            let url =
                Url::parse(url).map_err(|error| format!("the sink's URL is not valid: {error}"))?;
            let body = webhook_body(sink, points)?;
            let mut request = http.outbound().post(url);
            if let Some(secret) = &sink.secret {
                request = request.header(
                    SIGNATURE_HEADER,
                    signature::sign(&body, secret, now.timestamp()),
                );
            }
            post(http, request, "application/json", body).await
        }
    }
}

/// `base` with `path` appended to its own path.
fn endpoint(base: &str, path: &str) -> Result<Url, String> {
    let joined = format!("{}/{path}", base.trim_end_matches('/'));
    Url::parse(&joined).map_err(|error| format!("the sink's URL is not valid: {error}"))
}

/// Posts `body` and reads the answer: 2xx is taken; anything else is the status with the
/// start of the answer (InfluxDB says what it refused).
async fn post(
    http: &Upstreams,
    request: reqwest::RequestBuilder,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), String> {
    let request = request
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .build()
        .map_err(|error| format!("could not build the request: {}", error.without_url()))?;
    guard::check_url(http.policy(), request.url())
        .map_err(|reason| format!("{} {reason}", guard::REFUSED))?;
    let response = http.outbound().execute(request).await.map_err(|error| {
        if let Some(refused) = guard::refusal(&error) {
            refused
        } else if error.is_timeout() {
            "the sink did not answer in time".into()
        } else if error.is_connect() {
            "could not connect to the sink".into()
        } else {
            format!("the request failed: {}", error.without_url())
        }
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    let excerpt: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if excerpt.trim().is_empty() {
        Err(format!("the sink answered {status}"))
    } else {
        Err(format!("the sink answered {status}: {}", excerpt.trim()))
    }
}

/// The points in InfluxDB line protocol (one line each, milliseconds).
pub fn line_protocol(points: &[Point]) -> Vec<u8> {
    let mut builder = LineProtocolBuilder::new();
    for point in points {
        // Upcount's tags, then a pushed series' labels (`exported_` before a name that
        // clashes), as the scrape endpoint labels them.
        let mut tags = exported_labels(
            &point.tracker.to_string(),
            &point.label,
            &point.kind,
            &point.key,
            &point.metric,
            &point.labels,
        );
        // In key order (what InfluxDB sorts them to); an empty value is not allowed.
        tags.sort();
        let mut line = builder.measurement(MEASUREMENT);
        for (tag, value) in &tags {
            if !value.is_empty() {
                line = line.tag(tag, value);
            }
        }
        builder = line
            .field("value", point.value)
            .timestamp(point.t.timestamp_millis())
            .close_line();
    }
    builder.build()
}

/// The points in Graphite's plaintext protocol: `path value seconds\n` each, a pushed
/// series' labels as two more levels each (`….signups.plan.pro`).
pub fn graphite_lines(prefix: &str, points: &[Point]) -> Vec<u8> {
    let mut lines = String::new();
    for point in points {
        let mut path = graphite_path(prefix, &point.kind, &point.key, &point.metric);
        for (name, value) in &point.labels {
            path.push('.');
            path.push_str(&graphite_word(name));
            path.push('.');
            path.push_str(&graphite_word(value));
        }
        lines.push_str(&format!("{path} {} {}\n", point.value, point.t.timestamp()));
    }
    lines.into_bytes()
}

/// The webhook's JSON batch.
fn webhook_body(sink: &Sink, points: &[Point]) -> Result<Vec<u8>, String> {
    serde_json::to_vec(&json!({ "sink": sink.id, "points": points }))
        .map_err(|error| format!("could not write the batch: {error}"))
}

/// Writes `lines` to a Graphite server at `address` (`host:port`), connected through the
/// guard; taken once written and the connection closed cleanly (the protocol has no
/// answer).
async fn graphite(http: &Upstreams, address: &str, lines: &[u8]) -> Result<(), String> {
    let (host, port) = address
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("the sink's address `{address}` is not host:port"))?;
    let config = http.config();
    let mut stream = guard::connect_tcp(http.policy(), host, port, config.connect_timeout).await?;
    let written = tokio::time::timeout(config.request_timeout, async {
        stream.write_all(lines).await?;
        stream.flush().await?;
        stream.shutdown().await
    })
    .await;
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("could not write to {address}: {error}")),
        Err(_) => Err(format!("writing to {address} took too long")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TrackerId;

    fn point(label: &str, key: &str, value: f64) -> Point {
        Point {
            backlog_id: 1,
            tracker: TrackerId(uuid::Uuid::nil()),
            label: label.into(),
            kind: "github.repo".into(),
            key: key.into(),
            metric: "stars".into(),
            labels: Default::default(),
            t: DateTime::from_timestamp(1_790_000_000, 250_000_000).expect("a time"),
            value,
        }
    }

    #[test]
    fn line_protocol_escapes_tags_and_uses_milliseconds() {
        let lines = line_protocol(&[
            point("Leptos, the framework", "leptos-rs/leptos", 19_000.0),
            point("x=y", "a b", 0.5),
        ]);
        assert_eq!(
            String::from_utf8(lines).expect("text"),
            "upcount,key=leptos-rs/leptos,kind=github.repo,label=Leptos\\,\\ the\\ framework,metric=stars,tracker=00000000-0000-0000-0000-000000000000 value=19000 1790000000250\n\
             upcount,key=a\\ b,kind=github.repo,label=x\\=y,metric=stars,tracker=00000000-0000-0000-0000-000000000000 value=0.5 1790000000250\n"
        );
    }

    #[test]
    fn graphite_lines_are_path_value_seconds() {
        let lines = graphite_lines("upcount", &[point("L", "leptos-rs/leptos", 19_000.5)]);
        assert_eq!(
            String::from_utf8(lines).expect("text"),
            "upcount.github_repo.leptos-rs_leptos.stars 19000.5 1790000000\n"
        );
    }

    #[test]
    fn a_pushed_series_labels_are_tags_and_path_levels() {
        let mut signups = point("Shop", "shop", 3.0);
        signups.kind = "push".into();
        signups.metric = "signups".into();
        signups.labels = [("plan", "pro plan"), ("kind", "web")]
            .into_iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        assert_eq!(
            String::from_utf8(line_protocol(std::slice::from_ref(&signups))).expect("text"),
            "upcount,exported_kind=web,key=shop,kind=push,label=Shop,metric=signups,plan=pro\\ plan,tracker=00000000-0000-0000-0000-000000000000 value=3 1790000000250\n"
        );
        assert_eq!(
            String::from_utf8(graphite_lines("upcount", &[signups])).expect("text"),
            "upcount.push.shop.signups.kind.web.plan.pro_plan 3 1790000000\n"
        );
    }
}
