//! Checkout and the Stripe stand-in: upgrading, Stripe being down, billing switched off,
//! the stand-in's own checks.

use super::*;

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
