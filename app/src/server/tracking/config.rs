//! Settings of the tracking engine. The server crate reads them from the environment
//! (`UPCOUNT_<SERVICE>_API_URL`, credentials, rate limits) and hands them to [`Engine`].
//!
//! [`Engine`]: super::Engine

use std::{net::IpAddr, time::Duration};

use url::Url;

/// An upstream API. Providers of one service share its base URL, credentials and rate
/// limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    HackerNews,
    GitHub,
    Reddit,
    YouTube,
    Twitch,
    TwitchAuth,
    CoinGecko,
    /// Any URL a user gives (`json` sources).
    Web,
}

impl Service {
    pub const ALL: [Service; 8] = [
        Service::HackerNews,
        Service::GitHub,
        Service::Reddit,
        Service::YouTube,
        Service::Twitch,
        Service::TwitchAuth,
        Service::CoinGecko,
        Service::Web,
    ];

    /// The name in settings (`UPCOUNT_<NAME>_API_URL`) and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Service::HackerNews => "hackernews",
            Service::GitHub => "github",
            Service::Reddit => "reddit",
            Service::YouTube => "youtube",
            Service::Twitch => "twitch",
            Service::TwitchAuth => "twitch_auth",
            Service::CoinGecko => "coingecko",
            Service::Web => "json",
        }
    }

    /// The real API's base URL; the documented paths follow it.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            Service::HackerNews => Some("https://hacker-news.firebaseio.com"),
            Service::GitHub => Some("https://api.github.com"),
            Service::Reddit => Some("https://www.reddit.com"),
            Service::YouTube => Some("https://www.googleapis.com/youtube/v3"),
            Service::Twitch => Some("https://api.twitch.tv/helix"),
            Service::TwitchAuth => Some("https://id.twitch.tv"),
            Service::CoinGecko => Some("https://api.coingecko.com/api/v3"),
            Service::Web => None,
        }
    }

    /// Requests per minute by default, from each API's published limits.
    pub fn default_requests_per_minute(self, has_credentials: bool) -> u32 {
        match self {
            // No published limit; be a good citizen.
            Service::HackerNews => 600,
            // 60 an hour without a token, 5,000 with one.
            Service::GitHub if has_credentials => 80,
            Service::GitHub => 1,
            // About 10 a minute for clients without OAuth.
            Service::Reddit => 10,
            // 10,000 quota units a day; a list call costs one.
            Service::YouTube => 6,
            // 800 points a minute per app token.
            Service::Twitch => 800,
            Service::TwitchAuth => 60,
            // The public API allows 5 to 15 calls a minute; demo keys 30.
            Service::CoinGecko if has_credentials => 30,
            Service::CoinGecko => 10,
            Service::Web => 600,
        }
    }
}

/// Everything the engine needs to know from the settings.
#[derive(Clone)]
pub struct TrackingConfig {
    /// Base URL per service (those without one are [`Service::Web`]).
    pub base_urls: Vec<(Service, Url)>,
    /// Requests per minute per service.
    pub rate_limits: Vec<(Service, u32)>,
    pub github_token: Option<String>,
    pub youtube_api_key: Option<String>,
    pub twitch_client_id: Option<String>,
    pub twitch_client_secret: Option<String>,
    pub coingecko_api_key: Option<String>,
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
            .field("github_token", &self.github_token.is_some())
            .field("youtube_api_key", &self.youtube_api_key.is_some())
            .field("twitch_client_id", &self.twitch_client_id.is_some())
            .field("twitch_client_secret", &self.twitch_client_secret.is_some())
            .field("coingecko_api_key", &self.coingecko_api_key.is_some())
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
        let base_urls = Service::ALL
            .iter()
            .filter_map(|service| {
                let url = Url::parse(service.default_base_url()?).ok()?;
                Some((*service, url))
            })
            .collect();
        let rate_limits = Service::ALL
            .iter()
            .map(|service| (*service, service.default_requests_per_minute(false)))
            .collect();
        Self {
            base_urls,
            rate_limits,
            github_token: None,
            youtube_api_key: None,
            twitch_client_id: None,
            twitch_client_secret: None,
            coingecko_api_key: None,
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
        match (self.address, candidate) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let bits = u32::from(self.prefix.min(32));
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                (u32::from(net) & mask) == (u32::from(ip) & mask)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let bits = u32::from(self.prefix.min(128));
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                (u128::from(net) & mask) == (u128::from(ip) & mask)
            }
            _ => false,
        }
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
