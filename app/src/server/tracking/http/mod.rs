//! The HTTP client every provider fetches through: timeouts, a body size limit, per-service
//! rate limits that hold across every task of the process, slowing down when an upstream
//! says so, retries of transient failures, and (for user-supplied URLs) the outbound
//! address guard. The clients and one exchange are in `client`, the budgets and pauses
//! in `budget`, the per-provider figures in `tally`.

mod budget;
mod client;
mod oauth;
mod request;
mod tally;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use url::Url;

pub use budget::{RateState, interactive, rate_headers, rate_resource};
pub use oauth::{ClientAuth, ClientCredentials};
pub use request::{UpstreamRequest, UpstreamResponse, upstream_message};
pub use tally::{LATENCY_BOUNDS_MS, Tally};

use super::{
    FetchError,
    config::{Service, TrackingConfig},
    guard::Policy,
};
use budget::{Budgets, DEFAULT_PAUSE, exhausted, retry_after};
use client::Clients;
use tally::Tallies;

/// What a conditional request found ([`Upstreams::get_conditional`]).
#[derive(Debug)]
pub enum Conditional<T> {
    /// A new answer.
    Fresh(T),
    /// Nothing changed since the validator was given out (`304 Not Modified`).
    Unchanged { validator: String },
}

/// The shared HTTP machinery.
pub struct Upstreams {
    config: Arc<TrackingConfig>,
    clients: Clients,
    policy: Arc<Policy>,
    budgets: Budgets,
    tallies: Tallies,
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
        Ok(Self {
            clients: Clients::new(&config, &policy)?,
            budgets: Budgets::new(&config),
            config,
            policy,
            tallies: Tallies::default(),
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &TrackingConfig {
        &self.config
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The guarded client for user-supplied URLs that carry secrets (alert webhooks):
    /// public addresses only, redirects within the first URL's origin only. Check the URL
    /// with [`super::guard::check_url`] first (IP literals are not resolved).
    pub fn outbound(&self) -> &reqwest::Client {
        self.clients.outbound()
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
        self.budgets.states()
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

    /// The answer to `request` when it succeeded; the status read as an error otherwise
    /// (as by [`get`](Self::get)), for answers whose headers matter too.
    pub async fn get_success(
        &self,
        request: &UpstreamRequest,
        what: &str,
    ) -> Result<UpstreamResponse, FetchError> {
        let response = self.send(request).await?;
        self.success(request.service, response, what)
    }

    /// [`get_success`](Self::get_success) as a conditional request: `validator` (the
    /// `ETag` of what was read last time) goes as `If-None-Match`, and a `304 Not
    /// Modified` comes back as [`Conditional::Unchanged`] with the validator the upstream
    /// answered with (or the one sent). Without a validator it is a plain request.
    pub async fn get_conditional(
        &self,
        request: &UpstreamRequest,
        validator: Option<&str>,
        what: &str,
    ) -> Result<Conditional<UpstreamResponse>, FetchError> {
        let response = match validator {
            Some(validator) => {
                let request = request.clone().header("If-None-Match", validator);
                let response = self.send(&request).await?;
                if response.status == StatusCode::NOT_MODIFIED {
                    let validator = response
                        .validator()
                        .unwrap_or_else(|| validator.to_string());
                    return Ok(Conditional::Unchanged { validator });
                }
                response
            }
            None => self.send(request).await?,
        };
        self.success(request.service, response, what)
            .map(Conditional::Fresh)
    }

    /// `response` when it succeeded; its status read as an error otherwise (404/410 →
    /// gone, 401/403 → rate-limited or refused, anything else → unavailable), for answers a
    /// provider sent itself ([`send_with_app_token`](Self::send_with_app_token)).
    pub fn success(
        &self,
        service: Service,
        response: UpstreamResponse,
        what: &str,
    ) -> Result<UpstreamResponse, FetchError> {
        match response.status {
            status if status.is_success() => Ok(response),
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                Err(FetchError::Gone(format!("{what} does not exist")))
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(self.refusal(service, &response, what))
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
        let used_up = rate_headers(&response.headers)
            .filter(|(remaining, _)| exhausted(*remaining))
            .map(|(_, reset)| reset);
        let asked = retry_after(&response.headers);
        if used_up.is_some() || asked.is_some() {
            let retry_after = asked.or(used_up.flatten()).unwrap_or(DEFAULT_PAUSE);
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
        self.budgets.wait_for_turn(service).await?;
        let builder = self.clients.build(&self.policy, request)?;
        let started = Instant::now();
        let outcome = client::exchange(builder, service, self.config.max_body_bytes).await;
        let outcome_label = match &outcome {
            Ok(response) => response.status.as_str().to_string(),
            Err(error) => error.code().to_string(),
        };
        metrics::counter!("upcount_upstream_requests_total", "provider" => label, "outcome" => outcome_label).increment(1);
        let failed = outcome
            .as_ref()
            .map_or(true, |response| response.status.as_u16() >= 400);
        self.tallies.request(label, started.elapsed(), failed);
        metrics::histogram!("upcount_upstream_request_duration_seconds", "provider" => label)
            .record(started.elapsed().as_secs_f64());
        let response = outcome?;

        // The budget the upstream says is left: when it is used up, every request of the
        // process to it waits for the reset (unless the headers speak of another of its
        // budgets: GitHub's `search` is not its `core`). A 304 leaves it as it was.
        if let Some((remaining, reset)) = rate_headers(&response.headers)
            && service.counts_rate_resource(rate_resource(&response.headers))
        {
            metrics::gauge!("upcount_upstream_ratelimit_remaining", "provider" => label)
                .set(remaining);
            self.budgets.record_remaining(service, remaining);
            if exhausted(remaining) {
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

    /// Pauses requests to `service` for `length`. Not for user URLs: one tenant's API
    /// asking to slow down must not pause everyone else's; that source alone backs off.
    pub fn pause(&self, service: Service, length: Duration) {
        self.budgets.pause(service, length);
    }

    /// Counts a poll job's sources of `provider` (the first part of their kind): `polled`
    /// in all, `failed` of them.
    pub fn tally_polls(&self, provider: &'static str, polled: usize, failed: usize) {
        self.tallies.polls(provider, polled, failed);
    }

    /// Each provider's requests since the last call, with its rate-limit state now.
    pub fn take_tallies(&self) -> Vec<(&'static str, Tally)> {
        self.tallies.take(&self.budgets.states())
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
