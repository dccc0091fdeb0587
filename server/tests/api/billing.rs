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

#[tokio::test]
async fn webhook_signatures_are_checked_on_the_raw_body() {
    let app = app().await;
    let now = Utc::now().timestamp();
    let body = event("evt_sig_1", "customer.created", json!({"id": "cus_x"}));

    let valid = sign(body.as_bytes(), SECRET, now);
    let (status, answer) = post_webhook(&app, &body, Some(&valid)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    let refused = [
        (
            "wrong secret",
            Some(sign(body.as_bytes(), "whsec_other", now)),
        ),
        (
            "stale timestamp",
            Some(sign(body.as_bytes(), SECRET, now - 301)),
        ),
        ("missing header", None),
        ("garbage header", Some("nonsense".to_string())),
    ];
    for (case, signature) in refused {
        let (status, answer) = post_webhook(&app, &body, signature.as_deref()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {answer}");
        assert_eq!(answer["error"], "invalid signature", "{case}");
    }
    // A body changed after signing.
    let tampered = body.replace("cus_x", "cus_y");
    let (status, _) = post_webhook(&app, &tampered, Some(&valid)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Several v1 signatures, one of them right (as during a secret rotation).
    let body_2 = event("evt_sig_2", "customer.created", json!({"id": "cus_z"}));
    let good = sign(body_2.as_bytes(), SECRET, now);
    let good_v1 = good.split(",v1=").nth(1).expect("a v1");
    let rotated = format!(
        "t={now},v1={},v1={good_v1}",
        sign(body_2.as_bytes(), "whsec_old", now)
            .split(",v1=")
            .nth(1)
            .expect("a v1")
    );
    let (status, _) = post_webhook(&app, &body_2, Some(&rotated)).await;
    assert_eq!(status, StatusCode::OK);
    // Refused events were never stored; the accepted ones were.
    let stored: Vec<String> = sqlx::query_scalar("SELECT id FROM stripe_events ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .expect("events");
    assert_eq!(stored, ["evt_sig_1", "evt_sig_2"]);
    // A signed body that is not JSON is refused too, and stores nothing.
    let garbage = "not json";
    let (status, _) =
        post_webhook(&app, garbage, Some(&sign(garbage.as_bytes(), SECRET, now))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
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

#[tokio::test]
async fn checkout_upgrades_once_the_webhook_lands_and_the_customer_is_reused() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    assert_eq!(plan_of(&app, workspace).await, "free");
    let _workers = app.start_workers();

    let browser = checkout(&app, &user, "pro").await;
    wait_for_plan(&app, workspace, "pro").await;
    let billing = store::billing_row(&app.pool, workspace)
        .await
        .expect("billing");
    assert_eq!(billing.state.subscription_status.as_deref(), Some("active"));
    assert!(billing.state.current_period_end.is_some());
    let customer = billing.stripe_customer_id.clone().expect("a customer");
    // Three events (subscription created, invoice paid, checkout completed), each
    // processed once, all for this workspace.
    eventually("every event is processed", || async {
        app.count("SELECT count(*) FROM stripe_events WHERE status <> 'processed'")
            .await
            == 0
    })
    .await;
    let events: Vec<(String, i32, Option<WorkspaceId>)> =
        sqlx::query_as("SELECT type, attempts, workspace_id FROM stripe_events ORDER BY type")
            .fetch_all(&app.pool)
            .await
            .expect("events");
    assert_eq!(
        events,
        [
            ("checkout.session.completed".to_string(), 1, Some(workspace)),
            (
                "customer.subscription.created".to_string(),
                1,
                Some(workspace)
            ),
            ("invoice.paid".to_string(), 1, Some(workspace)),
        ]
    );
    // The billing page shows it.
    let page = browser.html("/billing").await;
    assert!(page.contains("Your plan: "), "{page}");
    assert!(page.contains(">Pro<"), "{page}");
    // A second checkout is refused while the subscription lives: plans change in the
    // portal, never by a second subscription.
    let page = refused_checkout(&browser, "business").await;
    assert!(page.contains("has a subscription already"), "{page}");
    // Once it has ended, a new checkout reuses the customer.
    sqlx::query(
        "UPDATE workspace_billing SET subscription_status = 'canceled' WHERE workspace_id = $1",
    )
    .bind(workspace)
    .execute(&app.pool)
    .await
    .expect("ended");
    let again = start_checkout(&browser, "business").await;
    let to = location(&again);
    assert!(to.contains("/stripe-standin/checkout/"), "{to}");
    let billing = store::billing_row(&app.pool, workspace)
        .await
        .expect("billing");
    assert_eq!(billing.stripe_customer_id, Some(customer));
    // The portal opens for a customer.
    let portal = browser.press("/billing/portal").await;
    assert_eq!(portal.status(), StatusCode::SEE_OTHER);
    let to = location(&portal);
    assert!(to.contains("/stripe-standin/portal/bps_"), "{to}");
}

#[tokio::test]
async fn the_same_event_twice_is_processed_once() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    let _workers = app.start_workers();
    checkout(&app, &user, "pro").await;
    wait_for_plan(&app, workspace, "pro").await;
    let payload: Value =
        sqlx::query_scalar("SELECT payload FROM stripe_events WHERE type = 'invoice.paid'")
            .fetch_one(&app.pool)
            .await
            .expect("the invoice event");
    let (status, answer) = post_signed(&app, &payload.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["duplicate"], true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let attempts: i32 =
        sqlx::query_scalar("SELECT attempts FROM stripe_events WHERE type = 'invoice.paid'")
            .fetch_one(&app.pool)
            .await
            .expect("attempts");
    assert_eq!(attempts, 1);
}

/// (plan, status, period end, cancel at period end) of the workspace.
async fn final_state(
    app: &TestApp,
    workspace: WorkspaceId,
) -> (String, Option<String>, Option<i64>, bool) {
    let row = store::billing_row(&app.pool, workspace)
        .await
        .expect("billing");
    (
        plan_of(app, workspace).await,
        row.state.subscription_status,
        row.state.current_period_end.map(|at| at.timestamp()),
        row.state.cancel_at_period_end,
    )
}

#[tokio::test]
async fn events_shuffled_and_replayed_end_in_the_same_state_as_in_order() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    let workers = app.start_workers();
    let browser = checkout(&app, &user, "pro").await;
    wait_for_plan(&app, workspace, "pro").await;
    // A year of a customer's life in the portal, each step's webhooks processed in order.
    let portal = location(&browser.press("/billing/portal").await)
        .trim_start_matches(&app.address)
        .to_string();
    let steps = [
        "fail-payment",
        "pay",
        "switch-business",
        "advance",
        "fail-payment",
        "pay",
        "switch-pro",
        "cancel",
        "renew",
        "advance",
        "cancel",
        "renew",
        "fail-payment",
        "pay",
        "advance",
        "switch-business",
        "advance",
    ];
    let mut expected_events: i64 = 3;
    for step in steps {
        let response = browser.press(&format!("{portal}/{step}")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{step}");
        expected_events += match step {
            "fail-payment" | "pay" => 2,
            "advance" => 2,
            _ => 1,
        };
        eventually(&format!("{step} is processed"), || async {
            app.count(PROCESSED).await >= expected_events
        })
        .await;
    }
    let in_order = final_state(&app, workspace).await;
    assert_eq!(in_order.0, "business");
    assert_eq!(in_order.1.as_deref(), Some("active"));

    // Forget all of it, then receive every event again, shuffled, some several times.
    let mut payloads: Vec<Value> =
        sqlx::query_scalar("SELECT payload FROM stripe_events ORDER BY received_at")
            .fetch_all(&app.pool)
            .await
            .expect("payloads");
    assert_eq!(payloads.len() as i64, expected_events);
    sqlx::query("DELETE FROM stripe_events")
        .execute(&app.pool)
        .await
        .expect("forget");
    sqlx::query(
        "UPDATE workspace_billing SET subscription_id = NULL, subscription_status = NULL,
                subscription_plan = NULL, current_period_end = NULL,
                cancel_at_period_end = false, past_due_since = NULL
         WHERE workspace_id = $1",
    )
    .bind(workspace)
    .execute(&app.pool)
    .await
    .expect("reset");
    force_plan(&app, workspace, "free").await;
    let replays: Vec<Value> = payloads
        .iter()
        .take(50 - payloads.len().min(50))
        .cloned()
        .collect();
    payloads.extend(replays);
    while payloads.len() < 50 {
        payloads.push(payloads[payloads.len() % 7].clone());
    }
    payloads.shuffle(&mut rand::rng());
    let distinct: std::collections::HashSet<String> = payloads
        .iter()
        .map(|payload| payload["id"].as_str().unwrap_or_default().to_string())
        .collect();
    for payload in &payloads {
        let (status, _) = post_signed(&app, &payload.to_string()).await;
        assert_eq!(status, StatusCode::OK);
    }
    eventually("every replayed event is processed", || async {
        app.count(PROCESSED).await == distinct.len() as i64
    })
    .await;
    drop(workers);
    assert_eq!(final_state(&app, workspace).await, in_order);
}

/// Inserts `count` trackers of new sources for the workspace, one minute apart, each
/// polled every `interval_secs`.
/// A `score` metric on the source of `tracker`: its id.
async fn score_metric(app: &TestApp, tracker: Uuid) -> app::domain::MetricId {
    let source: i64 = sqlx::query_scalar("SELECT source_id FROM trackers WHERE id = $1")
        .bind(tracker)
        .fetch_one(&app.pool)
        .await
        .expect("source");
    sqlx::query_scalar(
        "INSERT INTO source_metrics (source_id, name, kind, unit, position)
         VALUES ($1, 'score', 'gauge', 'points', 0) RETURNING id",
    )
    .bind(source)
    .fetch_one(&app.pool)
    .await
    .expect("metric")
}

async fn trackers(
    app: &TestApp,
    workspace: WorkspaceId,
    count: usize,
    interval_secs: i32,
) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for n in 0..count {
        let source: i64 = sqlx::query_scalar(
            "INSERT INTO sources (kind, key, title, url, next_poll_at)
             VALUES ('hackernews.item', $1, 'An item', 'https://news.ycombinator.com/', now())
             RETURNING id",
        )
        .bind(Uuid::new_v4().to_string())
        .fetch_one(&app.pool)
        .await
        .expect("a source");
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO trackers (workspace_id, source_id, label, interval_secs, created_at)
             VALUES ($1, $2, $3, $4, now() - make_interval(mins => $5)) RETURNING id",
        )
        .bind(workspace)
        .bind(source)
        .bind(format!("Tracker {n}"))
        .bind(interval_secs)
        .bind((count - n) as i32)
        .fetch_one(&app.pool)
        .await
        .expect("a tracker");
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn a_failed_payment_keeps_the_plan_for_the_grace_period_then_pauses_the_newest_trackers() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    let grace = TimeDelta::days(7);
    let failed_at = Utc::now() - TimeDelta::days(30);
    // A Pro workspace with 7 trackers polled every 5 minutes.
    sqlx::query(
        "INSERT INTO workspace_billing (workspace_id, stripe_customer_id, subscription_id,
                 subscription_status, subscription_plan, current_period_end, past_due_since)
         VALUES ($1, 'cus_grace', 'sub_grace', 'past_due', 'pro', $2, $3)",
    )
    .bind(workspace)
    .bind(failed_at + TimeDelta::days(30))
    .bind(failed_at)
    .execute(&app.pool)
    .await
    .expect("billing");
    force_plan(&app, workspace, "pro").await;
    let ids = trackers(&app, workspace, 7, 300).await;

    // Six days after the failure: nothing changes.
    let applied = store::apply_plan(&app.pool, workspace, failed_at + TimeDelta::days(6), grace)
        .await
        .expect("apply");
    assert_eq!((applied.plan.as_str(), applied.paused), ("pro", 0));
    // Eight days after: Free limits. The two newest are paused, intervals raised to 1 h.
    let applied = store::apply_plan(&app.pool, workspace, failed_at + TimeDelta::days(8), grace)
        .await
        .expect("apply");
    assert_eq!(
        (applied.plan.as_str(), applied.paused, applied.raised),
        ("free", 2, 7)
    );
    let states: Vec<(Uuid, bool, bool, i32)> = sqlx::query_as(
        "SELECT id, paused, paused_by_plan, interval_secs FROM trackers
         WHERE workspace_id = $1 ORDER BY created_at",
    )
    .bind(workspace)
    .fetch_all(&app.pool)
    .await
    .expect("trackers");
    let paused: Vec<Uuid> = states.iter().filter(|s| s.1).map(|s| s.0).collect();
    assert_eq!(paused, ids[5..].to_vec(), "the newest two");
    assert!(states.iter().all(|s| s.3 == 3_600));
    assert!(states.iter().all(|s| s.1 == s.2));
    // Nothing deleted; the paused sources are no longer scheduled.
    let count = app
        .count_with(
            "SELECT count(*) FROM trackers WHERE workspace_id = $1",
            workspace,
        )
        .await;
    assert_eq!(count, 7);
    let scheduled: Vec<(String, Option<i32>)> = sqlx::query_as(
        "SELECT s.state, s.interval_secs FROM trackers t JOIN sources s ON s.id = t.source_id
         WHERE t.workspace_id = $1 ORDER BY t.created_at",
    )
    .bind(workspace)
    .fetch_all(&app.pool)
    .await
    .expect("sources");
    assert_eq!(scheduled[6].0, "paused");
    assert_eq!(scheduled[0].1, Some(3_600));
    // Adding or resuming is refused now, with an upgrade message and a 402 in the API.
    let token = app.token(&user, TokenScope::Write).await;
    let (status, body) = app
        .patch_tracker(&token, &ids[6].to_string(), json!({"paused": false}))
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"], "upgrade_required");
    assert_eq!(body["limit"], "trackers");
    let (status, body) = app
        .patch_tracker(&token, &ids[0].to_string(), json!({"interval_secs": 300}))
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["limit"], "interval");

    // Every page says so, with the way to fix it.
    let browser = app.signed_in(&user).await;
    let page = browser.html("/dashboard").await;
    assert!(page.contains("the grace period is over"), "{page}");
    assert!(page.contains("billing-banner"), "{page}");

    // The invoice is paid: everything resumes, intervals come back.
    sqlx::query(
        "UPDATE workspace_billing SET subscription_status = 'active', past_due_since = NULL
         WHERE workspace_id = $1",
    )
    .bind(workspace)
    .execute(&app.pool)
    .await
    .expect("paid");
    let applied = store::apply_plan(&app.pool, workspace, Utc::now(), grace)
        .await
        .expect("apply");
    assert_eq!(
        (applied.plan.as_str(), applied.resumed, applied.restored),
        ("pro", 2, 7)
    );
    let back: Vec<(bool, i32, Option<i32>)> = sqlx::query_as(
        "SELECT paused, interval_secs, interval_before_plan FROM trackers WHERE workspace_id = $1",
    )
    .bind(workspace)
    .fetch_all(&app.pool)
    .await
    .expect("trackers");
    assert!(back.iter().all(|t| *t == (false, 300, None)), "{back:?}");
    // Markers on the charts say what happened.
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tracker_events e JOIN trackers t ON t.id = e.tracker_id
         WHERE t.workspace_id = $1 AND e.detail LIKE '%plan%'",
    )
    .bind(workspace)
    .fetch_one(&app.pool)
    .await
    .expect("events");
    assert!(events >= 2 + 7, "{events}");
}

#[tokio::test]
async fn a_free_workspace_is_held_to_its_limits() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    trackers(&app, workspace, 5, 3_600).await;
    let token = app.token(&user, TokenScope::Write).await;
    // A sixth tracker: 402 before anything is fetched.
    let (status, body) = app
        .post_tracker(
            &token,
            json!({"url": "https://news.ycombinator.com/item?id=1"}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"], "upgrade_required");
    assert_eq!(body["plan"], "free");
    assert_eq!(body["upgrade_url"], "/billing");
    assert!(
        body["message"].as_str().unwrap_or_default().contains("5"),
        "{body}"
    );
    // Tokens: the first was made above; the Free plan allows two.
    let browser = app.signed_in(&user).await;
    let second = browser.submit_token("second", "read").await;
    assert_eq!(second.status(), StatusCode::OK);
    let third = browser.submit_token("third", "read").await;
    assert_eq!(third.status(), StatusCode::SEE_OTHER);
    let page = browser.html("/account").await;
    assert!(page.contains("allows 2 API tokens"), "{page}");
    let tokens = app
        .count_with(
            "SELECT count(*) FROM api_tokens WHERE workspace_id = $1",
            workspace,
        )
        .await;
    assert_eq!(tokens, 2);
}

#[tokio::test]
async fn support_sets_a_plan_from_the_command_line() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    set_plan(&app, user.email.clone(), "business")
        .await
        .expect("set-plan");
    assert_eq!(plan_of(&app, workspace).await, "business");
    let bad = set_plan(&app, workspace.to_string(), "platinum").await;
    assert!(matches!(bad, Err(upcount::admin::AdminError::Invalid(_))));
    set_plan(&app, workspace.to_string(), "subscription")
        .await
        .expect("set-plan");
    assert_eq!(plan_of(&app, workspace).await, "free");
}

#[tokio::test]
async fn raw_samples_past_the_plans_retention_are_pruned_and_ranges_there_read_rollups() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    let tracker = trackers(&app, workspace, 1, 3_600).await[0];
    let metric = score_metric(&app, tracker).await;
    // 40 days of a sample every 10 minutes.
    let now = Utc::now();
    let start = now - TimeDelta::days(40);
    let samples = (0..40 * 144).map(|n| (start + TimeDelta::minutes(10 * n), n as f64));
    app.write_points(metric, samples).await;
    let deleted = app::server::tracking::store::prune_raw_samples(&app.pool, now)
        .await
        .expect("prune");
    assert_eq!(deleted, 10 * 144, "the ten days past Free's 30");
    let oldest: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT min(t) FROM samples WHERE metric_id = $1")
            .bind(metric)
            .fetch_one(&app.pool)
            .await
            .expect("oldest");
    assert!(oldest >= now - TimeDelta::days(30) - TimeDelta::milliseconds(1));
    // Running it again deletes nothing more.
    assert_eq!(
        app::server::tracking::store::prune_raw_samples(&app.pool, now)
            .await
            .expect("prune"),
        0
    );
    // A day 35 days ago, asked for in 1,000 points: raw samples are gone, so it comes from
    // the hourly rollups (24 buckets of 6 samples), not as an empty chart.
    let token = app.token(&user, TokenScope::Read).await;
    let tracker_id = tracker.to_string();
    // The `score` of the whole day `ago` days back, in up to 1,000 points.
    let day = |ago: i64| {
        let day = now - TimeDelta::days(ago);
        let (from, to) = (
            day.format("%Y-%m-%dT00:00:00Z"),
            day.format("%Y-%m-%dT23:59:59Z"),
        );
        format!("metric=score&from={from}&to={to}&points=1000")
    };
    let (status, body) = app.series(&token, &tracker_id, &day(35)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resolution"], "hourly", "{body}");
    let points = body["points"].as_array().expect("points");
    assert_eq!(points.len(), 24);
    assert!(points.iter().all(|point| point["count"] == 6), "{body}");
    // A recent day still comes raw.
    let (_, body) = app.series(&token, &tracker_id, &day(2)).await;
    assert_eq!(body["resolution"], "raw", "{body}");
    assert_eq!(body["points"].as_array().map(Vec::len), Some(144));
    // A Pro workspace tracking the same source keeps it a year for everyone.
    let pro = app.create_user(Role::Member).await;
    let pro_workspace = app.workspace_of(&pro).await;
    sqlx::query(
        "INSERT INTO trackers (workspace_id, source_id, label)
         SELECT $1, source_id, 'Same' FROM trackers WHERE id = $2",
    )
    .bind(pro_workspace)
    .bind(tracker)
    .execute(&app.pool)
    .await
    .expect("a second tracker");
    let later =
        app::server::tracking::store::prune_raw_samples(&app.pool, now + TimeDelta::days(5))
            .await
            .expect("prune");
    assert_eq!(later, 0);
}

#[tokio::test]
async fn two_workers_at_once_process_an_event_once() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    // No workers yet: the checkout's events wait, pending.
    checkout(&app, &user, "pro").await;
    eventually("the checkout's events arrive", || async {
        app.count("SELECT count(*) FROM stripe_events WHERE status = 'pending'")
            .await
            == 3
    })
    .await;
    let id: String = sqlx::query_scalar("SELECT id FROM stripe_events WHERE type = 'invoice.paid'")
        .fetch_one(&app.pool)
        .await
        .expect("the invoice event");
    let origin = upcount::startup::public_origin(&app.settings);
    let billing = upcount::startup::billing(&app.settings, &origin).expect("billing");
    let now = Utc::now();
    let (first, second) = tokio::join!(
        app::server::billing::events::process(&app.pool, &billing, &id, now),
        app::server::billing::events::process(&app.pool, &billing, &id, now),
    );
    let outcomes = [first.expect("first"), second.expect("second")];
    let applied = outcomes
        .iter()
        .filter(|outcome| {
            matches!(
                outcome,
                app::server::billing::events::Outcome::Applied { .. }
            )
        })
        .count();
    assert_eq!(applied, 1, "{outcomes:?}");
    assert!(outcomes.contains(&app::server::billing::events::Outcome::AlreadyDone));
    let (status, attempts): (String, i32) =
        sqlx::query_as("SELECT status, attempts FROM stripe_events WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .expect("the event");
    assert_eq!((status.as_str(), attempts), ("processed", 1));
    assert_eq!(plan_of(&app, workspace).await, "pro");
}

#[tokio::test]
async fn stripe_down_is_said_plainly_and_events_wait_for_it() {
    let app = app_with_stripe_down().await;
    let browser = app
        .signed_in(&app.create_free_user(Role::Member).await)
        .await;
    let page = refused_checkout(&browser, "pro").await;
    assert!(
        page.contains("Stripe is not answering right now; nothing was charged."),
        "{page}"
    );
    // An event that arrives meanwhile is kept, marked failed with the reason, for a retry.
    let body = event(
        "evt_down_1",
        "customer.subscription.updated",
        json!({"id": "sub_down", "customer": "cus_down"}),
    );
    let (status, _) = post_signed(&app, &body).await;
    assert_eq!(status, StatusCode::OK);
    let origin = upcount::startup::public_origin(&app.settings);
    let billing = upcount::startup::billing(&app.settings, &origin).expect("billing");
    let outcome =
        app::server::billing::events::process(&app.pool, &billing, "evt_down_1", Utc::now()).await;
    assert!(outcome.is_err(), "{outcome:?}");
    let (status, attempts, error): (String, i32, Option<String>) =
        sqlx::query_as("SELECT status, attempts, error FROM stripe_events WHERE id = 'evt_down_1'")
            .fetch_one(&app.pool)
            .await
            .expect("the event");
    assert_eq!((status.as_str(), attempts), ("failed", 1));
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("could not be reached"),
        "{error:?}"
    );
    // The sweep picks it up again after its pause.
    let due =
        app::server::billing::events::due_for_retry(&app.pool, Utc::now() + TimeDelta::minutes(3))
            .await
            .expect("due");
    assert_eq!(due, ["evt_down_1"]);
}

#[tokio::test]
async fn without_a_key_or_the_standin_setting_billing_is_off() {
    let app = spawn_app_with_env(vec![("UPCOUNT_STRIPE_STANDIN", "false".to_string())]).await;
    // No stand-in to pay at, no webhook endpoint to send events to.
    for path in [
        "/stripe-standin/checkout/cs_test_1",
        "/stripe-standin/portal/bps_1",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let (status, _) = standin_call(
        &app,
        "customers",
        Some(app::server::billing::STANDIN_SECRET_KEY),
        &[("email", "someone@example.com")],
    )
    .await;
    assert!(status.is_client_error() && status != StatusCode::OK);
    let customers = app
        .count("SELECT count(*) FROM workspace_billing WHERE stripe_customer_id IS NOT NULL")
        .await;
    assert_eq!(customers, 0);
    let body = event("evt_off", "invoice.paid", json!({"customer": "cus_x"}));
    let (status, _) = post_signed(&app, &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Plans are shown, but cannot be bought.
    let (user, workspace) = free_workspace(&app).await;
    let browser = app.signed_in(&user).await;
    let page = browser.html("/billing").await;
    assert!(!page.contains("Upgrade to"), "{page}");
    assert!(page.contains("Not for sale on this server"), "{page}");
    let page = refused_checkout(&browser, "pro").await;
    assert!(page.contains("cannot be bought here"), "{page}");
    assert_eq!(plan_of(&app, workspace).await, "free");
    // Support still sets plans.
    set_plan(&app, user.email.clone(), "pro")
        .await
        .expect("set-plan");
    assert_eq!(plan_of(&app, workspace).await, "pro");
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

#[tokio::test]
async fn the_standin_wants_its_key_and_sends_customers_back_to_the_site_only() {
    let app = app().await;
    let key = Some(app::server::billing::STANDIN_SECRET_KEY);
    let (status, body) = standin_call(&app, "customers", None, &[("email", "a@b.c")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("did not provide an API key"),
        "{body}"
    );
    let (status, body) = standin_call(
        &app,
        "customers",
        Some("sk_test_guess"),
        &[("email", "a@b.c")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.to_string().contains("sk_test_guess"), "{body}");
    let (status, customer) = standin_call(&app, "customers", key, &[("email", "a@b.c")]).await;
    assert_eq!(status, StatusCode::OK, "{customer}");
    let customer = customer["id"].as_str().expect("an id");

    let own = format!("{}/billing", app.address);
    for (success, cancel) in [
        ("javascript:alert(document.cookie)", own.as_str()),
        (own.as_str(), "https://evil.example/billing"),
        ("//evil.example/billing", own.as_str()),
        (own.as_str(), "http://127.0.0.1:1/billing"),
    ] {
        let (status, body) = standin_call(
            &app,
            "checkout/sessions",
            key,
            &[
                ("mode", "subscription"),
                ("customer", customer),
                ("line_items[0][price]", "price_standin_pro"),
                ("success_url", success),
                ("cancel_url", cancel),
            ],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{success} {cancel}: {body}"
        );
        assert_eq!(body["error"]["code"], "url_invalid");
    }
    for return_url in ["javascript:alert(1)", "https://evil.example/"] {
        let (status, body) = standin_call(
            &app,
            "billing_portal/sessions",
            key,
            &[("customer", customer), ("return_url", return_url)],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{return_url}: {body}");
    }
    let (status, body) = standin_call(
        &app,
        "billing_portal/sessions",
        key,
        &[("customer", customer), ("return_url", &own)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn metadata_alone_never_moves_a_plan_to_another_workspace() {
    let app = app().await;
    let _workers = app.start_workers();
    let (_victim, victim_workspace) = free_workspace(&app).await;
    let key = Some(app::server::billing::STANDIN_SECRET_KEY);
    // A customer Upcount never made, whose checkout names the victim's workspace
    // everywhere an event can.
    let named = victim_workspace.to_string();
    let (_, customer) = standin_call(
        &app,
        "customers",
        key,
        &[
            ("email", "attacker@example.com"),
            ("metadata[workspace_id]", &named),
        ],
    )
    .await;
    let customer = customer["id"].as_str().expect("an id").to_string();
    let own = format!("{}/billing", app.address);
    let (status, session) = standin_call(
        &app,
        "checkout/sessions",
        key,
        &[
            ("mode", "subscription"),
            ("customer", &customer),
            ("line_items[0][price]", "price_standin_business"),
            ("client_reference_id", &named),
            ("metadata[workspace_id]", &named),
            ("subscription_data[metadata][workspace_id]", &named),
            ("success_url", &own),
            ("cancel_url", &own),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let id = session["id"].as_str().expect("an id");
    let paid = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{}/stripe-standin/checkout/{id}/pay", app.address))
        .send()
        .await
        .expect("pay");
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    eventually("the events are handled", || async {
        app.count("SELECT count(*) FROM stripe_events WHERE status IN ('processed', 'ignored')")
            .await
            >= 3
    })
    .await;
    assert_eq!(plan_of(&app, victim_workspace).await, "free");
    let outcomes: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, error FROM stripe_events")
            .fetch_all(&app.pool)
            .await
            .expect("events");
    assert!(
        outcomes.iter().all(|(status, _)| status == "ignored"),
        "{outcomes:?}"
    );
}

/// The status of subscription `id` at the stand-in.
async fn standin_subscription_status(app: &TestApp, id: &str) -> String {
    let response = reqwest::Client::new()
        .get(format!(
            "{}/stripe-standin/v1/subscriptions/{id}",
            app.address
        ))
        .bearer_auth(app::server::billing::STANDIN_SECRET_KEY)
        .send()
        .await
        .expect("ask the stand-in");
    let body: Value = response.json().await.expect("JSON");
    body["status"].as_str().unwrap_or_default().to_string()
}

/// A paying user's workspace and subscription id.
async fn paying_user(app: &TestApp) -> (TestUser, WorkspaceId, String) {
    let (user, workspace) = free_workspace(app).await;
    checkout(app, &user, "pro").await;
    wait_for_plan(app, workspace, "pro").await;
    let subscription = store::billing_row(&app.pool, workspace)
        .await
        .expect("billing")
        .subscription_id
        .expect("a subscription");
    (user, workspace, subscription)
}

#[tokio::test]
async fn deleting_an_account_cancels_its_subscription_at_once() {
    let app = app().await;
    let _workers = app.start_workers();
    // By the user.
    let (user, workspace, subscription) = paying_user(&app).await;
    assert_eq!(
        standin_subscription_status(&app, &subscription).await,
        "active"
    );
    let browser = app.signed_in(&user).await;
    let response = browser.delete_account(&user.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        standin_subscription_status(&app, &subscription).await,
        "canceled"
    );
    let left = app
        .count_with("SELECT count(*) FROM workspaces WHERE id = $1", workspace)
        .await;
    assert_eq!(left, 0);
    // By an admin.
    let (user, _, subscription) = paying_user(&app).await;
    let console = app.signed_in(&app.create_user(Role::Admin).await).await;
    let response = console
        .press(&format!("/admin/users/{}/delete", user.id))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        standin_subscription_status(&app, &subscription).await,
        "canceled"
    );
}

#[tokio::test]
async fn an_account_is_not_deleted_while_its_subscription_cannot_be_cancelled() {
    let app = app_with_stripe_down().await;
    let (user, workspace) = free_workspace(&app).await;
    sqlx::query(
        "INSERT INTO workspace_billing (workspace_id, subscription_id, subscription_status)
         VALUES ($1, 'sub_live', 'active')
         ON CONFLICT (workspace_id) DO UPDATE
         SET subscription_id = 'sub_live', subscription_status = 'active'",
    )
    .bind(workspace)
    .execute(&app.pool)
    .await
    .expect("a live subscription");
    let browser = app.signed_in(&user).await;
    let response = browser.delete_account(&user.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = location(&response);
    let page = browser.get(&location).await;
    let status = page.status();
    let page = page.text().await.expect("page");
    assert!(
        page.contains("nothing was") && page.contains("deleted"),
        "{location} {status}: {page}"
    );
    let left = app
        .count_with("SELECT count(*) FROM users WHERE id = $1", user.id)
        .await;
    assert_eq!(left, 1, "the account is still there");
}

#[tokio::test]
async fn a_downgrade_keeps_older_points_for_thirty_days_and_an_upgrade_in_time_keeps_them() {
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    let switch_to = |plan: &'static str| {
        let (app, email) = (&app, user.email.clone());
        async move { set_plan(app, email, plan).await.expect("set-plan") }
    };
    switch_to("pro").await;
    let tracker = trackers(&app, workspace, 1, 3_600).await[0];
    let metric = score_metric(&app, tracker).await;
    // A sample a day for 100 days: within Pro's year, past Free's 30 days.
    let now = Utc::now();
    app.write_points(
        metric,
        (0..100).map(|n| (now - TimeDelta::days(n), n as f64)),
    )
    .await;
    let count = || app.count_with("SELECT count(*) FROM samples WHERE metric_id = $1", metric);
    let pool = app.pool.clone();
    let prune = |at: chrono::DateTime<Utc>| {
        let pool = pool.clone();
        async move {
            app::server::tracking::store::prune_raw_samples(&pool, at)
                .await
                .expect("prune")
        }
    };
    // Down to Free: nothing is pruned yet, and the billing page says from when.
    switch_to("free").await;
    assert_eq!(plan_of(&app, workspace).await, "free");
    assert_eq!(prune(Utc::now()).await, 0);
    assert_eq!(count().await, 100);
    let browser = app.signed_in(&user).await;
    let page = browser.html("/billing").await;
    let expected_day = (Utc::now() + TimeDelta::days(30))
        .format("%Y-%m-%d")
        .to_string();
    assert!(page.contains("history-pruned-from"), "{page}");
    assert!(page.contains(&expected_day), "names the day: {page}");
    // Back on Pro within the 30 days: the points stay, whenever pruning runs.
    switch_to("pro").await;
    assert_eq!(prune(Utc::now() + TimeDelta::days(31)).await, 0);
    assert_eq!(count().await, 100);
    let page = browser.html("/billing").await;
    assert!(!page.contains("history-pruned-from"), "{page}");
    // Down again and not back: 31 days later Free's 30 days hold.
    switch_to("free").await;
    assert_eq!(prune(Utc::now() + TimeDelta::days(29)).await, 0);
    let pruned = prune(Utc::now() + TimeDelta::days(31)).await;
    assert!(pruned > 0);
    assert!(count().await <= 31, "{} left", count().await);
}

#[tokio::test]
async fn deleting_right_after_paying_cancels_the_subscription_whose_webhook_has_not_landed() {
    // No workers: the webhooks are stored, not processed, so Upcount has not recorded the
    // subscription yet; its customer it has.
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    let browser = checkout(&app, &user, "pro").await;
    let subscription: String = crate::helpers::eventually(
        Duration::from_secs(10),
        "the subscription's event",
        || async {
            sqlx::query_scalar(
                "SELECT payload -> 'data' -> 'object' ->> 'id' FROM stripe_events
                 WHERE type = 'customer.subscription.created'",
            )
            .fetch_optional(&app.pool)
            .await
            .expect("events")
        },
    )
    .await;
    let recorded = store::billing_row(&app.pool, workspace)
        .await
        .expect("billing");
    assert_eq!(recorded.subscription_id, None, "not recorded yet");
    assert_eq!(
        standin_subscription_status(&app, &subscription).await,
        "active"
    );
    let response = browser.delete_account(&user.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        standin_subscription_status(&app, &subscription).await,
        "canceled"
    );
}
