//! The HTTP surface: metric series and logs under random requests, bad dates, time limits,
//! CSP, HSTS and caches.

use super::*;

/// The series of the HTTP metrics in a `/metrics` answer.
fn http_series(metrics: &str) -> Vec<String> {
    metrics
        .lines()
        .filter(|line| {
            line.starts_with("upcount_http_requests_total{")
                || line.starts_with("upcount_http_request_duration_seconds_count{")
        })
        .map(|line| {
            line.rsplit_once(' ')
                .map_or(line, |(series, _)| series)
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn random_methods_and_paths_add_no_metric_series_and_tokens_stay_out_of_logs() {
    use crate::helpers::{TestDatabase, http_client};
    let database = TestDatabase::create().await;
    let mut process = Process::serve(
        &["web"],
        &database.url(),
        &[
            ("UPCOUNT_METRICS_USER", "prom"),
            ("UPCOUNT_METRICS_PASSWORD", "scrape-secret"),
        ],
    );
    let migrated =
        crate::helpers::run_binary(&["migrate"], &[("DATABASE_URL", &database.url())]).await;
    assert_eq!(migrated.0, 0, "{}", migrated.2);
    let address = process.web_address().await;
    let client = http_client();
    let mut sent = Vec::new();
    let mut send = |round: usize| {
        let client = client.clone();
        let address = address.clone();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let method = match round % 5 {
            0 => reqwest::Method::GET,
            1 => reqwest::Method::POST,
            2 => reqwest::Method::from_bytes(format!("X{}", &token[..8]).as_bytes())
                .expect("a method"),
            3 => reqwest::Method::from_bytes(b"PURGE").expect("a method"),
            _ => reqwest::Method::DELETE,
        };
        let path = match round % 7 {
            0 => format!("/{token}"),
            1 => format!("/api/v1/trackers/{token}"),
            2 => format!("/s/{token}"),
            3 => format!("/badge/{token}.svg"),
            4 => format!("/pkg/{token}.wasm"),
            5 => format!("/admin/users/{token}"),
            _ => format!("/api/{token}/{token}"),
        };
        sent.push(token);
        async move {
            client
                .request(method, format!("{address}{path}"))
                .send()
                .await
                .expect("a request")
                .status()
        }
    };
    let scrape = || async {
        http_client()
            .get(format!("{address}/metrics"))
            .basic_auth("prom", Some("scrape-secret"))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("metrics")
    };
    for round in 0..70 {
        send(round).await;
    }
    // The scrape itself is a series too: scrape once before counting.
    scrape().await;
    let before = http_series(&scrape().await);
    for round in 0..1_000 {
        send(round).await;
    }
    let metrics = scrape().await;
    let after = http_series(&metrics);
    assert_eq!(
        before.len(),
        after.len(),
        "new series: {:?}",
        after
            .iter()
            .filter(|s| !before.contains(s))
            .collect::<Vec<_>>()
    );
    for line in &after {
        let method = line
            .split("method=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next());
        if let Some(method) = method {
            assert!(
                [
                    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"
                ]
                .contains(&method),
                "{line}"
            );
        }
    }
    let logs = process.seen.join("\n");
    for token in &sent {
        assert!(!metrics.contains(token.as_str()), "a token in /metrics");
        assert!(!logs.contains(token.as_str()), "a token in the request log");
    }
    process.signal(libc::SIGTERM);
    process.exit_code().await;
}

#[tokio::test]
async fn dates_that_overflow_get_a_400_not_a_panic() {
    let (standin, app, token) = setup().await;
    let id = track_leptos(&standin, &app, &token).await;
    for (query, expected) in [
        ("to=%2B262143-12-31T00:00:00Z", StatusCode::BAD_REQUEST),
        ("to=%2B262143-12-31", StatusCode::BAD_REQUEST),
        ("from=-262143-01-01T00:00:00Z", StatusCode::BAD_REQUEST),
        ("from=10000-01-01T00:00:00Z", StatusCode::BAD_REQUEST),
        ("from=0000-01-01T00:00:00Z", StatusCode::BAD_REQUEST),
        (
            "to=9999-12-31T23:59:59Z&from=0001-01-01T00:00:00Z",
            StatusCode::OK,
        ),
    ] {
        for path in ["series", "export.csv"] {
            let response = app
                .get_with_token(
                    &format!("/api/v1/trackers/{id}/{path}?metric=stars&{query}"),
                    &token,
                )
                .await;
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, expected, "{path}?{query}: {body}");
            if expected == StatusCode::BAD_REQUEST {
                assert!(body.contains("out of range"), "{path}?{query}: {body}");
            }
        }
    }
    still_answers(&app, &token).await;
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_a_503_saying_so() {
    let (_standin, app) = spawn_app_with_standin(vec![
        ("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("UPCOUNT_REQUEST_TIMEOUT_SECS", "1".into()),
    ])
    .await;
    let (_, token) = app.member_with_token(TokenScope::Write).await;
    // An upstream that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/stats", silent.local_addr().expect("address"));
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let started = Instant::now();
    let answer = app
        .preview(&token, json!({ "url": url, "metrics": { "n": "n" } }))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let body = expect_error(
        answer,
        StatusCode::SERVICE_UNAVAILABLE,
        "longer than 1 seconds",
    );
    assert_eq!(body["code"], "timeout");
    still_answers(&app, &token).await;
}

#[tokio::test]
async fn pages_carry_a_csp_with_a_fresh_nonce_on_their_scripts() {
    let (_standin, app, _token) = setup().await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let response = app.get("/").await;
        let csp = header(&response, "content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce")
            .to_string();
        assert!(nonce.len() >= 16, "{nonce}");
        let script_src = csp
            .split(';')
            .find(|directive| directive.trim().starts_with("script-src"))
            .expect("script-src");
        assert!(!script_src.contains("'unsafe-inline'"), "{csp}");
        assert!(!script_src.contains("'unsafe-eval'"), "{csp}");
        let page = response.text().await.expect("page");
        // Every inline script carries the nonce; scripts from files come from the site.
        for tag in page.split("<script").skip(1) {
            let tag = tag.split('>').next().unwrap_or_default();
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")) || tag.contains("src=\"/"),
                "a script without the nonce: <script{tag}>"
            );
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a new nonce for every response");
    // No HSTS over plain http.
    assert!(
        app.get("/")
            .await
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
}

#[tokio::test]
async fn https_sites_send_hsts() {
    let (_standin, app) = spawn_app_with_standin(vec![(
        "UPCOUNT_PUBLIC_URL",
        "https://upcount.example".into(),
    )])
    .await;
    let response = app.get("/").await;
    let hsts = header(&response, "strict-transport-security");
    assert!(hsts.contains("max-age=31536000"), "{hsts}");
}

#[tokio::test]
async fn responses_any_cache_may_keep_never_set_a_cookie() {
    let (standin, app, token) = setup().await;
    let id = track_leptos(&standin, &app, &token).await;
    let share = app.share_token(&token, &id).await;
    let browser = app.signed_in(&app.create_user(Role::Member).await).await;
    // Any other answer renews the session cookie…
    let renewed = browser.get("/api/v1/trackers").await;
    assert!(
        renewed.headers().get("set-cookie").is_some(),
        "the session is renewed"
    );
    // …but not one a cache may keep.
    for path in [
        format!("/badge/{share}.svg"),
        "/vendor/echarts-5.5.1.min.js".to_string(),
    ] {
        let response = browser.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let cache = header(&response, "cache-control");
        assert!(cache.contains("public"), "{path}: {cache}");
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{path} set a cookie on a public response"
        );
    }
}
