use crate::helpers::{header, spawn_app};

const YEAR: &str = "public, max-age=31536000, immutable";

#[tokio::test]
async fn hashed_and_versioned_assets_are_cached_for_a_year() {
    let app = spawn_app().await;
    for path in [
        "/pkg/upcount.0a1b2c.js",
        "/pkg/upcount.0a1b2c.wasm",
        "/pkg/upcount.0a1b2c.css",
        "/vendor/echarts-5.5.1.min.js",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], YEAR, "{path}");
    }
    let wasm = app.get("/pkg/upcount.0a1b2c.wasm").await;
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
}

#[tokio::test]
async fn missing_assets_are_404_and_not_cached_for_a_year() {
    let app = spawn_app().await;
    for path in ["/pkg/upcount.ffffff.js", "/vendor/echarts-0.0.0.min.js"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_ne!(
            response
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some(YEAR),
            "{path}"
        );
    }
}

#[tokio::test]
async fn other_files_of_the_site_root_are_cached_briefly() {
    let app = spawn_app().await;
    let response = app.get("/favicon.svg").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
}

#[tokio::test]
async fn assets_are_compressed_with_brotli_or_gzip() {
    let app = spawn_app().await;
    for (accept, expected) in [("br", "br"), ("gzip", "gzip"), ("br, gzip", "br")] {
        let response = app.get_encoded("/pkg/upcount.0a1b2c.js", accept).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-encoding"],
            expected,
            "Accept-Encoding: {accept}"
        );
        assert_eq!(response.headers()["cache-control"], YEAR);
        assert!(header(&response, "vary").contains("accept-encoding"));
    }
    let plain = app.get("/pkg/upcount.0a1b2c.js").await;
    assert!(plain.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn precompressed_files_are_sent_as_they_are() {
    let app = spawn_app().await;
    let response = app
        .get_encoded("/vendor/echarts-5.5.1.min.js", "br, gzip")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["cache-control"], YEAR);
    assert_eq!(response.headers()["content-type"], "text/javascript");
    assert_eq!(response.headers()["vary"], "accept-encoding");
    assert_eq!(
        response.text().await.expect("body"),
        "stand-in for the gzipped bundle"
    );
}
