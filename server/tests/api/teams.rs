//! Roles in a shared workspace (`domain::permission`): what a viewer and an editor may do
//! through the API, and a removed member's tokens stopping. Members are added here as the
//! invitations of a later change will add them.

use app::domain::{Role, TokenScope, WorkspaceId, WorkspaceRole};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, TestUser, expect_error, location, spawn_app_with_standin};

/// Makes `user` a member of `workspace` with `role`.
async fn join(app: &TestApp, workspace: WorkspaceId, user: &TestUser, role: WorkspaceRole) {
    sqlx::query(
        "INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(workspace.uuid())
    .bind(user.id.0)
    .bind(role)
    .execute(&app.pool)
    .await
    .expect("add the member");
}

/// A write token of `user`'s for `workspace`.
async fn token_in(app: &TestApp, workspace: WorkspaceId, user: &TestUser) -> String {
    let token = app::server::tokens::generate();
    app::server::db::tokens::create(
        &app.pool,
        workspace,
        user.id,
        &app::domain::TokenName::parse("shared").expect("a name"),
        TokenScope::Write,
        &token,
    )
    .await
    .expect("create a token");
    token.token
}

#[tokio::test]
async fn a_viewer_reads_an_editor_edits_and_a_removed_members_tokens_stop() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    standin.set_github_repo("leptos-rs/cargo-leptos", 500);
    let (owner, owners_token) = app.member_with_token(TokenScope::Write).await;
    let shared = app.workspace_of(&owner).await;
    let tracker = app
        .track(&owners_token, "https://github.com/leptos-rs/leptos")
        .await;
    let colleague = app.create_user(Role::Member).await;
    join(&app, shared, &colleague, WorkspaceRole::Viewer).await;
    let token = token_in(&app, shared, &colleague).await;

    // A viewer reads everything...
    let (status, body) = app.api_get("/api/v1/trackers", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["trackers"][0]["id"], tracker.as_str(), "{body}");
    let (status, _) = app
        .api_get(&format!("/api/v1/trackers/{tracker}"), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    // ...and changes nothing, even with a write token.
    let cargo_leptos = json!({ "url": "https://github.com/leptos-rs/cargo-leptos" });
    expect_error(
        app.post_tracker(&token, cargo_leptos.clone()).await,
        StatusCode::FORBIDDEN,
        "As a viewer of this workspace you can read everything but change nothing.",
    );
    assert_eq!(
        app.delete_tracker(&token, &tracker).await,
        StatusCode::FORBIDDEN
    );
    expect_error(
        app.api(
            Method::PATCH,
            "/api/v1/workspace",
            &token,
            Some(json!({ "name": "Taken over" })),
        )
        .await,
        StatusCode::FORBIDDEN,
        "change nothing",
    );

    // Promoted to editor, the same token adds a tracker the owner sees, but still may not
    // rename the workspace.
    join(&app, shared, &colleague, WorkspaceRole::Editor).await;
    let (status, body) = app.post_tracker(&token, cargo_leptos).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, listed) = app.api_get("/api/v1/trackers", &owners_token).await;
    assert_eq!(
        listed["trackers"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    expect_error(
        app.api(
            Method::PATCH,
            "/api/v1/workspace",
            &token,
            Some(json!({ "name": "Taken over" })),
        )
        .await,
        StatusCode::FORBIDDEN,
        "As an editor of this workspace you cannot rename the workspace.",
    );
    // An admin may.
    join(&app, shared, &colleague, WorkspaceRole::Admin).await;
    let (status, body) = app
        .api(
            Method::PATCH,
            "/api/v1/workspace",
            &token,
            Some(json!({ "name": "Launch team" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Removed from the workspace, the tokens they made there stop at once.
    sqlx::query("DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
        .bind(shared.uuid())
        .bind(colleague.id.0)
        .execute(&app.pool)
        .await
        .expect("remove the member");
    expect_error(
        app.api_get("/api/v1/trackers", &token).await,
        StatusCode::UNAUTHORIZED,
        "Unknown or revoked API token.",
    );
    let (status, _) = app.api_get("/api/v1/trackers", &owners_token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_session_acts_in_the_chosen_workspace_only_while_a_member_of_it() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    drop(standin);
    let owner = app.create_user(Role::Member).await;
    let shared = app.workspace_of(&owner).await;
    let colleague = app.create_user(Role::Member).await;
    let own = app.workspace_of(&colleague).await;
    join(&app, shared, &colleague, WorkspaceRole::Viewer).await;

    let current = |workspace| {
        let pool = app.pool.clone();
        let id = colleague.id;
        async move {
            app::server::db::users::find_current_in(&pool, id, workspace)
                .await
                .expect("read")
                .expect("a user")
        }
    };
    // Their first workspace when none is chosen, the chosen one with their role in it.
    let first = current(None).await;
    assert_eq!(
        (first.workspace_id, first.workspace_role),
        (own, WorkspaceRole::Owner)
    );
    let chosen = current(Some(shared)).await;
    assert_eq!(
        (chosen.workspace_id, chosen.workspace_role),
        (shared, WorkspaceRole::Viewer)
    );
    assert!(chosen.may(app::domain::Action::Read).is_ok());
    assert!(chosen.may(app::domain::Action::EditTrackers).is_err());
    // Removed, they are back in their own.
    sqlx::query("DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
        .bind(shared.uuid())
        .bind(colleague.id.0)
        .execute(&app.pool)
        .await
        .expect("remove the member");
    let after = current(Some(shared)).await;
    assert_eq!(
        (after.workspace_id, after.workspace_role),
        (own, WorkspaceRole::Owner)
    );
}

#[tokio::test]
async fn the_switcher_moves_a_session_between_workspaces_and_roles_hold_in_forms() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    standin.set_github_repo("leptos-rs/cargo-leptos", 500);
    let (owner, owners_token) = app.member_with_token(TokenScope::Write).await;
    let shared = app.workspace_of(&owner).await;
    sqlx::query("UPDATE workspaces SET name = 'Launch team' WHERE id = $1")
        .bind(shared.uuid())
        .execute(&app.pool)
        .await
        .expect("rename");
    app.track(&owners_token, "https://github.com/leptos-rs/leptos")
        .await;
    let colleague = app.create_user(Role::Member).await;
    let own = app.workspace_of(&colleague).await;
    join(&app, shared, &colleague, WorkspaceRole::Viewer).await;
    let browser = app.signed_in(&colleague).await;

    // In their own workspace first; the header offers both.
    let me: serde_json::Value = browser
        .fetch("/api/v1/me")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["workspace"]["id"], own.to_string());
    assert_eq!(me["role"], "owner");
    let page = browser.html("/dashboard").await;
    assert!(
        page.contains(r#"data-testid="workspace-switcher""#),
        "{page}"
    );
    assert!(page.contains("Launch team · Viewer"), "{page}");

    // Switching: a new session id, the shared workspace's trackers, the viewer's role.
    let before = browser.session_cookie();
    let response = browser
        .post_form("/workspaces/switch", &[("workspace", &shared.to_string())])
        .await;
    assert_eq!(location(&response), "/dashboard");
    assert_ne!(
        browser.session_cookie(),
        before,
        "the session id was rotated"
    );
    let page = browser.html("/dashboard").await;
    assert!(page.contains("Now in Launch team (as viewer)."), "{page}");
    assert!(page.contains("leptos-rs/leptos"), "{page}");
    let me: serde_json::Value = browser
        .fetch("/api/v1/me")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["workspace"]["id"], shared.to_string());
    assert_eq!(me["role"], "viewer");

    // A viewer's forms are refused with the reason, and nothing changes.
    let response = browser
        .post_form(
            "/dashboard/trackers",
            &[("url", "https://github.com/leptos-rs/cargo-leptos")],
        )
        .await;
    assert_eq!(location(&response), "/dashboard");
    let page = browser.html("/dashboard").await;
    assert!(
        page.contains("As a viewer of this workspace you cannot change trackers."),
        "{page}"
    );
    let response = browser
        .post_form("/account/tokens", &[("name", "mine"), ("scope", "read")])
        .await;
    assert_eq!(location(&response), "/account");
    let page = browser.html("/account").await;
    assert!(
        page.contains("As a viewer of this workspace you cannot make API tokens."),
        "{page}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM trackers").await,
        1,
        "the viewer added nothing"
    );

    // As an editor, the same form adds a tracker to the shared workspace.
    join(&app, shared, &colleague, WorkspaceRole::Editor).await;
    let response = browser
        .post_form(
            "/dashboard/trackers",
            &[("url", "https://github.com/leptos-rs/cargo-leptos")],
        )
        .await;
    assert_eq!(location(&response), "/dashboard");
    let (_, listed) = app.api_get("/api/v1/trackers", &owners_token).await;
    assert_eq!(
        listed["trackers"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );

    // A workspace they are not in cannot be switched to.
    let stranger = app.create_user(Role::Member).await;
    let theirs = app.workspace_of(&stranger).await;
    browser
        .post_form("/workspaces/switch", &[("workspace", &theirs.to_string())])
        .await;
    let page = browser.html("/dashboard").await;
    assert!(
        page.contains("You are not a member of that workspace."),
        "{page}"
    );
    let me: serde_json::Value = browser
        .fetch("/api/v1/me")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["workspace"]["id"], shared.to_string());

    // Removed from the shared workspace, the session is back in their own at once.
    sqlx::query("DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
        .bind(shared.uuid())
        .bind(colleague.id.0)
        .execute(&app.pool)
        .await
        .expect("remove the member");
    let me: serde_json::Value = browser
        .fetch("/api/v1/me")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["workspace"]["id"], own.to_string());

    // A new workspace: Free, theirs, and current.
    let response = browser
        .post_form("/workspaces", &[("name", "Side project")])
        .await;
    assert_eq!(location(&response), "/dashboard");
    let me: serde_json::Value = browser
        .fetch("/api/v1/me")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["workspace"]["name"], "Side project");
    assert_eq!(me["role"], "owner");
    let plan: String =
        sqlx::query_scalar("SELECT plan_id FROM workspaces WHERE name = 'Side project'")
            .fetch_one(&app.pool)
            .await
            .expect("the new workspace");
    assert_eq!(plan, "free");
    let response = browser.post_form("/workspaces", &[("name", "  ")]).await;
    assert_eq!(location(&response), "/account");
    let page = browser.html("/account").await;
    assert!(
        page.contains("Give the workspace a name of 1 to 100 characters"),
        "{page}"
    );
}

#[tokio::test]
async fn members_are_listed_promoted_and_removed_by_the_table_and_audited() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    drop(standin);
    let (owner, owners_token) = app.member_with_token(TokenScope::Write).await;
    let shared = app.workspace_of(&owner).await;
    let ann = app.create_user(Role::Member).await;
    let bo = app.create_user(Role::Member).await;
    join(&app, shared, &ann, WorkspaceRole::Admin).await;
    join(&app, shared, &bo, WorkspaceRole::Viewer).await;
    let anns = token_in(&app, shared, &ann).await;
    let bos = token_in(&app, shared, &bo).await;
    let member = |id: &TestUser| format!("/api/v1/workspace/members/{}", id.id.0);
    let role = |role: &str| Some(json!({ "role": role }));

    // Everyone reads the list: owners first, with emails and roles.
    let (status, body) = app.api_get("/api/v1/workspace/members", &bos).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed: Vec<(String, String)> = body["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap_or("").to_string(),
                m["role"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (owner.email.clone(), "owner".to_string()),
            (ann.email.clone(), "admin".to_string()),
            (bo.email.clone(), "viewer".to_string()),
        ]
    );

    // A viewer changes nothing; an admin promotes the viewer, but makes nobody an owner.
    expect_error(
        app.api(Method::PATCH, &member(&bo), &bos, role("admin"))
            .await,
        StatusCode::FORBIDDEN,
        "change nothing",
    );
    let (status, body) = app
        .api(Method::PATCH, &member(&bo), &anns, role("editor"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["member"]["role"], "editor");
    expect_error(
        app.api(Method::PATCH, &member(&bo), &anns, role("owner"))
            .await,
        StatusCode::FORBIDDEN,
        "Only an owner",
    );
    expect_error(
        app.api(Method::PATCH, &member(&owner), &anns, role("viewer"))
            .await,
        StatusCode::FORBIDDEN,
        "Only an owner",
    );
    expect_error(
        app.api(Method::PATCH, &member(&bo), &anns, role("boss"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "\"boss\" is not a role",
    );
    // The last owner cannot step down or leave; with a second owner, they can.
    expect_error(
        app.api(Method::PATCH, &member(&owner), &owners_token, role("admin"))
            .await,
        StatusCode::FORBIDDEN,
        "at least one owner",
    );
    expect_error(
        app.api(Method::DELETE, &member(&owner), &owners_token, None)
            .await,
        StatusCode::FORBIDDEN,
        "at least one owner",
    );
    let (status, _) = app
        .api(Method::PATCH, &member(&ann), &owners_token, role("owner"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .api(Method::PATCH, &member(&owner), &owners_token, role("admin"))
        .await;
    assert_eq!(status, StatusCode::OK);

    // An editor removes nobody; an owner removes the editor, whose token stops.
    expect_error(
        app.api(Method::DELETE, &member(&owner), &bos, None).await,
        StatusCode::FORBIDDEN,
        "cannot manage members",
    );
    let (status, _) = app.api(Method::DELETE, &member(&bo), &anns, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    expect_error(
        app.api_get("/api/v1/workspace/members", &bos).await,
        StatusCode::UNAUTHORIZED,
        "Unknown or revoked API token.",
    );
    expect_error(
        app.api(Method::DELETE, &member(&bo), &anns, None).await,
        StatusCode::NOT_FOUND,
        "no such member",
    );

    // The audit trail, for owners and admins only, newest first.
    let (status, body) = app.api_get("/api/v1/workspace/audit", &owners_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let summaries: Vec<&str> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["summary"].as_str())
        .collect();
    assert_eq!(
        summaries,
        vec![
            format!("{} removed {}", ann.email, bo.email),
            format!(
                "{} changed {} from owner to admin",
                owner.email, owner.email
            ),
            format!("{} changed {} from admin to owner", owner.email, ann.email),
            format!("{} changed {} from viewer to editor", ann.email, bo.email),
        ]
    );
    let editor = app.create_user(Role::Member).await;
    join(&app, shared, &editor, WorkspaceRole::Editor).await;
    let editors = token_in(&app, shared, &editor).await;
    expect_error(
        app.api_get("/api/v1/workspace/audit", &editors).await,
        StatusCode::FORBIDDEN,
        "cannot read the audit trail",
    );
    // Anyone but the last owner may leave.
    let (status, _) = app
        .api(Method::DELETE, &member(&editor), &editors, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// `browser`'s workspace, as `/api/v1/me` names it.
async fn acting_in(browser: &crate::helpers::Browser) -> String {
    let me: serde_json::Value = browser
        .fetch("/api/v1/me")
        .await
        .json()
        .await
        .expect("JSON");
    me["workspace"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn an_owner_deletes_a_shared_workspace_in_two_steps_and_nobody_is_left_without_one() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    drop(standin);
    let (owner, token) = app.member_with_token(TokenScope::Write).await;
    let shared = app.workspace_of(&owner).await;
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/push-sources",
            &token,
            Some(json!({ "name": "Sign-ups" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let editor = app.create_user(Role::Member).await;
    join(&app, shared, &editor, WorkspaceRole::Editor).await;
    // Someone whose only workspace is this one.
    let guest = app.create_user(Role::Member).await;
    sqlx::query("DELETE FROM workspaces WHERE id = $1")
        .bind(app.workspace_of(&guest).await.uuid())
        .execute(&app.pool)
        .await
        .expect("drop the guest's own workspace");
    join(&app, shared, &guest, WorkspaceRole::Viewer).await;
    let name: String = sqlx::query_scalar("SELECT name FROM workspaces WHERE id = $1")
        .bind(shared.uuid())
        .fetch_one(&app.pool)
        .await
        .expect("its name");

    // The only owner of a workspace others are in cannot just delete their account.
    let as_owner = app.signed_in(&owner).await;
    let response = as_owner
        .post_form("/account/delete", &[("password", &owner.password)])
        .await;
    assert_eq!(location(&response), "/account");
    let page = as_owner.follow(response).await;
    assert!(
        page.contains(&format!("You are the only owner of {name}")),
        "{page}"
    );
    assert_eq!(
        app.count_with("SELECT count(*) FROM users WHERE id = $1", owner.id.0)
            .await,
        1
    );

    // Only an owner deletes, and only with the name typed.
    let as_editor = app.signed_in(&editor).await;
    as_editor
        .post_form("/workspaces/switch", &[("workspace", &shared.to_string())])
        .await;
    let response = as_editor
        .post_form("/workspaces/delete", &[("confirm", &name)])
        .await;
    let page = as_editor.follow(response).await;
    assert!(
        page.contains("As an editor of this workspace you cannot delete the workspace."),
        "{page}"
    );
    let response = as_owner
        .post_form("/workspaces/delete", &[("confirm", "something else")])
        .await;
    let page = as_owner.follow(response).await;
    assert!(
        page.contains("Type the workspace&#x27;s name")
            || page.contains("Type the workspace's name"),
        "{page}"
    );
    assert_eq!(
        app.count_with(
            "SELECT count(*) FROM workspaces WHERE id = $1",
            shared.uuid()
        )
        .await,
        1
    );

    let response = as_owner
        .post_form("/workspaces/delete", &[("confirm", &name)])
        .await;
    assert_eq!(location(&response), "/dashboard");
    let page = as_owner.follow(response).await;
    assert!(
        page.contains("was deleted, with everything in it."),
        "{page}"
    );
    for table in [
        "trackers",
        "api_tokens",
        "workspace_members",
        "workspace_invitations",
    ] {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE workspace_id = $1"
        )))
        .bind(shared.uuid())
        .fetch_one(&app.pool)
        .await
        .expect("count");
        assert_eq!(count, 0, "{table}");
    }
    // Everyone is back in a workspace of their own: the guest in a new one.
    assert_ne!(acting_in(&as_owner).await, shared.to_string());
    assert_ne!(acting_in(&as_editor).await, shared.to_string());
    let as_guest = app.signed_in(&guest).await;
    let guests = acting_in(&as_guest).await;
    assert!(!guests.is_empty() && guests != shared.to_string());
}

#[tokio::test]
async fn an_owner_deletes_a_workspace_through_the_api_with_its_name() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    drop(standin);
    let (owner, token) = app.member_with_token(TokenScope::Write).await;
    let shared = app.workspace_of(&owner).await;
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/push-sources",
            &token,
            Some(json!({ "name": "Sign-ups" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let viewer = app.create_user(Role::Member).await;
    join(&app, shared, &viewer, WorkspaceRole::Viewer).await;
    let viewers = token_in(&app, shared, &viewer).await;
    let name: String = sqlx::query_scalar("SELECT name FROM workspaces WHERE id = $1")
        .bind(shared.uuid())
        .fetch_one(&app.pool)
        .await
        .expect("its name");
    let path = format!(
        "/api/v1/workspace?confirm={}",
        url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
    );

    expect_error(
        app.api_delete(&path, &viewers).await,
        StatusCode::FORBIDDEN,
        "change nothing",
    );
    expect_error(
        app.api_delete("/api/v1/workspace", &token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        &format!("Type the workspace's name, {name}, to confirm."),
    );
    let read = app.token(&owner, TokenScope::Read).await;
    let (status, _) = app.api_delete(&path, &read).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a read-only token deletes nothing"
    );
    assert_eq!(
        app.count_with(
            "SELECT count(*) FROM workspaces WHERE id = $1",
            shared.uuid()
        )
        .await,
        1
    );

    let (status, body) = app.api_delete(&path, &token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        app.count_with(
            "SELECT count(*) FROM workspaces WHERE id = $1",
            shared.uuid()
        )
        .await,
        0
    );
    for (table, column) in [("trackers", "workspace_id"), ("api_tokens", "workspace_id")] {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE {column} = $1"
        )))
        .bind(shared.uuid())
        .fetch_one(&app.pool)
        .await
        .expect("count");
        assert_eq!(count, 0, "{table}");
    }
    // Its tokens went with it; both people still have a workspace to sign in to.
    let (status, _) = app.api_get("/api/v1/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for user in [&owner, &viewer] {
        assert!(
            app.count_with(
                "SELECT count(*) FROM workspace_members WHERE user_id = $1",
                user.id.0
            )
            .await
                >= 1,
            "{} keeps a workspace",
            user.email
        );
    }
}

#[tokio::test]
async fn a_viewer_sees_no_edit_controls_and_an_editor_sees_them() {
    let (standin, app) = spawn_app_with_standin(vec![]).await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    let (owner, token) = app.member_with_token(TokenScope::Write).await;
    let shared = app.workspace_of(&owner).await;
    let tracker = app
        .track(&token, "https://github.com/leptos-rs/leptos")
        .await;
    let (status, body) = app
        .api_post(
            &format!("/api/v1/trackers/{tracker}/share"),
            &token,
            json!({}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (status, body) = app
        .api_post(
            "/api/v1/channels",
            &token,
            json!({ "kind": "email", "address": owner.email }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .api_post(
            &format!("/api/v1/trackers/{tracker}/alerts"),
            &token,
            json!({ "metric": "stars", "condition": "above", "value": 20000, "channels": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let colleague = app.create_user(Role::Member).await;
    join(&app, shared, &colleague, WorkspaceRole::Viewer).await;
    // One member confirmed their address, one did not.
    let confirmed = app.create_user(Role::Member).await;
    join(&app, shared, &confirmed, WorkspaceRole::Viewer).await;
    let unconfirmed = app.create_user(Role::Member).await;
    join(&app, shared, &unconfirmed, WorkspaceRole::Viewer).await;
    sqlx::query("UPDATE users SET email_verified_at = now() WHERE id = $1")
        .bind(confirmed.id.0)
        .execute(&app.pool)
        .await
        .expect("confirmed");
    let browser = app.signed_in(&colleague).await;
    browser
        .post_form("/workspaces/switch", &[("workspace", &shared.to_string())])
        .await;
    let tracker_page = format!("/trackers/{tracker}");
    // (page, what only someone who may change it sees, what everyone sees)
    let pages = [
        ("/dashboard", "Stop sharing", "Public page"),
        (tracker_page.as_str(), "Poll now", "Latest polls"),
        (tracker_page.as_str(), "Add alert", "stars above"),
        (tracker_page.as_str(), "Delete alert:", "stars above"),
        ("/alerts", "Add channel", &owner.email),
        ("/alerts", "Send a test to", &owner.email),
        ("/alerts", "Add sink", "Forwarding"),
        ("/account", "Create token", "API tokens"),
    ];
    for (path, control, content) in pages {
        let html = browser.html(path).await;
        assert!(html.contains(content), "{path} shows {content:?}: {html}");
        assert!(
            !html.contains(control),
            "a viewer sees no {control:?} on {path}"
        );
    }
    let owners_only = |html: &str| html.contains("subscribe, change the plan or cancel");
    assert!(owners_only(&browser.html("/billing").await));

    join(&app, shared, &colleague, WorkspaceRole::Editor).await;
    for (path, control, _) in pages {
        let html = browser.html(path).await;
        assert!(
            html.contains(control),
            "an editor sees {control:?} on {path}"
        );
    }
    // Billing stays the owners'.
    assert!(owners_only(&browser.html("/billing").await));
    // The channel form suggests the addresses alerts may go to: the editor's own and the
    // members' confirmed ones.
    let html = browser.html("/alerts").await;
    let suggestions = html
        .split("data-testid=\"member-addresses\"")
        .nth(1)
        .and_then(|rest| rest.split("</datalist>").next())
        .expect("the suggestions");
    assert!(suggestions.contains(&colleague.email), "{suggestions}");
    assert!(suggestions.contains(&confirmed.email), "{suggestions}");
    assert!(!suggestions.contains(&unconfirmed.email), "{suggestions}");
    // The owner sees billing's buttons.
    let as_owner = app.signed_in(&owner).await;
    assert!(!owners_only(&as_owner.html("/billing").await));
}
