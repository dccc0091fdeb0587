//! The admin console: every action does what it says and leaves an audit record, and
//! nobody but an administrator reaches any of it.

use std::time::Duration;

use app::domain::{Role, TokenScope};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{
    Browser, TestApp, TestUser, eventually, header, location, spawn_app, spawn_app_with_env,
    spawn_app_with_member,
};

/// (actor, action, target) of the newest audit record.
async fn last_audit(app: &TestApp) -> (String, String, String) {
    sqlx::query_as("SELECT actor_email, action, target FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .expect("an audit record")
}

/// Checks that the newest audit record says `actor` did `action` to `target`.
async fn assert_audited(app: &TestApp, actor: &TestUser, action: &str, target: String) {
    assert_eq!(
        last_audit(app).await,
        (actor.email.clone(), action.to_string(), target)
    );
}

/// Presses the console's button at `path` as `admin` (signed in as `browser`), and checks
/// that it redirects and is audited as `action` on `target`: where it redirects.
async fn act(
    app: &TestApp,
    (admin, browser): (&TestUser, &Browser),
    path: &str,
    action: &str,
    target: &str,
) -> String {
    let response = browser.press(path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    assert_audited(app, admin, action, target.to_string()).await;
    location(&response)
}

/// [`act`] on `user` with the button `verb` of their row (`suspend`, `view-as`, …).
async fn act_on_user(
    app: &TestApp,
    acting: (&TestUser, &Browser),
    user: &TestUser,
    verb: &str,
) -> String {
    let path = format!("/admin/users/{}/{verb}", user.id);
    let action = format!("user.{}", verb.replace('-', "_"));
    act(app, acting, &path, &action, &format!("user:{}", user.id)).await
}

/// The app with an administrator signed in: the app, the administrator, their browser.
async fn console() -> (TestApp, TestUser, Browser) {
    let app = spawn_app().await;
    let (admin_user, admin) = admin(&app).await;
    (app, admin_user, admin)
}

async fn admin(app: &TestApp) -> (TestUser, Browser) {
    let admin = app.create_user(Role::Admin).await;
    let browser = app.signed_in(&admin).await;
    (admin, browser)
}

/// The status of job `id` in the queue.
async fn job_status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM apalis.jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("status")
}

/// The console's data, from its server function.
async fn console_data(browser: &Browser) -> reqwest::Response {
    browser
        .post_form(
            "/api/admin/console",
            &[("query", ""), ("provider", ""), ("state", "")],
        )
        .await
}

/// The figures of provider `name` in the console's live data.
fn provider<'a>(live: &'a Value, name: &str) -> &'a Value {
    live["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|provider| provider["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {live}"))
}

/// A source with one tracker of the workspace of `user`, due now.
async fn source_for(app: &TestApp, user: &TestUser) -> i64 {
    let workspace = app.workspace_of(user).await;
    sqlx::query_scalar(
        "WITH source AS (
             INSERT INTO sources (kind, key, title, url, next_poll_at, interval_secs)
             VALUES ('hackernews.item', $1, 'An item', 'https://news.ycombinator.com/', now(), 900)
             RETURNING id
         ), tracker AS (
             INSERT INTO trackers (workspace_id, source_id, label)
             SELECT $2, id, 'Item' FROM source
         )
         SELECT id FROM source",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(workspace)
    .fetch_one(&app.pool)
    .await
    .expect("a source with a tracker")
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
    let (app, admin_user, admin) = console().await;
    let user = app.create_user(Role::Member).await;
    let source = source_for(&app, &user).await;
    let token = app.token(&user, TokenScope::Read).await;
    let member = app.signed_in(&user).await;
    assert_eq!(member.get("/dashboard").await.status(), StatusCode::OK);

    let back = act_on_user(&app, (&admin_user, &admin), &user, "suspend").await;
    assert_eq!(back, "/admin");
    // Their session stops working, signing in is refused, their token too.
    let dashboard = member.get("/dashboard").await;
    assert_eq!(dashboard.status(), StatusCode::SEE_OTHER);
    let again = app.browser();
    let refused = again
        .submit_sign_in(&user.email, &user.password, Some("/dashboard"))
        .await;
    let back = location(&refused);
    assert!(back.starts_with("/sign-in"), "{back}");
    let page = again.html(&back).await;
    assert!(page.contains("This account is suspended"), "{page}");
    let (status, _) = app.api_get("/api/v1/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Their source, tracked by nobody else, stops polling.
    let (state, _, next) = source_state(&app, source).await;
    assert_eq!((state.as_str(), next), ("paused", None));
    // The console shows them as suspended.
    let console = admin.html("/admin?q=").await;
    assert!(console.contains("suspended"), "{console}");

    let response = admin
        .press(&format!("/admin/users/{}/unsuspend", user.id))
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
        .press(&format!("/admin/users/{}/suspend", admin_user.id))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = admin.html("/admin").await;
    assert!(page.contains("You cannot suspend yourself."), "{page}");
    // Sign-ins are recorded for the console, the refused one too.
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM sign_ins WHERE user_id = $1 ORDER BY id")
            .bind(user.id)
            .fetch_all(&app.pool)
            .await
            .expect("sign-ins");
    assert_eq!(outcomes, ["signed_in", "suspended", "signed_in"]);
    let page = admin.html(&format!("/admin?q={}", user.email)).await;
    assert!(page.contains("1 refused in 24 h"), "{page}");
}

#[tokio::test]
async fn a_suspended_user_cannot_get_in_through_the_sign_up_form_either() {
    let (app, _, admin) = console().await;
    let user = app.create_user(Role::Member).await;
    admin
        .press(&format!("/admin/users/{}/suspend", user.id))
        .await;
    let browser = app.browser();
    let response = browser.sign_up(&user.email, &user.password).await;
    let back = location(&response);
    assert!(back.starts_with("/sign-up"), "{back}");
    let page = browser.html(&back).await;
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
    location(&response)
}

#[tokio::test]
async fn a_users_page_shows_their_workspace_billing_trackers_tokens_and_every_sign_in() {
    let (app, admin_user, admin) = console().await;
    let user = app.create_free_user(Role::Member).await;
    let workspace = app.workspace_of(&user).await;
    let source = source_for(&app, &user).await;
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
    app.wait_for_count_with(
        Duration::from_secs(5),
        "SELECT count(*) FROM sign_ins WHERE user_id = $1 AND outcome = 'wrong_password'",
        user.id,
        1,
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
    let console = admin.html(&format!("/admin?q={}", user.email)).await;
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
    let user_page = format!("/admin/users/{}", user.id);
    let response = admin
        .press_on(&user_page, &format!("{user_page}/suspend"))
        .await;
    assert_eq!(location(&response), user_page);
    let html = admin.html(&user_page).await;
    assert!(html.contains("Suspended: the user is signed out"), "{html}");
    assert!(html.contains("not polling: suspended"), "{html}");
    let response = admin
        .press_on(&user_page, &format!("{user_page}/delete"))
        .await;
    assert_eq!(location(&response), "/admin");
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
    let (app, admin_user, admin) = console().await;
    let user = app.create_free_user(Role::Member).await;
    let workspace = app.workspace_of(&user).await;
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
    let target = format!("workspace:{workspace}");
    assert_audited(&app, &admin_user, "workspace.set_plan", target).await;

    let source = source_for(&app, &user).await;
    sqlx::query(
        "UPDATE sources SET state = 'backing_off', consecutive_failures = 4,
                next_poll_at = now() + interval '6 hours' WHERE id = $1",
    )
    .bind(source)
    .execute(&app.pool)
    .await
    .expect("backing off");
    let press = |button: &str| {
        let path = format!("/admin/sources/{source}/{button}");
        let admin = &admin;
        async move { admin.press(&path).await }
    };
    press("reset-backoff").await;
    let (state, _, next) = source_state(&app, source).await;
    assert_eq!(state, "ok");
    assert!(next.expect("scheduled") <= chrono::Utc::now());
    assert_eq!(last_audit(&app).await.1, "source.reset_backoff");

    press("pause").await;
    assert_eq!(
        source_state(&app, source).await,
        ("paused".into(), true, None)
    );
    assert_eq!(last_audit(&app).await.1, "source.pause");
    // Paused by the admin: polling now does nothing.
    press("poll-now").await;
    assert_eq!(source_state(&app, source).await.2, None);
    press("resume").await;
    let (state, paused, next) = source_state(&app, source).await;
    assert_eq!((state.as_str(), paused), ("ok", false));
    assert!(next.is_some());
    sqlx::query("UPDATE sources SET next_poll_at = now() + interval '1 hour' WHERE id = $1")
        .bind(source)
        .execute(&app.pool)
        .await
        .expect("later");
    press("poll-now").await;
    assert!(source_state(&app, source).await.2.expect("scheduled") <= chrono::Utc::now());
    assert_eq!(last_audit(&app).await.1, "source.poll_now");
    // The console lists the source with its failures, filtered by provider.
    let page = admin.html("/admin?provider=hackernews").await;
    assert!(page.contains(&format!("source-{source}")), "{page}");
    let page = admin.html("/admin?provider=github").await;
    assert!(!page.contains(&format!("source-{source}")));
    // Unknown things are named, not crashed on.
    let response = admin.press("/admin/sources/999999/pause").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = admin.html("/admin").await;
    assert!(page.contains("There is no such source."), "{page}");
}

#[tokio::test]
async fn an_admin_reprocesses_a_stripe_event() {
    let (app, admin_user, admin) = console().await;
    sqlx::query(
        "INSERT INTO stripe_events (id, type, created, payload, status, attempts, error)
         VALUES ('evt_admin_1', 'invoice.paid', now(), '{\"data\": {\"object\": {}}}', 'failed', 3,
                 'Stripe could not be reached')",
    )
    .execute(&app.pool)
    .await
    .expect("an event");
    let page = admin.html("/admin").await;
    assert!(page.contains("event-evt_admin_1"), "{page}");
    assert!(page.contains("Stripe could not be reached"));
    let _workers = app.start_workers();
    act(
        &app,
        (&admin_user, &admin),
        "/admin/stripe-events/evt_admin_1/reprocess",
        "stripe_event.reprocess",
        "stripe_event:evt_admin_1",
    )
    .await;
    // Processed again: it names no subscription, so it ends ignored, with the reason.
    let status = eventually(Duration::from_secs(10), "the event processed", || async {
        let status: String =
            sqlx::query_scalar("SELECT status FROM stripe_events WHERE id = 'evt_admin_1'")
                .fetch_one(&app.pool)
                .await
                .expect("status");
        (status != "pending").then_some(status)
    })
    .await;
    assert_eq!(status, "ignored");
}

#[tokio::test]
async fn nobody_but_an_admin_reaches_any_admin_page_function_or_action() {
    let app = spawn_app().await;
    let member_user = app.create_user(Role::Member).await;
    let member = app.signed_in(&member_user).await;
    let anonymous = app.browser();
    let target = app.create_user(Role::Member).await;
    let workspace = app.workspace_of(&target).await;
    let source = source_for(&app, &target).await;
    let before = app.count("SELECT count(*) FROM audit_log").await;

    // The pages.
    for page in ["/admin".to_string(), format!("/admin/users/{}", target.id)] {
        assert_eq!(
            member.get(&page).await.status(),
            StatusCode::FORBIDDEN,
            "{page}"
        );
        let response = anonymous.get(&page).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
        assert!(location(&response).starts_with("/sign-in"), "{page}");
    }
    // The server function.
    for (who, browser, expected) in [
        ("member", &member, StatusCode::FORBIDDEN),
        ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
    ] {
        let response = console_data(browser).await;
        assert_eq!(response.status(), expected, "{who}");
        let body = response.text().await.unwrap_or_default();
        assert!(!body.contains(&target.email), "{who}: {body}");
        let response = browser.press("/api/admin/live").await;
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
        let location = location(&response);
        assert!(
            location.starts_with("/sign-in"),
            "anonymous: {action}: {location}"
        );
    }
    // Nothing happened.
    assert_eq!(app.count("SELECT count(*) FROM audit_log").await, before);
    let suspended: bool =
        sqlx::query_scalar("SELECT suspended_at IS NOT NULL FROM users WHERE id = $1")
            .bind(target.id)
            .fetch_one(&app.pool)
            .await
            .expect("user");
    assert!(!suspended);
    // An admin gets the console's data from the same function.
    let (_, admin) = admin(&app).await;
    let response = console_data(&admin).await;
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
    let response = admin.press("/api/admin/live").await;
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

    let app = spawn_app_with_env(vec![
        ("UPCOUNT_METRICS_USER", "prometheus".to_string()),
        (
            "UPCOUNT_METRICS_PASSWORD",
            "a long scrape password".to_string(),
        ),
    ])
    .await;
    // Some traffic to count, and a job to time.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let _workers = app.start_workers();
    upcount::jobs::enqueue(&app.pool, upcount::jobs::CleanUpSessions::default())
        .await
        .expect("enqueue");
    eventually(Duration::from_secs(10), "the job done", || async {
        let done = app
            .count("SELECT count(*) FROM apalis.jobs WHERE job_type = 'clean_up_sessions' AND status = 'Done'")
            .await;
        (done > 0).then_some(())
    })
    .await;
    let anonymous = app.get("/metrics").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let scrape = |password: &'static str| {
        let request = app.request(reqwest::Method::GET, "/metrics");
        request.basic_auth("prometheus", Some(password)).send()
    };
    let wrong = scrape("not it").await.expect("GET");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let scraped = scrape("a long scrape password").await.expect("GET");
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(header(&scraped, "content-type").starts_with("text/plain; version=0.0.4"));
    let text = scraped.text().await.expect("text");
    for series in [
        "upcount_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}",
        "upcount_http_request_duration_seconds_bucket",
        "upcount_db_pool_connections{state=\"open\"}",
        "upcount_job_duration_seconds_count{job=\"clean_up_sessions\"}",
    ] {
        assert!(text.contains(series), "{series}: {text}");
    }
}

#[tokio::test]
async fn an_admin_retries_and_discards_failed_jobs() {
    let (app, admin_user, admin) = console().await;
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
    let page = admin.html("/admin").await;
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

    let retry = format!("/admin/jobs/{retried}/retry");
    let target = format!("job:{retried}");
    act(&app, (&admin_user, &admin), &retry, "job.retry", &target).await;
    // Sent again (a double click) before it ran: the same answer, nothing done twice.
    let again = admin.press(&retry).await;
    let page = admin.follow(again).await;
    assert!(
        page.contains(&format!("Job {retried} will run again.")),
        "{page}"
    );
    let retries = app
        .count("SELECT count(*) FROM audit_log WHERE action = 'job.retry'")
        .await;
    assert_eq!(retries, 1);
    let _workers = app.start_workers();
    eventually(
        Duration::from_secs(10),
        "the retried job to run",
        || async { (job_status(&app, &retried).await == "Done").then_some(()) },
    )
    .await;

    admin
        .press(&format!("/admin/jobs/{discarded}/discard"))
        .await;
    assert_eq!(job_status(&app, &discarded).await, "Killed");
    assert_eq!(last_audit(&app).await.1, "job.discard");
    // A job that is not failed cannot be retried.
    admin.press(&retry).await;
    let page = admin.html("/admin").await;
    assert!(page.contains("not in a state for that"), "{page}");
}

#[tokio::test]
async fn an_admin_views_as_a_user_read_only_and_stops() {
    let (app, admin_user, admin) = console().await;
    let user = app.create_user(Role::Member).await;
    let workspace = app.workspace_of(&user).await;
    source_for(&app, &user).await;

    let back = act_on_user(&app, (&admin_user, &admin), &user, "view-as").await;
    assert_eq!(back, "/dashboard");
    // Their dashboard, with their tracker and a banner.
    let page = admin.html("/dashboard").await;
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
        .press(&format!("/admin/users/{}/suspend", user.id))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let trackers = app
        .count_with(
            "SELECT count(*) FROM trackers WHERE workspace_id = $1",
            workspace,
        )
        .await;
    assert_eq!(trackers, 1);

    let stopped = admin.press("/admin/view-as/stop").await;
    assert_eq!(stopped.status(), StatusCode::SEE_OTHER);
    assert_eq!(stopped.headers()["location"], "/admin");
    assert_eq!(last_audit(&app).await.1, "user.view_as_stop");
    let page = admin.html("/admin").await;
    assert!(page.contains("Admin console"), "{page}");
    assert!(!page.contains("view-as-banner"));
}

#[tokio::test]
async fn an_admin_deletes_a_user_but_not_themselves() {
    let (app, admin_user, admin) = console().await;
    let user = app.create_user(Role::Member).await;
    act_on_user(&app, (&admin_user, &admin), &user, "delete").await;
    let left = app
        .count_with("SELECT count(*) FROM users WHERE id = $1", user.id)
        .await;
    assert_eq!(left, 0);
    admin
        .press(&format!("/admin/users/{}/delete", admin_user.id))
        .await;
    let page = admin.html("/admin").await;
    assert!(page.contains("You cannot delete yourself here."), "{page}");
}

#[tokio::test]
async fn a_schedule_dump_loads_back() {
    let (app, user) = spawn_app_with_member().await;
    let source = source_for(&app, &user).await;
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
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    // Requests through an engine like a worker's: one repository found, one not.
    let engine = upcount::startup::engine(&app.settings).expect("engine");
    let workspace = app.workspace_of(&app.create_user(Role::Member).await).await;
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
    let response = admin.press("/api/admin/live").await;
    assert_eq!(response.status(), StatusCode::OK);
    let live: Value = response.json().await.expect("JSON");
    let github = provider(&live, "github");
    let requests = github["requests_last_hour"].as_i64().unwrap_or_default();
    assert!(requests >= 3, "{github}");
    assert!(
        github["error_rate_percent"].as_f64().unwrap_or_default() > 0.0,
        "{github}"
    );
    assert!(github["p95_ms"].as_u64().is_some(), "{github}");
    assert_eq!(github["credentials"], "none (60 requests an hour)");
    assert_eq!(provider(&live, "youtube")["requests_last_hour"], 0);
    // Previews are not polls.
    assert_eq!(github["polls_last_hour"], 0, "{github}");
    assert_eq!(live["overview"]["polls_last_hour"], 0);

    // Scheduled polls by the workers: one repository that answers, one that is gone.
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    app.track(&token, "https://github.com/leptos-rs/leptos")
        .await;
    standin.set_github_repo("someone/vanishing", 3);
    app.track(&token, "https://github.com/someone/vanishing")
        .await;
    standin.remove("github/someone/vanishing");
    let workers = app.start_workers();
    let marker = app.make_due().await;
    app.wait_for_count_with(
        Duration::from_secs(30),
        "SELECT count(*) FROM sources WHERE last_poll_at >= $1",
        marker,
        2,
    )
    .await;
    // Stopping flushes the workers' figures (they also do every ten seconds).
    workers.stop().await;
    let live: Value = admin
        .press("/api/admin/live")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(live["overview"]["polls_last_hour"], 2, "{live}");
    assert_eq!(live["overview"]["errors_last_hour"], 1, "{live}");
    assert_eq!(live["overview"]["polls_last_day"], 2, "{live}");
    assert_eq!(live["overview"]["errors_last_day"], 1, "{live}");
    let github = provider(&live, "github");
    assert_eq!(github["polls_last_hour"], 2, "{github}");
    assert_eq!(github["failed_polls_last_hour"], 1, "{github}");
}
