//! Plans and payment against the real router, PostgreSQL and the Stripe stand-in that
//! ships with Upcount (mounted on the site when no secret key is set): webhook signatures,
//! exactly-once events, replays in any order, the plan state machine with its grace
//! period, and limits.

use std::time::Duration;

use app::{
    domain::{Role, TokenScope, WorkspaceId},
    server::billing::{events::sign, store},
};
use chrono::{TimeDelta, Utc};
use rand::seq::SliceRandom;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Browser, TestApp, TestUser, location, spawn_app_with_env};

mod checkout;
mod deletion;
mod plans;
mod webhooks;

const SECRET: &str = "whsec_upcount_test_secret";
const PROCESSED: &str = "SELECT count(*) FROM stripe_events WHERE status = 'processed'";

async fn app() -> TestApp {
    spawn_app_with_env(vec![("STRIPE_WEBHOOK_SECRET", SECRET.to_string())]).await
}

/// The app with every Stripe call failing to connect (nothing listens on port 1 of
/// loopback).
async fn app_with_stripe_down() -> TestApp {
    spawn_app_with_env(vec![
        ("STRIPE_WEBHOOK_SECRET", SECRET.to_string()),
        ("UPCOUNT_STRIPE_API_URL", "http://127.0.0.1:1/".to_string()),
    ])
    .await
}

async fn post_webhook(app: &TestApp, body: &str, signature: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/stripe", app.address))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let response = request.send().await.expect("POST the webhook");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Posts `body` to the webhook, signed with the right secret just now.
async fn post_signed(app: &TestApp, body: &str) -> (StatusCode, Value) {
    let signature = sign(body.as_bytes(), SECRET, Utc::now().timestamp());
    post_webhook(app, body, Some(&signature)).await
}

fn event(id: &str, kind: &str, object: Value) -> String {
    json!({
        "id": id, "object": "event", "type": kind, "created": Utc::now().timestamp(),
        "livemode": false, "data": {"object": object}
    })
    .to_string()
}

/// A new user on the Free plan, and their workspace.
async fn free_workspace(app: &TestApp) -> (TestUser, WorkspaceId) {
    let user = app.create_free_user(Role::Member).await;
    let workspace = app.workspace_of(&user).await;
    (user, workspace)
}

/// Puts the workspace on `plan` in the database, as if the workers had.
async fn force_plan(app: &TestApp, workspace: WorkspaceId, plan: &str) {
    sqlx::query("UPDATE workspaces SET plan_id = $2 WHERE id = $1")
        .bind(workspace)
        .bind(plan)
        .execute(&app.pool)
        .await
        .expect("set the plan");
}

async fn plan_of(app: &TestApp, workspace: WorkspaceId) -> String {
    sqlx::query_scalar("SELECT plan_id FROM workspaces WHERE id = $1")
        .bind(workspace)
        .fetch_one(&app.pool)
        .await
        .expect("the workspace's plan")
}

/// Waits until `check` holds (the workers process events in the background), for up to
/// a minute: a loaded machine runs the workers slowly.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    crate::helpers::eventually(Duration::from_secs(60), what, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await;
}

/// Waits until the workspace is on `plan`.
async fn wait_for_plan(app: &TestApp, workspace: WorkspaceId, plan: &str) {
    eventually(&format!("the workspace is on {plan}"), || async {
        plan_of(app, workspace).await == plan
    })
    .await;
}

/// Support's `upcount admin set-plan`, for `workspace` (an id or an owner's email).
async fn set_plan(
    app: &TestApp,
    workspace: String,
    plan: &str,
) -> Result<(), upcount::admin::AdminError> {
    let command = upcount::cli::AdminCommand::SetPlan {
        workspace,
        plan: plan.into(),
    };
    upcount::admin::run(&app.pool, command, TimeDelta::days(7)).await
}

/// Posts the billing page's form that starts a checkout for `plan`.
async fn start_checkout(browser: &Browser, plan: &str) -> reqwest::Response {
    browser
        .post_form("/billing/checkout", &[("plan", plan)])
        .await
}

/// Starts a checkout for `plan` that is refused: the billing page it leads back to.
async fn refused_checkout(browser: &Browser, plan: &str) -> String {
    let response = start_checkout(browser, plan).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/billing");
    browser.html("/billing").await
}

/// Signs up through the site, upgrades through the stand-in's hosted checkout, and
/// returns the browser, now on the success page's path.
async fn checkout(app: &TestApp, user: &TestUser, plan: &str) -> Browser {
    let browser = app.signed_in(user).await;
    let response = start_checkout(&browser, plan).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    let path = to
        .strip_prefix(&app.address)
        .unwrap_or_else(|| panic!("checkout on the stand-in, not {to}"))
        .to_string();
    assert!(
        path.starts_with("/stripe-standin/checkout/cs_test_"),
        "{path}"
    );
    let page = browser.html(&path).await;
    assert!(page.contains("Subscribe"), "{page}");
    let paid = browser.press(&format!("{path}/pay")).await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let success = location(&paid);
    assert!(
        success.starts_with(&format!(
            "{}/billing/success?session_id=cs_test_",
            app.address
        )),
        "{success}"
    );
    browser
}

/// A form POST to the stand-in's API, with `key` as the bearer token.
async fn standin_call(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/stripe-standin/v1/{path}", app.address))
        .form(form);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("call the stand-in");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}
