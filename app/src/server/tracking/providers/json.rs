//! Any number inside a JSON API: an http(s) URL, one or more `name → JMESPath`
//! expressions and optional request headers. A value must be a number, a numeric string
//! or a boolean (1/0); anything else is an error for that metric alone.
//!
//! The source's config (`{"url", "metrics": {name: expression}, "headers": [{name,
//! value}]}`) reaches the provider with secret header values already decrypted.

use std::collections::BTreeMap;

use reqwest::StatusCode;

use super::prelude::*;
use crate::domain::JmesPath;
use crate::server::tracking::http::upstream_message;

pub const MODULE: Module = Module {
    name: "json",
    badge: Badge {
        letters: "{}",
        name: "JSON API",
        colour: "var(--accent)",
    },
    services: &[Service::WEB],
    kinds: || vec![Arc::new(Json)],
    containers: no_containers,
};

pub struct Json;

/// The parsed config of a `json` source.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonConfig {
    pub url: Url,
    pub metrics: BTreeMap<String, String>,
    pub headers: Vec<Header>,
}

/// A request header of a `json` source.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub name: String,
    pub value: String,
    /// Stored encrypted; sent only to the URL's own origin.
    pub secret: bool,
}

impl JsonConfig {
    pub fn from_source(source: &SourceRef) -> Result<Self, FetchError> {
        let config = &source.config;
        let url = config["url"]
            .as_str()
            .and_then(|url| Url::parse(url).ok())
            .ok_or_else(|| FetchError::Invalid("the source has no valid URL".into()))?;
        let metrics = config["metrics"]
            .as_object()
            .map(|metrics| {
                metrics
                    .iter()
                    .filter_map(|(name, expression)| {
                        Some((name.clone(), expression.as_str()?.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let headers = config["headers"]
            .as_array()
            .map(|headers| {
                headers
                    .iter()
                    .filter_map(|header| {
                        Some(Header {
                            name: header["name"].as_str()?.to_string(),
                            value: header["value"].as_str()?.to_string(),
                            secret: header.get("secret").is_some_and(|secret| {
                                secret.as_bool() != Some(false) && !secret.is_null()
                            }),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            url,
            metrics,
            headers,
        })
    }
}

/// The address of a JSON API as the public may see it: scheme, host, port and path, never
/// the query string or user-info (where API keys and passwords travel).
pub fn public_address(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut url) => {
            url.set_query(None);
            url.set_fragment(None);
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => String::new(),
    }
}

/// Request headers a source may not set: they belong to the HTTP connection itself
/// (framing, routing, upgrades, proxies), and setting them smuggles or misroutes requests.
const FORBIDDEN_HEADERS: [&str; 8] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "trailer",
    "expect",
];

/// Checks the name of a request header a user gives a `json` source.
pub fn check_header_name(name: &str) -> Result<(), String> {
    let lower = name.to_ascii_lowercase();
    if FORBIDDEN_HEADERS.contains(&lower.as_str())
        || lower.starts_with("proxy-")
        || lower == "keep-alive"
    {
        return Err(format!(
            "the header `{name}` cannot be set: it belongs to the connection, not the request \
             (refused: Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive, TE, \
             Upgrade, Trailer, Expect and Proxy-*)"
        ));
    }
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| format!("`{name}` is not a valid header name"))
}

/// Checks a metric name: lowercase letters, digits and `_`, 1 to 40 characters.
pub fn check_metric_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "metric name `{name}` must start with a letter and use only a-z, 0-9 and _ (at most 40)"
        ))
    }
}

/// Checks a JMESPath expression: valid, and within every limit of [`JmesPath`].
pub fn check_expression(name: &str, expression: &str) -> Result<(), String> {
    JmesPath::parse(expression).map(|_| ()).map_err(|error| {
        format!(
            "metric `{name}`: `{}` {error}",
            crate::domain::jmes_path::shown(expression)
        )
    })
}

/// Fetches the document: any JSON, kept as a `serde_json::Value` (no typed struct can
/// fit it: the user's JMESPath expressions say what to read).
pub async fn fetch_document(
    http: &Upstreams,
    config: &JsonConfig,
) -> Result<serde_json::Value, FetchError> {
    let mut request =
        UpstreamRequest::get(Service::WEB, config.url.clone()).header("Accept", "application/json");
    for header in &config.headers {
        request = if header.secret {
            request.secret_header(&header.name, header.value.clone())
        } else {
            request.header(&header.name, header.value.clone())
        };
    }
    let request_has_secrets = request.secret_headers;
    let response = http.send(&request).await?;
    let host = config.url.host_str().unwrap_or("the URL");
    match response.status {
        status if status.is_success() => {}
        status if status.is_redirection() && request_has_secrets => {
            let to = response
                .headers
                .get(reqwest::header::LOCATION)
                .and_then(|location| location.to_str().ok())
                .and_then(|location| config.url.join(location).ok())
                .map(|to| public_address(to.as_str()))
                .unwrap_or_else(|| "another address".into());
            return Err(FetchError::Invalid(format!(
                "{host} redirected (HTTP {}) to {to}, another origin: the source's secret \
                 headers are sent to {host} only, so the redirect was not followed",
                status.as_u16()
            )));
        }
        StatusCode::NOT_FOUND | StatusCode::GONE => {
            return Err(FetchError::Gone(format!(
                "{host} answered HTTP {}: nothing is at this URL",
                response.status.as_u16()
            )));
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(FetchError::Invalid(format!(
                "{host} refused the request (HTTP {}): {}; does it need a header?",
                response.status.as_u16(),
                upstream_message(&response.body)
            )));
        }
        status => {
            return Err(FetchError::Unavailable(format!(
                "{host} answered HTTP {}",
                status.as_u16()
            )));
        }
    }
    serde_json::from_slice(&response.body).map_err(|error| {
        FetchError::parse(
            format!("{host} did not answer with JSON ({error})"),
            &response.body,
        )
    })
}

/// Evaluates every expression against `document`.
pub fn evaluate(metrics: &BTreeMap<String, String>, document: &serde_json::Value) -> Readings {
    let mut readings = Readings::default();
    for (name, expression) in metrics {
        match evaluate_one(expression, document) {
            Ok(value) => readings.push(name, value),
            Err(reason) => readings.errors.push((name.clone(), reason)),
        }
    }
    readings
}

pub use crate::domain::json_pick::number_at as evaluate_one;

#[async_trait]
impl Provider for Json {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "json",
            label: "JSON API",
            service: Service::WEB,
            // Never asked for by link alone (see `recognise`).
            examples: &[],
            // The source's own expressions (see `metrics`).
            metrics: &[],
            batch_size: 1,
        }
    }

    /// Never by URL alone: a `json` source is asked for with its expressions.
    fn recognise(&self, _url: &Url) -> Option<String> {
        None
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let url =
            Url::parse(key.trim()).map_err(|error| format!("`{key}` is not a URL ({error})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "only http and https URLs can be tracked, not {}:",
                url.scheme()
            ));
        }
        Ok(url.to_string())
    }

    fn metrics(&self, source: &SourceRef) -> Vec<MetricSpec> {
        source.config["metrics"]
            .as_object()
            .map(|metrics| {
                metrics
                    .keys()
                    .map(|name| MetricSpec::new(name, MetricKind::Gauge, ""))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let config = JsonConfig::from_source(source)?;
        let document = fetch_document(http, &config).await?;
        let readings = evaluate(&config.metrics, &document);
        if readings.values.is_empty() {
            let reasons: Vec<String> = readings
                .errors
                .iter()
                .map(|(name, reason)| format!("{name}: {reason}"))
                .collect();
            return Err(FetchError::Invalid(format!(
                "no metric could be read from the JSON: {}",
                reasons.join("; ")
            )));
        }
        let host = config.url.host_str().unwrap_or_default();
        let path = config.url.path().trim_end_matches('/');
        Ok(Metadata {
            key: source.key.clone(),
            title: format!("{host}{path}"),
            url: config.url.to_string(),
            author: None,
            published_at: None,
            tags: vec![host.to_string()],
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let config = JsonConfig::from_source(source)?;
        let document = fetch_document(http, &config).await?;
        Ok(evaluate(&config.metrics, &document))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tracking::testing::assert_refused;

    #[test]
    fn the_public_address_has_no_query_or_user_info() {
        assert_eq!(
            public_address("https://user:hunter2@api.example.com:8443/v1/stats?key=s3cret#x"),
            "https://api.example.com:8443/v1/stats"
        );
        assert_eq!(public_address("not a url"), "");
    }

    #[test]
    fn connection_headers_are_refused() {
        assert_refused(
            check_header_name,
            &[
                "Host",
                "content-length",
                "Transfer-Encoding",
                "Connection",
                "TE",
                "Upgrade",
                "Trailer",
                "Expect",
                "Proxy-Authorization",
                "proxy-connection",
            ],
            "cannot be set",
        );
        assert!(check_header_name("X-Api-Key").is_ok());
        assert!(check_header_name("Authorization").is_ok());
        assert!(check_header_name("bad header").is_err());
    }

    #[test]
    fn metric_names() {
        assert!(check_metric_name("stars_total").is_ok());
        assert!(check_metric_name("Stars").is_err());
        assert!(check_metric_name("1x").is_err());
        assert!(check_metric_name("").is_err());
    }
}
