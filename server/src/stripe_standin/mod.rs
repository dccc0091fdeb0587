//! A stand-in for Stripe, mounted only when asked for with `UPCOUNT_STRIPE_STANDIN=true`
//! (`make run`, the tests, a demo; never beside a `STRIPE_SECRET_KEY`): the parts of Stripe's API Upcount calls — customers, Checkout and
//! Billing Portal sessions, subscriptions — with the same paths, form-encoded requests and
//! JSON shapes, plus a hosted "checkout" page and a "portal" page whose buttons change the
//! subscription and send correctly signed webhooks back to `/webhooks/stripe`, so the
//! whole money flow works offline. Its state lives in memory: a restart forgets it.
//!
//! The portal page also has what Stripe's test clocks and test cards do: fail the next
//! payment, pay it, and move the clock to the end of the period.
//!
//! This module holds the state, the router and what both halves share (the objects' JSON,
//! events and their delivery); [`api`] is the REST API it imitates, [`pages`] the hosted
//! checkout and portal pages.

mod api;
mod pages;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use app::server::{billing::events::sign, state::AppState};
use axum::{
    Router,
    http::header,
    routing::{any, delete, get, post},
};
use chrono::Utc;
use serde_json::{Value, json};

/// Where the stand-in is mounted on the site.
pub const BASE: &str = "/stripe-standin";

/// A billing period.
const PERIOD_SECS: i64 = 30 * 86_400;

#[derive(Debug, Clone)]
struct Customer {
    id: String,
    email: Option<String>,
    metadata: HashMap<String, String>,
    created: i64,
}

#[derive(Debug, Clone)]
struct CheckoutSession {
    id: String,
    customer: String,
    price: String,
    client_reference_id: Option<String>,
    metadata: HashMap<String, String>,
    subscription_metadata: HashMap<String, String>,
    success_url: String,
    cancel_url: String,
    subscription: Option<String>,
    created: i64,
}

impl CheckoutSession {
    /// Where Stripe sends the customer once the session is paid.
    fn success_redirect(&self) -> String {
        self.success_url.replace("{CHECKOUT_SESSION_ID}", &self.id)
    }
}

#[derive(Debug, Clone)]
struct Subscription {
    id: String,
    customer: String,
    price: String,
    status: String,
    cancel_at_period_end: bool,
    period_start: i64,
    period_end: i64,
    metadata: HashMap<String, String>,
    created: i64,
}

#[derive(Debug, Default)]
struct Data {
    next_id: u64,
    /// Seconds the stand-in's clock is ahead of the real one (the test clock).
    clock_offset: i64,
    customers: HashMap<String, Customer>,
    sessions: HashMap<String, CheckoutSession>,
    /// Billing Portal session id → customer.
    portals: HashMap<String, (String, String)>,
    subscriptions: HashMap<String, Subscription>,
}

impl Data {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        let random: u32 = rand::random();
        format!("{prefix}_standin{:06}{random:08x}", self.next_id)
    }

    fn now(&self) -> i64 {
        Utc::now().timestamp() + self.clock_offset
    }
}

/// The stand-in's state and where its webhooks go.
#[derive(Clone)]
struct Standin {
    data: Arc<Mutex<Data>>,
    app: AppState,
    client: reqwest::Client,
}

impl Standin {
    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        // A panic while holding the lock cannot leave the maps half-written in a way that
        // matters to a stand-in: carry on with what is there.
        self.data
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn origin(&self) -> &str {
        &self.app.web.public_origin
    }

    fn plan_name(&self, price: &str) -> String {
        match self.app.billing.plan_of_price(price) {
            Some("pro") => "Upcount Pro".into(),
            Some("business") => "Upcount Business".into(),
            Some(other) => format!("Upcount {other}"),
            None => price.to_string(),
        }
    }
}

/// The stand-in's routes, to merge into the site's router.
pub fn router(app: AppState) -> Router {
    let standin = Standin {
        data: Arc::new(Mutex::new(Data::default())),
        app,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default(),
    };
    let api = Router::new()
        .route(&format!("{BASE}/v1/customers"), post(api::create_customer))
        .route(
            &format!("{BASE}/v1/customers/{{id}}"),
            delete(api::delete_customer),
        )
        .route(
            &format!("{BASE}/v1/checkout/sessions"),
            post(api::create_checkout_session),
        )
        .route(
            &format!("{BASE}/v1/billing_portal/sessions"),
            post(api::create_portal_session),
        )
        .route(
            &format!("{BASE}/v1/subscriptions/{{id}}"),
            get(api::retrieve_subscription).delete(api::cancel_subscription),
        )
        .route(&format!("{BASE}/v1/{{*rest}}"), any(api::unknown))
        .route_layer(axum::middleware::from_fn(api::require_key));
    Router::new()
        .merge(api)
        .route(&format!("{BASE}/checkout/{{id}}"), get(pages::checkout))
        .route(
            &format!("{BASE}/checkout/{{id}}/pay"),
            post(pages::checkout_pay),
        )
        .route(&format!("{BASE}/portal/{{id}}"), get(pages::portal))
        .route(
            &format!("{BASE}/portal/{{id}}/{{action}}"),
            post(pages::portal_action),
        )
        .with_state(standin)
}

fn session_json(standin: &Standin, session: &CheckoutSession, status: &str) -> Value {
    json!({
        "id": session.id, "object": "checkout.session", "mode": "subscription",
        "status": status,
        "payment_status": if status == "complete" { "paid" } else { "unpaid" },
        "customer": session.customer, "client_reference_id": session.client_reference_id,
        "metadata": session.metadata, "subscription": session.subscription,
        "success_url": session.success_url, "cancel_url": session.cancel_url,
        "url": format!("{}{BASE}/checkout/{}", standin.origin(), session.id),
        "created": session.created, "expires_at": session.created + 86_400, "livemode": false,
    })
}

fn subscription_json(subscription: &Subscription) -> Value {
    json!({
        "id": subscription.id, "object": "subscription",
        "customer": subscription.customer, "status": subscription.status,
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "cancel_at": if subscription.cancel_at_period_end { Some(subscription.period_end) } else { None },
        "created": subscription.created, "start_date": subscription.created,
        "metadata": subscription.metadata, "livemode": false, "currency": "usd",
        "items": {
            "object": "list", "has_more": false,
            "url": format!("/v1/subscription_items?subscription={}", subscription.id),
            "data": [{
                "id": format!("si_{}", subscription.id.trim_start_matches("sub_")),
                "object": "subscription_item",
                "subscription": subscription.id,
                "current_period_start": subscription.period_start,
                "current_period_end": subscription.period_end,
                "quantity": 1,
                "price": {"id": subscription.price, "object": "price"},
            }],
        },
    })
}

fn event(data: &mut Data, kind: &str, object: Value) -> Value {
    json!({
        "id": data.id("evt"), "object": "event", "type": kind,
        "api_version": "2026-09-30.endive", "created": data.now(), "livemode": false,
        "pending_webhooks": 1, "data": {"object": object},
    })
}

/// Sends `events` to the site's webhook endpoint in the background, in order, each signed
/// as Stripe signs; retried a few times when the site does not answer 2xx.
fn deliver(standin: &Standin, events: Vec<Value>) {
    let standin = standin.clone();
    tokio::spawn(async move {
        let url = format!("{}/webhooks/stripe", standin.origin());
        for event in events {
            let body = event.to_string();
            for attempt in 0..5u32 {
                let signature = sign(
                    body.as_bytes(),
                    standin.app.billing.webhook_secret(),
                    Utc::now().timestamp(),
                );
                let sent = standin
                    .client
                    .post(&url)
                    .header(header::CONTENT_TYPE, "application/json")
                    .header("stripe-signature", signature)
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => break,
                    outcome => {
                        let status = outcome.map(|r| r.status().to_string());
                        tracing::warn!(event = %event["id"], ?status, attempt, "the Stripe stand-in could not deliver a webhook");
                        tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
                    }
                }
            }
        }
    });
}
