//! The OpenAPI document (`/api/v1/openapi.json`) and its reference page (`/docs/api`): the
//! document lists exactly the `/api/v1` routes of `router.rs`, every operation has its
//! error answers, and answers match their schemas.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::helpers::spawn_app;

/// `/api/v1` paths and their methods as `router.rs` registers them.
fn routed() -> BTreeMap<String, BTreeSet<String>> {
    let source = include_str!("../../src/router.rs");
    let mut routes = BTreeMap::new();
    for (index, _) in source.match_indices(".route(") {
        let rest = &source[index + ".route(".len()..];
        let Some(start) = rest.find('"') else {
            continue;
        };
        let Some(length) = rest[start + 1..].find('"') else {
            continue;
        };
        let path = &rest[start + 1..start + 1 + length];
        if !path.starts_with("/api/v1/")
            || path == "/api/v1/{*rest}"
            || path == "/api/v1/openapi.json"
        {
            continue;
        }
        let end = rest[1..].find(".route(").map_or(rest.len(), |end| end + 1);
        let handlers = &rest[start + 1 + length..end];
        let methods: BTreeSet<String> = ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .filter(|method| {
                handlers
                    .match_indices(&format!("{method}("))
                    .any(|(at, _)| {
                        at == 0
                            || !handlers.as_bytes()[at - 1].is_ascii_alphanumeric()
                                && handlers.as_bytes()[at - 1] != b'_'
                    })
            })
            .map(String::from)
            .collect();
        assert!(
            !methods.is_empty(),
            "no method found for {path} in router.rs"
        );
        routes.insert(path.replace("{*", "{"), methods);
    }
    routes
}

async fn document() -> Value {
    let app = spawn_app().await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.expect("the document is JSON")
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_every_api_route_and_no_other() {
    let document = document().await;
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3.1")),
        "{}",
        document["openapi"]
    );
    let described: BTreeMap<String, BTreeSet<String>> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("a path item")
                .keys()
                .filter(|key| ["get", "post", "put", "patch", "delete"].contains(&key.as_str()))
                .cloned()
                .collect();
            (path.clone(), methods)
        })
        .collect();
    let routed = routed();
    assert!(
        routed.len() > 30,
        "router.rs was not read right: {routed:?}"
    );
    assert_eq!(described, routed, "the document and router.rs disagree");
}

#[tokio::test]
async fn every_operation_answers_its_errors_and_names_its_security() {
    let document = document().await;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let responses = operation["responses"].as_object().expect("responses");
            for status in ["401", "403", "500", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{method} {path} has no success answer"
            );
            assert!(
                operation["security"]
                    .as_array()
                    .is_some_and(|schemes| !schemes.is_empty()),
                "{method} {path} names no security scheme"
            );
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/json"]["schema"].is_object(),
                        "{method} {path} {status} has no JSON error schema"
                    );
                }
            }
        }
    }
    for scheme in [
        "api_token",
        "basic_token",
        "session",
        "push_token",
        "push_basic",
        "influx_token",
        "influx_p",
    ] {
        assert!(
            document["components"]["securitySchemes"][scheme].is_object(),
            "no security scheme {scheme}"
        );
    }
}

/// The required fields of a component schema.
fn required(document: &Value, schema: &str) -> Vec<String> {
    document["components"]["schemas"][schema]["required"]
        .as_array()
        .unwrap_or_else(|| panic!("{schema} has required fields"))
        .iter()
        .map(|field| field.as_str().expect("a name").to_string())
        .collect()
}

#[tokio::test]
async fn error_answers_match_their_schemas() {
    let app = spawn_app().await;
    let document: Value = app
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    let error_fields = required(&document, "ErrorBody");
    assert_eq!(error_fields, ["error"]);

    // No credentials: the shared 401, as ErrorBody.
    let response = app.get("/api/v1/trackers").await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.expect("JSON");
    assert!(body["error"].is_string(), "{body}");

    // A push without a token: 401 with a code.
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/push", app.address))
        .body("[]")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["code"], "unauthorized", "{body}");

    // The query API's own error shape has every field its schema requires.
    let prom_fields = required(&document, "PromErrorBody");
    assert_eq!(prom_fields, ["status", "errorType", "error"]);
}

#[tokio::test]
async fn the_reference_page_is_served_with_its_assets_under_a_self_only_policy() {
    let app = spawn_app().await;
    let response = app.get("/docs/api").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(policy.contains("default-src 'self'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let page = response.text().await.expect("text");
    let bundle = format!(
        "/vendor/swagger-ui-{}/swagger-ui-bundle.js",
        upcount::routes::docs::SWAGGER_UI_VERSION
    );
    assert!(page.contains(&bundle), "{page}");
    assert!(page.contains("/api-docs.js"), "{page}");
    assert!(!page.contains("<script>"), "no inline script: {page}");
    for asset in [bundle.as_str(), "/api-docs.js"] {
        let response = app.get(asset).await;
        assert_eq!(response.status(), 200, "{asset}");
    }
}
