//! GitHub, CoinGecko, Docker Hub and npm against the stand-in: batches, the unknown, and
//! their rate-limit answers.

use super::*;

#[tokio::test]
async fn github_repositories_not_found_and_the_rate_limit_answer() {
    let standin = StandIn::start().await;
    standin.set_github_repo("leptos-rs/leptos", 19_000);
    let engine = engine_for(&standin, &[]);

    // Recognised by URL with any case; the canonical name comes from GitHub.
    let metadata = metadata_of_link(&engine, "https://github.com/Leptos-RS/Leptos/issues").await;
    assert_eq!(metadata.key, "leptos-rs/leptos");
    assert_eq!(metadata.tags, vec!["octocat", "atom", "electron", "api"]);

    let outcomes = fetch(
        &engine,
        "github.repo",
        &["leptos-rs/leptos", "nobody/nothing"],
    )
    .await;
    let readings = ok(&outcomes[0]);
    assert_eq!(value(readings, "stars"), Some(19_000.0));
    assert_eq!(value(readings, "forks"), Some(9.0));
    assert_eq!(value(readings, "open_issues"), Some(17.0));
    assert_eq!(
        value(readings, "watchers"),
        Some(42.0),
        "watchers are subscribers, not stars"
    );
    assert!(gone(&outcomes[1]).contains("nobody/nothing"));

    // 403 with x-ratelimit-remaining: 0 is a rate limit, and GitHub is left alone until
    // the reset instead of being asked again.
    let reset = (chrono::Utc::now().timestamp() + 120).to_string();
    standin.script(
        "/github/repos",
        vec![
            Canned::json(403, fixtures::github_rate_limited())
                .header("x-ratelimit-limit", "60")
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", &reset)
                .header("x-ratelimit-used", "60")
                .header("x-ratelimit-resource", "core"),
        ],
    );
    let before = standin.hits_on("/github");
    let outcomes = fetch(&engine, "github.repo", &["leptos-rs/leptos"]).await;
    match &outcomes[0] {
        Err(FetchError::RateLimited {
            retry_after: Some(after),
            ..
        }) => {
            assert!(after.as_secs() >= 100, "waits for the reset: {after:?}");
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    let outcomes = fetch(&engine, "github.repo", &["leptos-rs/leptos"]).await;
    assert!(matches!(outcomes[0], Err(FetchError::RateLimited { .. })));
    assert_eq!(
        standin.hits_on("/github"),
        before + 1,
        "the second poll was not sent"
    );
}

#[tokio::test]
async fn coingecko_batches_and_unknown_coins() {
    let standin = StandIn::start().await;
    standin.set_coingecko_coin("bitcoin", 67_187.33);
    standin.set(
        "coingecko/price/ethereum",
        fixtures::coingecko_price(3_500.5),
    );
    let engine = engine_for(&standin, &[]);

    let coins = ["bitcoin", "ethereum", "nocoin"];
    let outcomes = fetch(&engine, "coingecko.coin", &coins).await;
    assert_eq!(standin.hits_on("/coingecko/api/v3/simple/price"), 1);
    assert_eq!(value(ok(&outcomes[0]), "price_usd"), Some(67_187.33));
    assert!(value(ok(&outcomes[0]), "market_cap_usd").is_some());
    assert_eq!(value(ok(&outcomes[1]), "price_usd"), Some(3_500.5));
    gone(&outcomes[2]);
    // Nothing known: the answer is `{}`.
    let outcomes = fetch(&engine, "coingecko.coin", &["nocoin"]).await;
    gone(&outcomes[0]);

    let metadata = metadata_of(&engine, "coingecko.coin", "bitcoin")
        .await
        .expect("exists");
    assert_eq!(metadata.title, "Bitcoin (BTC)");
    assert_gone(&engine, "coingecko.coin", "nocoin").await;
}

/// Docker Hub: one request a repository (a batch with an unknown one still answers the
/// others), official images under `library`, the 404 body read as gone, and the
/// `X-RateLimit-*` headers followed: none remaining pauses Docker Hub until the reset, and
/// a 429 without `Retry-After` waits for `X-RateLimit-Reset`.
#[tokio::test]
async fn dockerhub_repositories_official_images_unknown_and_rate_limits() {
    let standin = StandIn::start().await;
    standin.load_fixtures("dockerhub");
    let engine = engine_for(&standin, &[]);

    let metadata = metadata_of_link(&engine, "https://hub.docker.com/_/nginx").await;
    assert_eq!(
        (metadata.key.as_str(), metadata.title.as_str()),
        ("library/nginx", "nginx")
    );
    assert_eq!(metadata.url, "https://hub.docker.com/_/nginx");
    assert_eq!(
        metadata.author, None,
        "official images have no owner to name"
    );
    assert_eq!(metadata.tags, ["Web Servers"]);
    let metadata = metadata_of(&engine, "dockerhub.repo", "bitnami/redis")
        .await
        .expect("exists");
    assert_eq!(metadata.title, "bitnami/redis");
    assert_eq!(metadata.url, "https://hub.docker.com/r/bitnami/redis");
    assert_eq!(metadata.author.as_deref(), Some("bitnami"));
    assert_eq!(
        metadata.published_at.map(|at| at.to_rfc3339()).as_deref(),
        Some("2015-08-26T19:07:53.838513+00:00")
    );
    // Never pushed: no categories, no last update, zero counts.
    let metadata = metadata_of(&engine, "dockerhub.repo", "someone/empty")
        .await
        .expect("exists");
    assert!(metadata.tags.is_empty());

    let before = standin.hits_on("/dockerhub/v2/repositories/");
    let keys = [
        "library/nginx",
        "nobody/nothing-here",
        "bitnami/redis",
        "someone/empty",
    ];
    let outcomes = fetch(&engine, "dockerhub.repo", &keys).await;
    assert_eq!(standin.hits_on("/dockerhub/v2/repositories/"), before + 4);
    assert_eq!(value(ok(&outcomes[0]), "pulls"), Some(11_873_219_034.0));
    assert_eq!(value(ok(&outcomes[0]), "stars"), Some(20_876.0));
    assert!(gone(&outcomes[1]).contains("nobody/nothing-here"));
    assert_eq!(value(ok(&outcomes[2]), "pulls"), Some(1_041_235_678.0));
    assert_eq!(value(ok(&outcomes[3]), "stars"), Some(0.0));
    assert!(
        standin
            .hits()
            .iter()
            .any(|hit| hit == "/dockerhub/v2/repositories/library/nginx/"),
        "the documented path, with its trailing slash"
    );
    assert_gone(&engine, "dockerhub.repo", "library/no-such-image").await;

    // The last request of the window: it is read, then Docker Hub is left alone until
    // `X-RateLimit-Reset` (a Unix time) instead of being asked again.
    let reset = (chrono::Utc::now().timestamp() + 120).to_string();
    let nginx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::standin::fixtures_folder("dockerhub").join("nginx.json"))
            .expect("fixture"),
    )
    .expect("JSON");
    standin.script(
        "/dockerhub/v2/repositories",
        vec![
            Canned::json(200, nginx)
                .header("X-RateLimit-Limit", "180")
                .header("X-RateLimit-Remaining", "0")
                .header("X-RateLimit-Reset", &reset),
        ],
    );
    let outcomes = fetch(&engine, "dockerhub.repo", &["library/nginx"]).await;
    assert_eq!(value(ok(&outcomes[0]), "stars"), Some(20_876.0));
    let state = engine
        .http()
        .rate_states()
        .into_iter()
        .find(|(service, _)| service.name() == "dockerhub")
        .map(|(_, state)| state)
        .expect("Docker Hub has a rate-limit state");
    assert_eq!(state.remaining, Some(0.0));
    let before = standin.hits_on("/dockerhub");
    let outcomes = fetch(
        &engine,
        "dockerhub.repo",
        &["library/nginx", "bitnami/redis"],
    )
    .await;
    for outcome in &outcomes {
        match outcome {
            Err(FetchError::RateLimited {
                retry_after: Some(after),
                ..
            }) => assert!(after.as_secs() >= 100, "waits for the reset: {after:?}"),
            other => panic!("expected a rate limit, got {other:?}"),
        }
    }
    assert_eq!(standin.hits_on("/dockerhub"), before, "nothing was sent");

    // A 429 that names only the reset waits for it.
    let engine = engine_for(&standin, &[]);
    standin.script(
        "/dockerhub/v2/repositories",
        vec![
            Canned::json(429, json!({ "message": "Too Many Requests" }))
                .header("X-RateLimit-Limit", "180")
                .header("X-RateLimit-Remaining", "0")
                .header("X-RateLimit-Reset", &reset),
        ],
    );
    let outcomes = fetch(&engine, "dockerhub.repo", &["bitnami/redis"]).await;
    match &outcomes[0] {
        Err(FetchError::RateLimited {
            retry_after: Some(after),
            ..
        }) => assert!(after.as_secs() >= 100, "waits for the reset: {after:?}"),
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

/// npm: unscoped packages in one bulk request a period, whose `null` is an unknown
/// package; scoped ones alone, slash as is; a lone package asked for alone; a package
/// with no downloads is not gone; a 429 on the bulk request fails the batch and pauses npm.
#[tokio::test]
async fn npm_packages_in_bulk_scoped_alone_unknown_and_rate_limited() {
    let standin = StandIn::start().await;
    standin.load_fixtures("npm");
    let engine = engine_for(&standin, &[]);

    let packages = ["react", "@types/node", "no-such-package-here", "left-pad"];
    let outcomes = fetch(&engine, "npm.package", &packages).await;
    let react = ok(&outcomes[0]);
    assert_eq!(value(react, "downloads_day"), Some(6_012_345.0));
    assert_eq!(value(react, "downloads_week"), Some(38_456_789.0));
    assert_eq!(value(react, "downloads_month"), Some(161_234_567.0));
    assert_eq!(
        value(ok(&outcomes[1]), "downloads_week"),
        Some(74_810_962.0)
    );
    assert!(gone(&outcomes[2]).contains("no-such-package-here"));
    assert_eq!(
        value(ok(&outcomes[3]), "downloads_month"),
        Some(4_118_903.0)
    );
    let hits = standin.hits();
    for period in ["last-day", "last-week", "last-month"] {
        for path in [
            format!("/npm/downloads/point/{period}/react,no-such-package-here,left-pad"),
            format!("/npm/downloads/point/{period}/@types/node"),
        ] {
            assert_eq!(
                hits.iter().filter(|hit| **hit == path).count(),
                1,
                "{path}: {hits:?}"
            );
        }
    }
    assert_eq!(
        hits.len(),
        6,
        "three bulk requests, three for the scoped one"
    );

    // Alone, an unknown package is the API's 404; metadata says gone after one request.
    let before = standin.hits_on("/npm");
    gone(&fetch(&engine, "npm.package", &["no-such-package-here"]).await[0]);
    assert_gone(&engine, "npm.package", "no-such-package-here").await;
    assert_eq!(standin.hits_on("/npm"), before + 2, "no more periods asked");

    // The title is the name; the link is the package's page.
    let metadata = metadata_of(&engine, "npm.package", "@types/node")
        .await
        .expect("exists");
    assert_eq!(metadata.title, "@types/node");
    assert_eq!(metadata.url, "https://www.npmjs.com/package/@types/node");

    // A package nobody downloaded lately counts zero, it is not gone.
    for period in ["last-day", "last-week", "last-month"] {
        standin.set(
            &format!("npm/downloads/point/{period}/fresh-package"),
            json!({ "downloads": 0, "start": "2026-11-25", "end": "2026-12-01", "package": "fresh-package" }),
        );
    }
    let outcomes = fetch(&engine, "npm.package", &["fresh-package"]).await;
    assert_eq!(value(ok(&outcomes[0]), "downloads_week"), Some(0.0));

    // Not a valid name: refused before asking npm.
    let refused = engine.resolve(&TrackRequest {
        kind: Some("npm.package".parse().expect("a kind")),
        key: Some("JSONStream".into()),
        ..Default::default()
    });
    assert!(
        matches!(refused, Err(TrackError::Invalid(_))),
        "uppercase is not a new package name"
    );

    // npm asks to slow down on the bulk request: the batch fails as rate-limited, the
    // scoped package is not asked for, and npm is left alone until the pause ends.
    standin.script(
        "/npm/downloads/point/last-day/react,left-pad",
        vec![
            Canned::json(429, json!({ "error": "Too Many Requests" })).header("Retry-After", "120"),
        ],
    );
    let provider = engine
        .provider(&"npm.package".parse().expect("a kind"))
        .expect("a provider");
    let sources = ["react", "@types/node", "left-pad"].map(SourceRef::new);
    let before = standin.hits_on("/npm");
    for _ in 0..2 {
        match engine.fetch(provider.as_ref(), &sources).await {
            Err(FetchError::RateLimited {
                retry_after: Some(wait),
                ..
            }) => assert!(wait.as_secs() >= 100, "waits as asked: {wait:?}"),
            other => panic!("expected a rate limit, got {other:?}"),
        }
    }
    assert_eq!(standin.hits_on("/npm"), before + 1, "asked once");
}
