//! The admin console: every action does what it says and leaves an audit record, and
//! nobody but an administrator reaches any of it.

use app::domain::{Role, TokenScope};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{Browser, TestApp, TestUser, spawn_app};

async fn workspace_of(app: &TestApp, user: &TestUser) -> Uuid {
    sqlx::query_scalar("SELECT workspace_id FROM workspace_members WHERE user_id = $1")
        .bind(user.id)
        .fetch_one(&app.pool)
        .await
        .expect("workspace")
}

/// (actor, action, target) of the newest audit record.
async fn last_audit(app: &TestApp) -> (String, String, String) {
    sqlx::query_as("SELECT actor_email, action, target FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .expect("an audit record")
}

async fn admin(app: &TestApp) -> (TestUser, Browser) {
    let admin = app.create_user(Role::Admin).await;
    let browser = app.browser();
    browser.sign_in(&admin).await;
    (admin, browser)
}

/// A source with one tracker of `workspace`, due now.
async fn source_for(app: &TestApp, workspace: Uuid) -> i64 {
    let source: i64 = sqlx::query_scalar(
        "INSERT INTO sources (kind, key, title, url, next_poll_at, interval_secs)
         VALUES ('hackernews.item', $1, 'An item', 'https://news.ycombinator.com/', now(), 900)
         RETURNING id",
    )
    .bind(Uuid::new_v4().to_string())
    .fetch_one(&app.pool)
    .await
    .expect("source");
    sqlx::query("INSERT INTO trackers (workspace_id, source_id, label) VALUES ($1, $2, 'Item')")
        .bind(workspace)
        .bind(source)
        .execute(&app.pool)
        .await
        .expect("tracker");
    source
}

async fn source_state(
    app: &TestApp,
    source: i64,
) -> (String, bool, Option<chrono::DateTime<chrono::Utc>>) {
    sqlx::query_as("SELECT state, paused_by_admin, next_poll_at FROM sources WHERE id = $1")
        .bind(source)
        .fetch_one(&app.pool)
        .await
        .expect("source")
}

#[tokio::test]
async fn suspending_a_user_ends_their_session_tokens_and_polling_until_unsuspended() {
    let app = spawn_app().await;
    let (admin_user, admin) = admin(&app).await;
    let user = app.create_user(Role::Member).await;
    let workspace = workspace_of(&app, &user).await;
    let source = source_for(&app, workspace).await;
    let token = app.token(&user, TokenScope::Read).await;
    let member = app.browser();
    member.sign_in(&user).await;
    assert_eq!(member.get("/dashboard").await.status(), StatusCode::OK);

    let response = admin
        .post_form(&format!("/admin/users/{}/suspend", user.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin");
    assert_eq!(
        last_audit(&app).await,
        (
            admin_user.email.clone(),
            "user.suspend".into(),
            format!("user:{}", user.id)
        )
    );
    // Their session stops working, signing in is refused, their token too.
    let dashboard = member.get("/dashboard").await;
    assert_eq!(dashboard.status(), StatusCode::SEE_OTHER);
    let again = app.browser();
    let refused = again
        .post_form(
            "/sign-in",
            &[
                ("email", &user.email),
                ("password", &user.password),
                ("next", "/dashboard"),
            ],
        )
        .await;
    let back = refused.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(back.starts_with("/sign-in"), "{back}");
    let page = again.get(&back).await.text().await.expect("page");
    assert!(page.contains("This account is suspended"), "{page}");
    let (status, _) = app.api_get("/api/v1/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Their source, tracked by nobody else, stops polling.
    let (state, _, next) = source_state(&app, source).await;
    assert_eq!((state.as_str(), next), ("paused", None));
    // The console shows them as suspended.
    let console = admin
        .get("/admin?q=".to_string().as_str())
        .await
        .text()
        .await
        .expect("page");
    assert!(console.contains("suspended"), "{console}");

    let response = admin
        .post_form(&format!("/admin/users/{}/unsuspend", user.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(last_audit(&app).await.1, "user.unsuspend");
    member.sign_in(&user).await;
    assert_eq!(member.get("/dashboard").await.status(), StatusCode::OK);
    let (status, _) = app.api_get("/api/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK);
    let (state, _, next) = source_state(&app, source).await;
    assert_eq!(state, "ok");
    assert!(next.is_some());
    // An admin cannot suspend themselves.
    let response = admin
        .post_form(&format!("/admin/users/{}/suspend", admin_user.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = admin.get("/admin").await.text().await.expect("page");
    assert!(page.contains("You cannot suspend yourself."), "{page}");
    // Sign-ins are recorded for the console, the refused one too.
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM sign_ins WHERE user_id = $1 ORDER BY id")
            .bind(user.id)
            .fetch_all(&app.pool)
            .await
            .expect("sign-ins");
    assert_eq!(outcomes, ["signed_in", "suspended", "signed_in"]);
    let page = admin
        .get(&format!("/admin?q={}", user.email))
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("1 refused in 24 h"), "{page}");
}

#[tokio::test]
async fn a_suspended_user_cannot_get_in_through_the_sign_up_form_either() {
    let app = spawn_app().await;
    let (_, admin) = admin(&app).await;
    let user = app.create_user(Role::Member).await;
    admin
        .post_form(&format!("/admin/users/{}/suspend", user.id), &[])
        .await;
    let browser = app.browser();
    let response = browser
        .post_form(
            "/sign-up",
            &[
                ("email", &user.email),
                ("password", &user.password),
                ("next", "/dashboard"),
            ],
        )
        .await;
    let back = crate::helpers::location(&response);
    assert!(back.starts_with("/sign-up"), "{back}");
    let page = browser.get(&back).await.text().await.expect("page");
    assert!(page.contains("This account is suspended"), "{page}");
    assert_eq!(
        browser.get("/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
}

/// Signs in as `user` from a browser that names itself `agent`, or tries `password`.
async fn sign_in_as(app: &TestApp, user: &TestUser, password: &str, agent: &str) -> String {
    let response = app
        .browser()
        .client
        .post(format!("{}/sign-in", app.address))
        .header("origin", &app.address)
        .header("user-agent", agent)
        .form(&[
            ("email", user.email.as_str()),
            ("password", password),
            ("next", "/dashboard"),
        ])
        .send()
        .await
        .expect("sign in");
    crate::helpers::location(&response)
}

#[tokio::test]
async fn a_users_page_shows_their_workspace_billing_trackers_tokens_and_every_sign_in() {
    let app = spawn_app().await;
    let (admin_user, admin) = admin(&app).await;
    let user = app.create_free_user(Role::Member).await;
    let workspace = workspace_of(&app, &user).await;
    let source = source_for(&app, workspace).await;
    app.token(&user, TokenScope::Read).await;
    assert_eq!(
        sign_in_as(&app, &user, "not the password", "Agent/wrong").await,
        "/sign-in?next=%2Fdashboard"
    );
    assert_eq!(
        sign_in_as(&app, &user, &user.password, "Agent/right").await,
        "/dashboard"
    );
    // The wrong password is recorded without the answer waiting for it.
    crate::helpers::eventually(
        std::time::Duration::from_secs(5),
        "the refused attempt recorded",
        || async {
            let count: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM sign_ins WHERE user_id = $1 AND outcome = 'wrong_password'",
            )
            .bind(user.id)
            .fetch_one(&app.pool)
            .await
            .expect("count");
            (count == 1).then_some(())
        },
    )
    .await;
    admin
        .post_form(
            &format!("/admin/workspaces/{workspace}/plan"),
            &[("plan", "pro")],
        )
        .await;

    // The data, from the server function.
    let response = admin
        .post_form("/api/admin/user", &[("id", &user.id.to_string())])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.expect("JSON");
    assert_eq!(page["email"], user.email.as_str());
    let sign_ins = page["sign_ins"].as_array().expect("sign-ins");
    let seen: Vec<(&str, &str)> = sign_ins
        .iter()
        .map(|row| {
            (
                row["outcome"].as_str().unwrap_or_default(),
                row["user_agent"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("signed_in", "Agent/right"),
            ("wrong_password", "Agent/wrong")
        ],
        "newest first: {page}"
    );
    assert_eq!(sign_ins[0]["ip"], "127.0.0.1");
    assert_eq!(page["sign_in_total"], 2);
    let workspaces = page["workspaces"].as_array().expect("workspaces");
    assert_eq!(workspaces.len(), 1, "{page}");
    let shown = &workspaces[0];
    assert_eq!(shown["id"], workspace.to_string());
    assert_eq!(shown["billing"]["plan"]["id"], "pro");
    assert_eq!(shown["billing"]["standing"], "override");
    assert_eq!(shown["plan_override"], "pro");
    assert_eq!(shown["tracker_total"], 1);
    assert_eq!(shown["trackers"][0]["source_id"], source);
    assert_eq!(shown["trackers"][0]["label"], "Item");
    assert_eq!(shown["tokens"][0]["name"], "tests");
    assert_eq!(shown["tokens"][0]["scope"], "read");
    let prefix = shown["tokens"][0]["prefix"].as_str().expect("a prefix");
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE workspace_id = $1")
            .bind(workspace)
            .fetch_one(&app.pool)
            .await
            .expect("token");
    assert!(
        !page.to_string().contains(&hex(&stored)),
        "no hash on the page"
    );
    assert!(prefix.len() < 16, "only the prefix: {prefix}");
    // The plan change is in the user's audit trail.
    let audit = page["audit"].as_array().expect("audit");
    assert_eq!(audit[0]["action"], "workspace.set_plan", "{page}");
    assert_eq!(audit[0]["actor"], admin_user.email.as_str());

    // The page itself, linked from the console.
    let console = admin
        .get(&format!("/admin?q={}", user.email))
        .await
        .text()
        .await
        .expect("console");
    let link = format!("href=\"/admin/users/{}\"", user.id);
    assert!(console.contains(&link), "{console}");
    let response = admin.get(&format!("/admin/users/{}", user.id)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("page");
    for expected in [
        "Sign-in history",
        "wrong password",
        "Agent/right",
        "Pro",
        "set by support",
        "Item",
        "hackernews.item",
        "1 active of 100",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }

    // Acting from the page comes back to it; deleting the user goes to the console.
    let page_url = format!("{}/admin/users/{}", app.address, user.id);
    let response = admin
        .client
        .post(format!("{}/admin/users/{}/suspend", app.address, user.id))
        .header("origin", &app.address)
        .header("referer", &page_url)
        .send()
        .await
        .expect("suspend");
    assert_eq!(
        crate::helpers::location(&response),
        format!("/admin/users/{}", user.id)
    );
    let html = admin
        .get(&format!("/admin/users/{}", user.id))
        .await
        .text()
        .await
        .expect("page");
    assert!(html.contains("Suspended: the user is signed out"), "{html}");
    assert!(html.contains("not polling: suspended"), "{html}");
    let response = admin
        .client
        .post(format!("{}/admin/users/{}/delete", app.address, user.id))
        .header("origin", &app.address)
        .header("referer", &page_url)
        .send()
        .await
        .expect("delete");
    assert_eq!(crate::helpers::location(&response), "/admin");
    // A user who is gone (or never was) is a 404, not an error.
    let response = admin.get(&format!("/admin/users/{}", user.id)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = admin.get("/admin/users/not-a-uuid").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test]
async fn an_admin_sets_a_plan_and_acts_on_sources() {
    let app = spawn_app().await;
    let (admin_user, admin) = admin(&app).await;
    let user = app.create_free_user(Role::Member).await;
    let workspace = workspace_of(&app, &user).await;
    let response = admin
        .post_form(
            &format!("/admin/workspaces/{workspace}/plan"),
            &[("plan", "pro")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let plan: String = sqlx::query_scalar("SELECT plan_id FROM workspaces WHERE id = $1")
        .bind(workspace)
        .fetch_one(&app.pool)
        .await
        .expect("plan");
    assert_eq!(plan, "pro");
    assert_eq!(
        last_audit(&app).await,
        (
            admin_user.email.clone(),
            "workspace.set_plan".into(),
            format!("workspace:{workspace}")
        )
    );

    let source = source_for(&app, workspace).await;
    sqlx::query(
        "UPDATE sources SET state = 'backing_off', consecutive_failures = 4,
                next_poll_at = now() + interval '6 hours' WHERE id = $1",
    )
    .bind(source)
    .execute(&app.pool)
    .await
    .expect("backing off");
    admin
        .post_form(&format!("/admin/sources/{source}/reset-backoff"), &[])
        .await;
    let (state, _, next) = source_state(&app, source).await;
    assert_eq!(state, "ok");
    assert!(next.expect("scheduled") <= chrono::Utc::now());
    assert_eq!(last_audit(&app).await.1, "source.reset_backoff");

    admin
        .post_form(&format!("/admin/sources/{source}/pause"), &[])
        .await;
    assert_eq!(
        source_state(&app, source).await,
        ("paused".into(), true, None)
    );
    assert_eq!(last_audit(&app).await.1, "source.pause");
    // Paused by the admin: polling now does nothing.
    admin
        .post_form(&format!("/admin/sources/{source}/poll-now"), &[])
        .await;
    assert_eq!(source_state(&app, source).await.2, None);
    admin
        .post_form(&format!("/admin/sources/{source}/resume"), &[])
        .await;
    let (state, paused, next) = source_state(&app, source).await;
    assert_eq!((state.as_str(), paused), ("ok", false));
    assert!(next.is_some());
    sqlx::query("UPDATE sources SET next_poll_at = now() + interval '1 hour' WHERE id = $1")
        .bind(source)
        .execute(&app.pool)
        .await
        .expect("later");
    admin
        .post_form(&format!("/admin/sources/{source}/poll-now"), &[])
        .await;
    assert!(source_state(&app, source).await.2.expect("scheduled") <= chrono::Utc::now());
    assert_eq!(last_audit(&app).await.1, "source.poll_now");
    // The console lists the source with its failures, filtered by provider.
    let page = admin
        .get("/admin?provider=hackernews")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains(&format!("source-{source}")), "{page}");
    let page = admin
        .get("/admin?provider=github")
        .await
        .text()
        .await
        .expect("page");
    assert!(!page.contains(&format!("source-{source}")));
    // Unknown things are named, not crashed on.
    let response = admin.post_form("/admin/sources/999999/pause", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = admin.get("/admin").await.text().await.expect("page");
    assert!(page.contains("There is no such source."), "{page}");
}

#[tokio::test]
async fn an_admin_reprocesses_a_stripe_event() {
    let app = spawn_app().await;
    let (admin_user, admin) = admin(&app).await;
    sqlx::query(
        "INSERT INTO stripe_events (id, type, created, payload, status, attempts, error)
         VALUES ('evt_admin_1', 'invoice.paid', now(), '{\"data\": {\"object\": {}}}', 'failed', 3,
                 'Stripe could not be reached')",
    )
    .execute(&app.pool)
    .await
    .expect("an event");
    let page = admin.get("/admin").await.text().await.expect("page");
    assert!(page.contains("event-evt_admin_1"), "{page}");
    assert!(page.contains("Stripe could not be reached"));
    let _workers = app.start_workers();
    let response = admin
        .post_form("/admin/stripe-events/evt_admin_1/reprocess", &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        last_audit(&app).await,
        (
            admin_user.email.clone(),
            "stripe_event.reprocess".into(),
            "stripe_event:evt_admin_1".into()
        )
    );
    // Processed again: it names no subscription, so it ends ignored, with the reason.
    let mut status = String::new();
    for _ in 0..100 {
        status = sqlx::query_scalar("SELECT status FROM stripe_events WHERE id = 'evt_admin_1'")
            .fetch_one(&app.pool)
            .await
            .expect("status");
        if status != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "ignored");
}

#[tokio::test]
async fn nobody_but_an_admin_reaches_any_admin_page_function_or_action() {
    let app = spawn_app().await;
    let member_user = app.create_user(Role::Member).await;
    let member = app.browser();
    member.sign_in(&member_user).await;
    let anonymous = app.browser();
    let target = app.create_user(Role::Member).await;
    let workspace = workspace_of(&app, &target).await;
    let source = source_for(&app, workspace).await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&app.pool)
        .await
        .expect("count");

    // The pages.
    for page in ["/admin".to_string(), format!("/admin/users/{}", target.id)] {
        assert_eq!(
            member.get(&page).await.status(),
            StatusCode::FORBIDDEN,
            "{page}"
        );
        let response = anonymous.get(&page).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
        assert!(
            crate::helpers::location(&response).starts_with("/sign-in"),
            "{page}"
        );
    }
    // The server function.
    for (who, browser, expected) in [
        ("member", &member, StatusCode::FORBIDDEN),
        ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
    ] {
        let response = browser
            .post_form(
                "/api/admin/console",
                &[("query", ""), ("provider", ""), ("state", "")],
            )
            .await;
        assert_eq!(response.status(), expected, "{who}");
        let body = response.text().await.unwrap_or_default();
        assert!(!body.contains(&target.email), "{who}: {body}");
        let response = browser.post_form("/api/admin/live", &[]).await;
        assert_eq!(response.status(), expected, "{who}: live");
        let response = browser
            .post_form("/api/admin/user", &[("id", &target.id.to_string())])
            .await;
        assert_eq!(response.status(), expected, "{who}: user");
        let body = response.text().await.unwrap_or_default();
        assert!(!body.contains(&target.email), "{who}: {body}");
    }
    // Every action.
    let actions = [
        format!("/admin/users/{}/suspend", target.id),
        format!("/admin/users/{}/unsuspend", target.id),
        format!("/admin/workspaces/{workspace}/plan"),
        format!("/admin/sources/{source}/pause"),
        format!("/admin/sources/{source}/resume"),
        format!("/admin/sources/{source}/poll-now"),
        format!("/admin/sources/{source}/reset-backoff"),
        "/admin/stripe-events/evt_x/reprocess".to_string(),
        format!("/admin/users/{}/view-as", target.id),
        format!("/admin/users/{}/delete", target.id),
        "/admin/jobs/job_x/retry".to_string(),
        "/admin/jobs/job_x/discard".to_string(),
    ];
    for action in &actions {
        let response = member.post_form(action, &[("plan", "business")]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "member: {action}");
        let response = anonymous.post_form(action, &[("plan", "business")]).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "anonymous: {action}"
        );
        let location = response.headers()["location"].to_str().unwrap_or_default();
        assert!(
            location.starts_with("/sign-in"),
            "anonymous: {action}: {location}"
        );
    }
    // Nothing happened.
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(after, before);
    let suspended: bool =
        sqlx::query_scalar("SELECT suspended_at IS NOT NULL FROM users WHERE id = $1")
            .bind(target.id)
            .fetch_one(&app.pool)
            .await
            .expect("user");
    assert!(!suspended);
    // An admin gets the console's data from the same function.
    let (_, admin) = admin(&app).await;
    let response = admin
        .post_form(
            "/api/admin/console",
            &[("query", ""), ("provider", ""), ("state", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["users"]
            .as_array()
            .is_some_and(|users| users.len() >= 3),
        "{body}"
    );
    // And the live figures, with their history once snapshots are recorded.
    let now = chrono::Utc::now();
    let jobs = upcount::jobs::ApalisQueue::new(app.pool.clone());
    app::server::admin::record_snapshot(&app.pool, &jobs, now)
        .await
        .expect("snapshot");
    app::server::admin::record_snapshot(&app.pool, &jobs, now)
        .await
        .expect("snapshot again, same period");
    app::server::admin::record_snapshot(&app.pool, &jobs, now + chrono::TimeDelta::minutes(5))
        .await
        .expect("next snapshot");
    let response = admin.post_form("/api/admin/live", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let live: Value = response.json().await.expect("JSON");
    assert!(
        live["overview"]["users"].as_i64().unwrap_or_default() >= 3,
        "{live}"
    );
    let history = live["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "one snapshot per five minutes: {live}");
    assert!(history[0]["users"].as_i64().unwrap_or_default() >= 3);
}

#[tokio::test]
async fn metrics_are_served_to_prometheus_with_basic_auth_and_not_at_all_without_credentials() {
    let closed = spawn_app().await;
    assert_eq!(closed.get("/metrics").await.status(), StatusCode::NOT_FOUND);

    let app = crate::helpers::spawn_app_with(crate::helpers::SpawnOptions {
        env: vec![
            ("UPCOUNT_METRICS_USER", "prometheus".to_string()),
            (
                "UPCOUNT_METRICS_PASSWORD",
                "a long scrape password".to_string(),
            ),
        ],
        ..crate::helpers::SpawnOptions::default()
    })
    .await;
    // Some traffic to count, and a job to time.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let _workers = app.start_workers();
    upcount::jobs::enqueue(&app.pool, upcount::jobs::CleanUpSessions::default())
        .await
        .expect("enqueue");
    for _ in 0..100 {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM apalis.jobs WHERE job_type = 'clean_up_sessions' AND status = 'Done'",
        )
        .fetch_one(&app.pool)
        .await
        .expect("count");
        if done > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let client = reqwest::Client::new();
    let url = format!("{}/metrics", app.address);
    let anonymous = client.get(&url).send().await.expect("GET");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = client
        .get(&url)
        .basic_auth("prometheus", Some("not it"))
        .send()
        .await
        .expect("GET");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let scraped = client
        .get(&url)
        .basic_auth("prometheus", Some("a long scrape password"))
        .send()
        .await
        .expect("GET");
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(
        scraped.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = scraped.text().await.expect("text");
    assert!(
        text.contains(
            "upcount_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("upcount_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("upcount_db_pool_connections{state=\"open\"}"),
        "{text}"
    );
    assert!(
        text.contains("upcount_job_duration_seconds_count{job=\"clean_up_sessions\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn an_admin_retries_and_discards_failed_jobs() {
    let app = spawn_app().await;
    let (admin_user, admin) = admin(&app).await;
    // Two jobs queued the way the scheduler queues them, which then failed for good.
    for _ in 0..2 {
        upcount::jobs::enqueue(&app.pool, upcount::jobs::PruneJobs::default())
            .await
            .expect("enqueue");
    }
    let ids: Vec<String> = sqlx::query_scalar(
        "UPDATE apalis.jobs SET status = 'Failed', attempts = max_attempts,
                last_result = '{\"Err\": \"the database went away\"}'
         WHERE job_type = 'prune_jobs' RETURNING id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("failed jobs");
    let (retried, discarded) = (ids[0].clone(), ids[1].clone());
    let page = admin.get("/admin").await.text().await.expect("page");
    assert!(page.contains(&format!("job-{retried}")), "{page}");
    assert!(page.contains("the database went away"));
    // The counts by queue and status: prune_jobs has two failed, none done.
    let counts = page
        .split("data-testid=\"job-counts\"")
        .nth(1)
        .and_then(|table| table.split("</table>").next())
        .expect("the job counts table");
    let row = counts
        .split("<tr>")
        .find(|row| row.contains("<code>prune_jobs</code>"))
        .expect("a row for prune_jobs");
    let cells: Vec<&str> = row
        .split("<td>")
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap_or_default())
        .collect();
    // Pending, Queued, Running, Done, Failed, Killed.
    assert_eq!(cells, ["0", "0", "0", "0", "2", "0"], "{row}");

    let response = admin
        .post_form(&format!("/admin/jobs/{retried}/retry"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        last_audit(&app).await,
        (
            admin_user.email.clone(),
            "job.retry".into(),
            format!("job:{retried}")
        )
    );
    // Sent again (a double click) before it ran: the same answer, nothing done twice.
    let again = admin
        .post_form(&format!("/admin/jobs/{retried}/retry"), &[])
        .await;
    let page = admin.follow(again).await;
    assert!(
        page.contains(&format!("Job {retried} will run again.")),
        "{page}"
    );
    let retries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'job.retry'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(retries, 1);
    let _workers = app.start_workers();
    let mut status = String::new();
    for _ in 0..100 {
        status = sqlx::query_scalar("SELECT status FROM apalis.jobs WHERE id = $1")
            .bind(&retried)
            .fetch_one(&app.pool)
            .await
            .expect("status");
        if status == "Done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "Done", "the retried job ran");

    admin
        .post_form(&format!("/admin/jobs/{discarded}/discard"), &[])
        .await;
    let status: String = sqlx::query_scalar("SELECT status FROM apalis.jobs WHERE id = $1")
        .bind(&discarded)
        .fetch_one(&app.pool)
        .await
        .expect("status");
    assert_eq!(status, "Killed");
    assert_eq!(last_audit(&app).await.1, "job.discard");
    // A job that is not failed cannot be retried.
    admin
        .post_form(&format!("/admin/jobs/{retried}/retry"), &[])
        .await;
    let page = admin.get("/admin").await.text().await.expect("page");
    assert!(page.contains("not in a state for that"), "{page}");
}

#[tokio::test]
async fn an_admin_views_as_a_user_read_only_and_stops() {
    let app = spawn_app().await;
    let (admin_user, admin) = admin(&app).await;
    let user = app.create_user(Role::Member).await;
    let workspace = workspace_of(&app, &user).await;
    source_for(&app, workspace).await;

    let response = admin
        .post_form(&format!("/admin/users/{}/view-as", user.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/dashboard");
    assert_eq!(
        last_audit(&app).await,
        (
            admin_user.email.clone(),
            "user.view_as".into(),
            format!("user:{}", user.id)
        )
    );
    // Their dashboard, with their tracker and a banner.
    let page = admin.get("/dashboard").await.text().await.expect("page");
    assert!(page.contains("view-as-banner"), "{page}");
    assert!(page.contains(&user.email), "{page}");
    assert!(page.contains("Item"), "{page}");
    // Read-only: forms and the API refuse, reading server functions do not.
    let refused = admin
        .post_form(
            "/dashboard/trackers",
            &[("url", "https://news.ycombinator.com/item?id=1")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap_or_default()
            .contains("read-only")
    );
    let refused = admin
        .post_form(&format!("/admin/users/{}/suspend", user.id), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let trackers: i64 = sqlx::query_scalar("SELECT count(*) FROM trackers WHERE workspace_id = $1")
        .bind(workspace)
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(trackers, 1);

    let stopped = admin.post_form("/admin/view-as/stop", &[]).await;
    assert_eq!(stopped.status(), StatusCode::SEE_OTHER);
    assert_eq!(stopped.headers()["location"], "/admin");
    assert_eq!(last_audit(&app).await.1, "user.view_as_stop");
    let page = admin.get("/admin").await.text().await.expect("page");
    assert!(page.contains("Admin console"), "{page}");
    assert!(!page.contains("view-as-banner"));
}

#[tokio::test]
async fn an_admin_deletes_a_user_but_not_themselves() {
    let app = spawn_app().await;
    let (admin_user, admin) = admin(&app).await;
    let user = app.create_user(Role::Member).await;
    let response = admin
        .post_form(&format!("/admin/users/{}/delete", user.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE id = $1")
        .bind(user.id)
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(left, 0);
    assert_eq!(
        last_audit(&app).await,
        (
            admin_user.email.clone(),
            "user.delete".into(),
            format!("user:{}", user.id)
        )
    );
    admin
        .post_form(&format!("/admin/users/{}/delete", admin_user.id), &[])
        .await;
    let page = admin.get("/admin").await.text().await.expect("page");
    assert!(page.contains("You cannot delete yourself here."), "{page}");
}

#[tokio::test]
async fn a_schedule_dump_loads_back() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Member).await;
    let workspace = workspace_of(&app, &user).await;
    let source = source_for(&app, workspace).await;
    sqlx::query(
        "UPDATE sources SET state = 'backing_off', consecutive_failures = 3, interval_secs = 1800,
                next_poll_at = '2030-01-01T00:00:00Z', paused_by_admin = false WHERE id = $1",
    )
    .bind(source)
    .execute(&app.pool)
    .await
    .expect("a schedule");
    let entries = app::server::tracking::store::schedule(&app.pool)
        .await
        .expect("dump");
    let mut dump = serde_json::to_value(&entries).expect("JSON");
    // One source the database does not have.
    dump.as_array_mut().expect("array").push(serde_json::json!({
        "id": 0, "kind": "github.repo", "key": "gone/away", "state": "ok", "interval_secs": 900,
        "next_poll_at": null, "leased_until": null, "consecutive_failures": 0,
        "last_success_at": null, "last_error": null, "trackers": 0, "active_trackers": 0
    }));
    // The schedule changes, then the dump is loaded back.
    sqlx::query(
        "UPDATE sources SET state = 'ok', consecutive_failures = 0, interval_secs = 900,
                next_poll_at = now(), leased_until = now() + interval '5 minutes' WHERE id = $1",
    )
    .bind(source)
    .execute(&app.pool)
    .await
    .expect("changed");
    upcount::admin::schedule_load(&app.pool, dump.to_string().as_bytes())
        .await
        .expect("load");
    let restored: (
        String,
        i32,
        i32,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as(
        "SELECT state, consecutive_failures, interval_secs, next_poll_at, leased_until
             FROM sources WHERE id = $1",
    )
    .bind(source)
    .fetch_one(&app.pool)
    .await
    .expect("source");
    assert_eq!(
        (restored.0.as_str(), restored.1, restored.2),
        ("backing_off", 3, 1_800)
    );
    assert_eq!(
        restored.3.map(|at| at.to_rfc3339()),
        Some("2030-01-01T00:00:00+00:00".to_string())
    );
    assert_eq!(restored.4, None, "no stale lease");
    // Garbage is refused with a reason, and changes nothing.
    let bad = upcount::admin::schedule_load(&app.pool, &b"not json"[..]).await;
    assert!(matches!(bad, Err(upcount::admin::AdminError::Invalid(_))));
}

#[tokio::test]
async fn the_console_shows_each_providers_requests_errors_latency_and_credentials() {
    let (standin, app) = crate::helpers::spawn_app_with_standin(vec![]).await;
    standin.set(
        "github/leptos-rs/leptos",
        crate::standin::fixtures::github_repo("leptos-rs/leptos", 19_000),
    );
    // Requests through an engine like a worker's: one repository found, one not.
    let engine = upcount::startup::engine(&app.settings).expect("engine");
    let user = app.create_user(app::domain::Role::Member).await;
    let workspace = app.workspace_of(&user).await;
    app::server::tracking::service::preview(
        &app.pool,
        &engine,
        workspace,
        "https://github.com/leptos-rs/leptos",
        Default::default(),
    )
    .await
    .expect("a preview");
    let missing = app::server::tracking::service::preview(
        &app.pool,
        &engine,
        workspace,
        "https://github.com/nobody/nothing-here",
        Default::default(),
    )
    .await;
    assert!(missing.is_err());
    upcount::jobs::poll::flush_tallies(&app.pool, &engine).await;

    let (_, admin) = admin(&app).await;
    let response = admin.post_form("/api/admin/live", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let live: Value = response.json().await.expect("JSON");
    let github = live["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|provider| provider["name"] == "github")
        .cloned()
        .expect("github");
    let requests = github["requests_last_hour"].as_i64().unwrap_or_default();
    assert!(requests >= 3, "{github}");
    assert!(
        github["error_rate_percent"].as_f64().unwrap_or_default() > 0.0,
        "{github}"
    );
    assert!(github["p95_ms"].as_u64().is_some(), "{github}");
    assert_eq!(github["credentials"], "none (60 requests an hour)");
    let youtube = live["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|provider| provider["name"] == "youtube")
        .cloned()
        .expect("youtube");
    assert_eq!(youtube["requests_last_hour"], 0);
    // Previews are not polls.
    assert_eq!(github["polls_last_hour"], 0, "{github}");
    assert_eq!(live["overview"]["polls_last_hour"], 0);

    // Scheduled polls by the workers: one repository that answers, one that is gone.
    let user = app.create_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    app.add_tracker(
        &token,
        serde_json::json!({ "url": "https://github.com/leptos-rs/leptos" }),
    )
    .await;
    standin.set(
        "github/someone/vanishing",
        crate::standin::fixtures::github_repo("someone/vanishing", 3),
    );
    app.add_tracker(
        &token,
        serde_json::json!({ "url": "https://github.com/someone/vanishing" }),
    )
    .await;
    standin.remove("github/someone/vanishing");
    let workers = app.start_workers();
    let marker: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("UPDATE sources SET next_poll_at = now() RETURNING now()")
            .fetch_one(&app.pool)
            .await
            .expect("make due");
    crate::helpers::eventually(std::time::Duration::from_secs(30), "two polls", || async {
        let polled: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sources WHERE last_poll_at >= $1")
                .bind(marker)
                .fetch_one(&app.pool)
                .await
                .expect("count");
        (polled == 2).then_some(())
    })
    .await;
    // Stopping flushes the workers' figures (they also do every ten seconds).
    workers.stop().await;
    let live: Value = admin
        .post_form("/api/admin/live", &[])
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(live["overview"]["polls_last_hour"], 2, "{live}");
    assert_eq!(live["overview"]["errors_last_hour"], 1, "{live}");
    assert_eq!(live["overview"]["polls_last_day"], 2, "{live}");
    assert_eq!(live["overview"]["errors_last_day"], 1, "{live}");
    let github = live["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|provider| provider["name"] == "github")
        .cloned()
        .expect("github");
    assert_eq!(github["polls_last_hour"], 2, "{github}");
    assert_eq!(github["failed_polls_last_hour"], 1, "{github}");
}
