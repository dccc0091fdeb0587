//! Requests to user-supplied addresses: what the public sees of them, refused targets and
//! headers, redirects.

use super::*;

#[tokio::test]
async fn the_public_page_shows_a_json_sources_host_and_path_only() {
    let (standin, app, token) = setup().await;
    let address = standin
        .base()
        .replacen("http://", "http://reader:pa55word@", 1);
    let url = format!("{address}/json/doc?api_key=s3cr3t-key&plan=x");
    let (status, body) = app
        .post_tracker(
            &token,
            json!({ "url": url, "metrics": { "members": "stats.members" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["tracker"]["id"].as_str().expect("id");
    let share = app.share_token(&token, id).await;
    for path in [format!("/s/{share}"), format!("/badge/{share}.svg")] {
        let page = app.get(&path).await.text().await.expect("the page");
        for secret in ["s3cr3t-key", "api_key", "pa55word", "reader"] {
            assert!(!page.contains(secret), "{path} shows {secret}");
        }
    }
    let page = app
        .get(&format!("/s/{share}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("/json/doc"),
        "the host and path are shown: {page}"
    );
    // The owner still sees the whole address.
    let (_, mine) = app.tracker(&token, id).await;
    assert!(mine.to_string().contains("s3cr3t-key"), "{mine}");
}

#[tokio::test]
async fn connection_headers_low_ports_and_metadata_addresses_are_refused() {
    let (standin, app, token) = setup().await;
    let url = format!("{}/json/doc", standin.base());
    // What the HTTP client sets itself: the message's framing, the hop-by-hop headers,
    // and the rest of the client's own.
    let framing = ["Host", "Content-Length", "Transfer-Encoding"];
    let hop_by_hop = ["Connection", "TE", "Upgrade", "Trailer"];
    let client = ["Expect", "Proxy-Authorization"];
    for name in framing.into_iter().chain(hop_by_hop).chain(client) {
        let answer = app
            .post_tracker(
                &token,
                json!({
                    "url": url, "metrics": { "members": "stats.members" },
                    "headers": [{ "name": name, "value": "x" }]
                }),
            )
            .await;
        expect_unprocessable(answer, "cannot be set");
    }
    // The default policy (this app lets loopback through for the stand-in).
    let (_standin, strict) = spawn_app_with_standin(vec![]).await;
    let (_, strict_token) = strict.member_with_token(TokenScope::Write).await;
    for (url, why) in [
        ("http://example.com:22/stats", "port 22"),
        ("https://example.com:25/stats", "port 25"),
        ("http://168.63.129.16/machine", "metadata"),
    ] {
        let answer = strict
            .preview(
                &strict_token,
                json!({ "url": url, "metrics": { "n": "n" } }),
            )
            .await;
        expect_unprocessable(answer, why);
    }
}

/// A server on its own port (so its own origin) answering every request with `answer`,
/// and the headers of every request it got.
async fn origin(
    answer: impl Fn() -> axum::response::Response + Clone + Send + Sync + 'static,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<axum::http::HeaderMap>>>,
) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let router = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let answer = answer.clone();
        let recorded = recorded.clone();
        async move {
            recorded.lock().expect("lock").push(headers);
            answer()
        }
    });
    let address = crate::helpers::serve_on_loopback(router).await;
    (format!("http://{address}"), seen)
}

#[tokio::test]
async fn secret_headers_never_follow_a_redirect_to_another_origin() {
    let (_standin, app, token) = setup().await;
    let (elsewhere, seen_elsewhere) =
        origin(|| axum::Json(json!({ "stats": { "members": 1 } })).into_response()).await;
    let target = format!("{elsewhere}/stats");
    let (first, _) =
        origin(move || axum::response::Redirect::temporary(&target).into_response()).await;
    let add = |headers: Value| {
        app.post_tracker(
            &token,
            json!({
                "url": format!("{first}/stats"), "metrics": { "members": "stats.members" },
                "headers": headers
            }),
        )
    };
    let answer = add(json!([{ "name": "X-Api-Key", "value": "top-secret", "secret": true }])).await;
    expect_unprocessable(answer, "another origin");
    assert!(
        seen_elsewhere.lock().expect("lock").is_empty(),
        "nothing reached the other origin"
    );
    // A plain header follows the redirect as before.
    let (status, body) = add(json!([{ "name": "X-Plain", "value": "hello" }])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let seen = seen_elsewhere.lock().expect("lock");
    assert!(
        seen.iter()
            .all(|headers| headers.get("x-api-key").is_none())
    );
    assert!(seen.iter().any(|headers| headers.get("x-plain").is_some()));
}
