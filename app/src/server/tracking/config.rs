//! Settings of the tracking engine. The server crate reads them from the environment
//! (`UPCOUNT_<SERVICE>_API_URL`, credentials, rate limits) and hands them to [`Engine`].
//!
//! [`Engine`]: super::Engine

use std::{collections::BTreeMap, net::IpAddr, time::Duration};

use url::Url;

use super::providers;

/// How an upstream API is reached: declared by the provider module that calls it, read by
/// the settings (`UPCOUNT_<NAME>_API_URL`, `…_RATE_PER_MIN`, credentials), the admin
/// console, the metrics labels and the stand-in used by the tests.
#[derive(Debug)]
pub struct ServiceSpec {
    /// `github`: the settings' `<NAME>` (upper-cased) and the metrics label.
    pub name: &'static str,
    /// `GitHub`: how messages name it.
    pub label: &'static str,
    /// The real API's base URL (the documented paths follow it); `None` for user URLs.
    pub default_base_url: Option<&'static str>,
    /// Requests per minute by default, from the API's published limits, without and with
    /// credentials.
    pub requests_per_minute: u32,
    pub requests_per_minute_with_credentials: u32,
    /// The settings that hold its credentials, if it takes any.
    pub credentials: Option<Credentials>,
}

/// The credentials of a service: all of `vars` together.
#[derive(Debug)]
pub struct Credentials {
    /// `UPCOUNT_GITHUB_TOKEN`.
    pub vars: &'static [&'static str],
    /// Whether the service cannot be used without them.
    pub required: bool,
    /// What the admin console says when they are set (`token set`)…
    pub when_set: &'static str,
    /// …and when they are not (`none (60 requests an hour)`).
    pub when_missing: &'static str,
}

/// An upstream API, by its declaration. Two services are the same when their names are.
///
/// What few services need besides their [`ServiceSpec`] is added with the `const`
/// builders ([`Service::with_base_url_with_credentials`], [`Service::with_settings`],
/// [`Service::with_rate_resource`]), so that every other declaration stays as it is.
#[derive(Clone, Copy)]
pub struct Service {
    spec: &'static ServiceSpec,
    /// The API's base URL when its credentials are set, where that is another API
    /// (Reddit's OAuth API is `oauth.reddit.com`, its public JSON `www.reddit.com`).
    base_url_with_credentials: Option<&'static str>,
    /// Optional settings besides the credentials (`UPCOUNT_REDDIT_USER_AGENT`).
    settings: &'static [&'static str],
    /// The budget its rate-limit headers must name to count, for an upstream that keeps
    /// several and says which one an answer drew on (GitHub's `x-ratelimit-resource`:
    /// `core`, `search`, `graphql`…).
    rate_resource: Option<&'static str>,
}

impl Service {
    /// Any URL a user gives (`json` sources): guarded, no base URL.
    pub const WEB: Service = Service::new(&ServiceSpec {
        name: "json",
        label: "The URL",
        default_base_url: None,
        requests_per_minute: 600,
        requests_per_minute_with_credentials: 600,
        credentials: None,
    });

    pub const fn new(spec: &'static ServiceSpec) -> Self {
        Self {
            spec,
            base_url_with_credentials: None,
            settings: &[],
            rate_resource: None,
        }
    }

    /// The service, reached at `base_url` by default when its credentials are set.
    pub const fn with_base_url_with_credentials(self, base_url: &'static str) -> Self {
        Self {
            base_url_with_credentials: Some(base_url),
            ..self
        }
    }

    /// The service, with optional settings of its own (read like the credentials, but
    /// not secret).
    pub const fn with_settings(self, settings: &'static [&'static str]) -> Self {
        Self { settings, ..self }
    }

    /// The service, whose rate-limit headers count only when they name `resource`.
    pub const fn with_rate_resource(self, resource: &'static str) -> Self {
        Self {
            rate_resource: Some(resource),
            ..self
        }
    }

    pub fn spec(self) -> &'static ServiceSpec {
        self.spec
    }

    /// The name in settings (`UPCOUNT_<NAME>_API_URL`) and metrics labels.
    pub fn name(self) -> &'static str {
        self.spec.name
    }

    /// How messages name the upstream: "GitHub".
    pub fn label(self) -> &'static str {
        self.spec.label
    }

    /// The real API's base URL; the documented paths follow it.
    pub fn default_base_url(self) -> Option<&'static str> {
        self.spec.default_base_url
    }

    /// [`Service::default_base_url`] without or with credentials (the same unless the
    /// service was declared [`with_base_url_with_credentials`](Self::with_base_url_with_credentials)).
    pub fn default_base_url_for(self, has_credentials: bool) -> Option<&'static str> {
        match self.base_url_with_credentials {
            Some(url) if has_credentials && self.spec.default_base_url.is_some() => Some(url),
            _ => self.spec.default_base_url,
        }
    }

    /// Requests per minute by default, from each API's published limits.
    pub fn default_requests_per_minute(self, has_credentials: bool) -> u32 {
        if has_credentials {
            self.spec.requests_per_minute_with_credentials
        } else {
            self.spec.requests_per_minute
        }
    }

    pub fn credentials(self) -> Option<&'static Credentials> {
        self.spec.credentials.as_ref()
    }

    /// Its settings besides the credentials (see [`Service::with_settings`]).
    pub fn settings(self) -> &'static [&'static str] {
        self.settings
    }

    /// Whether rate-limit headers naming `resource` (or none) speak of this service's
    /// budget.
    pub fn counts_rate_resource(self, resource: Option<&str>) -> bool {
        match (self.rate_resource, resource) {
            (Some(ours), Some(theirs)) => ours.eq_ignore_ascii_case(theirs.trim()),
            _ => true,
        }
    }

    /// `UPCOUNT_GITHUB_API_URL`, for services with a base URL.
    pub fn url_var(self) -> Option<String> {
        self.spec
            .default_base_url
            .map(|_| format!("UPCOUNT_{}_API_URL", self.env_name()))
    }

    /// `UPCOUNT_GITHUB_RATE_PER_MIN`.
    pub fn rate_var(self) -> String {
        format!("UPCOUNT_{}_RATE_PER_MIN", self.env_name())
    }

    fn env_name(self) -> String {
        self.spec.name.to_ascii_uppercase()
    }
}

impl PartialEq for Service {
    fn eq(&self, other: &Self) -> bool {
        self.spec.name == other.spec.name
    }
}

impl Eq for Service {}

impl std::hash::Hash for Service {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.spec.name.hash(state);
    }
}

impl PartialOrd for Service {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Service {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.spec.name.cmp(other.spec.name)
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.spec.name)
    }
}

/// Everything the engine needs to know from the settings.
#[derive(Clone)]
pub struct TrackingConfig {
    /// Base URL per service (those without one are [`Service::WEB`]).
    pub base_urls: Vec<(Service, Url)>,
    /// Requests per minute per service.
    pub rate_limits: Vec<(Service, u32)>,
    /// Credential settings that are set, by variable (`UPCOUNT_GITHUB_TOKEN` → value).
    pub credentials: BTreeMap<&'static str, String>,
    /// The services' other settings that are set ([`Service::settings`]), by variable.
    pub settings: BTreeMap<&'static str, String>,
    /// `UPCOUNT_SECRET_KEY`, hashed to 32 bytes: encrypts secret header values.
    pub secret_key: Option<[u8; 32]>,
    /// Let user-supplied URLs reach private addresses (tests and self-hosting only).
    pub allow_private_targets: bool,
    /// Addresses user-supplied URLs may reach even though they are private.
    pub allowed_targets: Vec<IpNet>,
    /// Attempts per request for transient failures (5xx, timeouts), and the first pause
    /// between them (doubling).
    pub attempts: u32,
    pub retry_base: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The largest response body read.
    pub max_body_bytes: usize,
    /// The interval of a new tracker when none is given.
    pub default_interval: Duration,
    /// The shortest interval a tracker may have.
    pub min_interval: Duration,
    /// Sent with every request.
    pub user_agent: String,
    /// `UPCOUNT_PREVIEWS_PER_MIN`: previews and adds one workspace may make a minute.
    pub previews_per_minute: u32,
    /// `UPCOUNT_INTERACTIVE_SHARE_PERCENT`: the share of each upstream's request budget
    /// that previews and adds (someone waiting on the answer) may use; scheduled polls
    /// keep the rest.
    pub interactive_share_percent: u32,
}

impl std::fmt::Debug for TrackingConfig {
    // Never print credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackingConfig")
            .field("base_urls", &self.base_urls)
            .field("rate_limits", &self.rate_limits)
            .field("credentials", &self.credentials.keys().collect::<Vec<_>>())
            .field("settings", &self.settings)
            .field("secret_key", &self.secret_key.is_some())
            .field("allow_private_targets", &self.allow_private_targets)
            .field("allowed_targets", &self.allowed_targets)
            .field("attempts", &self.attempts)
            .field("previews_per_minute", &self.previews_per_minute)
            .field("interactive_share_percent", &self.interactive_share_percent)
            .finish_non_exhaustive()
    }
}

impl Default for TrackingConfig {
    /// The real APIs, no credentials, the published rate limits.
    fn default() -> Self {
        let base_urls = providers::services()
            .into_iter()
            .filter_map(|service| {
                let url = Url::parse(service.default_base_url()?).ok()?;
                Some((service, url))
            })
            .collect();
        let rate_limits = providers::services()
            .into_iter()
            .map(|service| (service, service.default_requests_per_minute(false)))
            .collect();
        Self {
            base_urls,
            rate_limits,
            credentials: BTreeMap::new(),
            settings: BTreeMap::new(),
            secret_key: None,
            allow_private_targets: false,
            allowed_targets: Vec::new(),
            attempts: 3,
            retry_base: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            max_body_bytes: 1024 * 1024,
            default_interval: Duration::from_secs(15 * 60),
            min_interval: Duration::from_secs(60),
            previews_per_minute: 30,
            interactive_share_percent: 20,
            user_agent: format!(
                "Upcount/{} (+https://github.com/upcount)",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

impl TrackingConfig {
    pub fn base_url(&self, service: Service) -> Option<&Url> {
        self.base_urls
            .iter()
            .find(|(candidate, _)| *candidate == service)
            .map(|(_, url)| url)
    }

    /// The value of credential setting `var`, when set.
    pub fn credential(&self, var: &str) -> Option<&str> {
        self.credentials.get(var).map(String::as_str)
    }

    /// The value of a service's setting `var` ([`Service::settings`]), when set.
    pub fn setting(&self, var: &str) -> Option<&str> {
        self.settings.get(var).map(String::as_str)
    }

    /// Whether every credential `service` takes is set (false when it takes none).
    pub fn has_credentials(&self, service: Service) -> bool {
        service.credentials().is_some_and(|credentials| {
            credentials
                .vars
                .iter()
                .all(|var| self.credentials.contains_key(var))
        })
    }

    pub fn requests_per_minute(&self, service: Service) -> u32 {
        self.rate_limits
            .iter()
            .find(|(candidate, _)| *candidate == service)
            .map(|(_, rate)| *rate)
            .unwrap_or_else(|| service.default_requests_per_minute(false))
    }
}

/// An address range: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub address: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn contains(&self, candidate: IpAddr) -> bool {
        // IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), its prefix 96 bits longer.
        let (net, ip, prefix) = match (self.address, candidate) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => (
                net.to_ipv6_mapped(),
                ip.to_ipv6_mapped(),
                96 + u32::from(self.prefix.min(32)),
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => (net, ip, u32::from(self.prefix.min(128))),
            _ => return false,
        };
        // Shifting by 128 (a prefix of 0) leaves no bits.
        let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
        (u128::from(net) & mask) == (u128::from(ip) & mask)
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match value.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (value, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("`{value}` is not an IP address or range"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => match prefix.trim().parse::<u8>() {
                Ok(prefix) if prefix <= max => prefix,
                _ => return Err(format!("`{value}` has an invalid prefix length")),
            },
        };
        Ok(Self { address, prefix })
    }
}
