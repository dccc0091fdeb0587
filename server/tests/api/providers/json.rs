//! JSON API sources: numbers read and what is not one explained, and the addresses refused
//! before and during connecting.

use super::*;

fn json_request(url: String, metrics: &[(&str, &str)]) -> TrackRequest {
    TrackRequest {
        url: Some(url),
        metrics: Some(
            metrics
                .iter()
                .map(|(name, expression)| (name.to_string(), expression.to_string()))
                .collect(),
        ),
        ..Default::default()
    }
}

#[tokio::test]
async fn json_sources_read_numbers_and_explain_what_is_not_one() {
    let standin = StandIn::start().await;
    standin.set(
        "json/stats",
        json!({ "data": { "users": 1200, "price": "9.99", "up": true, "name": "demo" } }),
    );
    let engine = engine_for(&standin, &[("UPCOUNT_ALLOW_PRIVATE_TARGETS", "true")]);

    let request = json_request(
        format!("{}/json/stats", standin.base()),
        &[
            ("users", "data.users"),
            ("price", "data.price"),
            ("up", "data.up"),
            ("name", "data.name"),
        ],
    );
    let resolved = engine.resolve(&request).expect("resolved");
    let outcome = fetch_resolved(&engine, &resolved).await;
    let readings = ok(&outcome);
    assert_eq!(value(readings, "users"), Some(1200.0));
    assert_eq!(value(readings, "price"), Some(9.99));
    assert_eq!(value(readings, "up"), Some(1.0));
    assert_eq!(readings.errors.len(), 1);
    assert!(
        readings.errors[0].1.contains("the text \"demo\""),
        "{:?}",
        readings.errors
    );

    // Not JSON: a parse error with an excerpt, not retried.
    standin.script(
        "/json/stats",
        vec![Canned::text(200, "<html>maintenance</html>")],
    );
    match &fetch_resolved(&engine, &resolved).await {
        Err(FetchError::Parse { excerpt, .. }) => assert!(excerpt.contains("maintenance")),
        other => panic!("expected a parse error, got {other:?}"),
    }

    // 5xx is retried (three attempts), then reported as unavailable.
    let before = standin.hits_on("/json/stats");
    standin.script(
        "/json/stats",
        vec![
            Canned::status(503),
            Canned::status(502),
            Canned::status(500),
        ],
    );
    let outcome = fetch_resolved(&engine, &resolved).await;
    assert!(
        matches!(outcome, Err(FetchError::Unavailable(_))),
        "{outcome:?}"
    );
    assert_eq!(standin.hits_on("/json/stats") - before, 3);
    // …and a failure followed by success is just a success.
    standin.script("/json/stats", vec![Canned::status(500)]);
    let outcome = fetch_resolved(&engine, &resolved).await;
    assert_eq!(value(ok(&outcome), "users"), Some(1200.0));

    // Bodies over 1 MiB are an error, not memory growth.
    let big = engine
        .resolve(&json_request(
            format!("{}/big", standin.base()),
            &[("n", "padding")],
        ))
        .expect("resolved");
    match &fetch_resolved(&engine, &big).await {
        Err(FetchError::Parse { message, .. }) => {
            assert!(message.contains("1024 KiB"), "{message}")
        }
        other => panic!("expected a size error, got {other:?}"),
    }

    // Bad expressions and names are refused before anything is fetched.
    for (name, expression) in [("bad name", "a"), ("ok", "data.[")] {
        let error = engine
            .resolve(&json_request(
                format!("{}/json/stats", standin.base()),
                &[(name, expression)],
            ))
            .err()
            .expect("refused");
        assert!(matches!(error, TrackError::Invalid(_)), "{error:?}");
    }
}

#[tokio::test]
async fn private_and_special_addresses_are_refused_before_connecting() {
    // Guarded (the default): nothing below may be reached, and no connection is tried:
    // IP literals fail the check before any request, host names fail in DNS resolution.
    let standin = StandIn::start().await;
    let engine = engine_for(&standin, &[]);
    for (url, class) in [
        ("http://127.0.0.1:9/x", "loopback"),
        ("http://10.0.0.1/x", "private"),
        ("http://172.16.5.4/x", "private"),
        ("http://192.168.0.1/x", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://100.64.0.1/x", "carrier-grade NAT"),
        ("http://224.0.0.1/x", "multicast"),
        ("http://0.0.0.0/x", "unspecified"),
        ("http://240.0.0.1/x", "reserved"),
        ("http://[::1]/x", "loopback"),
        ("http://[fd00::1]/x", "private"),
        ("http://[fe80::1]/x", "link-local"),
        ("http://[ff02::1]/x", "multicast"),
        ("http://[::ffff:127.0.0.1]/x", "loopback"),
        ("http://[::ffff:169.254.169.254]/x", "link-local"),
        ("http://2130706433/x", "loopback"),
    ] {
        let error = engine
            .resolve(&json_request(url.into(), &[("n", "n")]))
            .err()
            .expect("refused");
        match error {
            TrackError::Fetch(FetchError::Refused(message)) => {
                assert!(message.contains(class), "{url}: {message}");
            }
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }
    // A host name that resolves to loopback is refused when resolved.
    let request = json_request(
        format!("http://localhost:{}/json/stats", standin.address.port()),
        &[("n", "n")],
    );
    let resolved = engine
        .resolve(&request)
        .expect("names pass the first check");
    let message = refusal(&fetch_resolved(&engine, &resolved).await);
    assert!(
        message.contains("localhost resolves to 127.0.0.1 is a loopback address"),
        "{message}"
    );
    assert_eq!(standin.hits().len(), 0, "nothing reached the stand-in");
    // Other schemes are refused outright.
    let error = engine
        .resolve(&json_request("file:///etc/passwd".into(), &[("n", "n")]))
        .err()
        .expect("refused");
    assert!(error.to_string().contains("only http and https"), "{error}");
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_on_that_hop() {
    // The first hop is allowed (UPCOUNT_ALLOWED_TARGETS names the stand-in's address); the
    // redirect to 127.0.0.1 is not.
    let allowed = StandIn::start_on("127.0.0.2").await;
    let target = StandIn::start().await;
    target.set("json/secret", json!({ "n": 1 }));
    let engine = engine_for(&allowed, &[("UPCOUNT_ALLOWED_TARGETS", "127.0.0.2")]);
    let to = format!("{}/json/secret", target.base());
    let request = json_request(
        format!(
            "{}/redirect?to={}",
            allowed.base(),
            url::form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>()
        ),
        &[("n", "n")],
    );
    let resolved = engine.resolve(&request).expect("the first hop is allowed");
    let message = refusal(&fetch_resolved(&engine, &resolved).await);
    assert!(
        message.contains("a redirect to 127.0.0.1 is a loopback address"),
        "{message}"
    );
    assert_eq!(allowed.hits_on("/redirect"), 1);
    assert_eq!(target.hits().len(), 0, "the redirect was not followed");
}
