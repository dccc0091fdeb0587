//! What each provider's requests did since they were last read: counts, errors, latency
//! buckets and polls, for the admin console's figures.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{super::config::Service, budget::RateState};

/// Upper bounds (milliseconds) of the latency buckets of [`Tally`]; the last bucket holds
/// everything slower.
pub const LATENCY_BOUNDS_MS: [u32; 11] =
    [25, 50, 100, 200, 350, 500, 750, 1_000, 2_000, 5_000, 10_000];

/// What one provider's requests did since the last [`Upstreams::take_tallies`].
///
/// [`Upstreams::take_tallies`]: super::Upstreams::take_tallies
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

/// Every provider's tally, by provider name.
#[derive(Default)]
pub(super) struct Tallies(Mutex<HashMap<&'static str, Tally>>);

impl Tallies {
    /// Counts one request of `label` that took `took`.
    pub(super) fn request(&self, label: &'static str, took: Duration, failed: bool) {
        let millis = u32::try_from(took.as_millis()).unwrap_or(u32::MAX);
        let bucket = LATENCY_BOUNDS_MS
            .iter()
            .position(|bound| millis <= *bound)
            .unwrap_or(LATENCY_BOUNDS_MS.len());
        if let Ok(mut tallies) = self.0.lock() {
            let tally = tallies.entry(label).or_default();
            tally.requests += 1;
            tally.errors += i64::from(failed);
            tally.buckets[bucket] += 1;
        }
    }

    /// See [`super::Upstreams::tally_polls`].
    pub(super) fn polls(&self, provider: &'static str, polled: usize, failed: usize) {
        if let Ok(mut tallies) = self.0.lock() {
            let tally = tallies.entry(provider).or_default();
            tally.polls += polled as i64;
            tally.failed_polls += failed as i64;
        }
    }

    /// Each provider's tally since the last call, with its rate-limit state from `states`.
    pub(super) fn take(&self, states: &[(Service, RateState)]) -> Vec<(&'static str, Tally)> {
        let mut taken: Vec<(&'static str, Tally)> = match self.0.lock() {
            Ok(mut tallies) => tallies.drain().collect(),
            Err(_) => Vec::new(),
        };
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
        taken
    }
}
