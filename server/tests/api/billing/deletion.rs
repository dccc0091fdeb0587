//! Deleting an account that pays: its subscription is cancelled first, or the account
//! stays.

use super::*;

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
async fn deleting_right_after_paying_cancels_the_subscription_whose_webhook_has_not_landed() {
    // No workers: the webhooks are stored, not processed, so Upcount has not recorded the
    // subscription yet; its customer it has.
    let app = app().await;
    let (user, workspace) = free_workspace(&app).await;
    let browser = checkout(&app, &user, "pro").await;
    let subscription: String = crate::helpers::eventually(
        Duration::from_secs(60),
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
