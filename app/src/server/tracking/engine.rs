//! [`Engine`]: the providers, the HTTP machinery and the settings in one shared value,
//! and the steps every caller shares: turning what a user asked for into a source, and
//! fetching.

use std::{collections::BTreeMap, sync::Arc};

use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use crate::domain::ProviderKind;

use super::{
    FetchError, Metadata, SourceRef,
    config::TrackingConfig,
    http::Upstreams,
    providers::{
        self, BatchOutcome, Container, ContainerInfo, ContainerItem, ContainerRef, Provider,
        json as json_provider,
    },
    secrets,
};

/// The tracking engine, shared by the web process and the workers.
pub struct Engine {
    http: Upstreams,
    providers: Vec<Arc<dyn Provider>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// What a user asks to track: a URL, or a kind and key; for `json`, expressions and
/// headers too.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct TrackRequest {
    pub url: Option<String>,
    /// A provider kind such as `github.repo`, with `key`.
    #[schema(value_type = Option<String>)]
    pub kind: Option<ProviderKind>,
    pub key: Option<String>,
    pub metrics: Option<BTreeMap<String, String>>,
    pub headers: Option<Vec<HeaderInput>>,
}

/// A request header of a `json` source. Secret values are encrypted at rest and never
/// shown again.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct HeaderInput {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub secret: bool,
}

/// Why a request cannot be tracked. Every variant is the user's to fix or to know about;
/// the message says which.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrackError {
    #[error("{0}")]
    Unrecognised(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotConfigured(String),
    #[error("{0}")]
    Fetch(FetchError),
}

impl TrackError {
    /// A short machine-readable name for the API.
    pub fn code(&self) -> &'static str {
        match self {
            TrackError::Unrecognised(_) => "unrecognised_url",
            TrackError::Invalid(_) => "invalid",
            TrackError::NotConfigured(_) => "not_configured",
            TrackError::Fetch(error) => error.code(),
        }
    }
}

/// A request resolved to a provider and a key, before anything is fetched.
pub struct Resolved {
    pub provider: Arc<dyn Provider>,
    /// What the provider fetches with (secrets in the clear).
    pub source: SourceRef,
    /// What is stored (secrets encrypted).
    pub stored_config: serde_json::Value,
}

impl Engine {
    pub fn new(config: TrackingConfig) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: Upstreams::new(Arc::new(config))?,
            providers: providers::all(),
        })
    }

    pub fn config(&self) -> &TrackingConfig {
        self.http.config()
    }

    pub fn http(&self) -> &Upstreams {
        &self.http
    }

    pub fn providers(&self) -> &[Arc<dyn Provider>] {
        &self.providers
    }

    pub fn provider(&self, kind: &ProviderKind) -> Option<Arc<dyn Provider>> {
        self.providers
            .iter()
            .find(|provider| *kind == provider.kind())
            .cloned()
    }

    /// The provider and key a URL points at.
    pub fn recognise(&self, url: &str) -> Result<(Arc<dyn Provider>, String), TrackError> {
        let parsed = parse_url(url)?;
        self.providers
            .iter()
            .find_map(|provider| Some((provider.clone(), provider.recognise(&parsed)?)))
            .ok_or_else(|| {
                TrackError::Unrecognised(format!(
                    "Upcount does not recognise {url}. It knows {} links; for any other JSON \
                     API, give the numbers to read as `metrics` (name → JMESPath).",
                    providers::recognised_names()
                ))
            })
    }

    /// Works out provider and key, checks credentials and (for `json`) the expressions and
    /// headers. Nothing is fetched yet.
    pub fn resolve(&self, request: &TrackRequest) -> Result<Resolved, TrackError> {
        if request.metrics.is_some() || request.kind.as_ref().is_some_and(|kind| *kind == "json") {
            return self.resolve_json(request);
        }
        if request.headers.is_some() {
            return Err(TrackError::Invalid(
                "headers can only be given for a JSON API source (with `metrics`)".into(),
            ));
        }
        let (provider, key) = match (&request.url, &request.kind, &request.key) {
            (Some(url), None, None) => self.recognise(url)?,
            (None, Some(kind), Some(key)) => {
                let provider = self.provider(kind).ok_or_else(|| {
                    let kinds: Vec<&str> = self
                        .providers
                        .iter()
                        .map(|provider| provider.kind())
                        .collect();
                    TrackError::Invalid(format!(
                        "unknown kind `{kind}`; known kinds: {}",
                        kinds.join(", ")
                    ))
                })?;
                let key = provider.parse_key(key).map_err(TrackError::Invalid)?;
                (provider, key)
            }
            _ => {
                return Err(TrackError::Invalid(
                    "give either a `url`, or a `kind` and a `key`".into(),
                ));
            }
        };
        if let Some(reason) = provider.missing_credentials(self.config()) {
            return Err(TrackError::NotConfigured(reason));
        }
        Ok(Resolved {
            provider,
            source: SourceRef::new(key),
            stored_config: json!({}),
        })
    }

    fn resolve_json(&self, request: &TrackRequest) -> Result<Resolved, TrackError> {
        let provider = self
            .provider(&ProviderKind::json())
            .ok_or_else(|| TrackError::Invalid("the json provider is not available".into()))?;
        let url_text = request
            .url
            .as_deref()
            .or(request.key.as_deref())
            .ok_or_else(|| TrackError::Invalid("a JSON API source needs a `url`".into()))?;
        let url = parse_url(url_text)?;
        super::guard::check_url(self.http.policy(), &url).map_err(|reason| {
            TrackError::Fetch(FetchError::Refused(format!(
                "{} {reason}",
                super::guard::REFUSED
            )))
        })?;
        let metrics = request.metrics.clone().unwrap_or_default();
        if metrics.is_empty() {
            return Err(TrackError::Invalid(
                "a JSON API source needs at least one metric: `metrics`: {\"name\": \"JMESPath expression\"}".into(),
            ));
        }
        crate::domain::json_pick::check_limits(&metrics).map_err(TrackError::Invalid)?;
        for (name, expression) in &metrics {
            json_provider::check_metric_name(name).map_err(TrackError::Invalid)?;
            json_provider::check_expression(name, expression).map_err(TrackError::Invalid)?;
        }
        let mut plain_headers = Vec::new();
        let mut stored_headers = Vec::new();
        let mut has_secret = false;
        for header in request.headers.iter().flatten() {
            let name = header.name.trim();
            json_provider::check_header_name(name).map_err(TrackError::Invalid)?;
            reqwest::header::HeaderValue::from_str(&header.value).map_err(|_| {
                TrackError::Invalid(format!("the value of header `{name}` is not valid"))
            })?;
            plain_headers.push(if header.secret {
                json!({ "name": name, "value": header.value, "secret": true })
            } else {
                json!({ "name": name, "value": header.value })
            });
            if header.secret {
                has_secret = true;
                let encrypted = secrets::encrypt(self.config().secret_key.as_ref(), &header.value)
                    .map_err(|error| TrackError::NotConfigured(error.to_string()))?;
                stored_headers.push(json!({ "name": name, "secret": encrypted }));
            } else {
                stored_headers.push(json!({ "name": name, "value": header.value }));
            }
        }
        // The key tells sources apart: the URL plus a digest of what is read and sent. A
        // source with secret headers is never shared, so it gets a random suffix instead.
        let suffix = if has_secret {
            hex::encode(rand::random::<[u8; 8]>())
        } else {
            let canonical = json!({ "metrics": metrics, "headers": plain_headers }).to_string();
            hex::encode(&Sha256::digest(canonical.as_bytes())[..8])
        };
        let key = format!("{url}#{suffix}");
        Ok(Resolved {
            provider,
            source: SourceRef {
                key,
                config: json!({ "url": url.as_str(), "metrics": metrics, "headers": plain_headers }),
                validator: None,
            },
            stored_config: json!({ "url": url.as_str(), "metrics": metrics, "headers": stored_headers }),
        })
    }

    /// A stored source as its provider sees it: secret headers decrypted.
    pub fn source_ref(
        &self,
        key: &str,
        stored_config: &serde_json::Value,
    ) -> Result<SourceRef, FetchError> {
        let mut config = stored_config.clone();
        if let Some(headers) = config
            .get_mut("headers")
            .and_then(|headers| headers.as_array_mut())
        {
            for header in headers {
                if let Some(encrypted) = header.get("secret").and_then(|secret| secret.as_str()) {
                    let value = secrets::decrypt(self.config().secret_key.as_ref(), encrypted)
                        .map_err(|error| FetchError::NotConfigured(error.to_string()))?;
                    header["value"] = json!(value);
                }
            }
        }
        Ok(SourceRef {
            key: key.to_string(),
            config,
            validator: None,
        })
    }

    /// The container kind that recognises `url` (a scheme added when missing), with the
    /// key it read: what a watch follows.
    pub fn recognise_container(
        &self,
        url: &str,
    ) -> Result<(Arc<dyn Container>, String), TrackError> {
        let parsed = parse_url(url)?;
        providers::recognise_container(&parsed).ok_or_else(|| {
            let kinds: Vec<String> = providers::containers()
                .iter()
                .map(|container| container.spec().label.to_string())
                .collect();
            TrackError::Unrecognised(format!(
                "`{}` is not something Upcount can watch; watches follow a {}",
                url.trim(),
                kinds.join(", a ")
            ))
        })
    }

    /// `url` as it would be fetched: a scheme added when missing, checked to be http(s).
    pub fn normalise_url(&self, url: &str) -> Result<String, TrackError> {
        parse_url(url).map(String::from)
    }

    /// The JSON document at `url` (a user's URL: through the address guard), for the add
    /// form's preview of a JSON API.
    pub async fn fetch_json(&self, url: &str) -> Result<serde_json::Value, TrackError> {
        let url = parse_url(url)?;
        let config = json_provider::JsonConfig {
            url,
            metrics: Default::default(),
            headers: Vec::new(),
        };
        let outcome = json_provider::fetch_document(&self.http, &config).await;
        record_poll("json", "preview", outcome.as_ref().err());
        outcome.map_err(TrackError::Fetch)
    }

    /// Metadata of one source: the existence check.
    pub async fn metadata(
        &self,
        provider: &dyn Provider,
        source: &SourceRef,
    ) -> Result<Metadata, FetchError> {
        let outcome = provider.metadata(&self.http, source).await;
        record_poll(provider.kind(), "metadata", outcome.as_ref().err());
        outcome
    }

    /// What container `key` of `container`'s kind is: the existence check of a watch.
    pub async fn describe_container(
        &self,
        container: &dyn Container,
        key: &str,
    ) -> Result<ContainerInfo, FetchError> {
        let outcome = container.describe(&self.http, key).await;
        record_poll(container.spec().kind, "watch", outcome.as_ref().err());
        outcome
    }

    /// The newest items of `container` (see [`Container::items`]).
    pub async fn container_items(
        &self,
        kind: &dyn Container,
        container: &ContainerRef,
    ) -> Result<Vec<ContainerItem>, FetchError> {
        let outcome = kind.items(&self.http, container).await;
        record_poll(kind.spec().kind, "watch", outcome.as_ref().err());
        outcome
    }

    /// One page of what the upstream keeps of `source`'s past (see [`Provider::history`]).
    pub async fn history(
        &self,
        provider: &dyn Provider,
        source: &SourceRef,
        cursor: Option<&serde_json::Value>,
    ) -> Result<super::backfill::HistoryPage, FetchError> {
        let outcome = provider.history(&self.http, source, cursor).await;
        record_poll(provider.kind(), "history", outcome.as_ref().err());
        outcome
    }

    /// The values of `sources` (at most the provider's batch size).
    pub async fn fetch(
        &self,
        provider: &dyn Provider,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let started = std::time::Instant::now();
        let outcome = provider.fetch(&self.http, sources).await;
        metrics::histogram!("upcount_poll_duration_seconds", "provider" => provider.kind())
            .record(started.elapsed().as_secs_f64());
        match &outcome {
            Ok(results) => {
                for result in results {
                    record_poll(provider.kind(), "poll", result.as_ref().err());
                }
            }
            Err(error) => {
                for _ in sources {
                    record_poll(provider.kind(), "poll", Some(error));
                }
            }
        }
        outcome
    }
}

fn record_poll(kind: &'static str, what: &'static str, error: Option<&FetchError>) {
    let outcome = error.map_or("ok", FetchError::code);
    metrics::counter!("upcount_polls_total", "provider" => kind, "call" => what, "outcome" => outcome)
        .increment(1);
}

fn parse_url(text: &str) -> Result<Url, TrackError> {
    let text = text.trim();
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("https://{text}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|error| TrackError::Invalid(format!("`{text}` is not a valid URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TrackError::Invalid(format!(
            "only http and https URLs can be tracked, not {}:",
            url.scheme()
        )));
    }
    if url.host().is_none() {
        return Err(TrackError::Invalid(format!("`{text}` has no host")));
    }
    Ok(url)
}
