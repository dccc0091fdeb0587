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

/// The component schema a `$ref` names, or the schema itself.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("a component reference: {reference}"));
            let found = &document["components"]["schemas"][name];
            assert!(found.is_object(), "no component schema {name}");
            resolve(document, found)
        }
        None => schema,
    }
}

/// The property names an object of `schema` may have (`None`: any).
fn known_names(document: &Value, schema: &Value) -> Option<BTreeSet<String>> {
    let schema = resolve(document, schema);
    if schema
        .get("additionalProperties")
        .is_some_and(|more| more != false)
    {
        return None;
    }
    let mut names: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default();
    for parts in ["allOf", "oneOf", "anyOf"] {
        for part in schema[parts].as_array().into_iter().flatten() {
            names.extend(known_names(document, part)?);
        }
    }
    if names.is_empty() && schema.get("properties").is_none() {
        // No properties declared at all: a free-form object.
        return None;
    }
    Some(names)
}

/// What in `value` does not match `schema` (the part of JSON Schema utoipa writes:
/// `$ref`, `allOf`, `oneOf`, `type`, `enum`, `properties`, `required`, `items`,
/// `additionalProperties`). With `strict`, an object may hold only the properties its
/// schema declares.
fn mismatches(
    document: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    strict: bool,
) -> Vec<String> {
    let schema = resolve(document, schema);
    let mut out = Vec::new();
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            out.extend(mismatches(document, part, value, at, false));
        }
    }
    if let Some(branches) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let each: Vec<Vec<String>> = branches
            .iter()
            .map(|branch| mismatches(document, branch, value, at, strict))
            .collect();
        if !each.iter().any(Vec::is_empty) {
            out.push(format!("{at}: matches no branch: {each:?}"));
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let fits = |kind: &str| match kind {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => value.is_i64() || value.is_u64(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !types.iter().any(|kind| fits(kind)) {
            out.push(format!("{at}: {value} is not {types:?}"));
            return out;
        }
    }
    if let Some(fields) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().expect("a name");
            if !fields.contains_key(name) {
                out.push(format!("{at}: lacks the required `{name}`"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, field) in fields {
            let at = format!("{at}.{name}");
            match properties.and_then(|properties| properties.get(name)) {
                Some(property) => out.extend(mismatches(document, property, field, &at, true)),
                None => match schema.get("additionalProperties") {
                    Some(more) if more.is_object() => {
                        out.extend(mismatches(document, more, field, &at, true));
                    }
                    _ => {}
                },
            }
        }
        if strict
            && let Some(names) = known_names(document, schema)
            && let Some(unknown) = fields.keys().find(|name| !names.contains(*name))
        {
            out.push(format!(
                "{at}: `{unknown}` is not in the schema ({names:?})"
            ));
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            out.extend(mismatches(
                document,
                schema,
                item,
                &format!("{at}[{index}]"),
                true,
            ));
        }
    }
    out
}

/// Checks an answer against the schema the document gives `method path` for `status`.
fn check_answer(document: &Value, method: &str, path: &str, answer: &(reqwest::StatusCode, Value)) {
    let (status, body) = answer;
    let schema = &document["paths"][path][method]["responses"][status.as_str()]["content"]["application/json"]
        ["schema"];
    assert!(
        schema.is_object(),
        "the document gives {method} {path} no JSON schema for {status}"
    );
    let problems = mismatches(document, schema, body, "$", true);
    assert!(
        problems.is_empty(),
        "{method} {path} {status} does not match its schema: {problems:#?}\n{body:#}"
    );
}

#[tokio::test]
async fn success_bodies_are_typed_schemas_not_bare_objects() {
    let document = document().await;
    let schema_of = |path: &str, method: &str, status: &str| {
        resolve(
            &document,
            &document["paths"][path][method]["responses"][status]["content"]["application/json"]
                ["schema"],
        )
        .clone()
    };
    let tracker_body = schema_of("/api/v1/trackers/{id}", "get", "200");
    assert_eq!(
        tracker_body["properties"]["tracker"]["$ref"], "#/components/schemas/TrackerView",
        "{tracker_body}"
    );
    let tracker = resolve(&document, &tracker_body["properties"]["tracker"]);
    for field in ["id", "label", "state", "source", "metrics"] {
        assert!(
            tracker["properties"][field].is_object(),
            "TrackerView has `{field}`: {tracker}"
        );
    }
    assert!(
        tracker["properties"]["source"]["$ref"] == "#/components/schemas/SourceView",
        "{tracker}"
    );
    let rules = schema_of("/api/v1/trackers/{id}/alerts", "get", "200");
    let rule = resolve(&document, &rules["properties"]["alerts"]["items"]);
    let condition = resolve(&document, &rule["properties"]["condition"]);
    assert!(
        condition["enum"]
            .as_array()
            .is_some_and(|kinds| kinds.contains(&Value::from("no_data"))),
        "the rule's condition is an enum of the conditions: {rule}"
    );
    for field in [
        "id",
        "tracker",
        "metric",
        "cooldown_secs",
        "channels",
        "armed",
    ] {
        assert!(
            rule["required"]
                .as_array()
                .is_some_and(|required| required.contains(&Value::from(field))),
            "the rule requires `{field}`: {rule}"
        );
    }
    assert!(rule["properties"]["window"].is_object(), "{rule}");

    // No success body is, or holds, an object whose fields are left undescribed, but the
    // few that are free-form by nature.
    let free_form = ["EventRow.properties"];
    let mut bare = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let schema = &response["content"]["application/json"]["schema"];
                if status.starts_with('2') && schema.is_object() {
                    bare_objects(
                        &document,
                        schema,
                        &format!("{method} {path} {status}"),
                        &mut BTreeSet::new(),
                        &mut bare,
                    );
                }
            }
        }
    }
    bare.retain(|at: &String| !free_form.iter().any(|allowed| at.ends_with(allowed)));
    assert!(bare.is_empty(), "bare objects in success bodies: {bare:#?}");
}

/// Where `schema` holds `{"type": "object"}` with nothing said about its fields.
fn bare_objects(
    document: &Value,
    schema: &Value,
    at: &str,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<String>,
) {
    let name = schema["$ref"]
        .as_str()
        .map(|reference| reference.rsplit('/').next().unwrap_or_default().to_string());
    if let Some(name) = &name
        && !seen.insert(name.clone())
    {
        return;
    }
    let at = name.map_or_else(|| at.to_string(), |name| name.to_string());
    let schema = resolve(document, schema);
    let is_object = schema["type"] == "object"
        || schema["type"]
            .as_array()
            .is_some_and(|types| types.contains(&Value::from("object")));
    if is_object
        && schema.get("properties").is_none()
        && schema.get("additionalProperties").is_none()
        && schema.get("allOf").is_none()
        && schema.get("oneOf").is_none()
    {
        out.push(at.clone());
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        bare_objects(document, property, &format!("{at}.{name}"), seen, out);
    }
    for key in ["items", "additionalProperties"] {
        if schema[key].is_object() {
            bare_objects(document, &schema[key], &at, seen, out);
        }
    }
    for parts in ["allOf", "oneOf", "anyOf"] {
        for part in schema[parts].as_array().into_iter().flatten() {
            bare_objects(document, part, &at, seen, out);
        }
    }
}

#[tokio::test]
async fn success_answers_match_the_schemas_the_document_gives_them() {
    use app::domain::{Role, TokenScope};
    use reqwest::{Method, StatusCode};
    use serde_json::json;

    let (standin, app) = crate::helpers::spawn_app_with_standin(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("UPCOUNT_SECRET_KEY", crate::sinks::SECRET_KEY.into()),
    ])
    .await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    let document: Value = app
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    let user = app.create_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    let call = |method: Method, path: String, body: Option<Value>| {
        let token = token.clone();
        let app = &app;
        async move { app.api(method, &path, &token, body).await }
    };
    let expect = |answer: (StatusCode, Value), status: StatusCode| {
        assert_eq!(answer.0, status, "{}", answer.1);
        answer
    };

    check_answer(
        &document,
        "get",
        "/api/v1/me",
        &expect(
            call(Method::GET, "/api/v1/me".into(), None).await,
            StatusCode::OK,
        ),
    );
    let url = "https://github.com/leptos-rs/leptos";
    let preview = call(
        Method::POST,
        "/api/v1/trackers/preview".into(),
        Some(json!({ "url": url })),
    )
    .await;
    check_answer(
        &document,
        "post",
        "/api/v1/trackers/preview",
        &expect(preview, StatusCode::OK),
    );
    let made = expect(
        call(
            Method::POST,
            "/api/v1/trackers".into(),
            Some(json!({ "url": url })),
        )
        .await,
        StatusCode::CREATED,
    );
    check_answer(&document, "post", "/api/v1/trackers", &made);
    let tracker = made.1["tracker"]["id"].as_str().expect("an id").to_string();
    app.history_loaded().await;
    let again = expect(
        call(
            Method::POST,
            "/api/v1/trackers".into(),
            Some(json!({ "url": url })),
        )
        .await,
        StatusCode::OK,
    );
    check_answer(&document, "post", "/api/v1/trackers", &again);
    check_answer(
        &document,
        "get",
        "/api/v1/trackers",
        &expect(
            call(Method::GET, "/api/v1/trackers".into(), None).await,
            StatusCode::OK,
        ),
    );
    let one = format!("/api/v1/trackers/{tracker}");
    check_answer(
        &document,
        "get",
        "/api/v1/trackers/{id}",
        &expect(call(Method::GET, one.clone(), None).await, StatusCode::OK),
    );
    let changed = call(
        Method::PATCH,
        one.clone(),
        Some(json!({ "label": "Leptos", "ends_at": "2099-01-01T00:00:00Z" })),
    )
    .await;
    check_answer(
        &document,
        "patch",
        "/api/v1/trackers/{id}",
        &expect(changed, StatusCode::OK),
    );
    let series = call(Method::GET, format!("{one}/series"), None).await;
    check_answer(
        &document,
        "get",
        "/api/v1/trackers/{id}/series",
        &expect(series, StatusCode::OK),
    );
    let export = call(Method::GET, format!("{one}/export.json"), None).await;
    check_answer(
        &document,
        "get",
        "/api/v1/trackers/{id}/export.json",
        &expect(export, StatusCode::OK),
    );
    let shared = call(Method::POST, format!("{one}/share"), None).await;
    check_answer(
        &document,
        "post",
        "/api/v1/trackers/{id}/share",
        &expect(shared, StatusCode::OK),
    );
    let polling = call(Method::POST, format!("{one}/poll"), None).await;
    check_answer(
        &document,
        "post",
        "/api/v1/trackers/{id}/poll",
        &expect(polling, StatusCode::ACCEPTED),
    );

    let channel = call(
        Method::POST,
        "/api/v1/channels".into(),
        Some(json!({ "kind": "webhook", "url": "http://127.0.0.1:9/hook" })),
    )
    .await;
    let channel = expect(channel, StatusCode::CREATED);
    check_answer(&document, "post", "/api/v1/channels", &channel);
    assert!(channel.1["channel"]["secret"].is_string(), "{}", channel.1);
    let channel_id = channel.1["channel"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    check_answer(
        &document,
        "get",
        "/api/v1/channels",
        &expect(
            call(Method::GET, "/api/v1/channels".into(), None).await,
            StatusCode::OK,
        ),
    );

    let rules = format!("{one}/alerts");
    for rule in [
        json!({ "metric": "stars", "condition": "above", "value": 20000, "channels": [channel_id] }),
        json!({ "metric": "stars", "condition": "below", "value": 10, "margin": 2 }),
        json!({ "metric": "stars", "condition": "change", "percent": 5, "window": "24h", "direction": "up" }),
        json!({ "metric": "stars", "condition": "new_high" }),
        json!({ "metric": "stars", "condition": "new_low", "window": "7d" }),
        json!({ "metric": "stars", "condition": "milestone", "every": 1000 }),
        json!({ "metric": "stars", "condition": "no_data", "duration_secs": 3600 }),
        json!({ "metric": "stars", "condition": "gone", "cooldown_secs": 60 }),
    ] {
        let made = expect(
            call(Method::POST, rules.clone(), Some(rule)).await,
            StatusCode::CREATED,
        );
        check_answer(&document, "post", "/api/v1/trackers/{id}/alerts", &made);
    }
    let listed = expect(call(Method::GET, rules.clone(), None).await, StatusCode::OK);
    check_answer(&document, "get", "/api/v1/trackers/{id}/alerts", &listed);
    let rule = listed.1["alerts"][0]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let paused = call(
        Method::PATCH,
        format!("/api/v1/alerts/{rule}"),
        Some(json!({ "paused": true, "margin": 5 })),
    )
    .await;
    check_answer(
        &document,
        "patch",
        "/api/v1/alerts/{id}",
        &expect(paused, StatusCode::OK),
    );
    check_answer(
        &document,
        "get",
        "/api/v1/alert-events",
        &expect(
            call(Method::GET, "/api/v1/alert-events".into(), None).await,
            StatusCode::OK,
        ),
    );

    let source = expect(
        call(
            Method::POST,
            "/api/v1/push-sources".into(),
            Some(json!({ "name": "app", "event_labels": ["plan"] })),
        )
        .await,
        StatusCode::CREATED,
    );
    check_answer(&document, "post", "/api/v1/push-sources", &source);
    let push_token = source.1["push_source"]["token"]
        .as_str()
        .expect("a token")
        .to_string();
    let source_id = source.1["push_source"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let pushed = app
        .api(
            Method::POST,
            "/api/v1/push",
            &push_token,
            Some(json!([{ "metric": "signups", "value": 3, "labels": { "plan": "pro" } }])),
        )
        .await;
    check_answer(
        &document,
        "post",
        "/api/v1/push",
        &expect(pushed, StatusCode::OK),
    );
    let events = app
        .api(
            Method::POST,
            "/api/v1/events",
            &push_token,
            Some(json!([{ "type": "signup", "properties": { "plan": "pro" } }])),
        )
        .await;
    check_answer(
        &document,
        "post",
        "/api/v1/events",
        &expect(events, StatusCode::OK),
    );
    check_answer(
        &document,
        "get",
        "/api/v1/push-sources",
        &expect(
            call(Method::GET, "/api/v1/push-sources".into(), None).await,
            StatusCode::OK,
        ),
    );
    let renamed = call(
        Method::PATCH,
        format!("/api/v1/push-sources/{source_id}"),
        Some(json!({ "name": "the app" })),
    )
    .await;
    check_answer(
        &document,
        "patch",
        "/api/v1/push-sources/{id}",
        &expect(renamed, StatusCode::OK),
    );
    let kept = expect(
        call(
            Method::GET,
            format!("/api/v1/push-sources/{source_id}/events.json"),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        kept.1["events"].as_array().map(Vec::len),
        Some(1),
        "{}",
        kept.1
    );
    check_answer(
        &document,
        "get",
        "/api/v1/push-sources/{id}/events.json",
        &kept,
    );

    for sink in [
        json!({ "kind": "webhook", "url": "http://127.0.0.1:9/sink" }),
        json!({ "kind": "influxdb", "url": "http://127.0.0.1:8086", "database": "up", "username": "u", "password": "p" }),
        json!({ "kind": "graphite", "address": "127.0.0.1:2003", "trackers": [tracker] }),
    ] {
        let made = expect(
            call(Method::POST, "/api/v1/sinks".into(), Some(sink)).await,
            StatusCode::CREATED,
        );
        check_answer(&document, "post", "/api/v1/sinks", &made);
    }
    check_answer(
        &document,
        "get",
        "/api/v1/sinks",
        &expect(
            call(Method::GET, "/api/v1/sinks".into(), None).await,
            StatusCode::OK,
        ),
    );
}
