//! An administrator and users: suspending, a user's page, viewing as them read-only,
//! deleting.

use super::*;

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
async fn a_users_page_shows_each_workspaces_members_and_its_audit_trail() {
    let (app, _, admin) = console().await;
    let owner = app.create_user(Role::Member).await;
    let token = app.token(&owner, TokenScope::Write).await;
    let workspace = app.workspace_of(&owner).await;
    let colleague = app.create_user(Role::Member).await;
    let (status, body) = app
        .api_post(
            "/api/v1/workspace/invitations",
            &token,
            serde_json::json!({ "email": "later@example.com", "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    sqlx::query(
        "INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'viewer')",
    )
    .bind(workspace.uuid())
    .bind(colleague.id.0)
    .execute(&app.pool)
    .await
    .expect("add the colleague");
    let (status, body) = app
        .api(
            reqwest::Method::PATCH,
            &format!("/api/v1/workspace/members/{}", colleague.id.0),
            &token,
            Some(serde_json::json!({ "role": "editor" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let response = admin
        .post_form("/api/admin/user", &[("id", &owner.id.to_string())])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.expect("JSON");
    let shown = &page["workspaces"][0];
    let people: Vec<(&str, &str)> = shown["people"]
        .as_array()
        .expect("people")
        .iter()
        .map(|member| {
            (
                member["email"].as_str().unwrap_or_default(),
                member["role"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        people,
        [
            (owner.email.as_str(), "owner"),
            (colleague.email.as_str(), "editor")
        ],
        "{page}"
    );
    let changes = shown["membership_changes"]
        .as_array()
        .expect("membership changes");
    let promoted = format!(
        "{} changed {} from viewer to editor",
        owner.email, colleague.email
    );
    let invited = format!("{} invited later@example.com as viewer", owner.email);
    assert_eq!(changes[0]["action"], "role_changed", "newest first: {page}");
    assert_eq!(changes[0]["summary"], promoted.as_str());
    assert_eq!(changes[1]["action"], "invitation_sent");
    assert_eq!(changes[1]["summary"], invited.as_str());

    // The page shows both, each member linked to their own page.
    let html = admin.html(&format!("/admin/users/{}", owner.id)).await;
    for expected in [
        "Membership changes",
        promoted.as_str(),
        invited.as_str(),
        &format!("href=\"/admin/users/{}\"", colleague.id),
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
}
