//! Where a workspace's new samples are forwarded: an InfluxDB (v1 `/write` with a
//! database, or v2 `/api/v2/write` with an org, a bucket and a token), a Graphite server
//! (the plaintext protocol over TCP) or a webhook (a signed JSON batch). The JSON (and
//! form) body is read into [`SinkFields`] and checked by `SinkSpec::parse`, which names
//! the field at fault; the stored target (`sinks.config`) is a [`SinkTarget`] without its
//! secret, which is kept apart, encrypted.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use url::Url;

use super::TrackerId;

/// The kind of a sink, its key in JSON and the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum SinkKind {
    Influxdb,
    Influxdb2,
    Graphite,
    Webhook,
}

impl SinkKind {
    pub const ALL: [SinkKind; 4] = [
        SinkKind::Influxdb,
        SinkKind::Influxdb2,
        SinkKind::Graphite,
        SinkKind::Webhook,
    ];

    /// `influxdb`, `influxdb2`, `graphite`, `webhook`.
    pub fn key(self) -> &'static str {
        match self {
            SinkKind::Influxdb => "influxdb",
            SinkKind::Influxdb2 => "influxdb2",
            SinkKind::Graphite => "graphite",
            SinkKind::Webhook => "webhook",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            SinkKind::Influxdb => "InfluxDB 1.x",
            SinkKind::Influxdb2 => "InfluxDB 2.x",
            SinkKind::Graphite => "Graphite",
            SinkKind::Webhook => "Webhook",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.key() == text.trim())
            .ok_or_else(|| {
                format!(
                    "`{}` is not a sink kind; use one of influxdb, influxdb2, graphite, webhook",
                    text.trim()
                )
            })
    }

    /// The fields a sink of this kind takes besides `kind` and `trackers`: (name,
    /// required).
    pub fn fields(self) -> &'static [(&'static str, bool)] {
        match self {
            SinkKind::Influxdb => &[
                ("url", true),
                ("database", true),
                ("username", false),
                ("password", false),
            ],
            SinkKind::Influxdb2 => &[
                ("url", true),
                ("org", true),
                ("bucket", true),
                ("token", true),
            ],
            SinkKind::Graphite => &[("address", true), ("prefix", false)],
            SinkKind::Webhook => &[("url", true)],
        }
    }
}

/// A sink's health: `failing` once several sends in a row failed (its backlog is kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum SinkState {
    Ok,
    Failing,
}

impl SinkState {
    pub fn key(self) -> &'static str {
        match self {
            SinkState::Ok => "ok",
            SinkState::Failing => "failing",
        }
    }
}

/// A new sink as the API (`POST /api/v1/sinks`) and the Alerts page's form send it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkFields {
    pub kind: String,
    pub url: Option<String>,
    pub database: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub org: Option<String>,
    pub bucket: Option<String>,
    pub token: Option<String>,
    pub address: Option<String>,
    pub prefix: Option<String>,
    /// The trackers forwarded; left out, every tracker of the workspace.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Vec<uuid::Uuid>>))]
    pub trackers: Option<Vec<TrackerId>>,
}

impl SinkFields {
    /// Each optional field by name, trimmed, empty ones as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        let value = match name {
            "url" => &self.url,
            "database" => &self.database,
            "username" => &self.username,
            "password" => &self.password,
            "org" => &self.org,
            "bucket" => &self.bucket,
            "token" => &self.token,
            "address" => &self.address,
            "prefix" => &self.prefix,
            _ => &None,
        };
        // Secrets are taken as given (a password may start with a space); others trimmed.
        let value = value.as_deref()?;
        let value = if matches!(name, "password" | "token") {
            value
        } else {
            value.trim()
        };
        (!value.is_empty()).then_some(value)
    }
}

/// The most trackers one sink can name.
pub const MAX_SINK_TRACKERS: usize = 1_000;
/// The prefix of Graphite paths when none is given.
pub const DEFAULT_GRAPHITE_PREFIX: &str = "upcount";

/// Where a sink sends, without its secret: what `sinks.config` holds.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SinkTarget {
    Influxdb {
        /// An http(s) URL, checked when the sink was made.
        url: String,
        database: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
    },
    Influxdb2 {
        /// An http(s) URL, checked when the sink was made.
        url: String,
        org: String,
        bucket: String,
    },
    Graphite {
        /// `host:port`.
        address: String,
        prefix: String,
    },
    Webhook {
        /// An http(s) URL, checked when the sink was made.
        url: String,
    },
}

#[cfg(feature = "ssr")]
impl SinkTarget {
    pub fn kind(&self) -> SinkKind {
        match self {
            SinkTarget::Influxdb { .. } => SinkKind::Influxdb,
            SinkTarget::Influxdb2 { .. } => SinkKind::Influxdb2,
            SinkTarget::Graphite { .. } => SinkKind::Graphite,
            SinkTarget::Webhook { .. } => SinkKind::Webhook,
        }
    }

    /// In a few words, for the page: "http://influx:8086, database upcount".
    pub fn describe(&self) -> String {
        match self {
            SinkTarget::Influxdb { url, database, .. } => {
                format!("{}, database {database}", shown_url(url))
            }
            SinkTarget::Influxdb2 { url, org, bucket } => {
                format!("{}, org {org}, bucket {bucket}", shown_url(url))
            }
            SinkTarget::Graphite { address, prefix } => format!("{address}, prefix {prefix}"),
            SinkTarget::Webhook { url } => shown_url(url),
        }
    }
}

/// A URL as shown back: scheme, host, port and path, never a query.
#[cfg(feature = "ssr")]
fn shown_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut shown) => {
            shown.set_query(None);
            shown.set_fragment(None);
            shown.to_string()
        }
        Err(_) => url.split('?').next().unwrap_or_default().to_string(),
    }
}

/// A checked new sink: its target, its secret (the InfluxDB password or token; a webhook's
/// signing secret is made by the server) and its trackers.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkSpec {
    pub target: SinkTarget,
    pub secret: Option<String>,
    pub trackers: Option<Vec<TrackerId>>,
}

#[cfg(feature = "ssr")]
impl SinkSpec {
    /// Checks `fields`: the kind, the fields it needs (and no others), each field's form.
    /// The error names the field.
    pub fn parse(fields: &SinkFields) -> Result<SinkSpec, String> {
        let kind = SinkKind::parse(&fields.kind)?;
        let allowed = kind.fields();
        for name in [
            "url", "database", "username", "password", "org", "bucket", "token", "address",
            "prefix",
        ] {
            let known = allowed.iter().find(|(field, _)| *field == name);
            match (known, fields.get(name)) {
                (None, Some(_)) => {
                    return Err(format!("a {} sink takes no `{name}`", kind.key()));
                }
                (Some((_, true)), None) => {
                    return Err(format!("a {} sink needs `{name}`", kind.key()));
                }
                _ => {}
            }
        }
        let text = |name: &str| fields.get(name).map(str::to_string).unwrap_or_default();
        let name = |field: &str| -> Result<String, String> {
            let value = text(field);
            if value.chars().count() > 255 {
                return Err(format!("`{field}` is longer than 255 characters"));
            }
            if value.chars().any(char::is_control) {
                return Err(format!("`{field}` must not hold control characters"));
            }
            Ok(value)
        };
        let secret = |field: &str| -> Result<Option<String>, String> {
            match fields.get(field) {
                None => Ok(None),
                Some(value) if value.len() > 1_024 => {
                    Err(format!("`{field}` is longer than 1,024 characters"))
                }
                Some(value) if value.chars().any(char::is_control) => {
                    Err(format!("`{field}` must not hold control characters"))
                }
                Some(value) => Ok(Some(value.to_string())),
            }
        };
        let (target, secret) = match kind {
            SinkKind::Influxdb => {
                let username = fields
                    .get("username")
                    .map(|_| name("username"))
                    .transpose()?;
                let password = secret("password")?;
                if password.is_some() && username.is_none() {
                    return Err("a `password` needs a `username`".into());
                }
                (
                    SinkTarget::Influxdb {
                        url: http_url(&text("url"))?.to_string(),
                        database: name("database")?,
                        username,
                    },
                    password,
                )
            }
            SinkKind::Influxdb2 => (
                SinkTarget::Influxdb2 {
                    url: http_url(&text("url"))?.to_string(),
                    org: name("org")?,
                    bucket: name("bucket")?,
                },
                secret("token")?,
            ),
            SinkKind::Graphite => (
                SinkTarget::Graphite {
                    address: host_port(&text("address"))?,
                    prefix: graphite_prefix(fields.get("prefix"))?,
                },
                None,
            ),
            SinkKind::Webhook => (
                SinkTarget::Webhook {
                    url: http_url(&text("url"))?.to_string(),
                },
                None,
            ),
        };
        let trackers = match &fields.trackers {
            None => None,
            Some(list) if list.is_empty() => {
                return Err(
                    "`trackers` is empty: leave it out to forward every tracker of the workspace"
                        .into(),
                );
            }
            Some(list) if list.len() > MAX_SINK_TRACKERS => {
                return Err(format!(
                    "`trackers` names more than {MAX_SINK_TRACKERS} trackers"
                ));
            }
            Some(list) => {
                let mut ids = list.clone();
                ids.sort();
                ids.dedup();
                Some(ids)
            }
        };
        Ok(SinkSpec {
            target,
            secret,
            trackers,
        })
    }
}

/// An http(s) URL with a host and no user name or password in it.
#[cfg(feature = "ssr")]
fn http_url(text: &str) -> Result<Url, String> {
    if text.len() > 2048 {
        return Err("the `url` is longer than 2,048 characters".into());
    }
    let url = Url::parse(text).map_err(|error| format!("`url` is not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`url` must be http or https, not {}:",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("`url` has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "`url` must not carry a user name or password (use `username` and `password`)".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("`url` must not have a query or a fragment".into());
    }
    Ok(url)
}

/// `host:port` (an IPv6 address in brackets), the port from 1 to 65535.
#[cfg(feature = "ssr")]
fn host_port(text: &str) -> Result<String, String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or("`address` must be host:port (for example graphite.example.com:2003)")?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| format!("`address` has no valid port: `{port}`"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let valid = if host.starts_with('[') {
        bare.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        url::Host::parse(host).is_ok() && !host.is_empty()
    };
    if !valid || host.len() > 253 {
        return Err(format!("`address` has no valid host: `{host}`"));
    }
    Ok(format!("{host}:{port}"))
}

/// A Graphite path prefix: dot-separated words of letters, digits, `_` and `-`.
#[cfg(feature = "ssr")]
fn graphite_prefix(text: Option<&str>) -> Result<String, String> {
    let Some(prefix) = text else {
        return Ok(DEFAULT_GRAPHITE_PREFIX.to_string());
    };
    let prefix = prefix.trim_matches('.');
    let valid = prefix.len() <= 200
        && prefix.split('.').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    if valid {
        Ok(prefix.to_string())
    } else {
        Err(
            "`prefix` must be words of letters, digits, `_` and `-` joined by dots (at most 200 characters)"
                .into(),
        )
    }
}

/// One word of a Graphite path: every character but letters, digits, `_` and `-` becomes
/// `_` (a dot would start a new level, a space would end the path).
pub fn graphite_word(text: &str) -> String {
    let word: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if word.is_empty() { "_".into() } else { word }
}

/// The Graphite path of a sample: `<prefix>.<kind>.<key>.<metric>`, each of the last
/// three made one word by [`graphite_word`] (`upcount.github_repo.leptos-rs_leptos.stars`).
pub fn graphite_path(prefix: &str, kind: &str, key: &str, metric: &str) -> String {
    format!(
        "{prefix}.{}.{}.{}",
        graphite_word(kind),
        graphite_word(key),
        graphite_word(metric)
    )
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn fields(json: serde_json::Value) -> SinkFields {
        serde_json::from_value(json).expect("fields")
    }

    fn parse(json: serde_json::Value) -> Result<SinkSpec, String> {
        SinkSpec::parse(&fields(json))
    }

    #[test]
    fn each_kind_reads_its_fields() {
        let influx = parse(
            serde_json::json!({"kind": "influxdb", "url": "http://influx:8086",
            "database": "upcount", "username": "u", "password": " p w "}),
        )
        .expect("influxdb");
        assert_eq!(influx.secret.as_deref(), Some(" p w "));
        assert_eq!(
            influx.target.describe(),
            "http://influx:8086/, database upcount"
        );
        let v2 = parse(
            serde_json::json!({"kind": "influxdb2", "url": "https://eu.influx.example",
            "org": "acme", "bucket": "up", "token": "t0k"}),
        )
        .expect("influxdb2");
        assert_eq!(v2.target.kind(), SinkKind::Influxdb2);
        assert_eq!(v2.secret.as_deref(), Some("t0k"));
        let graphite = parse(serde_json::json!({"kind": "graphite", "address": "carbon:2003"}))
            .expect("graphite");
        assert_eq!(
            graphite.target,
            SinkTarget::Graphite {
                address: "carbon:2003".into(),
                prefix: "upcount".into()
            }
        );
        let v6 = parse(
            serde_json::json!({"kind": "graphite", "address": "[::1]:2003", "prefix": "a.b-c"}),
        )
        .expect("graphite v6");
        assert_eq!(v6.target.describe(), "[::1]:2003, prefix a.b-c");
        let webhook = parse(serde_json::json!({"kind": "webhook", "url": "https://hooks.example/x",
            "trackers": ["6f1c7a52-4e6f-4b43-a2a3-01c1f6d1a2b3", "6f1c7a52-4e6f-4b43-a2a3-01c1f6d1a2b3"]}))
        .expect("webhook");
        assert_eq!(webhook.trackers.map(|ids| ids.len()), Some(1));
    }

    #[test]
    fn mistakes_name_their_field() {
        for (json, expected) in [
            (
                serde_json::json!({"kind": "kafka"}),
                "`kafka` is not a sink kind",
            ),
            (
                serde_json::json!({"kind": "influxdb", "url": "http://x:8086"}),
                "needs `database`",
            ),
            (
                serde_json::json!({"kind": "influxdb2", "url": "http://x", "org": "o", "bucket": "b"}),
                "needs `token`",
            ),
            (
                serde_json::json!({"kind": "graphite", "address": "x:2003", "url": "http://x"}),
                "takes no `url`",
            ),
            (
                serde_json::json!({"kind": "graphite", "address": "x"}),
                "`address` must be host:port",
            ),
            (
                serde_json::json!({"kind": "graphite", "address": "x:99999"}),
                "no valid port",
            ),
            (
                serde_json::json!({"kind": "graphite", "address": "x:2003", "prefix": "a b"}),
                "`prefix` must be",
            ),
            (
                serde_json::json!({"kind": "webhook", "url": "ftp://x"}),
                "http or https",
            ),
            (
                serde_json::json!({"kind": "webhook", "url": "https://u:p@x"}),
                "user name or password",
            ),
            (
                serde_json::json!({"kind": "influxdb", "url": "http://x", "database": "d", "password": "p"}),
                "needs a `username`",
            ),
            (
                serde_json::json!({"kind": "webhook", "url": "https://x", "trackers": []}),
                "`trackers` is empty",
            ),
        ] {
            let error = parse(json.clone()).expect_err("refused");
            assert!(error.contains(expected), "{json}: {error}");
        }
        assert!(
            serde_json::from_value::<SinkFields>(
                serde_json::json!({"kind": "webhook", "colour": 1})
            )
            .is_err()
        );
    }

    #[test]
    fn graphite_paths_are_one_word_per_level() {
        assert_eq!(
            graphite_path("upcount", "github.repo", "leptos-rs/leptos", "stars"),
            "upcount.github_repo.leptos-rs_leptos.stars"
        );
        assert_eq!(
            graphite_path("p", "json", "https://api.example/x y", "a.b"),
            "p.json.https___api_example_x_y.a_b"
        );
        assert_eq!(graphite_word(""), "_");
    }
}
