//! Plans and payment: Stripe, or its stand-in, or neither.

use url::Url;

use super::{ConfigError, Env, Lookup};

/// Plans and payment.
#[derive(Clone)]
pub struct BillingSettings {
    /// `STRIPE_SECRET_KEY`: real Stripe takes the payments.
    pub secret_key: Option<String>,
    /// `UPCOUNT_STRIPE_STANDIN=true`: without a secret key, the built-in Stripe stand-in
    /// takes (pretend) payments. Without either, billing is off: plans are shown but
    /// cannot be bought, and only `upcount admin set-plan` grants a paid plan.
    pub standin: bool,
    /// `STRIPE_WEBHOOK_SECRET`: verifies webhooks (required with a secret key; without
    /// one, a random secret shared with the stand-in).
    pub webhook_secret: Option<String>,
    /// `UPCOUNT_STRIPE_API_URL`: Stripe's API; unset: `https://api.stripe.com/` with a
    /// key, else the stand-in at `/stripe-standin/` on the site.
    pub api_url: Option<Url>,
    /// `UPCOUNT_STRIPE_PRICE_PRO` / `UPCOUNT_STRIPE_PRICE_BUSINESS`: (plan, price id).
    pub prices: Vec<(String, String)>,
    /// `UPCOUNT_BILLING_GRACE_DAYS`: how long a failed payment keeps the plan.
    pub grace_days: u64,
}

impl std::fmt::Debug for BillingSettings {
    // Hand-written: keys never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingSettings")
            .field("secret_key", &self.secret_key.as_ref().map(|_| "(set)"))
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "(set)"),
            )
            .field("api_url", &self.api_url.as_ref().map(Url::as_str))
            .field("prices", &self.prices)
            .field("grace_days", &self.grace_days)
            .finish()
    }
}

/// The prices the stand-in knows, used when no secret key is set.
pub const STANDIN_PRICES: [(&str, &str); 2] = [
    ("pro", "price_standin_pro"),
    ("business", "price_standin_business"),
];

impl BillingSettings {
    pub(super) fn from_env<F: Lookup>(env: &Env<F>) -> Result<Self, ConfigError> {
        let secret_key = env.optional("STRIPE_SECRET_KEY")?;
        let webhook_secret = env.optional("STRIPE_WEBHOOK_SECRET")?;
        let standin = env.boolean("UPCOUNT_STRIPE_STANDIN", false)?;
        if standin && secret_key.is_some() {
            return Err(ConfigError::new(
                "UPCOUNT_STRIPE_STANDIN",
                "cannot be true while STRIPE_SECRET_KEY is set: choose real Stripe or the stand-in",
            ));
        }
        if secret_key.is_some() && webhook_secret.is_none() {
            return Err(ConfigError::new(
                "STRIPE_WEBHOOK_SECRET",
                "must be set when STRIPE_SECRET_KEY is (the webhook endpoint's signing secret, whsec_…)",
            ));
        }
        let api_url = match env.optional("UPCOUNT_STRIPE_API_URL")? {
            None => None,
            Some(value) => {
                let url = Url::parse(&value)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
                    .ok_or_else(|| {
                        ConfigError::new(
                            "UPCOUNT_STRIPE_API_URL",
                            format!("must be an http:// or https:// URL, not `{value}`"),
                        )
                    })?;
                // The client appends `v1/…` to the base: it must end with a slash.
                let url = if url.path().ends_with('/') {
                    url
                } else {
                    Url::parse(&format!("{url}/")).unwrap_or(url)
                };
                Some(url)
            }
        };
        let mut prices = Vec::new();
        for (plan, var) in [
            ("pro", "UPCOUNT_STRIPE_PRICE_PRO"),
            ("business", "UPCOUNT_STRIPE_PRICE_BUSINESS"),
        ] {
            let price = match env.optional(var)? {
                Some(price) => Some(price),
                None if standin => STANDIN_PRICES
                    .iter()
                    .find(|(id, _)| *id == plan)
                    .map(|(_, price)| (*price).to_string()),
                None => None,
            };
            if let Some(price) = price {
                if !price.starts_with("price_") {
                    return Err(ConfigError::new(
                        var,
                        format!("must be a Stripe price id (price_…), not `{price}`"),
                    ));
                }
                prices.push((plan.to_string(), price));
            }
        }
        Ok(BillingSettings {
            secret_key,
            standin,
            webhook_secret,
            api_url,
            prices,
            grace_days: env.bounded("UPCOUNT_BILLING_GRACE_DAYS", 7, 0..=90)?,
        })
    }
}
