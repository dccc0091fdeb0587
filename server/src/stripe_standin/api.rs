//! The stand-in's REST API: the endpoints of Stripe's that Upcount calls, behind the
//! stand-in's secret key, with Stripe's paths, form-encoded requests, JSON objects and
//! error answers.

use std::collections::HashMap;

use app::server::billing::STANDIN_SECRET_KEY;
use axum::{
    Form, Json,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    BASE, CheckoutSession, Customer, Data, Standin, deliver, event, session_json, subscription_json,
};

/// A request's form fields in order, as Stripe's API takes them (`metadata[key]=value`).
type Fields = Form<Vec<(String, String)>>;

/// Stripe's answer to a request it refuses: `{"error": {"type", "code", "message"}}`.
#[derive(Debug)]
pub(super) struct StripeError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl StripeError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// No object `what` with that id.
    fn missing(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource_missing",
            format!("No such {what}: '{id}'"),
        )
    }
}

impl IntoResponse for StripeError {
    fn into_response(self) -> Response {
        let error =
            json!({"type": "invalid_request_error", "code": self.code, "message": self.message});
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// What an API endpoint answers: the object's JSON, or Stripe's error.
type Answer = Result<Json<Value>, StripeError>;

/// Refuses API calls without the stand-in's secret key, with Stripe's own answers.
pub(super) async fn require_key(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
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
fn own_url(standin: &Standin, name: &str, url: &str) -> Result<String, StripeError> {
    let same_origin = match (url::Url::parse(url), url::Url::parse(standin.origin())) {
        (Ok(url), Ok(origin)) => {
            matches!(url.scheme(), "http" | "https") && url.origin() == origin.origin()
        }
        _ => false,
    };
    if same_origin {
        Ok(url.to_string())
    } else {
        Err(StripeError::bad_request(
            "url_invalid",
            format!(
                "Invalid URL for {name}: the stand-in sends customers back to {} only.",
                standin.origin()
            ),
        ))
    }
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
fn known_customer(data: &Data, form: &[(String, String)]) -> Result<String, StripeError> {
    match field(form, "customer") {
        Some(id) if data.customers.contains_key(id) => Ok(id.to_string()),
        Some(id) => Err(StripeError::missing("customer", id)),
        None => Err(StripeError::bad_request(
            "parameter_missing",
            "Missing required param: customer.",
        )),
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

/// `POST /v1/customers`.
pub(super) async fn create_customer(
    State(standin): State<Standin>,
    Form(form): Fields,
) -> Json<Value> {
    let mut data = standin.lock();
    let customer = Customer {
        id: data.id("cus"),
        email: field(&form, "email").map(str::to_string),
        metadata: nested(&form, "metadata"),
        created: data.now(),
    };
    let body = customer_json(&customer);
    data.customers.insert(customer.id.clone(), customer);
    Json(body)
}

/// `POST /v1/checkout/sessions`: a subscription's checkout, paid on the checkout page.
pub(super) async fn create_checkout_session(
    State(standin): State<Standin>,
    Form(form): Fields,
) -> Answer {
    if field(&form, "mode") != Some("subscription") {
        return Err(StripeError::bad_request(
            "parameter_invalid",
            "The stand-in supports mode=subscription only.",
        ));
    }
    let price = field(&form, "line_items[0][price]").ok_or_else(|| {
        StripeError::bad_request(
            "parameter_missing",
            "Missing required param: line_items[0][price].",
        )
    })?;
    if standin.app.billing.plan_of_price(price).is_none() {
        return Err(StripeError::missing("price", price));
    }
    let (Some(success_url), Some(cancel_url)) =
        (field(&form, "success_url"), field(&form, "cancel_url"))
    else {
        return Err(StripeError::bad_request(
            "parameter_missing",
            "Missing required param: success_url or cancel_url.",
        ));
    };
    let success_url = own_url(&standin, "success_url", success_url)?;
    let cancel_url = own_url(&standin, "cancel_url", cancel_url)?;
    let mut data = standin.lock();
    let customer = known_customer(&data, &form)?;
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
    Ok(Json(body))
}

/// `POST /v1/billing_portal/sessions`: a session of the portal page.
pub(super) async fn create_portal_session(
    State(standin): State<Standin>,
    Form(form): Fields,
) -> Answer {
    let return_url = own_url(
        &standin,
        "return_url",
        field(&form, "return_url").unwrap_or(standin.origin()),
    )?;
    let mut data = standin.lock();
    let customer = known_customer(&data, &form)?;
    let id = data.id("bps");
    let created = data.now();
    data.portals
        .insert(id.clone(), (customer.clone(), return_url.clone()));
    Ok(Json(json!({
        "id": id, "object": "billing_portal.session", "customer": customer,
        "return_url": return_url, "url": format!("{}{BASE}/portal/{id}", standin.origin()),
        "created": created, "livemode": false, "configuration": "bpc_standin",
    })))
}

/// `GET /v1/subscriptions/{id}`.
pub(super) async fn retrieve_subscription(
    State(standin): State<Standin>,
    Path(id): Path<String>,
) -> Answer {
    let data = standin.lock();
    match data.subscriptions.get(&id) {
        Some(subscription) => Ok(Json(subscription_json(subscription))),
        None => Err(StripeError::missing("subscription", &id)),
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
pub(super) async fn cancel_subscription(
    State(standin): State<Standin>,
    Path(id): Path<String>,
) -> Answer {
    let cancelled = cancel_at_once(&mut standin.lock(), &id);
    let (body, deleted) = cancelled.ok_or_else(|| StripeError::missing("subscription", &id))?;
    deliver(&standin, vec![deleted]);
    Ok(Json(body))
}

/// `DELETE /v1/customers/{id}`: deletes the customer and, as Stripe does, cancels every
/// live subscription of theirs at once.
pub(super) async fn delete_customer(
    State(standin): State<Standin>,
    Path(id): Path<String>,
) -> Answer {
    let events = {
        let mut data = standin.lock();
        if data.customers.remove(&id).is_none() {
            return Err(StripeError::missing("customer", &id));
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
    Ok(Json(
        json!({ "id": id, "object": "customer", "deleted": true }),
    ))
}

/// Any other API path: Stripe's answer to an unknown URL.
pub(super) async fn unknown(Path(rest): Path<String>) -> StripeError {
    StripeError::new(
        StatusCode::NOT_FOUND,
        "resource_missing",
        format!(
            "Unrecognized request URL: /v1/{rest} (the Upcount stand-in implements only what Upcount calls)."
        ),
    )
}
