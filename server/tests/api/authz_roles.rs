//! The authorization matrix of workspace roles: every action of `domain::permission`,
//! through a route that does it, as an owner, an admin, an editor, a viewer, a stranger
//! (a member of another workspace, aiming at this one's things) and anonymous. What each
//! role gets is read from the permission table itself, so the table and the routes
//! cannot drift apart; and every registered server function is walked as each of them.

use app::domain::{
    Action, Role, TokenScope, WorkspaceId, WorkspaceRole,
    permission::{self, Refusal},
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp, TestUser, spawn_app_with_env};

/// A caller of the matrix: who they are, their write token and their browser.
struct Caller {
    name: &'static str,
    role: Option<WorkspaceRole>,
    user: Option<TestUser>,
    token: Option<String>,
    browser: Browser,
}

async fn write_token(app: &TestApp, workspace: WorkspaceId, user: &TestUser) -> String {
    let made = app::server::tokens::generate();
    app::server::db::tokens::create(
        &app.pool,
        workspace,
        user.id,
        &app::domain::TokenName::parse("matrix").expect("a name"),
        TokenScope::Write,
        &made,
    )
    .await
    .expect("a token");
    made.token
}

/// What a request got, as the matrix compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Got {
    Allowed,
    Forbidden,
    NotFound,
    SignInFirst,
}

fn classify(status: StatusCode, body: &Value) -> Got {
    match status.as_u16() {
        200..=299 => Got::Allowed,
        401 => Got::SignInFirst,
        403 => Got::Forbidden,
        404 => Got::NotFound,
        other => panic!("unexpected {other}: {body}"),
    }
}

/// What the table says `caller` gets for `action`, aimed at the shared workspace.
fn expected(caller: &Caller, action: Action) -> Got {
    match caller.role {
        Some(role) if permission::allows(role, action) => Got::Allowed,
        Some(_) => Got::Forbidden,
        None if caller.user.is_some() => Got::NotFound,
        None => Got::SignInFirst,
    }
}

/// A request per action. `n` makes names and addresses unique; `ids` are the shared
/// workspace's things.
fn request(action: Action, n: usize, ids: &Ids) -> Option<(Method, String, Option<Value>)> {
    let tracker = &ids.tracker;
    Some(match action {
        Action::Read => (Method::GET, format!("/api/v1/trackers/{tracker}"), None),
        Action::EditTrackers => (
            Method::PATCH,
            format!("/api/v1/trackers/{tracker}"),
            Some(json!({ "label": format!("Renamed {n}") })),
        ),
        Action::EditAlerts => (
            Method::POST,
            format!("/api/v1/trackers/{tracker}/alerts"),
            Some(json!({ "metric": "signups", "condition": "above", "value": n, "channels": [] })),
        ),
        Action::EditShares => (
            Method::POST,
            format!("/api/v1/trackers/{tracker}/share"),
            None,
        ),
        Action::EditSinks => (
            Method::POST,
            "/api/v1/sinks".into(),
            Some(
                json!({ "kind": "graphite", "address": format!("127.0.0.1:{}", 2000 + n), "trackers": [tracker] }),
            ),
        ),
        Action::ManageMembers => (
            Method::POST,
            "/api/v1/workspace/invitations".into(),
            Some(json!({ "email": format!("matrix-{n}@example.com"), "role": "viewer" })),
        ),
        Action::ReadAudit => (Method::GET, "/api/v1/workspace/audit".into(), None),
        Action::Rename => (
            Method::PATCH,
            "/api/v1/workspace".into(),
            Some(json!({ "name": "Matrix" })),
        ),
        // Through forms and the transfer below.
        Action::ManageOwnTokens
        | Action::ManageAllTokens
        | Action::ManageBilling
        | Action::TransferOwnership
        | Action::DeleteWorkspace => return None,
    })
}

struct Ids {
    tracker: String,
}

#[tokio::test]
async fn every_action_as_every_role_a_stranger_and_anonymous() {
    let app = spawn_app_with_env(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("UPCOUNT_SECRET_KEY", crate::sinks::SECRET_KEY.to_string()),
    ])
    .await;
    let owner = app.create_user(Role::Member).await;
    let shared = app.workspace_of(&owner).await;
    sqlx::query("UPDATE workspaces SET plan_id = 'business' WHERE id = $1")
        .bind(shared.uuid())
        .execute(&app.pool)
        .await
        .expect("business");
    let owners_token = write_token(&app, shared, &owner).await;
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/push-sources",
            &owners_token,
            Some(json!({ "name": "Sign-ups" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ids = Ids {
        tracker: body["push_source"]["tracker_id"]
            .as_str()
            .expect("a tracker")
            .to_string(),
    };
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/push",
            body["push_source"]["token"].as_str().expect("a push token"),
            Some(json!([{ "metric": "signups", "value": 3 }])),
        )
        .await;
    assert!(status.is_success(), "{body}");

    let mut callers = vec![Caller {
        name: "owner",
        role: Some(WorkspaceRole::Owner),
        browser: app.signed_in(&owner).await,
        user: Some(owner),
        token: Some(owners_token),
    }];
    for (name, role) in [
        ("admin", WorkspaceRole::Admin),
        ("editor", WorkspaceRole::Editor),
        ("viewer", WorkspaceRole::Viewer),
    ] {
        let user = app.create_user(Role::Member).await;
        sqlx::query(
            "INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3)",
        )
        .bind(shared.uuid())
        .bind(user.id.0)
        .bind(role)
        .execute(&app.pool)
        .await
        .expect("a member");
        let browser = app.signed_in(&user).await;
        browser
            .post_form("/workspaces/switch", &[("workspace", &shared.to_string())])
            .await;
        callers.push(Caller {
            name,
            role: Some(role),
            token: Some(write_token(&app, shared, &user).await),
            browser,
            user: Some(user),
        });
    }
    let stranger = app.create_user(Role::Member).await;
    let strangers = app.workspace_of(&stranger).await;
    callers.push(Caller {
        name: "stranger",
        role: None,
        token: Some(write_token(&app, strangers, &stranger).await),
        browser: app.signed_in(&stranger).await,
        user: Some(stranger),
    });
    callers.push(Caller {
        name: "anonymous",
        role: None,
        user: None,
        token: None,
        browser: app.browser(),
    });

    // The API, with tokens (a token acts with its maker's role).
    let mut n = 0;
    let mut walked = 0;
    for action in Action::ALL {
        for caller in &callers {
            n += 1;
            let Some((method, path, body)) = request(action, n, &ids) else {
                continue;
            };
            // Workspace-wide actions name no id: a stranger acts in their own workspace.
            let workspace_wide = !path.contains(&ids.tracker);
            if caller.name == "stranger" && workspace_wide {
                continue;
            }
            let (status, answer) = match &caller.token {
                Some(token) => app.api(method.clone(), &path, token, body).await,
                None => {
                    let response = caller.browser.fetch(&path).await;
                    (response.status(), Value::Null)
                }
            };
            if caller.token.is_none() && method != Method::GET {
                // Anonymous writes are walked by the site's own matrix (authz.rs).
                continue;
            }
            let got = classify(status, &answer);
            assert_eq!(
                got,
                expected(caller, action),
                "{action:?} ({method} {path}) as {}: {answer}",
                caller.name
            );
            if got == Got::Forbidden {
                let text = answer["error"].as_str().unwrap_or_default().to_string();
                let role = caller.role.expect("a member");
                let refusal = permission::check(role, action)
                    .and_then(|()| permission::check_writer(role))
                    .err()
                    .unwrap_or(Refusal::ReadOnly);
                assert!(
                    text == refusal.to_string() || text == Refusal::ReadOnly.to_string(),
                    "{action:?} as {}: says why: {text}",
                    caller.name
                );
            }
            walked += 1;
        }
    }
    assert!(walked >= 35, "walked {walked}");

    // Tokens of one's own, through the account page's form: everyone but a viewer.
    for caller in callers.iter().filter(|caller| caller.role.is_some()) {
        let response = caller.browser.submit_token("mine", "read").await;
        let allowed = response.status() == StatusCode::OK;
        assert_eq!(
            allowed,
            expected(caller, Action::ManageOwnTokens) == Got::Allowed,
            "a token of their own as {}",
            caller.name
        );
    }

    // Deleting the workspace: owners get as far as the typed name, everyone else is
    // refused for their role.
    for caller in callers.iter().filter(|caller| caller.role.is_some()) {
        let response = caller
            .browser
            .post_form("/workspaces/delete", &[("confirm", "not its name")])
            .await;
        let page = caller.browser.follow(response).await;
        let owner = expected(caller, Action::DeleteWorkspace) == Got::Allowed;
        assert_eq!(
            page.contains("Type the workspace"),
            owner,
            "delete as {}",
            caller.name
        );
        assert_eq!(
            page.contains("you cannot delete the workspace"),
            !owner,
            "delete as {}",
            caller.name
        );
        // The API says the same: 422 for the owner's wrong name, 403 for the others.
        let token = caller.token.as_deref().expect("a token");
        let (status, answer) = app
            .api_delete("/api/v1/workspace?confirm=not%20its%20name", token)
            .await;
        let expected_status = if owner {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            status, expected_status,
            "API delete as {}: {answer}",
            caller.name
        );
    }

    // Handing the workspace over: only the owner, and back again.
    let user_id = |name: &str| {
        callers
            .iter()
            .find(|caller| caller.name == name)
            .and_then(|caller| caller.user.as_ref())
            .map(|user| user.id.to_string())
            .expect("a caller")
    };
    for caller in callers.iter().filter(|caller| caller.role.is_some()) {
        let target = if caller.name == "admin" {
            "editor"
        } else {
            "admin"
        };
        let token = caller.token.as_deref().expect("a token");
        let (status, answer) = app
            .api(
                Method::POST,
                "/api/v1/workspace/transfer",
                token,
                Some(json!({ "user_id": user_id(target) })),
            )
            .await;
        assert_eq!(
            classify(status, &answer),
            expected(caller, Action::TransferOwnership),
            "transfer as {}: {answer}",
            caller.name
        );
        if status.is_success() {
            let admins = callers
                .iter()
                .find(|caller| caller.name == "admin")
                .and_then(|caller| caller.token.as_deref())
                .expect("the admin's token");
            let (status, answer) = app
                .api(
                    Method::POST,
                    "/api/v1/workspace/transfer",
                    admins,
                    Some(json!({ "user_id": user_id("owner") })),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "and back: {answer}");
        }
    }
}

/// Every registered server function, as each role: the ones that only read answer every
/// member, and the ones that change something refuse a viewer for their role.
#[tokio::test]
async fn every_server_function_as_every_role() {
    let app = spawn_app_with_env(vec![]).await;
    let owner = app.create_user(Role::Member).await;
    let shared = app.workspace_of(&owner).await;
    let viewer = app.create_user(Role::Member).await;
    sqlx::query(
        "INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'viewer')",
    )
    .bind(shared.uuid())
    .bind(viewer.id.0)
    .execute(&app.pool)
    .await
    .expect("a viewer");
    let as_viewer = app.signed_in(&viewer).await;
    as_viewer
        .post_form("/workspaces/switch", &[("workspace", &shared.to_string())])
        .await;
    let as_owner = app.signed_in(&owner).await;

    let read_only = app::api::read_only_server_fns();
    let admin_only = |path: &str| path.contains("admin") || path.contains("Admin");
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        let method = Method::from_bytes(method.to_string().as_bytes()).expect("method");
        for (who, browser) in [("owner", &as_owner), ("viewer", &as_viewer)] {
            // The one field a write needs to get as far as its permission check.
            let response = if method == Method::POST {
                browser.post_form(path, &[("url", "not a link")]).await
            } else {
                browser.send_empty_form(method.clone(), path).await
            };
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            assert!(
                status < 500 || !text.contains("panicked"),
                "{path} as {who}: {status} {text}"
            );
            let refused_for_role = text.contains("you can read everything but change nothing")
                || text.contains("of this workspace you cannot");
            if read_only.contains(&path) || admin_only(path) {
                assert!(!refused_for_role, "{path} reads: {who} {status} {text}");
            } else if who == "viewer" {
                assert!(
                    refused_for_role,
                    "{path} changes something: refused to a viewer: {status} {text}"
                );
            } else {
                assert!(!refused_for_role, "{path} as the owner: {status} {text}");
            }
        }
    }
}
