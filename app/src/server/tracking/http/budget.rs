//! Request budgets: a rate limiter per service shared by every task of the process, the
//! interactive share of it that previews and adds may use, and the pauses an upstream asks
//! for (429, `Retry-After`, rate-limit headers).

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::HeaderMap;

use super::super::{
    FetchError,
    config::{Service, TrackingConfig},
    providers,
};

/// The longest an upstream's "slow down" is waited out inside a request; longer pauses
/// fail the request with [`FetchError::RateLimited`] so the source is polled later.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(5);
/// How long to pause after a 429 that does not say.
pub(super) const DEFAULT_PAUSE: Duration = Duration::from_secs(60);

/// The rate-limit state of one service, for the admin console and metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateState {
    pub remaining: Option<f64>,
    pub paused_until: Option<Instant>,
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

/// Every service's budget and rate-limit state.
pub(super) struct Budgets {
    limiters: HashMap<Service, DefaultDirectRateLimiter>,
    /// The share of each budget that previews and adds may use.
    interactive_limiters: HashMap<Service, DefaultDirectRateLimiter>,
    /// That share in percent, for messages.
    share: u32,
    states: Mutex<HashMap<Service, RateState>>,
}

impl Budgets {
    pub(super) fn new(config: &TrackingConfig) -> Self {
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
        Self {
            limiters,
            interactive_limiters,
            share,
            states: Mutex::new(HashMap::new()),
        }
    }

    /// The rate-limit state of every service that has one.
    pub(super) fn states(&self) -> Vec<(Service, RateState)> {
        match self.states.lock() {
            Ok(states) => states.iter().map(|(k, v)| (*k, *v)).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Waits for the service's rate limiter, and out a short pause the upstream asked
    /// for; a long pause fails at once.
    pub(super) async fn wait_for_turn(&self, service: Service) -> Result<(), FetchError> {
        let paused_until = self
            .states
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
                    self.share,
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

    /// Pauses requests to `service` for `length` (see [`super::Upstreams::pause`]).
    pub(super) fn pause(&self, service: Service, length: Duration) {
        if service == Service::WEB {
            return;
        }
        if let Ok(mut states) = self.states.lock() {
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

    pub(super) fn record_remaining(&self, service: Service, remaining: f64) {
        if let Ok(mut states) = self.states.lock() {
            states.entry(service).or_default().remaining = Some(remaining);
        }
    }
}

/// Whether a budget with `remaining` requests is used up. Reddit counts in fractions
/// (`x-ratelimit-remaining: 0.0`, or `0.4` left): less than one request is none.
pub(super) fn exhausted(remaining: f64) -> bool {
    remaining < 1.0
}

/// Which of an upstream's budgets an answer drew on, when it says (GitHub's
/// `x-ratelimit-resource`: `core`, `search`, `graphql`…).
pub fn rate_resource(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-ratelimit-resource")?.to_str().ok()
}

/// The `(remaining, reset)` of `X-RateLimit-*` or `RateLimit-*` headers, or of the IETF
/// draft's single `RateLimit` field (Hugging Face's `"api";r=0;t=120`). Reset is given as
/// seconds from now (Reddit: the seconds to the end of its window; the IETF draft's
/// `RateLimit-Reset`) or as a Unix time (GitHub, Docker Hub); either becomes a duration
/// from now. The remaining count may be a float (Reddit's `"99.0"`).
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
    let (remaining, reset) =
        match number("x-ratelimit-remaining").or_else(|| number("ratelimit-remaining")) {
            Some(remaining) => (
                remaining,
                number("x-ratelimit-reset").or_else(|| number("ratelimit-reset")),
            ),
            None => ratelimit_field(headers.get("ratelimit")?.to_str().ok()?)?,
        };
    let reset = reset.map(|reset| {
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

/// `(remaining, reset)` of the IETF draft's `RateLimit` field, in either of its shapes:
/// a list of policies with parameters (`"api";r=499;t=120`, Hugging Face's, from draft 9
/// on; with several policies, the one with the fewest requests left), or the older
/// dictionary (`limit=100, remaining=50, reset=5`).
fn ratelimit_field(value: &str) -> Option<(f64, Option<f64>)> {
    let number = |text: &str| {
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
    };
    let mut policies: Vec<(f64, Option<f64>)> = Vec::new();
    let (mut remaining, mut reset) = (None, None);
    for member in value.split(',') {
        let parameters = member.split(';').filter_map(|part| part.split_once('='));
        let (mut r, mut t) = (None, None);
        for (name, text) in parameters {
            match name.trim() {
                "r" => r = number(text),
                "t" => t = number(text),
                "remaining" => remaining = number(text),
                "reset" => reset = number(text),
                _ => {}
            }
        }
        if let Some(r) = r {
            policies.push((r, t));
        }
    }
    policies
        .into_iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .or_else(|| remaining.map(|remaining| (remaining, reset)))
}

pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.clamp(1, 86_400)))
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
    fn reads_reddit_and_github_styles_of_the_same_headers() {
        // Reddit: floats, and the seconds to the end of the window.
        let mut headers = HeaderMap::new();
        headers.insert("X-Ratelimit-Used", HeaderValue::from_static("100"));
        headers.insert("X-Ratelimit-Remaining", HeaderValue::from_static("0.0"));
        headers.insert("X-Ratelimit-Reset", HeaderValue::from_static("42"));
        let (remaining, reset) = rate_headers(&headers).expect("headers");
        assert!(exhausted(remaining));
        assert_eq!(reset, Some(Duration::from_secs(42)));
        headers.insert("X-Ratelimit-Remaining", HeaderValue::from_static("99.0"));
        assert!(!exhausted(rate_headers(&headers).expect("headers").0));
        headers.insert("X-Ratelimit-Remaining", HeaderValue::from_static("0.4"));
        assert!(exhausted(rate_headers(&headers).expect("headers").0));
        assert_eq!(rate_resource(&headers), None);

        // GitHub: a Unix time, and the budget it speaks of.
        let mut headers = HeaderMap::new();
        let in_ten_minutes = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            + 600;
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("4999"));
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&in_ten_minutes.to_string()).expect("value"),
        );
        headers.insert("x-ratelimit-resource", HeaderValue::from_static("search"));
        let reset = rate_headers(&headers).and_then(|(_, reset)| reset);
        let reset = reset.expect("reset").as_secs();
        assert!((595..=601).contains(&reset), "{reset}");
        assert_eq!(rate_resource(&headers), Some("search"));
    }

    #[test]
    fn reads_the_ietf_ratelimit_field() {
        let read = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert("ratelimit", HeaderValue::from_static(value));
            headers.insert(
                "ratelimit-policy",
                HeaderValue::from_static("\"fixed window\";\"api\";q=500;w=300"),
            );
            rate_headers(&headers)
        };
        // Hugging Face's: one policy, its requests left and seconds until the window ends.
        assert_eq!(
            read("\"api\";r=499;t=120"),
            Some((499.0, Some(Duration::from_secs(120))))
        );
        assert_eq!(
            read("\"api\";r=0;t=55"),
            Some((0.0, Some(Duration::from_secs(55))))
        );
        // Several policies: the one closest to running out.
        assert_eq!(
            read("\"resolvers\";r=2000;t=10, \"api\";r=3;t=200"),
            Some((3.0, Some(Duration::from_secs(200))))
        );
        // The older dictionary shape.
        assert_eq!(
            read("limit=100, remaining=50, reset=5"),
            Some((50.0, Some(Duration::from_secs(5))))
        );
        assert_eq!(read("\"api\";q=500"), None, "no requests-left figure");
        assert_eq!(read("garbage"), None);
    }
}
