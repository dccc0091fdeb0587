//! Invitations into a workspace: sent by email (read from a real SMTP sink), accepted
//! once by signing up through the link or with the page's button, expiring, revoked and
//! re-sent, limited by the plan (402), and handing a workspace to another owner.

use app::domain::{Role, TokenScope};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Browser, SmtpSink, TestApp, TestUser, expect_error, location, spawn_app_with_env,
};

/// The app sending mail to a fresh sink, with its workers running.
async fn spawn_app_with_sink() -> (SmtpSink, TestApp) {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_env(vec![
        ("UPCOUNT_SMTP_URL", sink.url()),
        (
            "UPCOUNT_EMAIL_FROM",
            "Upcount Tests <upcount@example.com>".into(),
        ),
    ])
    .await;
    (sink, app)
}

/// An owner on `plan` with a write token.
async fn owner_on(app: &TestApp, plan: &str) -> (TestUser, String) {
    let (owner, token) = app.member_with_token(TokenScope::Write).await;
    set_plan(app, &owner, plan).await;
    (owner, token)
}

/// Puts `user`'s workspace on `plan`, as support's override does (which billing keeps).
async fn set_plan(app: &TestApp, user: &TestUser, plan: &str) {
    let workspace = app.workspace_of(user).await.uuid();
    sqlx::query("UPDATE workspace_billing SET plan_override = $2 WHERE workspace_id = $1")
        .bind(workspace)
        .bind(plan)
        .execute(&app.pool)
        .await
        .expect("set the override");
    sqlx::query("UPDATE workspaces SET plan_id = $2 WHERE id = $1")
        .bind(workspace)
        .bind(plan)
        .execute(&app.pool)
        .await
        .expect("set the plan");
}

async fn invite(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.api(
        Method::POST,
        "/api/v1/workspace/invitations",
        token,
        Some(body),
    )
    .await
}

/// Invites `email` as `role`: the invitation's id and link path.
async fn invited(app: &TestApp, token: &str, email: &str, role: &str) -> (String, String) {
    let (status, body) = invite(app, token, json!({ "email": email, "role": role })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["invitation"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let link = body["link"].as_str().expect("a link");
    let path = url::Url::parse(link).expect("a URL").path().to_string();
    (id, path)
}

/// The token at the end of an invitation's path.
fn token_of(path: &str) -> &str {
    path.trim_start_matches("/invitations/")
}

/// Posts the invitation page's button as `browser`: where it sends them.
async fn accept(browser: &Browser, path: &str) -> (String, String) {
    let response = browser.post_form(path, &[]).await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    (to, browser.follow(response).await)
}

async fn members(app: &TestApp, token: &str) -> Value {
    let (status, body) = app.api_get("/api/v1/workspace/members", token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn role_of(members: &Value, email: &str) -> Option<String> {
    members["members"].as_array()?.iter().find_map(|member| {
        (member["email"] == email).then(|| member["role"].as_str().unwrap_or_default().to_string())
    })
}

#[tokio::test]
async fn an_emailed_invitation_signs_someone_up_into_the_workspace_once() {
    let (sink, app) = spawn_app_with_sink().await;
    let _workers = app.start_workers();
    let (owner, token) = owner_on(&app, "pro").await;
    let (status, body) = invite(
        &app,
        &token,
        json!({ "email": "Bo@Example.com", "role": "viewer" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["invitation"]["email"], "bo@example.com", "{body}");
    assert_eq!(body["invitation"]["role"], "viewer");
    assert_eq!(body["invitation"]["invited_by_email"], owner.email.as_str());

    // Listed with the members until it is used; only its hash is stored.
    let listed = members(&app, &token).await;
    assert_eq!(
        listed["invitations"][0]["email"], "bo@example.com",
        "{listed}"
    );
    let mail = sink.wait_for("bo@example.com", 1).await.remove(0);
    assert!(
        mail.subject().contains("invited you to"),
        "{}",
        mail.subject()
    );
    let path = mail.link_path("/invitations/");
    assert_eq!(
        body["link"].as_str().map(|link| link.ends_with(&path)),
        Some(true)
    );
    let stored: Vec<u8> = app
        .scalar("SELECT token_hash FROM workspace_invitations")
        .await;
    assert_ne!(stored, token_of(&path).as_bytes());

    // The page says who invited whom, and offers to sign up and join at once.
    let visitor = app.browser();
    let page = visitor.html(&path).await;
    assert!(page.contains(&owner.email), "{page}");
    assert!(page.contains("Create account and join"), "{page}");
    let response = visitor
        .post_form(
            "/sign-up",
            &[
                ("email", "bo@example.com"),
                ("password", "correct horse battery"),
                ("next", &path),
                ("invitation", token_of(&path)),
            ],
        )
        .await;
    assert_eq!(location(&response), "/dashboard");
    let dashboard = visitor.follow(response).await;
    assert!(dashboard.contains("you joined as a viewer"), "{dashboard}");
    // They act in the shared workspace, and following the link confirmed their address.
    let me: Value = visitor
        .fetch("/api/v1/me")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        me["workspace"]["id"],
        app.workspace_of(&owner).await.to_string(),
        "{me}"
    );
    assert_eq!(me["role"], "viewer", "{me}");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'bo@example.com' AND email_verified_at IS NOT NULL")
            .await,
        1
    );
    let listed = members(&app, &token).await;
    assert_eq!(
        role_of(&listed, "bo@example.com").as_deref(),
        Some("viewer")
    );
    assert_eq!(listed["invitations"], json!([]), "{listed}");

    // The link worked once.
    let other = app.create_user(Role::Member).await;
    let browser = app.signed_in(&other).await;
    let (to, page) = accept(&browser, &path).await;
    assert_eq!(to, path);
    assert!(page.contains("This invitation was used already."), "{page}");
    assert_eq!(role_of(&members(&app, &token).await, &other.email), None);

    // The owner's audit trail has both.
    let (status, audit) = app.api_get("/api/v1/workspace/audit", &token).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["action"].as_str())
        .collect();
    assert!(
        actions.starts_with(&["invitation_accepted", "invitation_sent"]),
        "{audit}"
    );
}

#[tokio::test]
async fn a_signed_in_member_accepts_only_an_invitation_for_their_address_unless_anyone_may() {
    let (_sink, app) = spawn_app_with_sink().await;
    let (_owner, token) = owner_on(&app, "pro").await;
    let invitee = app.create_user(Role::Member).await;
    let stranger = app.create_user(Role::Member).await;
    let (_, path) = invited(&app, &token, &invitee.email, "editor").await;

    let browser = app.signed_in(&stranger).await;
    let (to, page) = accept(&browser, &path).await;
    assert_eq!(to, path);
    assert!(
        page.contains(&format!("This invitation is for {}", invitee.email)),
        "{page}"
    );

    let browser = app.signed_in(&invitee).await;
    let (to, page) = accept(&browser, &path).await;
    assert_eq!(to, "/dashboard");
    assert!(page.contains("you joined as an editor"), "{page}");
    assert_eq!(
        role_of(&members(&app, &token).await, &invitee.email).as_deref(),
        Some("editor")
    );

    // "Anyone with the link": whoever opens it joins, signed in with any address.
    let (status, body) = invite(
        &app,
        &token,
        json!({ "email": "team@example.com", "role": "viewer", "anyone_with_link": true }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let link = url::Url::parse(body["link"].as_str().expect("a link")).expect("a URL");
    let browser = app.signed_in(&stranger).await;
    let (to, _) = accept(&browser, link.path()).await;
    assert_eq!(to, "/dashboard");
    assert_eq!(
        role_of(&members(&app, &token).await, &stranger.email).as_deref(),
        Some("viewer")
    );

    // Not signed in, the button sends one to sign in first.
    let response = app.browser().post_form(&path, &[]).await;
    assert!(
        location(&response).starts_with("/sign-in?next="),
        "{}",
        location(&response)
    );
}

#[tokio::test]
async fn invitations_expire_are_revoked_re_sent_and_limited_by_the_plan() {
    let (sink, app) = spawn_app_with_sink().await;
    let _workers = app.start_workers();
    let (owner, token) = owner_on(&app, "free").await;
    // Free: just the owner.
    let answer = invite(
        &app,
        &token,
        json!({ "email": "a@example.com", "role": "editor" }),
    )
    .await;
    assert_eq!(answer.0, StatusCode::PAYMENT_REQUIRED, "{}", answer.1);
    assert_eq!(answer.1["limit"], "members", "{}", answer.1);
    assert!(
        answer.1["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Free plan")
    );

    // Pro: five people, open invitations included.
    set_plan(&app, &owner, "pro").await;
    let mut sent = Vec::new();
    for who in ["a", "b", "c", "d"] {
        sent.push(invited(&app, &token, &format!("{who}@example.com"), "editor").await);
    }
    let answer = invite(
        &app,
        &token,
        json!({ "email": "e@example.com", "role": "editor" }),
    )
    .await;
    assert_eq!(answer.0, StatusCode::PAYMENT_REQUIRED, "{}", answer.1);
    expect_error(
        invite(
            &app,
            &token,
            json!({ "email": "a@example.com", "role": "viewer" }),
        )
        .await,
        StatusCode::CONFLICT,
        "a@example.com is already invited: send the invitation again instead.",
    );
    expect_error(
        invite(
            &app,
            &token,
            json!({ "email": "not an address", "role": "viewer" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "email",
    );
    expect_error(
        invite(
            &app,
            &token,
            json!({ "email": "f@example.com", "role": "boss" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "boss",
    );

    // Revoked: its link stops, and its place is free again.
    let (a_id, a_path) = &sent[0];
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/api/v1/workspace/invitations/{a_id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/api/v1/workspace/invitations/{a_id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let someone = app.create_user(Role::Member).await;
    let browser = app.signed_in(&someone).await;
    assert!(
        browser
            .html(a_path)
            .await
            .contains("This invitation was revoked.")
    );
    invited(&app, &token, "e@example.com", "viewer").await;

    // Re-sent: a new link in a second message; the old one no longer works.
    let (b_id, b_path) = &sent[1];
    let (status, body) = app
        .api(
            Method::POST,
            &format!("/api/v1/workspace/invitations/{b_id}/resend"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mails = sink.wait_for("b@example.com", 2).await;
    let new_path = mails[1].link_path("/invitations/");
    assert_ne!(&new_path, b_path);
    assert!(
        browser
            .html(b_path)
            .await
            .contains("This invitation link is not valid."),
    );
    assert!(browser.html(&new_path).await.contains("b@example.com"));

    // Expired after seven days.
    let (_, c_path) = &sent[2];
    sqlx::query(
        "UPDATE workspace_invitations SET expires_at = now() - interval '1 second'
         WHERE email = 'c@example.com'",
    )
    .execute(&app.pool)
    .await
    .expect("expire");
    let c = app.browser();
    assert!(c.html(c_path).await.contains("This invitation expired."));
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/workspace/invitations",
            &token,
            Some(json!({ "email": "c@example.com", "role": "editor" })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "an expired one no longer holds the address: {body}"
    );

    // A member already: refused.
    expect_error(
        invite(
            &app,
            &token,
            json!({ "email": owner.email, "role": "viewer" }),
        )
        .await,
        StatusCode::CONFLICT,
        "is already a member of this workspace.",
    );
}

#[tokio::test]
async fn only_owners_and_admins_invite_and_only_owners_invite_owners() {
    let (_sink, app) = spawn_app_with_sink().await;
    let (owner, token) = owner_on(&app, "business").await;
    let workspace = app.workspace_of(&owner).await;
    let mut tokens = Vec::new();
    for role in ["admin", "editor", "viewer"] {
        let user = app.create_user(Role::Member).await;
        sqlx::query(
            "INSERT INTO workspace_members (workspace_id, user_id, role)
             VALUES ($1, $2, $3::workspace_role)",
        )
        .bind(workspace.uuid())
        .bind(user.id.0)
        .bind(role)
        .execute(&app.pool)
        .await
        .expect("a member");
        let made = app::server::tokens::generate();
        app::server::db::tokens::create(
            &app.pool,
            workspace,
            user.id,
            &app::domain::TokenName::parse("t").expect("a name"),
            TokenScope::Write,
            &made,
        )
        .await
        .expect("a token");
        tokens.push(made.token);
    }
    let [admin, editor, viewer] = [&tokens[0], &tokens[1], &tokens[2]];
    let body = |email: &str, role: &str| json!({ "email": email, "role": role });
    assert_eq!(
        invite(&app, admin, body("x@example.com", "admin")).await.0,
        StatusCode::CREATED
    );
    expect_error(
        invite(&app, admin, body("y@example.com", "owner")).await,
        StatusCode::FORBIDDEN,
        "Only an owner can make someone an owner",
    );
    assert_eq!(
        invite(&app, &token, body("y@example.com", "owner")).await.0,
        StatusCode::CREATED
    );
    expect_error(
        invite(&app, editor, body("z@example.com", "viewer")).await,
        StatusCode::FORBIDDEN,
        "As an editor of this workspace you cannot",
    );
    expect_error(
        invite(&app, viewer, body("z@example.com", "viewer")).await,
        StatusCode::FORBIDDEN,
        "change nothing",
    );
    // Everyone reads the list; the invitation to an owner is an owner's to revoke.
    let listed = members(&app, viewer).await;
    assert_eq!(
        listed["invitations"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    let owners_invitation = listed["invitations"]
        .as_array()
        .and_then(|open| open.iter().find(|one| one["role"] == "owner"))
        .and_then(|one| one["id"].as_str())
        .expect("the owner's invitation")
        .to_string();
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/api/v1/workspace/invitations/{owners_invitation}"),
            admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_owner_hands_the_workspace_to_a_member_and_becomes_an_admin() {
    let (_sink, app) = spawn_app_with_sink().await;
    let (owner, token) = owner_on(&app, "pro").await;
    let colleague = app.create_user(Role::Member).await;
    let (_, path) = invited(&app, &token, &colleague.email, "editor").await;
    let browser = app.signed_in(&colleague).await;
    accept(&browser, &path).await;

    let transfer = |user_id: String| json!({ "user_id": user_id });
    // An editor cannot take it.
    let colleagues_token = {
        let made = app::server::tokens::generate();
        app::server::db::tokens::create(
            &app.pool,
            app.workspace_of(&owner).await,
            colleague.id,
            &app::domain::TokenName::parse("t").expect("a name"),
            TokenScope::Write,
            &made,
        )
        .await
        .expect("a token");
        made.token
    };
    let (status, _) = app
        .api(
            Method::POST,
            "/api/v1/workspace/transfer",
            &colleagues_token,
            Some(transfer(colleague.id.to_string())),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/workspace/transfer",
            &token,
            Some(transfer(colleague.id.to_string())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["member"]["role"], "owner");
    let listed = members(&app, &token).await;
    assert_eq!(role_of(&listed, &colleague.email).as_deref(), Some("owner"));
    assert_eq!(role_of(&listed, &owner.email).as_deref(), Some("admin"));
    // The former owner no longer hands it on.
    let (status, _) = app
        .api(
            Method::POST,
            "/api/v1/workspace/transfer",
            &token,
            Some(transfer(owner.id.to_string())),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_members_page_invites_changes_roles_and_removes_with_forms() {
    let (sink, app) = spawn_app_with_sink().await;
    let _workers = app.start_workers();
    let (owner, _) = owner_on(&app, "pro").await;
    let browser = app.signed_in(&owner).await;
    let page = browser.html("/members").await;
    assert!(page.contains("Send invitation"), "{page}");
    assert!(page.contains(&owner.email));

    let response = browser
        .post_form(
            "/members/invitations",
            &[("email", "dee@example.com"), ("role", "viewer")],
        )
        .await;
    assert_eq!(location(&response), "/members");
    let page = browser.follow(response).await;
    assert!(
        page.contains("Invitation sent to dee@example.com."),
        "{page}"
    );
    assert!(page.contains("data-testid=\"invitation-row\""), "{page}");
    let path = sink.wait_for("dee@example.com", 1).await[0].link_path("/invitations/");

    let dee = app.browser();
    let response = dee
        .post_form(
            "/sign-up",
            &[
                ("email", "dee@example.com"),
                ("password", "correct horse battery"),
                ("next", &path),
                ("invitation", token_of(&path)),
            ],
        )
        .await;
    assert_eq!(location(&response), "/dashboard");
    dee.follow(response).await;
    // A viewer sees the members but no forms to change them.
    let page = dee.html("/members").await;
    assert!(page.contains(&owner.email), "{page}");
    assert!(!page.contains("Send invitation"), "{page}");
    assert!(!page.contains("Audit trail"), "{page}");

    let dee_id: uuid::Uuid = app
        .scalar("SELECT id FROM users WHERE email = 'dee@example.com'")
        .await;
    let response = browser
        .post_form(&format!("/members/{dee_id}/role"), &[("role", "editor")])
        .await;
    let page = browser.follow(response).await;
    assert!(page.contains("dee@example.com is now an editor."), "{page}");
    assert!(page.contains("Audit trail"), "{page}");

    let response = browser
        .post_form(&format!("/members/{dee_id}/remove"), &[])
        .await;
    let page = browser.follow(response).await;
    assert!(page.contains("Removed"), "{page}");
    // Their session in it ended: back in their own workspace.
    let me: Value = dee.fetch("/api/v1/me").await.json().await.expect("JSON");
    assert_ne!(
        me["workspace"]["id"],
        app.workspace_of(&owner).await.to_string(),
        "{me}"
    );
}
