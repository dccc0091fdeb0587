//! A stand-in for Stripe, mounted only when asked for with `UPCOUNT_STRIPE_STANDIN=true`
//! (`make run`, the tests, a demo; never beside a `STRIPE_SECRET_KEY`): the parts of Stripe's API Upcount calls — customers, Checkout and
//! Billing Portal sessions, subscriptions — with the same paths, form-encoded requests and
//! JSON shapes, plus a hosted "checkout" page and a "portal" page whose buttons change the
//! subscription and send correctly signed webhooks back to `/webhooks/stripe`, so the
//! whole money flow works offline. Its state lives in memory: a restart forgets it.
//!
//! The portal page also has what Stripe's test clocks and test cards do: fail the next
//! payment, pay it, and move the clock to the end of the period.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use app::server::{
    billing::{STANDIN_SECRET_KEY, events::sign},
    state::AppState,
};
use axum::{
    Form, Json, Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
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
        .route(&format!("{BASE}/v1/customers"), post(create_customer))
        .route(
            &format!("{BASE}/v1/customers/{{id}}"),
            axum::routing::delete(delete_customer),
        )
        .route(
            &format!("{BASE}/v1/checkout/sessions"),
            post(create_checkout_session),
        )
        .route(
            &format!("{BASE}/v1/billing_portal/sessions"),
            post(create_portal_session),
        )
        .route(
            &format!("{BASE}/v1/subscriptions/{{id}}"),
            get(retrieve_subscription).delete(cancel_subscription),
        )
        .route(&format!("{BASE}/v1/{{*rest}}"), axum::routing::any(unknown))
        .route_layer(axum::middleware::from_fn(require_key));
    Router::new()
        .merge(api)
        .route(&format!("{BASE}/checkout/{{id}}"), get(checkout_page))
        .route(&format!("{BASE}/checkout/{{id}}/pay"), post(checkout_pay))
        .route(&format!("{BASE}/portal/{{id}}"), get(portal_page))
        .route(
            &format!("{BASE}/portal/{{id}}/{{action}}"),
            post(portal_action),
        )
        .with_state(standin)
}

/// Refuses API calls without the stand-in's secret key, with Stripe's own answers.
async fn require_key(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let message = match given {
        Some(key) if key == STANDIN_SECRET_KEY => return next.run(request).await,
        Some(key) => format!(
            "Invalid API Key provided: {}****",
            key.chars().take(8).collect::<String>()
        ),
        None => "You did not provide an API key. You need to provide your API key in the \
                 Authorization header, using Bearer auth (e.g. 'Authorization: Bearer \
                 YOUR_SECRET_KEY')."
            .to_string(),
    };
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": { "type": "invalid_request_error", "message": message } })),
    )
        .into_response()
}

/// `url` when it is on the site's own origin (where Stripe would send the customer back);
/// else Stripe's answer to a bad URL. No `javascript:` or foreign address is kept, so no
/// page of the stand-in can redirect or link anywhere else.
fn own_url(standin: &Standin, name: &str, url: &str) -> Result<String, Box<Response>> {
    let same_origin = match (url::Url::parse(url), url::Url::parse(standin.origin())) {
        (Ok(url), Ok(origin)) => {
            matches!(url.scheme(), "http" | "https") && url.origin() == origin.origin()
        }
        _ => false,
    };
    if same_origin {
        Ok(url.to_string())
    } else {
        Err(Box::new(stripe_error(
            StatusCode::BAD_REQUEST,
            "url_invalid",
            &format!(
                "Invalid URL for {name}: the stand-in sends customers back to {} only.",
                standin.origin()
            ),
        )))
    }
}

fn stripe_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "error": {"type": "invalid_request_error", "code": code, "message": message}
        })),
    )
        .into_response()
}

fn missing(what: &str, id: &str) -> Response {
    stripe_error(
        StatusCode::NOT_FOUND,
        "resource_missing",
        &format!("No such {what}: '{id}'"),
    )
}

/// `name[key]=value` fields of a form, by key.
fn nested(form: &[(String, String)], name: &str) -> HashMap<String, String> {
    let prefix = format!("{name}[");
    form.iter()
        .filter_map(|(key, value)| {
            let inner = key.strip_prefix(&prefix)?.strip_suffix(']')?;
            (!inner.contains('[')).then(|| (inner.to_string(), value.clone()))
        })
        .collect()
}

/// The form's `customer`, when the stand-in knows it; else Stripe's error answer.
fn known_customer(data: &Data, form: &[(String, String)]) -> Result<String, Box<Response>> {
    match field(form, "customer") {
        Some(id) if data.customers.contains_key(id) => Ok(id.to_string()),
        Some(id) => Err(Box::new(missing("customer", id))),
        None => Err(Box::new(stripe_error(
            StatusCode::BAD_REQUEST,
            "parameter_missing",
            "Missing required param: customer.",
        ))),
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn customer_json(customer: &Customer) -> Value {
    json!({
        "id": customer.id, "object": "customer", "email": customer.email,
        "metadata": customer.metadata, "created": customer.created, "livemode": false,
    })
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

fn invoice_json(data: &mut Data, subscription: &Subscription, paid: bool) -> Value {
    json!({
        "id": data.id("in"), "object": "invoice", "customer": subscription.customer,
        "status": if paid { "paid" } else { "open" },
        "created": data.now(), "livemode": false,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": subscription.id, "metadata": subscription.metadata,
            },
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

async fn create_customer(
    State(standin): State<Standin>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mut data = standin.lock();
    let customer = Customer {
        id: data.id("cus"),
        email: field(&form, "email").map(str::to_string),
        metadata: nested(&form, "metadata"),
        created: data.now(),
    };
    let body = customer_json(&customer);
    data.customers.insert(customer.id.clone(), customer);
    Json(body).into_response()
}

async fn create_checkout_session(
    State(standin): State<Standin>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if field(&form, "mode") != Some("subscription") {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "parameter_invalid",
            "The stand-in supports mode=subscription only.",
        );
    }
    let Some(price) = field(&form, "line_items[0][price]") else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "parameter_missing",
            "Missing required param: line_items[0][price].",
        );
    };
    if standin.app.billing.plan_of_price(price).is_none() {
        return missing("price", price);
    }
    let (Some(success_url), Some(cancel_url)) =
        (field(&form, "success_url"), field(&form, "cancel_url"))
    else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "parameter_missing",
            "Missing required param: success_url or cancel_url.",
        );
    };
    let (success_url, cancel_url) = match (
        own_url(&standin, "success_url", success_url),
        own_url(&standin, "cancel_url", cancel_url),
    ) {
        (Ok(success), Ok(cancel)) => (success, cancel),
        (Err(response), _) | (_, Err(response)) => return *response,
    };
    let mut data = standin.lock();
    let customer = match known_customer(&data, &form) {
        Ok(customer) => customer,
        Err(response) => return *response,
    };
    let session = CheckoutSession {
        id: data.id("cs_test"),
        customer,
        price: price.to_string(),
        client_reference_id: field(&form, "client_reference_id").map(str::to_string),
        metadata: nested(&form, "metadata"),
        subscription_metadata: form
            .iter()
            .filter_map(|(key, value)| {
                let inner = key
                    .strip_prefix("subscription_data[metadata][")?
                    .strip_suffix(']')?;
                Some((inner.to_string(), value.clone()))
            })
            .collect(),
        success_url,
        cancel_url,
        subscription: None,
        created: data.now(),
    };
    let body = session_json(&standin, &session, "open");
    data.sessions.insert(session.id.clone(), session);
    Json(body).into_response()
}

async fn create_portal_session(
    State(standin): State<Standin>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let return_url = match own_url(
        &standin,
        "return_url",
        field(&form, "return_url").unwrap_or(standin.origin()),
    ) {
        Ok(url) => url,
        Err(response) => return *response,
    };
    let mut data = standin.lock();
    let customer = match known_customer(&data, &form) {
        Ok(customer) => customer,
        Err(response) => return *response,
    };
    let id = data.id("bps");
    let created = data.now();
    data.portals
        .insert(id.clone(), (customer.clone(), return_url.clone()));
    Json(json!({
        "id": id, "object": "billing_portal.session", "customer": customer,
        "return_url": return_url, "url": format!("{}{BASE}/portal/{id}", standin.origin()),
        "created": created, "livemode": false, "configuration": "bpc_standin",
    }))
    .into_response()
}

async fn retrieve_subscription(State(standin): State<Standin>, Path(id): Path<String>) -> Response {
    let data = standin.lock();
    match data.subscriptions.get(&id) {
        Some(subscription) => Json(subscription_json(subscription)).into_response(),
        None => missing("subscription", &id),
    }
}

/// Cancels subscription `id` now, as Stripe does: its `customer.subscription.deleted`
/// event, and its JSON.
fn cancel_at_once(data: &mut Data, id: &str) -> Option<(Value, Value)> {
    let now = data.now();
    let subscription = data.subscriptions.get_mut(id)?;
    subscription.status = "canceled".into();
    subscription.cancel_at_period_end = false;
    subscription.period_end = now;
    let body = subscription_json(subscription);
    let deleted = event(data, "customer.subscription.deleted", body.clone());
    Some((body, deleted))
}

/// `DELETE /v1/subscriptions/{id}`: cancels at once, as Stripe does, and sends
/// `customer.subscription.deleted`.
async fn cancel_subscription(State(standin): State<Standin>, Path(id): Path<String>) -> Response {
    let cancelled = cancel_at_once(&mut standin.lock(), &id);
    let Some((body, deleted)) = cancelled else {
        return missing("subscription", &id);
    };
    deliver(&standin, vec![deleted]);
    Json(body).into_response()
}

/// `DELETE /v1/customers/{id}`: deletes the customer and, as Stripe does, cancels every
/// live subscription of theirs at once.
async fn delete_customer(State(standin): State<Standin>, Path(id): Path<String>) -> Response {
    let events = {
        let mut data = standin.lock();
        if data.customers.remove(&id).is_none() {
            return missing("customer", &id);
        }
        let live: Vec<String> = data
            .subscriptions
            .values()
            .filter(|subscription| subscription.customer == id && subscription.status != "canceled")
            .map(|subscription| subscription.id.clone())
            .collect();
        live.iter()
            .filter_map(|subscription| cancel_at_once(&mut data, subscription))
            .map(|(_, deleted)| deleted)
            .collect::<Vec<_>>()
    };
    deliver(&standin, events);
    Json(json!({ "id": id, "object": "customer", "deleted": true })).into_response()
}

async fn unknown(Path(rest): Path<String>) -> Response {
    stripe_error(
        StatusCode::NOT_FOUND,
        "resource_missing",
        &format!(
            "Unrecognized request URL: /v1/{rest} (the Upcount stand-in implements only what Upcount calls)."
        ),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Stripe stand-in</title><link rel="icon" href="/favicon.svg">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #1a1f36; }}
.note {{ background: #fff4d6; border: 1px solid #e8c66b; padding: .5rem .75rem; border-radius: 6px; font-size: .9rem; }}
.card {{ border: 1px solid #d8dde6; border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; }}
button {{ font: inherit; padding: .5rem 1rem; border-radius: 6px; border: 1px solid #635bff; background: #635bff; color: #fff; cursor: pointer; margin: .25rem .25rem .25rem 0; }}
button.secondary {{ background: #fff; color: #635bff; }}
form {{ display: inline; }}
dt {{ font-weight: 600; }} dd {{ margin: 0 0 .5rem 0; }}
</style></head><body>
<p class="note">Stripe stand-in: no real payment is made. Set <code>STRIPE_SECRET_KEY</code> to use Stripe.</p>
<h1>{title}</h1>
{body}
</body></html>"#
    ))
}

fn date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

async fn checkout_page(State(standin): State<Standin>, Path(id): Path<String>) -> Response {
    let data = standin.lock();
    let Some(session) = data.sessions.get(&id) else {
        return (StatusCode::NOT_FOUND, page("Checkout not found", "<p>This checkout session does not exist (the stand-in forgets everything when Upcount restarts).</p>")).into_response();
    };
    if session.subscription.is_some() {
        return Redirect::to(
            &session
                .success_url
                .replace("{CHECKOUT_SESSION_ID}", &session.id),
        )
        .into_response();
    }
    let email = data
        .customers
        .get(&session.customer)
        .and_then(|customer| customer.email.clone())
        .unwrap_or_default();
    let plan = standin.plan_name(&session.price);
    let body = format!(
        r#"<div class="card"><dl>
<dt>Subscribe to</dt><dd data-testid="checkout-plan">{plan}</dd>
<dt>Email</dt><dd>{email}</dd>
<dt>Card</dt><dd>4242 4242 4242 4242 (test)</dd>
</dl>
<form method="post" action="{BASE}/checkout/{id}/pay"><button type="submit">Subscribe</button></form>
<a href="{cancel}">Cancel and go back</a></div>"#,
        plan = escape(&plan),
        email = escape(&email),
        id = escape(&session.id),
        cancel = escape(&session.cancel_url),
    );
    page("Checkout", &body).into_response()
}

async fn checkout_pay(State(standin): State<Standin>, Path(id): Path<String>) -> Response {
    let (events, success_url) = {
        let mut data = standin.lock();
        let Some(session) = data.sessions.get(&id).cloned() else {
            return (
                StatusCode::NOT_FOUND,
                page("Checkout not found", "<p>No such checkout session.</p>"),
            )
                .into_response();
        };
        if session.subscription.is_some() {
            return Redirect::to(
                &session
                    .success_url
                    .replace("{CHECKOUT_SESSION_ID}", &session.id),
            )
            .into_response();
        }
        let now = data.now();
        let subscription = Subscription {
            id: data.id("sub"),
            customer: session.customer.clone(),
            price: session.price.clone(),
            status: "active".into(),
            cancel_at_period_end: false,
            period_start: now,
            period_end: now + PERIOD_SECS,
            metadata: session.subscription_metadata.clone(),
            created: now,
        };
        let mut session = session;
        session.subscription = Some(subscription.id.clone());
        data.sessions.insert(session.id.clone(), session.clone());
        data.subscriptions
            .insert(subscription.id.clone(), subscription.clone());
        let invoice = invoice_json(&mut data, &subscription, true);
        // Stripe sends these in no promised order; neither does the stand-in promise one.
        let events = vec![
            event(
                &mut data,
                "customer.subscription.created",
                subscription_json(&subscription),
            ),
            event(&mut data, "invoice.paid", invoice),
            event(
                &mut data,
                "checkout.session.completed",
                session_json(&standin, &session, "complete"),
            ),
        ];
        (
            events,
            session
                .success_url
                .replace("{CHECKOUT_SESSION_ID}", &session.id),
        )
    };
    deliver(&standin, events);
    Redirect::to(&success_url).into_response()
}

/// The customer's subscription the portal manages: the newest that is not ended, else
/// the newest.
fn current_subscription(data: &Data, customer: &str) -> Option<Subscription> {
    let mut subscriptions: Vec<&Subscription> = data
        .subscriptions
        .values()
        .filter(|subscription| subscription.customer == customer)
        .collect();
    subscriptions.sort_by_key(|subscription| {
        (
            subscription.status != "canceled",
            subscription.created,
            subscription.id.clone(),
        )
    });
    subscriptions
        .last()
        .map(|subscription| (*subscription).clone())
}

async fn portal_page(State(standin): State<Standin>, Path(id): Path<String>) -> Response {
    let data = standin.lock();
    let Some((customer, return_url)) = data.portals.get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, page("Portal session not found", "<p>This portal session does not exist (the stand-in forgets everything when Upcount restarts).</p>")).into_response();
    };
    let back = format!(
        r#"<p><a href="{}" data-testid="portal-return">Return to Upcount</a></p>"#,
        escape(&return_url)
    );
    let Some(subscription) = current_subscription(&data, &customer) else {
        return page("Billing", &format!("<p>No subscription yet.</p>{back}")).into_response();
    };
    let button = |action: &str, label: &str, class: &str| {
        format!(
            r#"<form method="post" action="{BASE}/portal/{id}/{action}"><button type="submit" class="{class}">{label}</button></form>"#,
            id = escape(&id),
        )
    };
    let mut actions = String::new();
    if subscription.status != "canceled" {
        for (plan, price) in &standin.app.billing.config().prices {
            if *price != subscription.price {
                actions += &button(
                    &format!("switch-{plan}"),
                    &format!("Switch to {}", standin.plan_name(price)),
                    "secondary",
                );
            }
        }
        if subscription.cancel_at_period_end {
            actions += &button("renew", "Don't cancel", "");
        } else {
            actions += &button("cancel", "Cancel plan", "");
        }
        actions += &button("cancel-now", "Cancel now", "secondary");
        if subscription.status == "past_due" {
            actions += &button("pay", "Pay the open invoice", "");
        } else {
            actions += &button("fail-payment", "Test: the next payment fails", "secondary");
        }
        actions += &button(
            "advance",
            "Test clock: go to the end of the period",
            "secondary",
        );
    }
    let cancel_note = if subscription.cancel_at_period_end {
        format!(
            "<dt>Cancels</dt><dd data-testid=\"portal-cancels\">at the end of the period, {}</dd>",
            date(subscription.period_end)
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"<div class="card"><dl>
<dt>Plan</dt><dd data-testid="portal-plan">{plan}</dd>
<dt>Status</dt><dd data-testid="portal-status">{status}</dd>
<dt>Current period ends</dt><dd>{end}</dd>{cancel_note}
</dl>{actions}</div>{back}"#,
        plan = escape(&standin.plan_name(&subscription.price)),
        status = escape(&subscription.status),
        end = date(subscription.period_end),
    );
    page("Billing", &body).into_response()
}

async fn portal_action(
    State(standin): State<Standin>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let events = {
        let mut data = standin.lock();
        let Some((customer, _)) = data.portals.get(&id).cloned() else {
            return (
                StatusCode::NOT_FOUND,
                page("Portal session not found", "<p>No such portal session.</p>"),
            )
                .into_response();
        };
        let Some(mut subscription) = current_subscription(&data, &customer) else {
            return Redirect::to(&format!("{BASE}/portal/{id}")).into_response();
        };
        let mut events = Vec::new();
        let mut kind = "customer.subscription.updated";
        match action.as_str() {
            "cancel" => subscription.cancel_at_period_end = true,
            "renew" => subscription.cancel_at_period_end = false,
            "cancel-now" => {
                subscription.status = "canceled".into();
                kind = "customer.subscription.deleted";
            }
            "fail-payment" => {
                subscription.status = "past_due".into();
                let invoice = invoice_json(&mut data, &subscription, false);
                events.push(event(&mut data, "invoice.payment_failed", invoice));
            }
            "pay" => {
                subscription.status = "active".into();
                let invoice = invoice_json(&mut data, &subscription, true);
                events.push(event(&mut data, "invoice.paid", invoice));
            }
            "advance" => {
                data.clock_offset += (subscription.period_end - data.now()).max(0) + 1;
                if subscription.cancel_at_period_end {
                    subscription.status = "canceled".into();
                    kind = "customer.subscription.deleted";
                } else if subscription.status == "active" {
                    subscription.period_start = subscription.period_end;
                    subscription.period_end += PERIOD_SECS;
                    let invoice = invoice_json(&mut data, &subscription, true);
                    events.push(event(&mut data, "invoice.paid", invoice));
                } else {
                    subscription.status = "unpaid".into();
                }
            }
            switch if switch.starts_with("switch-") => {
                let plan = switch.trim_start_matches("switch-");
                let Some(price) = standin.app.billing.price_of(plan) else {
                    return Redirect::to(&format!("{BASE}/portal/{id}")).into_response();
                };
                subscription.price = price.to_string();
            }
            _ => {
                return (
                    StatusCode::NOT_FOUND,
                    page("Unknown action", "<p>The portal has no such button.</p>"),
                )
                    .into_response();
            }
        }
        data.subscriptions
            .insert(subscription.id.clone(), subscription.clone());
        events.insert(0, event(&mut data, kind, subscription_json(&subscription)));
        events
    };
    deliver(&standin, events);
    Redirect::to(&format!("{BASE}/portal/{id}")).into_response()
}
