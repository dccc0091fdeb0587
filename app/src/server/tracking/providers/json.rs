//! Any number inside a JSON API: an http(s) URL, one or more `name → JMESPath`
//! expressions and optional request headers. A value must be a number, a numeric string
//! or a boolean (1/0); anything else is an error for that metric alone.
//!
//! The source's config (`{"url", "metrics": {name: expression}, "headers": [{name,
//! value}]}`) reaches the provider with secret header values already decrypted.

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::StatusCode;
use url::Url;

use super::{BatchOutcome, Provider};
use crate::server::tracking::{
    FetchError, Metadata, MetricKind, MetricSpec, Readings, SourceRef,
    config::Service,
    http::{UpstreamRequest, Upstreams, upstream_message},
};

pub struct Json;

/// At most this many metrics per source.
pub const MAX_METRICS: usize = 20;

/// The parsed config of a `json` source.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonConfig {
    pub url: Url,
    pub metrics: BTreeMap<String, String>,
    pub headers: Vec<(String, String)>,
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
                        Some((
                            header["name"].as_str()?.to_string(),
                            header["value"].as_str()?.to_string(),
                        ))
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

/// Checks a JMESPath expression.
pub fn check_expression(name: &str, expression: &str) -> Result<(), String> {
    jmespath::compile(expression)
        .map(|_| ())
        .map_err(|error| format!("metric `{name}`: `{expression}` is not valid JMESPath ({error})"))
}

/// Fetches the document: any JSON.
pub async fn fetch_document(
    http: &Upstreams,
    config: &JsonConfig,
) -> Result<serde_json::Value, FetchError> {
    let mut request =
        UpstreamRequest::get(Service::Web, config.url.clone()).header("Accept", "application/json");
    for (name, value) in &config.headers {
        request = request.header(name, value.clone());
    }
    let response = http.send(&request).await?;
    let host = config.url.host_str().unwrap_or("the URL");
    match response.status {
        status if status.is_success() => {}
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
    fn kind(&self) -> &'static str {
        "json"
    }

    fn label(&self) -> &'static str {
        "JSON API"
    }

    fn service(&self) -> Service {
        Service::Web
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

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let mut outcomes = Vec::with_capacity(sources.len());
        for source in sources {
            let outcome = match JsonConfig::from_source(source) {
                Ok(config) => fetch_document(http, &config)
                    .await
                    .map(|document| evaluate(&config.metrics, &document)),
                Err(error) => Err(error),
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names() {
        assert!(check_metric_name("stars_total").is_ok());
        assert!(check_metric_name("Stars").is_err());
        assert!(check_metric_name("1x").is_err());
        assert!(check_metric_name("").is_err());
    }
}
