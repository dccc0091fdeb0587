use crate::helpers::spawn_app;

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
