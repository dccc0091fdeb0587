//! Who may do what: every route as an anonymous visitor, a member, a member of another
//! workspace, and an admin. And the `upcount admin` commands that make users and tokens.

use app::domain::Role;
use reqwest::Method;

use crate::helpers::{Browser, TestApp, TestDatabase, location, run_binary, spawn_app};

/// What a request should get: a status, and for redirects where to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Ok,
    Redirect(&'static str),
    Status(u16),
}

async fn outcome(browser: &Browser, method: &Method, path: &str) -> (u16, String) {
    let response = if *method == Method::GET {
        browser.get(path).await
    } else {
        browser.send_empty_form(method.clone(), path).await
    };
    (response.status().as_u16(), location(&response))
}

#[tokio::test]
async fn every_route_as_every_kind_of_caller() {
    let app = spawn_app().await;
    let member = app.create_user(Role::Member).await;
    let stranger = app.create_user(Role::Member).await;
    let admin = app.create_user(Role::Admin).await;

    let anonymous = app.browser();
    let as_member = app.signed_in(&member).await;
    let as_stranger = app.signed_in(&stranger).await;
    let as_admin = app.signed_in(&admin).await;

    // A token of the member's workspace, which only the member may revoke.
    as_member.create_token("member's token", "read").await;
    let token_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM api_tokens")
        .fetch_one(&app.pool)
        .await
        .expect("id");
    let revoke = format!("/account/tokens/{token_id}/revoke");

    use Expect::{Ok, Redirect, Status};
    let to_sign_in = |path: &'static str| Redirect(path);
    #[rustfmt::skip]
    let matrix: Vec<(Method, String, [Expect; 4])> = vec![
        //                                   anonymous                                  member                 stranger               admin
        (Method::GET, "/".into(),            [Ok,                                       Ok,                    Ok,                    Ok]),
        (Method::GET, "/sign-in".into(),     [Ok,                                       Redirect("/dashboard"), Redirect("/dashboard"), Redirect("/dashboard")]),
        (Method::GET, "/sign-up".into(),     [Ok,                                       Redirect("/dashboard"), Redirect("/dashboard"), Redirect("/dashboard")]),
        (Method::GET, "/dashboard".into(),   [to_sign_in("/sign-in?next=%2Fdashboard"), Ok,                    Ok,                    Ok]),
        (Method::GET, "/account".into(),     [to_sign_in("/sign-in?next=%2Faccount"),   Ok,                    Ok,                    Ok]),
        (Method::GET, "/admin".into(),       [to_sign_in("/sign-in?next=%2Fadmin"),     Status(403),           Status(403),           Ok]),
        (Method::GET, "/api/v1/me".into(),   [Status(401),                              Ok,                    Ok,                    Ok]),
        (Method::GET, "/no-such-page".into(),[Status(404),                              Status(404),           Status(404),           Status(404)]),
        (Method::POST, "/account/tokens".into(),   [to_sign_in("/sign-in?next=%2Faccount"), Redirect("/account"), Redirect("/account"), Redirect("/account")]),
        (Method::POST, "/account/password".into(), [to_sign_in("/sign-in?next=%2Faccount"), Redirect("/account"), Redirect("/account"), Redirect("/account")]),
        (Method::POST, "/account/delete".into(),   [to_sign_in("/sign-in?next=%2Faccount"), Redirect("/account"), Redirect("/account"), Redirect("/account")]),
        (Method::PATCH, "/api/v1/workspace".into(),[Status(401),                              Status(415),           Status(415),           Status(415)]),
        // Another workspace's token: not found for everyone but its owner (checked last,
        // because it revokes the token).
        (Method::POST, revoke.clone(),             [to_sign_in("/sign-in?next=%2Faccount"), Redirect("/account"), Status(404),           Status(404)]),
    ];

    let callers = [
        ("anonymous", &anonymous),
        ("member", &as_member),
        ("stranger", &as_stranger),
        ("admin", &as_admin),
    ];
    for (method, path, expected) in &matrix {
        // The member's revoke goes last: it deletes the token.
        let order = [0, 2, 3, 1];
        for index in order {
            let (who, browser) = callers[index];
            let (status, location) = outcome(browser, method, path).await;
            let got = match status {
                200 => Expect::Ok,
                303 | 302 | 307 => Expect::Redirect(Box::leak(location.into_boxed_str())),
                other => Expect::Status(other),
            };
            assert_eq!(got, expected[index], "{method} {path} as {who}");
        }
    }
    // The stranger's and admin's attempts left the token alone; the member's removed it.
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 0);

    // Each caller sees only their own workspace through the API.
    for (browser, user) in [(&as_member, &member), (&as_stranger, &stranger)] {
        let body: serde_json::Value = browser
            .fetch("/api/v1/me")
            .await
            .json()
            .await
            .expect("JSON");
        assert_eq!(body["via"]["email"], user.email.as_str());
    }
    // The admin page shows the admin console only to admins.
    let html = as_admin.html("/admin").await;
    assert!(html.contains("Admin console"));
    let html = as_member.html("/admin").await;
    assert!(
        html.contains("You don&#x27;t have access to this page")
            || html.contains("You don't have access to this page"),
        "{html}"
    );
}

/// Runs `upcount <args>` on the database at `url`.
async fn upcount(url: &str, args: &[&str]) -> (i32, String, String) {
    run_binary(args, &[("DATABASE_URL", url)]).await
}

#[tokio::test]
async fn the_admin_commands_create_users_and_tokens() {
    let database = TestDatabase::migrated().await;
    let url = database.url();

    // No password on standard input: one is generated and printed.
    let (code, stdout, stderr) = upcount(
        &url,
        &[
            "admin",
            "create-user",
            "--email",
            "Root@Example.com",
            "--admin",
        ],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("created admin root@example.com"),
        "{stderr}"
    );
    let password = stdout.trim().to_string();
    assert!(password.len() >= 10, "{stdout}");

    let (code, _, stderr) = upcount(
        &url,
        &["admin", "create-user", "--email", "root@example.com"],
    )
    .await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");

    let (code, _, stderr) =
        upcount(&url, &["admin", "create-user", "--email", "not an email"]).await;
    assert_eq!(code, 2, "{stderr}");

    let create_token = ["admin", "create-token", "--email"];
    let (code, stdout, stderr) = upcount(
        &url,
        &[&create_token[..], &["root@example.com", "--scope", "write"]].concat(),
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let token = stdout.trim().to_string();
    assert!(token.starts_with("upc_") && token.len() == 47, "{token}");

    let (code, _, stderr) = upcount(
        &url,
        &[
            &create_token[..],
            &["nobody@example.com", "--scope", "read"],
        ]
        .concat(),
    )
    .await;
    assert_eq!(code, 4, "{stderr}");

    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let (role, hash): (String, String) =
        sqlx::query_as("SELECT role::text, password_hash FROM users")
            .fetch_one(&pool)
            .await
            .expect("the user");
    assert_eq!(role, "admin");
    let candidate = password.clone();
    assert!(
        app::server::password::verify(&candidate, Some(&hash)).await,
        "the printed password works"
    );
    pool.close().await;
}

#[tokio::test]
async fn create_user_reads_the_password_from_standard_input() {
    use tokio::io::AsyncWriteExt;
    let database = TestDatabase::migrated().await;
    let url = database.url();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_upcount"))
        .args(["admin", "create-user", "--email", "piped@example.com"])
        .env_clear()
        .env("DATABASE_URL", &url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"a piped password\n").await.expect("write");
    drop(stdin);
    let output = child.wait_with_output().await.expect("wait");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "nothing printed when the password was given"
    );

    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&pool)
        .await
        .expect("hash");
    assert!(app::server::password::verify("a piped password", Some(&hash)).await);
    pool.close().await;
}

/// An app with an administrator's browser viewing the site as a member.
async fn viewing_as() -> (TestApp, Browser) {
    let app = spawn_app().await;
    let admin = app.create_user(Role::Admin).await;
    let user = app.create_user(Role::Member).await;
    let browser = app.signed_in(&admin).await;
    let started = browser
        .press(&format!("/admin/users/{}/view-as", user.id))
        .await;
    assert_eq!(started.status().as_u16(), 303);
    (app, browser)
}

/// While an administrator views the site as someone, every registered server function is
/// refused unless it is named read-only in `app::api::read_only_server_fns`: a new
/// server function is a write until marked otherwise, whatever its name.
#[tokio::test]
async fn viewing_as_refuses_every_server_function_not_marked_read_only() {
    let (_app, browser) = viewing_as().await;

    let read_only = app::api::read_only_server_fns();
    let registered: Vec<(&str, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (path, method.to_string()))
        .collect();
    for path in read_only {
        assert!(
            registered.iter().any(|(known, _)| *known == path),
            "{path} is registered"
        );
    }
    let mut refused = 0;
    for (path, method) in &registered {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let response = browser.send_empty_form(method, path).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let read_only_refusal = status == 403 && text.contains("read-only");
        if read_only.contains(path) {
            assert!(
                !read_only_refusal,
                "{path} reads, and stays open: {status} {text}"
            );
        } else {
            assert!(
                read_only_refusal,
                "{path} is refused while viewing as: {status} {text}"
            );
            refused += 1;
        }
    }
    // add_tracker and the three admin functions, at least.
    assert!(refused >= 4, "refused {refused} of {registered:?}");
}

/// The routes of the site's router that change something, as (method, path), read from
/// `server/src/router.rs` itself so that a route added there is walked here too.
fn write_routes() -> Vec<(Method, String)> {
    let source = include_str!("../../src/router.rs");
    let start = source
        .find("let dynamic = Router::new()")
        .expect("the site's router");
    let end = source[start..]
        .find(".leptos_routes_with_context")
        .expect("the end of its routes")
        + start;
    let mut routes = Vec::new();
    for declaration in source[start..end].split(".route(").skip(1) {
        let path = declaration.split('"').nth(1).expect("a quoted path");
        // Path parameters get values of the right shape: the refusal comes before any
        // handler reads them.
        let path = path
            .replace("{id}", "00000000-0000-4000-8000-000000000000")
            .replace("{action}", "pause")
            .replace("{*rest}", "anything");
        for name in ["post", "put", "patch", "delete", "any"] {
            // `post(` as a call of its own, not the end of `repost(` or `my_post(`.
            let called = declaration
                .match_indices(&format!("{name}("))
                .any(|(at, _)| {
                    let before = at.checked_sub(1).map(|index| declaration.as_bytes()[index]);
                    !before.is_some_and(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
                });
            if called {
                // `any(` answers every method: walked as a POST.
                let method = match name {
                    "any" => Method::POST,
                    name => Method::from_bytes(name.to_uppercase().as_bytes()).expect("a method"),
                };
                routes.push((method, path.clone()));
            }
        }
    }
    routes
}

/// While an administrator views the site as someone, every route that changes something
/// is refused, but signing out and stopping: a new route is refused until it is let through
/// on purpose (in `allowed_while_viewing_as`, and in this test's `open`).
#[tokio::test]
async fn viewing_as_refuses_every_write_route() {
    let (app, browser) = viewing_as().await;

    let routes = write_routes();
    assert!(
        routes.len() >= 25,
        "the router's write routes were read: {routes:?}"
    );
    let open = ["/sign-out", "/admin/view-as/stop"];
    for (method, path) in &routes {
        if open.contains(&path.as_str()) {
            continue;
        }
        let response = browser.send_empty_form(method.clone(), path).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        assert!(
            status == 403 && text.contains("read-only"),
            "{method} {path} is refused while viewing as: {status} {text}"
        );
    }
    for path in open {
        assert!(
            routes
                .iter()
                .any(|(method, known)| *method == Method::POST && known == path),
            "{path} is a route"
        );
    }
    // Nothing was changed on the user's behalf, and the admin still views as them.
    assert_eq!(
        app.count("SELECT count(*) FROM trackers").await,
        0,
        "no tracker was added"
    );
    let page = browser.html("/dashboard").await;
    assert!(page.contains("read-only"), "still viewing as: {page}");
}
