//! Plans and payment: the Stripe client (real Stripe, or the stand-in that ships with
//! Upcount when no secret key is set), webhook events, and the plan each workspace gets.

pub mod events;
pub mod standing;
pub mod store;

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;
use stripe::StripeRequest;

use crate::domain::{UserId, WorkspaceId};
use crate::{
    domain::billing::BillingView,
    server::{billing::standing::Standing, state::AppState},
};

/// The stand-in's secret key: it refuses API calls without it, as Stripe refuses calls
/// without the account's key.
pub const STANDIN_SECRET_KEY: &str = "sk_test_upcount_standin";

/// Who takes the payments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillingMode {
    /// Real Stripe (`STRIPE_SECRET_KEY`).
    Stripe,
    /// The stand-in mounted on the site (`UPCOUNT_STRIPE_STANDIN=true`).
    StandIn,
    /// Nobody: plans are shown but cannot be bought; support sets them.
    Off,
}

/// What a purchase gets while payments are off.
pub const OFF_MESSAGE: &str = "Payments are not enabled on this server, so plans cannot be \
     bought here. Please contact support to change your plan.";

/// How Upcount talks to Stripe.
#[derive(Clone)]
pub struct BillingConfig {
    pub mode: BillingMode,
    /// `STRIPE_SECRET_KEY`; `None` for the stand-in (which takes [`STANDIN_SECRET_KEY`]).
    pub secret_key: Option<String>,
    /// Where the Stripe API is (`UPCOUNT_STRIPE_API_URL`, or the stand-in's address).
    pub api_url: url::Url,
    /// `STRIPE_WEBHOOK_SECRET` (the stand-in signs with the same).
    pub webhook_secret: String,
    /// (plan id, Stripe price id) of every plan that can be bought.
    pub prices: Vec<(String, String)>,
    /// `UPCOUNT_BILLING_GRACE_DAYS`: how long a failed payment keeps the plan.
    pub grace: TimeDelta,
    /// `scheme://host[:port]` of the site, for Stripe's return addresses.
    pub public_origin: String,
}

impl std::fmt::Debug for BillingConfig {
    // Hand-written: the keys must never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingConfig")
            .field("mode", &self.mode)
            .field("api_url", &self.api_url.as_str())
            .field("prices", &self.prices)
            .field("grace", &self.grace)
            .finish()
    }
}

/// What went wrong talking to Stripe.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("Stripe refused the request: {0}")]
    Stripe(String),
    #[error("Stripe could not be reached: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<stripe::StripeError> for BillingError {
    fn from(error: stripe::StripeError) -> Self {
        match error {
            stripe::StripeError::Stripe(errors, status) => BillingError::Stripe(format!(
                "{} (HTTP {status})",
                errors.message.as_deref().unwrap_or("no message")
            )),
            stripe::StripeError::Timeout => BillingError::Unreachable("timed out".into()),
            stripe::StripeError::ClientError(message) => BillingError::Unreachable(message),
            stripe::StripeError::JSONDeserialize(message) => {
                BillingError::Stripe(format!("an unexpected answer: {message}"))
            }
            stripe::StripeError::ConfigError(message) => BillingError::Invalid(message),
        }
    }
}

/// The Stripe client and the billing settings.
#[derive(Clone)]
pub struct Billing {
    config: BillingConfig,
    client: stripe::Client,
}

impl std::fmt::Debug for Billing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Billing")
            .field("config", &self.config)
            .finish()
    }
}

#[derive(miniserde::Deserialize)]
struct Created {
    id: String,
}

#[derive(miniserde::Deserialize)]
struct WithUrl {
    url: Option<String>,
}

#[derive(miniserde::Deserialize)]
struct StripeSubscription {
    id: String,
    customer: String,
    status: String,
    cancel_at_period_end: bool,
    created: i64,
    items: StripeItems,
}

#[derive(miniserde::Deserialize)]
struct StripeItems {
    data: Vec<StripeItem>,
}

#[derive(miniserde::Deserialize)]
struct StripeItem {
    current_period_end: Option<i64>,
    price: StripePrice,
}

#[derive(miniserde::Deserialize)]
struct StripePrice {
    id: String,
}

/// What Stripe bills for a workspace about to be deleted.
struct GoingWorkspace {
    workspace_id: WorkspaceId,
    customer: Option<String>,
    subscription: Option<String>,
    status: Option<String>,
}

fn time(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

impl Billing {
    pub fn new(config: BillingConfig) -> Result<Self, BillingError> {
        let key = config
            .secret_key
            .clone()
            .unwrap_or_else(|| STANDIN_SECRET_KEY.to_string());
        let client = stripe::ClientBuilder::new(key)
            .url(config.api_url.as_str())
            .timeout(std::time::Duration::from_secs(20))
            .build()?;
        Ok(Self { config, client })
    }

    pub fn config(&self) -> &BillingConfig {
        &self.config
    }

    /// Payments go to the built-in stand-in, not to Stripe.
    pub fn is_standin(&self) -> bool {
        self.config.mode == BillingMode::StandIn
    }

    /// Payments can be taken (by Stripe or the stand-in).
    pub fn is_enabled(&self) -> bool {
        self.config.mode != BillingMode::Off
    }

    /// Refuses when payments are off.
    fn check_enabled(&self) -> Result<(), BillingError> {
        if self.is_enabled() {
            Ok(())
        } else {
            Err(BillingError::Invalid(OFF_MESSAGE.into()))
        }
    }

    pub fn grace(&self) -> TimeDelta {
        self.config.grace
    }

    pub fn webhook_secret(&self) -> &str {
        &self.config.webhook_secret
    }

    /// The Stripe price of plan `plan`, when it can be bought.
    pub fn price_of(&self, plan: &str) -> Option<&str> {
        if !self.is_enabled() {
            return None;
        }
        self.config
            .prices
            .iter()
            .find(|(id, _)| id == plan)
            .map(|(_, price)| price.as_str())
    }

    /// The plan Stripe price `price` stands for.
    pub fn plan_of_price(&self, price: &str) -> Option<&str> {
        self.config
            .prices
            .iter()
            .find(|(_, candidate)| candidate == price)
            .map(|(plan, _)| plan.as_str())
    }

    /// The workspace's Stripe customer, created on first use and reused ever after.
    pub async fn customer(
        &self,
        pool: &PgPool,
        workspace_id: WorkspaceId,
        email: &str,
    ) -> Result<String, BillingError> {
        let mut transaction = pool.begin().await?;
        // The row stays locked until commit: a second checkout at once waits, then finds
        // the customer this one made.
        if let Some(customer) = store::lock_customer(&mut transaction, workspace_id).await? {
            return Ok(customer);
        }
        let metadata = HashMap::from([("workspace_id".to_string(), workspace_id.to_string())]);
        let created: Created = stripe_core::customer::CreateCustomer::new()
            .email(email)
            .metadata(metadata)
            .build()
            .customize::<Created>()
            .send(&self.client)
            .await?;
        store::set_customer(&mut *transaction, workspace_id, &created.id).await?;
        transaction.commit().await?;
        tracing::info!(%workspace_id, customer = %created.id, "created a Stripe customer");
        Ok(created.id)
    }

    /// A Stripe Checkout page (subscription mode) for plan `plan`: its address.
    pub async fn checkout(
        &self,
        pool: &PgPool,
        workspace_id: WorkspaceId,
        email: &str,
        plan: &str,
    ) -> Result<String, BillingError> {
        self.check_enabled()?;
        let Some(price) = self.price_of(plan) else {
            return Err(BillingError::Invalid(format!(
                "The `{plan}` plan cannot be bought here."
            )));
        };
        let customer = self.customer(pool, workspace_id, email).await?;
        let metadata = HashMap::from([
            ("workspace_id".to_string(), workspace_id.to_string()),
            ("plan".to_string(), plan.to_string()),
        ]);
        let origin = &self.config.public_origin;
        let session: WithUrl = stripe_checkout::checkout_session::CreateCheckoutSession::new()
            .mode(stripe_checkout::CheckoutSessionMode::Subscription)
            .customer(customer)
            .client_reference_id(workspace_id.to_string())
            .line_items(vec![
                stripe_checkout::checkout_session::CreateCheckoutSessionLineItems {
                    price: Some(price.to_string()),
                    quantity: Some(1),
                    ..Default::default()
                },
            ])
            .metadata(metadata.clone())
            .subscription_data(
                stripe_checkout::checkout_session::CreateCheckoutSessionSubscriptionData {
                    metadata: Some(metadata),
                    ..Default::default()
                },
            )
            .success_url(format!(
                "{origin}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"
            ))
            .cancel_url(format!("{origin}/billing?checkout=cancelled"))
            .build()
            .customize::<WithUrl>()
            .send(&self.client)
            .await?;
        session
            .url
            .ok_or_else(|| BillingError::Stripe("the checkout session has no address".into()))
    }

    /// A Stripe Billing Portal page for the workspace: its address. `None` when the
    /// workspace has never been a Stripe customer.
    pub async fn portal(
        &self,
        pool: &PgPool,
        workspace_id: WorkspaceId,
    ) -> Result<Option<String>, BillingError> {
        self.check_enabled()?;
        let row = store::billing_row(pool, workspace_id).await?;
        let Some(customer) = row.stripe_customer_id else {
            return Ok(None);
        };
        let portal: WithUrl =
            stripe_billing::billing_portal_session::CreateBillingPortalSession::new()
                .customer(customer)
                .return_url(format!("{}/billing", self.config.public_origin))
                .build()
                .customize::<WithUrl>()
                .send(&self.client)
                .await?;
        Ok(portal.url)
    }

    /// Ends, at once, everything Stripe would bill for the workspaces that deleting user
    /// `user_id` deletes (those they are the last member of): their Stripe customers are
    /// deleted, which cancels every subscription of theirs — also one whose webhook has
    /// not arrived yet. Run before the rows go: when Stripe cannot be reached the deletion
    /// must wait. Returns how many workspaces had something at Stripe.
    pub async fn cancel_before_deleting_user(
        &self,
        pool: &PgPool,
        user_id: UserId,
    ) -> Result<usize, BillingError> {
        let going = sqlx::query_as!(
            GoingWorkspace,
            "SELECT b.workspace_id, b.stripe_customer_id AS customer,
                    b.subscription_id AS subscription, b.subscription_status AS status
             FROM workspace_billing b JOIN workspace_members m ON m.workspace_id = b.workspace_id
             WHERE m.user_id = $1
               AND (b.stripe_customer_id IS NOT NULL OR b.subscription_id IS NOT NULL)
               AND NOT EXISTS (
                   SELECT 1 FROM workspace_members other
                   WHERE other.workspace_id = b.workspace_id AND other.user_id <> $1
               )",
            user_id as UserId,
        )
        .fetch_all(pool)
        .await?;
        self.end_billing(&going).await
    }

    /// Ends, at once, everything Stripe would bill for `workspace_id`, which is about to
    /// be deleted (see [`Self::cancel_before_deleting_user`]). Whether it had anything.
    pub async fn cancel_before_deleting_workspace(
        &self,
        pool: &PgPool,
        workspace_id: WorkspaceId,
    ) -> Result<bool, BillingError> {
        let going = sqlx::query_as!(
            GoingWorkspace,
            "SELECT b.workspace_id, b.stripe_customer_id AS customer,
                    b.subscription_id AS subscription, b.subscription_status AS status
             FROM workspace_billing b
             WHERE b.workspace_id = $1
               AND (b.stripe_customer_id IS NOT NULL OR b.subscription_id IS NOT NULL)",
            workspace_id as WorkspaceId,
        )
        .fetch_all(pool)
        .await?;
        Ok(self.end_billing(&going).await? > 0)
    }

    /// Deletes the Stripe customers (or cancels the subscriptions) of workspaces that
    /// are going: how many had something at Stripe.
    async fn end_billing(&self, going: &[GoingWorkspace]) -> Result<usize, BillingError> {
        for GoingWorkspace {
            workspace_id,
            customer,
            subscription,
            status,
        } in going
        {
            let live = subscription.is_some()
                && !matches!(status.as_deref(), Some("canceled" | "incomplete_expired"));
            if !self.is_enabled() {
                if live {
                    return Err(BillingError::Invalid(
                        "a subscription is recorded, but payments are off on this server, so it \
                         cannot be cancelled from here; cancel it at Stripe first"
                            .into(),
                    ));
                }
                continue;
            }
            match (customer, subscription) {
                (Some(customer), _) => self.delete_customer(customer).await?,
                (None, Some(subscription)) if live => self.cancel_now(subscription).await?,
                _ => {}
            }
            tracing::info!(%workspace_id, "ended the Stripe billing of a workspace being deleted");
        }
        Ok(going.len())
    }

    /// Deletes Stripe customer `id` (Stripe cancels its subscriptions at once); one Stripe
    /// no longer knows counts as deleted.
    async fn delete_customer(&self, id: &str) -> Result<(), BillingError> {
        self.send_until_gone(stripe_core::customer::DeleteCustomer::new(id))
            .await
    }

    /// Cancels subscription `id` now (not at the period's end); one Stripe no longer
    /// knows counts as cancelled.
    async fn cancel_now(&self, id: &str) -> Result<(), BillingError> {
        self.send_until_gone(stripe_billing::subscription::CancelSubscription::new(id))
            .await
    }

    /// Sends `request`, whose answer is not read; an object Stripe no longer knows (404)
    /// counts as done.
    async fn send_until_gone(&self, request: impl StripeRequest) -> Result<(), BillingError> {
        let answer = request
            .build()
            .customize::<Created>()
            .send(&self.client)
            .await;
        match answer {
            Ok(_) | Err(stripe::StripeError::Stripe(_, 404)) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// The subscription as Stripe has it now; `None` when Stripe does not know it.
    pub async fn subscription(
        &self,
        id: &str,
    ) -> Result<Option<store::Subscription>, BillingError> {
        let answer = stripe_billing::subscription::RetrieveSubscription::new(id)
            .build()
            .customize::<StripeSubscription>()
            .send(&self.client)
            .await;
        let subscription = match answer {
            Ok(subscription) => subscription,
            Err(stripe::StripeError::Stripe(_, 404)) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let item = subscription.items.data.first();
        Ok(Some(store::Subscription {
            plan: item
                .and_then(|item| self.plan_of_price(&item.price.id))
                .map(str::to_string),
            current_period_end: subscription
                .items
                .data
                .iter()
                .filter_map(|item| item.current_period_end)
                .max()
                .and_then(time),
            id: subscription.id,
            customer: subscription.customer,
            status: subscription.status,
            cancel_at_period_end: subscription.cancel_at_period_end,
            created: time(subscription.created).unwrap_or_default(),
        }))
    }
}

/// The workspace's plan, usage and subscription at `now`, for its billing page.
pub async fn overview(
    state: &AppState,
    workspace_id: WorkspaceId,
    now: DateTime<Utc>,
) -> Result<BillingView, sqlx::Error> {
    let row = store::billing_row(&state.pool, workspace_id).await?;
    overview_of(state, workspace_id, &row, now).await
}

/// [`overview`] from the workspace's billing row, already read.
pub async fn overview_of(
    state: &AppState,
    workspace_id: WorkspaceId,
    row: &store::BillingRow,
    now: DateTime<Utc>,
) -> Result<BillingView, sqlx::Error> {
    let pool = &state.pool;
    let plan = store::workspace_plan(pool, workspace_id).await?;
    let (_, standing) = row.state.at(now, state.billing.grace());
    let rfc3339 = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (standing_name, period_end, grace_ends_at) = match &standing {
        Standing::Free => ("free", None, None),
        Standing::Active { renews_at } => ("active", renews_at.map(rfc3339), None),
        Standing::Canceling { ends_at } => ("canceling", ends_at.map(rfc3339), None),
        Standing::PastDue { grace_ends_at } => (
            "past_due",
            row.state.current_period_end.map(rfc3339),
            Some(rfc3339(*grace_ends_at)),
        ),
        Standing::Lapsed => ("lapsed", None, None),
        Standing::Override => ("override", None, None),
    };
    let paused_by_plan = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM trackers WHERE workspace_id = $1 AND paused AND paused_by_plan"#,
        workspace_id as WorkspaceId,
    )
    .fetch_one(pool)
    .await?;
    Ok(BillingView {
        plans: store::plans(pool)
            .await?
            .into_iter()
            .map(|plan| {
                let buyable = state.billing.price_of(&plan.id).is_some();
                (plan, buyable)
            })
            .collect(),
        plan,
        active_trackers: store::active_trackers(pool, workspace_id).await?,
        paused_by_plan,
        api_tokens: store::api_tokens(pool, workspace_id).await?,
        standing: standing_name.into(),
        status: row.state.subscription_status.clone(),
        period_end,
        grace_ends_at,
        has_customer: row.stripe_customer_id.is_some(),
        test_mode: state.billing.is_standin(),
        history_pruned_from: sqlx::query_scalar!(
            "SELECT retention_kept_until FROM workspaces WHERE id = $1 AND retention_kept_until > $2",
            workspace_id as WorkspaceId,
            now,
        )
        .fetch_optional(pool)
        .await?
        .flatten()
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    })
}
