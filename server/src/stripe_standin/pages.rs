//! The stand-in's hosted pages: the checkout a customer pays on, and the billing portal
//! whose buttons change the subscription (and the test clock) and send the webhooks Stripe
//! would.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use serde_json::{Value, json};

use super::{
    BASE, Data, PERIOD_SECS, Standin, Subscription, deliver, event, session_json, subscription_json,
};

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

/// A 404 page: no such session, or no such button.
fn not_found(title: &str, body: &str) -> Response {
    (StatusCode::NOT_FOUND, page(title, body)).into_response()
}

fn date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// `GET /checkout/{id}`: the hosted checkout page.
pub(super) async fn checkout(State(standin): State<Standin>, Path(id): Path<String>) -> Response {
    let data = standin.lock();
    let Some(session) = data.sessions.get(&id) else {
        return not_found(
            "Checkout not found",
            "<p>This checkout session does not exist (the stand-in forgets everything when Upcount restarts).</p>",
        );
    };
    if session.subscription.is_some() {
        return Redirect::to(&session.success_redirect()).into_response();
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

/// `POST /checkout/{id}/pay`: pays the checkout, starting the subscription, and sends the
/// customer back to the site.
pub(super) async fn checkout_pay(
    State(standin): State<Standin>,
    Path(id): Path<String>,
) -> Response {
    let (events, success_url) = {
        let mut data = standin.lock();
        let Some(session) = data.sessions.get(&id).cloned() else {
            return not_found("Checkout not found", "<p>No such checkout session.</p>");
        };
        if session.subscription.is_some() {
            return Redirect::to(&session.success_redirect()).into_response();
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
        (events, session.success_redirect())
    };
    deliver(&standin, events);
    Redirect::to(&success_url).into_response()
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

/// `GET /portal/{id}`: the billing portal page, with a button per action.
pub(super) async fn portal(State(standin): State<Standin>, Path(id): Path<String>) -> Response {
    let data = standin.lock();
    let Some((customer, return_url)) = data.portals.get(&id).cloned() else {
        return not_found(
            "Portal session not found",
            "<p>This portal session does not exist (the stand-in forgets everything when Upcount restarts).</p>",
        );
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

/// `POST /portal/{id}/{action}`: what a portal button does, then back to the portal.
pub(super) async fn portal_action(
    State(standin): State<Standin>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let events = {
        let mut data = standin.lock();
        let Some((customer, _)) = data.portals.get(&id).cloned() else {
            return not_found("Portal session not found", "<p>No such portal session.</p>");
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
                return not_found("Unknown action", "<p>The portal has no such button.</p>");
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
