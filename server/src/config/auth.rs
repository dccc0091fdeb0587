//! Limits on signing in.

use std::time::Duration;

use super::{ConfigError, Env, Lookup};

/// Limits on signing in.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// `UPCOUNT_SIGN_IN_ATTEMPTS_PER_EMAIL`: attempts per email address per window.
    pub attempts_per_email: u32,
    /// `UPCOUNT_SIGN_IN_ATTEMPTS_PER_IP`: attempts per client address per window.
    pub attempts_per_ip: u32,
    /// `UPCOUNT_SIGN_IN_WINDOW_MINS`: the window.
    pub window: Duration,
    /// `UPCOUNT_TRUSTED_PROXIES`: reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl AuthSettings {
    pub(super) fn from_env<F: Lookup>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(AuthSettings {
            attempts_per_email: env.bounded(
                "UPCOUNT_SIGN_IN_ATTEMPTS_PER_EMAIL",
                10,
                1..=10_000,
            )?,
            attempts_per_ip: env.bounded("UPCOUNT_SIGN_IN_ATTEMPTS_PER_IP", 50, 1..=100_000)?,
            trusted_proxies: env.ip_list("UPCOUNT_TRUSTED_PROXIES")?,
            window: Duration::from_secs(
                60 * env.bounded::<u64>("UPCOUNT_SIGN_IN_WINDOW_MINS", 15, 1..=1_440)?,
            ),
        })
    }
}
