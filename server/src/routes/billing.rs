//! Paying: `POST /billing/checkout` and `/billing/portal` (the billing page's buttons,
//! which send the browser to Stripe) and `POST /webhooks/stripe` (Stripe's events).

use app::{
    api::flash::Flash,
    domain::{Action, NextPath},
    server::{
        auth::Auth,
        billing::{BillingError, events},
        state::AppState,
    },
};
use axum::{
    Extension, Form, Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::forms::{redirect_with, unexpected};
use crate::jobs::{self, ProcessStripeEvent};

const BILLING: &str = "/billing";

#[derive(Debug, Default, Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    plan: String,
}

fn billing_problem(error: &BillingError) -> String {
    match error {
        BillingError::Invalid(message) => message.clone(),
        BillingError::Unreachable(_) => {
            "Stripe is not answering right now; nothing was charged. Please try again in a moment."
                .into()
        }
        BillingError::Stripe(_) | BillingError::Database(_) => {
            "Payment could not be started; nothing was charged. Please try again in a moment."
                .into()
        }
    }
}

/// `POST /billing/checkout` `plan=pro`: on to Stripe Checkout for that plan.
pub async fn checkout(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: tower_sessions::Session,
    form: Result<Form<CheckoutForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(BILLING)).into_response();
    };
    if let Err(refusal) = user.may(Action::ManageBilling) {
        let flash = Flash::for_form("checkout").with_error(refusal.to_string());
        return redirect_with(&session, flash, BILLING).await;
    }
    let Form(form) = form.unwrap_or_default();
    let plan = app::server::billing::store::workspace_plan(&state.pool, user.workspace_id).await;
    match plan {
        Ok(current) if current.id == form.plan => {
            let flash = Flash::notice(format!("You are on the {} plan already.", current.name));
            return redirect_with(&session, flash, BILLING).await;
        }
        Ok(_) => {}
        Err(error) => return unexpected(&session, "checkout", BILLING, error).await,
    }
    // One subscription per workspace: a live one changes plans in the portal.
    match app::server::billing::store::billing_row(&state.pool, user.workspace_id).await {
        Ok(row)
            if matches!(
                row.state.subscription_status.as_deref(),
                Some("active" | "trialing" | "past_due" | "unpaid")
            ) =>
        {
            let flash = Flash::for_form("checkout").with_error(
                "This workspace has a subscription already: change plans under “Manage billing”.",
            );
            return redirect_with(&session, flash, BILLING).await;
        }
        Ok(_) => {}
        Err(error) => return unexpected(&session, "checkout", BILLING, error).await,
    }
    match state
        .billing
        .checkout(&state.pool, user.workspace_id, &user.email, &form.plan)
        .await
    {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(error) => {
            tracing::warn!(error = %error, workspace.id = %user.workspace_id, "could not start a checkout");
            let flash = Flash::for_form("checkout").with_error(billing_problem(&error));
            redirect_with(&session, flash, BILLING).await
        }
    }
}

/// `POST /billing/portal`: on to the Stripe Billing Portal (change plan, card, cancel).
pub async fn portal(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: tower_sessions::Session,
) -> Response {
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(BILLING)).into_response();
    };
    if let Err(refusal) = user.may(Action::ManageBilling) {
        let flash = Flash::for_form("portal").with_error(refusal.to_string());
        return redirect_with(&session, flash, BILLING).await;
    }
    match state.billing.portal(&state.pool, user.workspace_id).await {
        Ok(Some(url)) => Redirect::to(&url).into_response(),
        Ok(None) => {
            let flash = Flash::for_form("portal")
                .with_error("There is nothing to manage yet: choose a plan first.");
            redirect_with(&session, flash, BILLING).await
        }
        Err(error) => {
            tracing::warn!(error = %error, workspace.id = %user.workspace_id, "could not open the billing portal");
            let flash = Flash::for_form("portal").with_error(billing_problem(&error));
            redirect_with(&session, flash, BILLING).await
        }
    }
}

fn webhook_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// `POST /webhooks/stripe` while payments are off: there is no such endpoint.
pub async fn webhook_off() -> Response {
    webhook_error(
        StatusCode::NOT_FOUND,
        "payments are not enabled on this server",
    )
}

/// `POST /webhooks/stripe`: verifies the `Stripe-Signature` header on the raw body, stores
/// the event by id (a duplicate changes nothing) and queues its processing. Answers at
/// once; the work happens in the `stripe_event` job.
pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    if let Err(error) = events::verify_signature(
        &body,
        signature,
        state.billing.webhook_secret(),
        Utc::now().timestamp(),
    ) {
        tracing::warn!(reason = %error, bytes = body.len(), "refused a Stripe webhook");
        return webhook_error(StatusCode::BAD_REQUEST, "invalid signature");
    }
    let payload: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(error) => {
            tracing::warn!(error = %error, "a signed Stripe webhook is not JSON");
            return webhook_error(StatusCode::BAD_REQUEST, "the body is not JSON");
        }
    };
    let envelope: events::Envelope = match serde_json::from_value(payload.clone()) {
        Ok(envelope) => envelope,
        Err(error) => {
            tracing::warn!(error = %error, "a signed Stripe webhook is not an event");
            return webhook_error(StatusCode::BAD_REQUEST, "the body is not a Stripe event");
        }
    };
    let stored = match events::store_event(&state.pool, &envelope, &payload).await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::error!(error = %error, event = %envelope.id, "could not store a Stripe event");
            // Stripe delivers it again later.
            return webhook_error(StatusCode::SERVICE_UNAVAILABLE, "please retry");
        }
    };
    if stored == events::Stored::Pending {
        let job = ProcessStripeEvent {
            event_id: envelope.id.clone(),
        };
        if let Err(error) = jobs::enqueue_stripe_event(&state.pool, job).await {
            tracing::error!(error = %format!("{error:#}"), event = %envelope.id, "could not queue a Stripe event");
            if let Err(error) = events::forget_event(&state.pool, &envelope.id).await {
                // The sweep finds it pending and queues it.
                tracing::error!(error = %error, event = %envelope.id, "could not forget a Stripe event");
            }
            return webhook_error(StatusCode::SERVICE_UNAVAILABLE, "please retry");
        }
        tracing::info!(event = %envelope.id, kind = %envelope.kind, "received a Stripe event");
    } else {
        tracing::info!(event = %envelope.id, kind = %envelope.kind, outcome = ?stored, "received a Stripe event with nothing to do");
    }
    Json(json!({ "received": true, "duplicate": stored == events::Stored::Duplicate }))
        .into_response()
}
