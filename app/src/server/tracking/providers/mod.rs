//! Providers: one file per upstream, each declaring a [`Module`] named `MODULE` (its kinds,
//! badge, and the upstream services it calls) and implementing [`Provider`] for each kind.
//! The build script lists every file of this folder, so adding a provider is adding its
//! file (and its fixtures under `server/tests/fixtures/<name>/`): settings, the admin
//! console, the dashboard's badges and filters, the add form's hints, the generated
//! provider table and the tests' stand-in all read the registry below.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer};
use url::Url;

use crate::domain::ProviderKind;

use super::{
    FetchError, Metadata, MetricKind, MetricSpec, Readings, SourceRef,
    backfill::HistoryPage,
    config::{Service, TrackingConfig},
    http::Upstreams,
};

// `pub mod <file>;` for every provider file, and `MODULES`, in file-name order.
include!(concat!(env!("OUT_DIR"), "/providers.rs"));

/// What every provider file uses (`use super::prelude::*;`), so that a file names only
/// what is particular to its upstream.
pub(crate) mod prelude {
    pub(crate) use std::sync::Arc;

    pub(crate) use async_trait::async_trait;
    pub(crate) use chrono::{DateTime, Utc};
    pub(crate) use serde::Deserialize;
    pub(crate) use url::Url;

    pub(crate) use super::{
        Badge, BatchOutcome, Container, ContainerInfo, ContainerItem, ContainerRef, ContainerSpec,
        KindSpec, Metric, Module, Provider, bare_host, count, host_and_segments, is_token,
        no_containers, optional_count, query_param, rfc3339, segments, segments_on, strings,
        unix_time,
    };
    pub(crate) use crate::server::tracking::{
        FetchError, Metadata, MetricKind, MetricSpec, Readings, SourceRef,
        backfill::{HistoryPage, HistoryPoint, cursor, day_start, parse_day},
        batch::{Each, ItemKey, by_key, keys, read_each},
        config::{Credentials, Service, ServiceSpec},
        http::{UpstreamRequest, Upstreams},
    };

    #[cfg(test)]
    pub(crate) use super::{assert_recognised, assert_recognised_containers};
}

/// What one provider file declares: everything the rest of the system derives.
pub struct Module {
    /// `github`: the file's name, the fixtures folder, the badge's CSS class.
    pub name: &'static str,
    /// The dashboard's badge.
    pub badge: Badge,
    /// The upstream APIs its kinds call (base URL, rate limit and credential settings).
    pub services: &'static [Service],
    /// Its kinds, in the order URLs are tried.
    pub kinds: fn() -> Vec<Arc<dyn Provider>>,
    /// What it can watch: containers whose new items become trackers ([`no_containers`]
    /// for none).
    pub containers: fn() -> Vec<Arc<dyn Container>>,
}

/// A module that watches nothing.
pub fn no_containers() -> Vec<Arc<dyn Container>> {
    Vec::new()
}

/// A small badge naming the provider: letters on a colour (no external images).
#[derive(Debug, Clone, Copy)]
pub struct Badge {
    /// `GH`.
    pub letters: &'static str,
    /// `GitHub`: the badge's title and the filter's label.
    pub name: &'static str,
    /// A CSS colour: `#24292f`.
    pub colour: &'static str,
}

/// The outcome per source of a batch fetch, in the order the sources were given.
pub type BatchOutcome = Vec<Result<Readings, FetchError>>;

/// What a kind declares about itself besides its code: read by the trait's `kind`,
/// `label`, `service`, `examples`, `metrics` and `batch_size`.
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    /// `github.repo`: stored with every source, never renamed.
    pub kind: &'static str,
    /// What the provider tracks, for people: "GitHub repository".
    pub label: &'static str,
    /// The upstream it talks to (base URL, credentials, rate limit).
    pub service: Service,
    /// Links this kind recognises, for the add form's hints, the docs and the contract
    /// test (each must be recognised); none for a kind that is never asked for by link.
    pub examples: &'static [&'static str],
    /// The metrics every source of the kind has (a kind whose metrics depend on the
    /// source implements [`Provider::metrics`] instead).
    pub metrics: &'static [Metric],
    /// How many sources one request can fetch.
    pub batch_size: usize,
}

/// A metric as a kind declares it: name, kind and unit, as [`MetricSpec::new`] takes them.
#[derive(Debug, Clone, Copy)]
pub struct Metric(pub &'static str, pub MetricKind, pub &'static str);

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What the kind is: see [`KindSpec`].
    fn spec(&self) -> KindSpec;

    /// `github.repo`: stored with every source, never renamed.
    fn kind(&self) -> &'static str {
        self.spec().kind
    }

    /// [`Provider::kind`] as the type the rest of the system keeps it in (every
    /// registered kind is one: `every_registered_kind_is_a_provider_kind`).
    fn provider_kind(&self) -> ProviderKind {
        ProviderKind::registered(self.kind())
    }

    /// What the provider tracks, for people: "GitHub repository".
    fn label(&self) -> &'static str {
        self.spec().label
    }

    /// The upstream it talks to (base URL, credentials, rate limit).
    fn service(&self) -> Service {
        self.spec().service
    }

    /// Links this kind recognises (see [`KindSpec::examples`]).
    fn examples(&self) -> &'static [&'static str] {
        self.spec().examples
    }

    /// The key of the thing `url` points at, when this provider recognises it.
    fn recognise(&self, url: &Url) -> Option<String>;

    /// Checks and normalises a key given directly (`{"kind": …, "key": …}`).
    fn parse_key(&self, key: &str) -> Result<String, String>;

    /// The metrics of `source`: by default the kind's own ([`KindSpec::metrics`]).
    fn metrics(&self, _source: &SourceRef) -> Vec<MetricSpec> {
        let metric = |&Metric(name, kind, unit): &Metric| MetricSpec::new(name, kind, unit);
        self.spec().metrics.iter().map(metric).collect()
    }

    /// How many sources one request can fetch.
    fn batch_size(&self) -> usize {
        self.spec().batch_size
    }

    /// `Some(reason)` when the server lacks a credential this provider needs: by default,
    /// when its service's credentials are required and not all set.
    fn missing_credentials(&self, config: &TrackingConfig) -> Option<String> {
        let service = self.service();
        let credentials = service.credentials()?;
        (credentials.required && !config.has_credentials(service)).then(|| {
            format!(
                "{} tracking needs {} on the server",
                service.label(),
                credentials.vars.join(" and ")
            )
        })
    }

    /// Where this kind's history comes from ("GitHub"), when its upstream keeps a past
    /// that a backfill loads on day one (see [`history`](Self::history)); `None`: the
    /// history starts with the first poll.
    fn history_from(&self) -> Option<&'static str> {
        None
    }

    /// One page of what the upstream keeps of `source`'s past: the first page when
    /// `cursor` is `None`, else the page that the previous page's
    /// [`next`](HistoryPage::next) names. Only kinds with a
    /// [`history_from`](Self::history_from) are asked.
    async fn history(
        &self,
        _http: &Upstreams,
        _source: &SourceRef,
        _cursor: Option<&serde_json::Value>,
    ) -> Result<HistoryPage, FetchError> {
        Err(FetchError::Invalid(format!(
            "{} keeps no history upstream",
            self.kind()
        )))
    }

    /// Title, link, author…; also the existence check when a tracker is added.
    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError>;

    /// The current values of one source, for kinds whose upstream answers one source a
    /// request: the default [`fetch`](Self::fetch) asks for each source in turn. Kinds
    /// that fetch many sources at once implement `fetch` instead and never come here.
    async fn readings(
        &self,
        _http: &Upstreams,
        _source: &SourceRef,
    ) -> Result<Readings, FetchError> {
        Err(FetchError::Invalid(format!(
            "{} fetches its sources in batches only",
            self.kind()
        )))
    }

    /// The current values of up to [`batch_size`](Self::batch_size) sources. `Err` when the
    /// whole request failed; per source otherwise. By default one request per source
    /// ([`readings`](Self::readings)), one after the other: a failed source does not stop
    /// the others.
    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let mut outcomes = Vec::with_capacity(sources.len());
        for source in sources {
            outcomes.push(self.readings(http, source).await);
        }
        Ok(outcomes)
    }
}

/// What a container kind declares about itself besides its code.
#[derive(Debug, Clone, Copy)]
pub struct ContainerSpec {
    /// `youtube.uploads`: stored with every container, never renamed.
    pub kind: &'static str,
    /// What it follows, for people: "YouTube channel".
    pub label: &'static str,
    /// What its items are: "videos".
    pub yields: &'static str,
    /// The provider kind of its items (`youtube.video`): the template's alert rules are
    /// checked against that kind's metrics.
    pub item_kind: &'static str,
    /// The upstream it reads (rate limit, credentials).
    pub service: Service,
    /// Whether its items have a score (Reddit's, Hacker News'): a watch may then wait for
    /// one (`min_score`) or keep only the day's best (`top_per_day`).
    pub scored: bool,
    /// Links it recognises, for the watch form's hints and the docs.
    pub examples: &'static [&'static str],
}

/// A container as its kind reads it: its key, and what [`Container::describe`] kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRef {
    pub key: String,
    pub config: serde_json::Value,
}

/// What [`Container::describe`] found: the canonical key, title and link, and what the
/// kind keeps to read it later (the channel's uploads playlist).
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerInfo {
    pub key: String,
    pub title: String,
    pub url: String,
    pub config: serde_json::Value,
}

/// An item a container lists.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerItem {
    /// Its id upstream (a video id, `owner/name`): what a watch remembers it by.
    pub key: String,
    /// A link a provider recognises: the tracker is added from it.
    pub url: String,
    pub title: String,
    pub published_at: Option<DateTime<Utc>>,
    /// A score (Reddit's), for watches that wait for one.
    pub score: Option<f64>,
}

/// Something upstream that publishes items a watch can turn into trackers: one
/// implementation per container kind, declared by its provider file.
#[async_trait]
pub trait Container: Send + Sync + 'static {
    fn spec(&self) -> ContainerSpec;

    /// The key of the container `url` points at, when this kind recognises it.
    fn recognise(&self, url: &Url) -> Option<String>;

    /// Checks that the container exists: its canonical key, title and link.
    async fn describe(&self, http: &Upstreams, key: &str) -> Result<ContainerInfo, FetchError>;

    /// Its newest items, newest first (one page: what was published since the last read).
    async fn items(
        &self,
        http: &Upstreams,
        container: &ContainerRef,
    ) -> Result<Vec<ContainerItem>, FetchError>;
}

/// Every container kind, module by module; built once.
static CONTAINERS: LazyLock<Vec<Arc<dyn Container>>> = LazyLock::new(|| {
    MODULES
        .iter()
        .flat_map(|module| (module.containers)())
        .collect()
});

/// Every container kind, module by module.
pub fn containers() -> Vec<Arc<dyn Container>> {
    CONTAINERS.clone()
}

/// The container kind `kind`.
pub fn container(kind: &str) -> Option<Arc<dyn Container>> {
    CONTAINERS
        .iter()
        .find(|container| container.spec().kind == kind)
        .cloned()
}

/// The first container kind that recognises `url`, with the key it read.
pub fn recognise_container(url: &Url) -> Option<(Arc<dyn Container>, String)> {
    CONTAINERS
        .iter()
        .find_map(|container| Some((container.clone(), container.recognise(url)?)))
}

/// Every provider kind with its module, module by module; built once.
static KINDS: LazyLock<Vec<(&'static Module, Arc<dyn Provider>)>> = LazyLock::new(|| {
    MODULES
        .iter()
        .flat_map(|module| {
            (module.kinds)()
                .into_iter()
                .map(move |provider| (*module, provider))
        })
        .collect()
});

/// Every provider kind, module by module.
pub fn all() -> Vec<Arc<dyn Provider>> {
    KINDS.iter().map(|(_, provider)| provider.clone()).collect()
}

/// Every upstream service, once each, in the modules' order.
pub fn services() -> Vec<Service> {
    let mut services: Vec<Service> = Vec::new();
    for service in MODULES.iter().flat_map(|module| module.services) {
        if !services.contains(service) {
            services.push(*service);
        }
    }
    services
}

/// The module that declares `kind` (`github.repo` → the `github` module).
pub fn module_of(kind: &ProviderKind) -> Option<&'static Module> {
    KINDS
        .iter()
        .find(|(_, provider)| *kind == provider.kind())
        .map(|(module, _)| *module)
}

/// The add form's hint: "A link from GitHub, Hacker News, … — or the URL of any JSON API."
pub fn link_hint() -> String {
    format!(
        "A link from {} — or the URL of any JSON API.",
        recognised_names().replace(" and ", " or ")
    )
}

/// "GitHub, Hacker News, …": the upstreams whose links are recognised, for messages.
pub fn recognised_names() -> String {
    let mut names: Vec<&str> = Vec::new();
    for (module, provider) in KINDS.iter() {
        if !provider.examples().is_empty() && !names.contains(&module.badge.name) {
            names.push(module.badge.name);
        }
    }
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

// Helpers the providers share.

/// The host of `url` without `www.`/`m.`/`old.` prefixes, lowercased.
pub(crate) fn bare_host(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host
        .strip_prefix("www.")
        .or_else(|| host.strip_prefix("m."))
        .or_else(|| host.strip_prefix("old."))
        .or_else(|| host.strip_prefix("new."))
        .unwrap_or(&host)
        .to_string();
    Some(host)
}

/// The non-empty path segments of `url`.
pub(crate) fn segments(url: &Url) -> Vec<String> {
    url.path_segments()
        .map(|segments| {
            segments
                .filter(|segment| !segment.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The path segments of `url` when its bare host is `host`: most links are recognised so.
pub(crate) fn segments_on(url: &Url, host: &str) -> Option<Vec<String>> {
    (bare_host(url)? == host).then(|| segments(url))
}

/// The bare host and the path segments of `url`, for kinds whose links come from several
/// hosts (`youtu.be` and `youtube.com`).
pub(crate) fn host_and_segments(url: &Url) -> Option<(String, Vec<String>)> {
    Some((bare_host(url)?, segments(url)))
}

/// The value of query parameter `name`.
pub(crate) fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

// Readers for `#[serde(deserialize_with = "…")]`: the shapes upstream answers send that
// serde's defaults do not read.

/// A count as a JSON number or as a string holding one: YouTube sends
/// `"viewCount": "1500000000"`.
pub(crate) fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Count::deserialize(deserializer).map(|Count(count)| count)
}

/// [`count`] for a count the API may leave out or send as `null` (a hidden like count);
/// with `#[serde(default)]`.
pub(crate) fn optional_count<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<f64>, D::Error> {
    Option::<Count>::deserialize(deserializer).map(|count| count.map(|Count(count)| count))
}

/// A number, or a string holding one.
struct Count(f64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = f64;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a number, or a string holding one")
            }

            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<f64, E> {
                Ok(value)
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<f64, E> {
                Ok(value as f64)
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<f64, E> {
                Ok(value as f64)
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<f64, E> {
                text.trim()
                    .parse()
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(text), &self))
            }
        }

        deserializer.deserialize_any(Visitor).map(Count)
    }
}

/// The strings of a list, in order, for topics and tags: anything else in it is skipped,
/// and an absent or `null` list is empty (with `#[serde(default)]`).
pub(crate) fn strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Text(String),
        Other(serde::de::IgnoredAny),
    }
    let entries = Option::<Vec<Entry>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(entries
        .into_iter()
        .filter_map(|entry| match entry {
            Entry::Text(text) => Some(text),
            Entry::Other(_) => None,
        })
        .collect())
}

/// An RFC 3339 timestamp; `None` when absent, `null` or not RFC 3339 (a date is never worth
/// failing a fetch over). With `#[serde(default)]`.
pub(crate) fn rfc3339<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    Ok(text
        .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
        .map(|time| time.with_timezone(&Utc)))
}

/// A Unix time in seconds (integer or float); `None` when absent or `null`. With
/// `#[serde(default)]`.
pub(crate) fn unix_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let seconds = Option::<f64>::deserialize(deserializer)?;
    Ok(seconds.and_then(|seconds| Utc.timestamp_opt(seconds as i64, 0).single()))
}

/// Whether `text` is 1..=`max` characters from `allowed`.
pub(crate) fn is_token(text: &str, max: usize, allowed: impl Fn(char) -> bool) -> bool {
    !text.is_empty() && text.chars().count() <= max && text.chars().all(allowed)
}

/// Asserts what each kind makes of each link: `(kind, link, key)`, with no key where the
/// kind must not recognise the link.
#[cfg(test)]
pub(crate) fn assert_recognised(cases: &[(&dyn Provider, &str, Option<&str>)]) {
    for (provider, link, key) in cases {
        let url = Url::parse(link).expect("a URL");
        let kind = provider.kind();
        assert_eq!(provider.recognise(&url).as_deref(), *key, "{kind}: {link}");
    }
}

/// Checks that `container` reads each link as the key given (or does not recognise it).
#[cfg(test)]
pub(crate) fn assert_recognised_containers(
    container: &dyn Container,
    cases: &[(&str, Option<&str>)],
) {
    let kind = container.spec().kind;
    for (link, key) in cases {
        let url = Url::parse(link).expect("a URL");
        assert_eq!(container.recognise(&url).as_deref(), *key, "{kind}: {link}");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_registered_kind_is_a_provider_kind() {
        for provider in all() {
            let kind: Result<ProviderKind, _> = provider.kind().parse();
            assert_eq!(kind, Ok(provider.provider_kind()), "{}", provider.kind());
        }
    }

    #[test]
    fn every_container_recognises_its_examples_and_yields_a_registered_kind() {
        let mut kinds = Vec::new();
        for container in containers() {
            let spec = container.spec();
            assert!(!spec.examples.is_empty(), "{}", spec.kind);
            for example in spec.examples {
                let url = Url::parse(example).expect("a URL");
                assert!(
                    container.recognise(&url).is_some(),
                    "{}: {example}",
                    spec.kind
                );
                let (found, _) = recognise_container(&url).expect("recognised");
                assert_eq!(found.spec().kind, spec.kind, "{example}");
            }
            assert!(
                all()
                    .iter()
                    .any(|provider| provider.kind() == spec.item_kind),
                "{}: items of an unknown kind {}",
                spec.kind,
                spec.item_kind
            );
            assert!(!kinds.contains(&spec.kind), "{} twice", spec.kind);
            kinds.push(spec.kind);
        }
        assert!(container("youtube.uploads").is_some());
        assert!(container("nothing.here").is_none());
        let page = Url::parse("https://example.com/feed").expect("a URL");
        assert!(recognise_container(&page).is_none());
    }

    #[derive(Debug, Deserialize)]
    struct Answer {
        #[serde(deserialize_with = "count")]
        views: f64,
        #[serde(default, deserialize_with = "optional_count")]
        likes: Option<f64>,
        #[serde(default, deserialize_with = "strings")]
        tags: Vec<String>,
        #[serde(default, deserialize_with = "rfc3339")]
        at: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "unix_time")]
        time: Option<DateTime<Utc>>,
    }

    fn read(value: serde_json::Value) -> Result<Answer, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn counts_are_numbers_or_strings_holding_one() {
        let answer = read(json!({ "views": "1500000000", "likes": 7 })).expect("read");
        assert_eq!((answer.views, answer.likes), (1_500_000_000.0, Some(7.0)));
        let answer = read(json!({ "views": 2.5, "likes": null })).expect("read");
        assert_eq!((answer.views, answer.likes), (2.5, None));
        assert_eq!(read(json!({ "views": 1 })).expect("read").likes, None);
        let error = read(json!({ "views": "many" })).expect_err("not a number");
        assert!(error.to_string().contains("a number"), "{error}");
        assert!(read(json!({})).is_err(), "a required count is required");
    }

    #[test]
    fn lists_skip_what_is_not_a_string_and_dates_may_be_odd() {
        let answer = read(json!({
            "views": 1,
            "tags": ["rust", null, 3, "web"],
            "at": "2011-01-26T19:01:12Z",
            "time": 1175714200,
        }))
        .expect("read");
        assert_eq!(answer.tags, ["rust", "web"]);
        assert_eq!(answer.at.map(|at| at.timestamp()), Some(1_296_068_472));
        assert_eq!(
            answer.time.map(|time| time.timestamp()),
            Some(1_175_714_200)
        );
        let answer = read(json!({ "views": 1, "tags": null, "at": "yesterday" })).expect("read");
        assert!(answer.tags.is_empty());
        assert_eq!(answer.at, None);
    }
}
