//! The REST API's reference: `GET /api/v1/openapi.json` (the OpenAPI 3.1 document,
//! [`crate::openapi`]) and `GET /docs/api`, a page rendering it with Swagger UI, served
//! from `/vendor` like ECharts (no CDN) and booted by the site's own `/api-docs.js`.

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

/// The Swagger UI version `make` copies into `public/vendor/` (from `assets/package.json`).
pub const SWAGGER_UI_VERSION: &str = "5.35.0";

/// Only the site's own files, no inline script or style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /api/v1/openapi.json`: no credentials needed.
pub async fn openapi_json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        crate::openapi::document(),
    )
        .into_response()
}

/// `GET /docs/api`.
pub async fn api_reference() -> Response {
    let vendor = format!("/vendor/swagger-ui-{SWAGGER_UI_VERSION}");
    let page = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Upcount REST API reference</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{vendor}/swagger-ui.css">
</head>
<body>
<noscript><p>This reference needs JavaScript; the document itself is <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></noscript>
<div id="swagger-ui" data-spec="/api/v1/openapi.json"></div>
<script src="{vendor}/swagger-ui-bundle.js"></script>
<script src="/api-docs.js"></script>
</body>
</html>
"#
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
        ],
        page,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_swagger_ui_version_is_the_one_make_installs() {
        let package = include_str!("../../../assets/package.json");
        let version = package
            .split("\"swagger-ui-dist\":")
            .nth(1)
            .and_then(|rest| rest.split('"').nth(1))
            .expect("assets/package.json depends on swagger-ui-dist");
        assert_eq!(super::SWAGGER_UI_VERSION, version);
    }
}
