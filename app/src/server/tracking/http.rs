//! The HTTP client every provider fetches through: timeouts, a body size limit, per-service
//! rate limits that hold across every task of the process, slowing down when an upstream
//! says so, retries of transient failures, and (for user-supplied URLs) the outbound
//! address guard.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, StatusCode, header::HeaderMap, redirect};
use url::Url;

use super::{
    FetchError,
    config::{Service, TrackingConfig},
    excerpt,
    guard::{self, GuardedResolver, Policy},
    providers,
};

/// The longest an upstream's "slow down" is waited out inside a request; longer pauses
/// fail the request with [`FetchError::RateLimited`] so the source is polled later.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(5);
/// How long to pause after a 429 that does not say.
const DEFAULT_PAUSE: Duration = Duration::from_secs(60);

/// An upstream's answer: any status but 429 and 5xx (those are errors).
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl UpstreamResponse {
    /// The body read into `T`: a parse error with an excerpt when it is not JSON or not
    /// shaped like `T` (serde's error names the field).
    pub fn parse<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, FetchError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            let message = if error.is_data() {
                format!("{what} is not what was expected ({error})")
            } else {
                format!("{what} answered with invalid JSON ({error})")
            };
            FetchError::parse(message, &self.body)
        })
    }
}

/// A request to an upstream.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    pub service: Service,
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, String)>,
    /// The headers hold a user's secret: redirects are followed only within the URL's
    /// origin, so the secret never reaches another one.
    pub secret_headers: bool,
}

impl UpstreamRequest {
    pub fn get(service: Service, url: Url) -> Self {
        Self {
            service,
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            secret_headers: false,
        }
    }

    /// A `POST` of an `application/x-www-form-urlencoded` body.
    pub fn post_form(service: Service, url: Url, body: String) -> Self {
        Self {
            method: Method::POST,
            body: Some(("application/x-www-form-urlencoded".into(), body)),
            ..Self::get(service, url)
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// A header whose value is a secret (see [`UpstreamRequest::secret_headers`]).
    pub fn secret_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.secret_headers = true;
        self.header(name, value)
    }
}

/// The rate-limit state of one service, for the admin console and metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateState {
    pub remaining: Option<f64>,
    pub paused_until: Option<Instant>,
}

/// Upper bounds (milliseconds) of the latency buckets of [`Tally`]; the last bucket holds
/// everything slower.
pub const LATENCY_BOUNDS_MS: [u32; 11] =
    [25, 50, 100, 200, 350, 500, 750, 1_000, 2_000, 5_000, 10_000];

/// What one provider's requests did since the last [`Upstreams::take_tallies`].
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub requests: i64,
    /// Transport failures and answers of 400 and above (429 included).
    pub errors: i64,
    /// Requests per latency bucket ([`LATENCY_BOUNDS_MS`], then one more).
    pub buckets: Vec<i64>,
    /// The rate-limit budget left as last reported by the upstream.
    pub remaining: Option<f64>,
    /// Seconds the provider is paused for, when it is.
    pub paused_for_secs: Option<i64>,
    /// Sources polled by poll jobs (each counts once, whatever the requests), and how
    /// many of those polls failed.
    pub polls: i64,
    pub failed_polls: i64,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            requests: 0,
            errors: 0,
            buckets: vec![0; LATENCY_BOUNDS_MS.len() + 1],
            remaining: None,
            paused_for_secs: None,
            polls: 0,
            failed_polls: 0,
        }
    }
}

tokio::task_local! {
    /// Set while someone waits on the answer (a preview, an add): such requests draw on
    /// the interactive share of each upstream's budget as well as on the whole.
    static INTERACTIVE: ();
}

/// Runs `work` as a person's request: its upstream requests may use only the interactive
/// share of each upstream's budget (`UPCOUNT_INTERACTIVE_SHARE_PERCENT`), so one tenant's
/// previews cannot use up what every customer's scheduled polls need.
pub async fn interactive<F: std::future::Future>(work: F) -> F::Output {
    INTERACTIVE.scope((), work).await
}

fn is_interactive() -> bool {
    INTERACTIVE.try_with(|()| ()).is_ok()
}

/// The shared HTTP machinery.
pub struct Upstreams {
    config: Arc<TrackingConfig>,
    /// For the configured APIs.
    api: reqwest::Client,
    /// For user-supplied URLs: guarded resolver and redirects.
    web: reqwest::Client,
    /// The same, following redirects within the first URL's origin only: for requests
    /// carrying secret headers (reqwest drops only `Authorization` and cookies on a
    /// redirect elsewhere, not a user's `X-Api-Key`).
    web_same_origin: reqwest::Client,
    policy: Arc<Policy>,
    limiters: HashMap<Service, DefaultDirectRateLimiter>,
    /// The share of each budget that previews and adds may use.
    interactive_limiters: HashMap<Service, DefaultDirectRateLimiter>,
    rate_state: Mutex<HashMap<Service, RateState>>,
    tallies: Mutex<HashMap<&'static str, Tally>>,
    /// Access tokens per service (an OAuth client-credentials token), with their expiry.
    tokens: tokio::sync::Mutex<HashMap<Service, (String, Instant)>>,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstreams")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Upstreams {
    pub fn new(config: Arc<TrackingConfig>) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(Policy {
            allow_private: config.allow_private_targets,
            allowed: config.allowed_targets.clone(),
        });
        let base = || {
            reqwest::Client::builder()
                .user_agent(config.user_agent.clone())
                .connect_timeout(config.connect_timeout)
                .timeout(config.request_timeout)
                // A proxy would resolve names itself, past the guard.
                .no_proxy()
        };
        // Configured APIs: redirects (a renamed GitHub repository) only within the same
        // host, so credentials in custom headers or the query never travel elsewhere.
        let api = base()
            .redirect(redirect::Policy::custom(|attempt| {
                let same_host = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.host_str() == attempt.url().host_str());
                if attempt.previous().len() > 5 {
                    attempt.error("more than 5 redirects")
                } else if same_host {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()?;
        let guarded = |same_origin_only: bool| {
            let redirect_policy = policy.clone();
            base()
                .dns_resolver(Arc::new(GuardedResolver {
                    policy: policy.clone(),
                }))
                .redirect(redirect::Policy::custom(move |attempt| {
                    if attempt.previous().len() > 5 {
                        return attempt.error("more than 5 redirects");
                    }
                    if same_origin_only
                        && attempt
                            .previous()
                            .first()
                            .is_some_and(|first| first.origin() != attempt.url().origin())
                    {
                        // Answered as the redirect itself: the caller says why it stopped.
                        return attempt.stop();
                    }
                    match guard::check_url(&redirect_policy, attempt.url()) {
                        Ok(()) => attempt.follow(),
                        Err(reason) => {
                            let reason = format!("{} a redirect to {reason}", guard::REFUSED);
                            attempt.error(reason)
                        }
                    }
                }))
                .build()
        };
        let web = guarded(false)?;
        let web_same_origin = guarded(true)?;
        let limiters = providers::services()
            .into_iter()
            .map(|service| {
                let rate = NonZeroU32::new(config.requests_per_minute(service).max(1))
                    .unwrap_or(NonZeroU32::MIN);
                // Bursts of up to ten requests even on slow limits (adding a tracker takes
                // two at once); the upstream's own rate-limit headers still pause us.
                let burst = rate.max(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN));
                let quota = Quota::per_minute(rate).allow_burst(burst);
                (service, RateLimiter::direct(quota))
            })
            .collect();
        let share = config.interactive_share_percent.clamp(1, 100);
        let interactive_limiters = providers::services()
            .into_iter()
            .map(|service| {
                let rate = (config.requests_per_minute(service).max(1) * share).div_ceil(100);
                let rate = NonZeroU32::new(rate.max(1)).unwrap_or(NonZeroU32::MIN);
                (service, RateLimiter::direct(Quota::per_minute(rate)))
            })
            .collect();
        Ok(Self {
            config,
            api,
            web,
            web_same_origin,
            policy,
            limiters,
            interactive_limiters,
            rate_state: Mutex::new(HashMap::new()),
            tallies: Mutex::new(HashMap::new()),
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &TrackingConfig {
        &self.config
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The base URL of `service` with `path` (and no query) appended.
    pub fn endpoint(&self, service: Service, path: &str) -> Result<Url, FetchError> {
        let base = self.config.base_url(service).ok_or_else(|| {
            FetchError::NotConfigured(format!("no API URL is set for {}", service.name()))
        })?;
        let joined = format!(
            "{}/{}",
            base.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        Url::parse(&joined).map_err(|error| {
            FetchError::Invalid(format!("could not build a {} URL: {error}", service.name()))
        })
    }

    /// The rate-limit state of every service that has one.
    pub fn rate_states(&self) -> Vec<(Service, RateState)> {
        match self.rate_state.lock() {
            Ok(states) => states.iter().map(|(k, v)| (*k, *v)).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Sends `request`, retrying transient failures (5xx, timeouts, connection errors)
    /// with exponential backoff. 429 and 5xx come back as errors; every other status as a
    /// response for the provider to interpret.
    pub async fn send(&self, request: &UpstreamRequest) -> Result<UpstreamResponse, FetchError> {
        let attempts = self.config.attempts.max(1);
        let mut pause = self.config.retry_base;
        let mut attempt = 1;
        loop {
            match self.send_once(request).await {
                Err(FetchError::Unavailable(message)) if attempt < attempts => {
                    tracing::debug!(service = request.service.name(), attempt, error = %message, "retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// [`send`](Self::send), then the common reading of the status: 200 → the body read
    /// into `T` (a typed shape of the upstream's answer), 404/410 → gone, 401/403 →
    /// rate-limited or refused, anything else → unavailable.
    pub async fn get<T: serde::de::DeserializeOwned>(
        &self,
        request: &UpstreamRequest,
        what: &str,
    ) -> Result<T, FetchError> {
        self.get_success(request, what).await?.parse(what)
    }

    /// The answer to `request` when it succeeded; the status read as an error otherwise.
    async fn get_success(
        &self,
        request: &UpstreamRequest,
        what: &str,
    ) -> Result<UpstreamResponse, FetchError> {
        let response = self.send(request).await?;
        match response.status {
            status if status.is_success() => Ok(response),
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                Err(FetchError::Gone(format!("{what} does not exist")))
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(self.refusal(request.service, &response, what))
            }
            status => Err(FetchError::Unavailable(format!(
                "{what} answered HTTP {}",
                status.as_u16()
            ))),
        }
    }

    /// A 401/403: a rate limit when the headers say none remain or ask to retry later
    /// (GitHub's secondary limits), else a refusal.
    pub fn refusal(&self, service: Service, response: &UpstreamResponse, what: &str) -> FetchError {
        let exhausted = rate_headers(&response.headers)
            .filter(|(remaining, _)| *remaining <= 0.0)
            .map(|(_, reset)| reset);
        let asked = retry_after(&response.headers);
        if exhausted.is_some() || asked.is_some() {
            let retry_after = asked.or(exhausted.flatten()).unwrap_or(DEFAULT_PAUSE);
            self.pause(service, retry_after);
            return FetchError::RateLimited {
                message: format!(
                    "{} rate limit reached; trying again in {} s",
                    service.label(),
                    retry_after.as_secs()
                ),
                retry_after: Some(retry_after),
            };
        }
        FetchError::Invalid(format!(
            "{what} refused the request (HTTP {}): {}",
            response.status.as_u16(),
            upstream_message(&response.body)
        ))
    }

    async fn send_once(&self, request: &UpstreamRequest) -> Result<UpstreamResponse, FetchError> {
        let service = request.service;
        let label = service.name();
        self.wait_for_turn(service).await?;
        let client = if service == Service::WEB {
            guard::check_url(&self.policy, &request.url)
                .map_err(|reason| FetchError::Refused(format!("{} {reason}", guard::REFUSED)))?;
            if request.secret_headers {
                &self.web_same_origin
            } else {
                &self.web
            }
        } else {
            &self.api
        };
        let mut builder = client.request(request.method.clone(), request.url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some((content_type, body)) = &request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                .body(body.clone());
        }
        let started = Instant::now();
        let outcome = self.exchange(builder, service).await;
        let outcome_label = match &outcome {
            Ok(response) => response.status.as_str().to_string(),
            Err(error) => error.code().to_string(),
        };
        metrics::counter!("upcount_upstream_requests_total", "provider" => label, "outcome" => outcome_label).increment(1);
        let failed = outcome
            .as_ref()
            .map_or(true, |response| response.status.as_u16() >= 400);
        self.tally(label, started.elapsed(), failed);
        metrics::histogram!("upcount_upstream_request_duration_seconds", "provider" => label)
            .record(started.elapsed().as_secs_f64());
        let response = outcome?;

        if let Some((remaining, reset)) = rate_headers(&response.headers) {
            metrics::gauge!("upcount_upstream_ratelimit_remaining", "provider" => label)
                .set(remaining);
            self.record_remaining(service, remaining);
            if remaining <= 0.0 {
                self.pause(service, reset.unwrap_or(DEFAULT_PAUSE));
            }
        }
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = retry_after(&response.headers)
                .or_else(|| rate_headers(&response.headers).and_then(|(_, reset)| reset))
                .unwrap_or(DEFAULT_PAUSE);
            self.pause(service, retry_after);
            return Err(FetchError::RateLimited {
                message: format!(
                    "{} asked us to slow down (HTTP 429); trying again in {} s",
                    service.label(),
                    retry_after.as_secs()
                ),
                retry_after: Some(retry_after),
            });
        }
        if response.status.is_server_error() {
            return Err(FetchError::Unavailable(format!(
                "{} answered HTTP {} ({})",
                service.label(),
                response.status.as_u16(),
                response.status.canonical_reason().unwrap_or("server error")
            )));
        }
        Ok(response)
    }

    async fn exchange(
        &self,
        builder: reqwest::RequestBuilder,
        service: Service,
    ) -> Result<UpstreamResponse, FetchError> {
        let mut response = builder
            .send()
            .await
            .map_err(|error| transport_error(service, error))?;
        let status = response.status();
        let headers = response.headers().clone();
        let limit = self.config.max_body_bytes;
        let too_large = || FetchError::Parse {
            message: format!(
                "{} answered more than {} KiB; the limit is {} KiB",
                service.label(),
                limit / 1024,
                limit / 1024
            ),
            excerpt: String::new(),
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| transport_error(service, error))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(UpstreamResponse {
            status,
            headers,
            body,
        })
    }

    /// Waits for the service's rate limiter, and out a short pause the upstream asked
    /// for; a long pause fails at once.
    async fn wait_for_turn(&self, service: Service) -> Result<(), FetchError> {
        let paused_until = self
            .rate_state
            .lock()
            .ok()
            .and_then(|states| states.get(&service).and_then(|state| state.paused_until));
        if let Some(until) = paused_until {
            let now = Instant::now();
            if until > now {
                let wait = until - now;
                if wait > MAX_INLINE_WAIT {
                    return Err(FetchError::RateLimited {
                        message: format!(
                            "{} rate limit reached; trying again in {} s",
                            service.label(),
                            wait.as_secs().max(1)
                        ),
                        retry_after: Some(wait),
                    });
                }
                tokio::time::sleep(wait).await;
            }
        }
        if is_interactive()
            && let Some(limiter) = self.interactive_limiters.get(&service)
            && let Err(not_until) = limiter.check()
        {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(limiter.clock()));
            return Err(FetchError::Throttled {
                message: format!(
                    "previews and adds may use {}% of this server's {} request budget, and \
                     that share is used up for now; try again in {} s",
                    self.config.interactive_share_percent.clamp(1, 100),
                    service.label(),
                    wait.as_secs().max(1)
                ),
                retry_after: wait,
            });
        }
        if let Some(limiter) = self.limiters.get(&service) {
            // A short wait is waited out; a long one (a slow limit and a long queue) hands the
            // source back to be polled later instead of holding a job and its lease.
            if let Err(not_until) = limiter.check() {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(limiter.clock()));
                if wait > MAX_INLINE_WAIT {
                    return Err(FetchError::Throttled {
                        message: format!(
                            "waiting for this server's {} request budget",
                            service.label()
                        ),
                        retry_after: wait,
                    });
                }
                limiter.until_ready().await;
            }
        }
        Ok(())
    }

    /// Pauses requests to `service` for `length`. Not for user URLs: one tenant's API
    /// asking to slow down must not pause everyone else's; that source alone backs off.
    pub fn pause(&self, service: Service, length: Duration) {
        if service == Service::WEB {
            return;
        }
        if let Ok(mut states) = self.rate_state.lock() {
            let state = states.entry(service).or_default();
            let until = Instant::now() + length;
            state.paused_until = Some(state.paused_until.map_or(until, |old| old.max(until)));
        }
        tracing::warn!(
            provider = service.name(),
            pause_secs = length.as_secs(),
            "upstream rate limit: slowing down"
        );
    }

    fn tally(&self, label: &'static str, took: Duration, failed: bool) {
        let millis = u32::try_from(took.as_millis()).unwrap_or(u32::MAX);
        let bucket = LATENCY_BOUNDS_MS
            .iter()
            .position(|bound| millis <= *bound)
            .unwrap_or(LATENCY_BOUNDS_MS.len());
        if let Ok(mut tallies) = self.tallies.lock() {
            let tally = tallies.entry(label).or_default();
            tally.requests += 1;
            tally.errors += i64::from(failed);
            tally.buckets[bucket] += 1;
        }
    }

    /// Counts a poll job's sources of `provider` (the first part of their kind): `polled`
    /// in all, `failed` of them.
    pub fn tally_polls(&self, provider: &'static str, polled: usize, failed: usize) {
        if let Ok(mut tallies) = self.tallies.lock() {
            let tally = tallies.entry(provider).or_default();
            tally.polls += polled as i64;
            tally.failed_polls += failed as i64;
        }
    }

    /// Each provider's requests since the last call, with its rate-limit state now.
    pub fn take_tallies(&self) -> Vec<(&'static str, Tally)> {
        let mut taken: Vec<(&'static str, Tally)> = match self.tallies.lock() {
            Ok(mut tallies) => tallies.drain().collect(),
            Err(_) => Vec::new(),
        };
        if let Ok(states) = self.rate_state.lock() {
            let now = Instant::now();
            for (label, tally) in &mut taken {
                if let Some(state) = states
                    .iter()
                    .find(|(service, _)| service.name() == *label)
                    .map(|(_, state)| state)
                {
                    tally.remaining = state.remaining;
                    tally.paused_for_secs = state
                        .paused_until
                        .filter(|until| *until > now)
                        .map(|until| (until - now).as_secs() as i64);
                }
            }
        }
        taken
    }

    fn record_remaining(&self, service: Service, remaining: f64) {
        if let Ok(mut states) = self.rate_state.lock() {
            states.entry(service).or_default().remaining = Some(remaining);
        }
    }

    /// The access token of `service`: the cached one while it has more than a minute
    /// left (and `refresh` is false), else a new one from `fetch` (token, lifetime).
    pub async fn cached_token<F, Fut>(
        &self,
        service: Service,
        refresh: bool,
        fetch: F,
    ) -> Result<String, FetchError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(String, Duration), FetchError>>,
    {
        let mut tokens = self.tokens.lock().await;
        let fresh = tokens
            .get(&service)
            .filter(|(_, expires)| !refresh && *expires > Instant::now() + Duration::from_secs(60))
            .map(|(token, _)| token.clone());
        if let Some(token) = fresh {
            return Ok(token);
        }
        let (token, lifetime) = fetch().await?;
        let expires = Instant::now()
            .checked_add(lifetime)
            .unwrap_or_else(Instant::now);
        tokens.insert(service, (token.clone(), expires));
        Ok(token)
    }
}

fn transport_error(service: Service, error: reqwest::Error) -> FetchError {
    // Walk the chain for the guard's refusal; never echo the URL (it may hold a key).
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(current) = source {
        let text = current.to_string();
        if let Some(position) = text.find(guard::REFUSED) {
            return FetchError::Refused(text[position..].to_string());
        }
        source = current.source();
    }
    let label = service.label();
    if error.is_timeout() {
        FetchError::Unavailable(format!("{label} did not answer in time"))
    } else if error.is_connect() {
        FetchError::Unavailable(format!("could not connect to {label}"))
    } else if error.is_redirect() {
        FetchError::Invalid(format!("{label} redirected too many times"))
    } else {
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(current) = source {
            message = format!("{message}: {current}");
            source = current.source();
        }
        FetchError::Unavailable(format!("{label}: {message}"))
    }
}

/// The `(remaining, reset)` of `X-RateLimit-*` or `RateLimit-*` headers. Reset is given as
/// seconds from now or as a Unix time; either becomes a duration from now.
pub fn rate_headers(headers: &HeaderMap) -> Option<(f64, Option<Duration>)> {
    let number = |name: &str| -> Option<f64> {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .split([',', ';'])
            .next()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
    };
    let remaining = number("x-ratelimit-remaining").or_else(|| number("ratelimit-remaining"))?;
    let reset = number("x-ratelimit-reset")
        .or_else(|| number("ratelimit-reset"))
        .map(|reset| {
            if reset > 1_000_000_000.0 {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64();
                Duration::from_secs_f64((reset - now).clamp(1.0, 86_400.0))
            } else {
                Duration::from_secs_f64(reset.clamp(1.0, 86_400.0))
            }
        });
    Some((remaining, reset))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.clamp(1, 86_400)))
}

/// The `message` (or `error.message`) of a JSON error body, or an excerpt of it. On
/// `serde_json::Value`: error bodies come from any upstream, user JSON APIs included, in
/// any shape, and only a message is looked for.
pub fn upstream_message(body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        for pointer in ["/message", "/error/message", "/error", "/reason"] {
            if let Some(text) = json.pointer(pointer).and_then(|value| value.as_str()) {
                return text.to_string();
            }
        }
    }
    let text = excerpt(body);
    if text.is_empty() {
        "(no message)".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_rate_limit_headers_in_both_styles() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("30"));
        let (remaining, reset) = rate_headers(&headers).expect("headers");
        assert_eq!(remaining, 0.0);
        assert_eq!(reset, Some(Duration::from_secs(30)));

        let mut headers = HeaderMap::new();
        let in_a_minute = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            + 60;
        headers.insert("ratelimit-remaining", HeaderValue::from_static("799"));
        headers.insert(
            "ratelimit-reset",
            HeaderValue::from_str(&in_a_minute.to_string()).expect("value"),
        );
        let (remaining, reset) = rate_headers(&headers).expect("headers");
        assert_eq!(remaining, 799.0);
        let reset = reset.expect("reset").as_secs();
        assert!((55..=61).contains(&reset), "{reset}");
    }

    #[test]
    fn error_messages_come_from_json_bodies() {
        assert_eq!(upstream_message(br#"{"message":"Not Found"}"#), "Not Found");
        assert_eq!(
            upstream_message(br#"{"error":{"code":403,"message":"quota"}}"#),
            "quota"
        );
        assert_eq!(upstream_message(b"plain"), "plain");
    }
}
