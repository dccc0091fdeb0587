use crate::helpers::{TestApp, TestUser, spawn_app};

#[tokio::test]
async fn landing_page_is_server_rendered_with_its_scripts() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let headers = response.headers().clone();
    let html = response.text().await.expect("body");

    assert!(html.contains("Every number on the Internet, charted over time."));
    assert!(html.contains("<title>Upcount</title>"), "{html}");
    // The range summary is rendered on the server, before any script runs.
    assert!(html.contains("in the last 30 days"));
    // Hydration scripts, the stylesheet and ECharts, all from this server.
    assert!(html.contains("/pkg/upcount"), "hydration script link");
    assert!(html.contains(app::ECHARTS_SRC), "ECharts script");
    assert!(!html.contains("cdn."), "no CDN");

    assert!(headers.contains_key("x-request-id"));
    assert_eq!(
        headers["cache-control"], "no-store",
        "pages may carry the user's details"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(
        headers["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
}

#[tokio::test]
async fn unknown_paths_render_the_404_page() {
    let app = spawn_app().await;
    for path in ["/no/such/page", "/pkg-but-not-really", "/dashboards"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let html = response.text().await.expect("body");
        assert!(html.contains("Page not found"), "{path}: {html}");
        assert!(
            html.contains("<title>Page not found · Upcount</title>"),
            "{path}"
        );
        assert!(
            html.contains("/pkg/upcount"),
            "{path}: the 404 page is styled and hydrated"
        );
    }
}

#[tokio::test]
async fn html_is_compressed_when_the_client_accepts_it() {
    let app = spawn_app().await;
    let response = app.get_encoded("/", "gzip").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
}

/// The keys of the resource values a page hands to the browser for hydration.
fn resolved_resources(html: &str) -> Vec<String> {
    html.match_indices("__RESOLVED_RESOURCES[")
        .filter_map(|(at, found)| {
            let rest = &html[at + found.len()..];
            rest.find(']').map(|end| rest[..end].to_string())
        })
        .collect()
}

/// A tracker of a Hacker News item in `user`'s workspace.
async fn item_tracker(app: &TestApp, user: &TestUser) -> uuid::Uuid {
    let source: i64 = sqlx::query_scalar(
        "INSERT INTO sources (kind, key, title, url) VALUES
         ('hackernews.item', '8863', 'An item', 'https://news.ycombinator.com/item?id=8863')
         ON CONFLICT (kind, key) DO UPDATE SET title = EXCLUDED.title
         RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a source");
    sqlx::query_scalar(
        "INSERT INTO trackers (workspace_id, source_id, label) VALUES ($1, $2, 'Item') RETURNING id",
    )
    .bind(app.workspace_of(user).await)
    .bind(source)
    .fetch_one(&app.pool)
    .await
    .expect("a tracker")
}

/// Each signed-in page creates each of its resources once on the server, as the browser
/// does when it hydrates: were a page built twice while the viewer loads, the browser
/// would take the first build's values while the HTML shows the last's, and hydration
/// fails whenever they differ (seen with the admin console while users signed up).
#[tokio::test]
async fn signed_in_pages_hand_each_resource_to_the_browser_once() {
    use app::domain::Role;
    let app = spawn_app().await;
    let admin = app.create_user(Role::Admin).await;
    let browser = app.browser();
    browser.sign_in(&admin).await;
    let tracker = item_tracker(&app, &admin).await;
    // The viewer, then the page's own.
    let pages = [
        ("/dashboard".to_string(), 1 + 3),
        ("/account".to_string(), 1 + 2),
        ("/billing".to_string(), 1 + 2),
        ("/billing/success".to_string(), 1 + 1),
        // The tracker, its alerts (rules, channels, fired events) and the flash (the
        // answer of its "Poll now" button and its rule forms).
        (format!("/trackers/{tracker}"), 1 + 3),
        // The channels and events, and the flash.
        ("/alerts".to_string(), 1 + 2),
        (format!("/compare?ids={tracker}"), 1 + 1),
        ("/admin".to_string(), 1 + 3),
        (format!("/admin/users/{}", admin.id), 1 + 2),
    ];
    for (page, expected) in pages {
        let mut seen = Vec::new();
        for _ in 0..5 {
            let response = browser.get(&page).await;
            assert_eq!(response.status(), 200, "{page}");
            let keys = resolved_resources(&response.text().await.expect("body"));
            assert_eq!(keys.len(), expected, "{page}: {keys:?}");
            seen.push(keys);
        }
        seen.dedup();
        assert_eq!(
            seen.len(),
            1,
            "{page}: the same resources every time: {seen:?}"
        );
    }
}

/// The `id` attributes that occur more than once in `html`: a label's `for` then names
/// the first of them, so a second form's label fills the first form's input.
fn repeated_ids(html: &str) -> Vec<String> {
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for (at, found) in html.match_indices(" id=\"") {
        let rest = &html[at + found.len()..];
        if let Some(end) = rest.find('"') {
            *seen.entry(&rest[..end]).or_default() += 1;
        }
    }
    seen.into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(id, _)| id.to_string())
        .collect()
}

/// Every signed-in page names each element id once, so every label belongs to its own
/// input (the account page once had two `field-name` inputs, and "Token name" filled the
/// new workspace's).
#[tokio::test]
async fn signed_in_pages_use_each_element_id_once() {
    use app::domain::Role;
    let app = spawn_app().await;
    let admin = app.create_user(Role::Admin).await;
    let browser = app.browser();
    browser.sign_in(&admin).await;
    let tracker = item_tracker(&app, &admin).await;
    let pages = [
        "/dashboard".to_string(),
        "/account".to_string(),
        "/billing".to_string(),
        format!("/trackers/{tracker}"),
        "/alerts".to_string(),
        "/admin".to_string(),
        format!("/admin/users/{}", admin.id),
    ];
    for page in pages {
        let response = browser.get(&page).await;
        assert_eq!(response.status(), 200, "{page}");
        let html = response.text().await.expect("body");
        assert_eq!(repeated_ids(&html), Vec::<String>::new(), "{page}");
    }
}
