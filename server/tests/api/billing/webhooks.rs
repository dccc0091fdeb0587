//! Stripe webhooks: signatures on the raw body, each event processed once however it
//! arrives, and never for another workspace.

use super::*;

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
