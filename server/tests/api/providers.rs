//! Every provider against the stand-in upstream, through the real engine and reqwest
//! client: the normal answer and the awkward ones each API documents.

use std::sync::Arc;

use app::server::tracking::{
    Engine, FetchError, Metadata, Readings, SourceRef,
    engine::{Resolved, TrackError, TrackRequest},
};
use serde_json::json;

use crate::{
    helpers::settings,
    standin::{Canned, StandIn, fixtures},
};

pub(crate) fn engine_for(standin: &StandIn, extra: &[(&str, &str)]) -> Arc<Engine> {
    let env = standin.env();
    let mut vars: Vec<(&str, &str)> = env
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    vars.push(("DATABASE_URL", "postgres://nobody@127.0.0.1:1/unused"));
    vars.extend_from_slice(extra);
    upcount::startup::engine(&settings(&vars)).expect("an engine")
}

/// The outcome for each of `keys`, fetched as one batch by the provider of `kind`.
async fn fetch(engine: &Engine, kind: &str, keys: &[&str]) -> Vec<Result<Readings, FetchError>> {
    let provider = engine
        .provider(&kind.parse().expect("a kind"))
        .expect("a provider");
    let sources: Vec<SourceRef> = keys.iter().map(|key| SourceRef::new(*key)).collect();
    engine
        .fetch(provider.as_ref(), &sources)
        .await
        .expect("fetch")
}

/// The metadata of `key` from the provider of `kind`.
async fn metadata_of(engine: &Engine, kind: &str, key: &str) -> Result<Metadata, FetchError> {
    let provider = engine
        .provider(&kind.parse().expect("a kind"))
        .expect("a provider");
    engine
        .metadata(provider.as_ref(), &SourceRef::new(key))
        .await
}

/// Checks that the provider of `kind` finds no `key`.
async fn assert_gone(engine: &Engine, kind: &str, key: &str) {
    let error = metadata_of(engine, kind, key).await.expect_err(key);
    assert!(
        matches!(error, FetchError::Gone(_)),
        "{kind} {key}: {error:?}"
    );
}

/// The metadata of what the link `url` names, which must exist.
async fn metadata_of_link(engine: &Engine, url: &str) -> Metadata {
    let resolved = engine
        .resolve(&TrackRequest {
            url: Some(url.into()),
            ..Default::default()
        })
        .expect("recognised");
    engine
        .metadata(resolved.provider.as_ref(), &resolved.source)
        .await
        .expect("exists")
}

/// The outcome of fetching the one source `resolved` names.
async fn fetch_resolved(engine: &Engine, resolved: &Resolved) -> Result<Readings, FetchError> {
    let mut outcomes = engine
        .fetch(
            resolved.provider.as_ref(),
            std::slice::from_ref(&resolved.source),
        )
        .await
        .expect("fetch");
    outcomes.remove(0)
}

fn value(readings: &Readings, name: &str) -> Option<f64> {
    readings
        .values
        .iter()
        .find(|(candidate, _)| candidate == name)
        .map(|(_, value)| *value)
}

fn ok(outcome: &Result<Readings, FetchError>) -> &Readings {
    outcome
        .as_ref()
        .unwrap_or_else(|error| panic!("expected readings, got {error:?}"))
}

fn gone(outcome: &Result<Readings, FetchError>) -> String {
    match outcome {
        Err(FetchError::Gone(message)) => message.clone(),
        other => panic!("expected gone, got {other:?}"),
    }
}

/// The reason of a fetch refused before connecting.
fn refusal(outcome: &Result<Readings, FetchError>) -> String {
    match outcome {
        Err(FetchError::Refused(message)) => message.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn hacker_news_items_users_deleted_and_unknown() {
    let standin = StandIn::start().await;
    standin.set("hn/item/8863", fixtures::hn_story(8863, 111, 71));
    standin.set("hn/item/8864", fixtures::hn_deleted(8864));
    standin.set("hn/user/jl", fixtures::hn_user("jl", 2937));
    let engine = engine_for(&standin, &[]);

    let metadata = metadata_of(&engine, "hackernews.item", "8863")
        .await
        .expect("metadata");
    assert_eq!(
        metadata.title,
        "My YC app: Dropbox - Throw away your USB drive"
    );
    assert_eq!(metadata.author.as_deref(), Some("dhouston"));
    assert_eq!(metadata.url, "https://news.ycombinator.com/item?id=8863");

    let outcomes = fetch(&engine, "hackernews.item", &["8863", "8864", "999999"]).await;
    assert_eq!(value(ok(&outcomes[0]), "score"), Some(111.0));
    assert_eq!(value(ok(&outcomes[0]), "comments"), Some(71.0));
    assert!(gone(&outcomes[1]).contains("deleted"));
    assert!(gone(&outcomes[2]).contains("does not exist"));

    let outcomes = fetch(&engine, "hackernews.user", &["jl", "nobody"]).await;
    assert_eq!(value(ok(&outcomes[0]), "karma"), Some(2937.0));
    gone(&outcomes[1]);
}

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
async fn reddit_posts_in_one_request_removed_and_missing() {
    let standin = StandIn::start().await;
    standin.set(
        "reddit/post/1abcde",
        fixtures::reddit_post("1abcde", 1234, 56),
    );
    standin.set("reddit/post/1gone0", fixtures::reddit_removed("1gone0"));
    standin.set(
        "reddit/sub/rust",
        fixtures::reddit_about("rust", 350_000, 1_200),
    );
    let engine = engine_for(&standin, &[]);

    let outcomes = fetch(&engine, "reddit.post", &["1abcde", "1gone0", "zzzzzz"]).await;
    assert_eq!(
        standin.hits_on("/reddit/api/info.json"),
        1,
        "one request for the batch"
    );
    assert!(
        standin.hits()[0].contains("id=t3_1abcde%2Ct3_1gone0%2Ct3_zzzzzz"),
        "{:?}",
        standin.hits()
    );
    let readings = ok(&outcomes[0]);
    assert_eq!(value(readings, "score"), Some(1234.0));
    assert_eq!(value(readings, "upvote_ratio"), Some(0.97));
    assert_eq!(value(readings, "comments"), Some(56.0));
    assert!(gone(&outcomes[1]).contains("removed by the moderators"));
    assert!(gone(&outcomes[2]).contains("does not exist"));

    let outcomes = fetch(&engine, "reddit.subreddit", &["rust", "doesnotexist"]).await;
    assert_eq!(value(ok(&outcomes[0]), "subscribers"), Some(350_000.0));
    assert_eq!(value(ok(&outcomes[0]), "active_users"), Some(1_200.0));
    gone(&outcomes[1]);

    // An empty listing for the one post asked for.
    assert_gone(&engine, "reddit.post", "nothere").await;
}

#[tokio::test]
async fn youtube_videos_channels_handles_and_unknown_ids() {
    let standin = StandIn::start().await;
    for (id, views) in [
        ("dQw4w9WgXcQ", 1_600_000_000),
        ("9bZkp7q19f0", 5_000_000_000),
    ] {
        standin.set(
            &format!("youtube/video/{id}"),
            fixtures::youtube_video(id, views),
        );
    }
    let channel_id = "UCuAXFkgsw1L7xaCfnd5JJOw";
    standin.set(
        &format!("youtube/channel/{channel_id}"),
        fixtures::youtube_channel(channel_id, "@rickastleyyt", 4_200_000),
    );
    standin.set("youtube/handle/@rickastleyyt", json!(channel_id));
    let engine = engine_for(&standin, &[]);

    let videos = ["dQw4w9WgXcQ", "9bZkp7q19f0", "AAAAAAAAAAA"];
    let outcomes = fetch(&engine, "youtube.video", &videos).await;
    assert_eq!(
        standin.hits_on("/youtube/youtube/v3/videos"),
        1,
        "one request for up to 50 ids"
    );
    assert_eq!(value(ok(&outcomes[0]), "views"), Some(1_600_000_000.0));
    assert_eq!(value(ok(&outcomes[0]), "likes"), Some(18_000_000.0));
    assert_eq!(value(ok(&outcomes[1]), "views"), Some(5_000_000_000.0));
    gone(&outcomes[2]);

    let metadata = metadata_of_link(&engine, "https://www.youtube.com/@rickastleyyt").await;
    assert_eq!(
        metadata.key, channel_id,
        "the handle becomes the channel id"
    );
    let outcomes = fetch(&engine, "youtube.channel", &[channel_id]).await;
    assert_eq!(value(ok(&outcomes[0]), "subscribers"), Some(4_200_000.0));
    assert_eq!(value(ok(&outcomes[0]), "videos"), Some(250.0));

    // Without a key the server says so when the tracker is added.
    let keyless = engine_for(&standin, &[("UPCOUNT_YOUTUBE_API_KEY", "")]);
    let error = keyless
        .resolve(&TrackRequest {
            url: Some("https://youtu.be/dQw4w9WgXcQ".into()),
            ..Default::default()
        })
        .err()
        .expect("needs a key");
    assert!(
        matches!(error, TrackError::NotConfigured(ref message) if message.contains("UPCOUNT_YOUTUBE_API_KEY")),
        "{error:?}"
    );
}

#[tokio::test]
async fn twitch_streams_offline_clips_videos_and_token_refresh() {
    let standin = StandIn::start().await;
    standin.set("twitch/user/twitchdev", fixtures::twitch_user("twitchdev"));
    standin.set("twitch/stream/afro", fixtures::twitch_stream("afro", 1490));
    standin.set(
        "twitch/clip/AwkwardHelplessSalamanderSwiftRage",
        fixtures::twitch_clip("AwkwardHelplessSalamanderSwiftRage", 10),
    );
    standin.set(
        "twitch/video/335921245",
        fixtures::twitch_video("335921245", 1_863_062),
    );
    let engine = engine_for(&standin, &[]);

    let outcomes = fetch(&engine, "twitch.stream", &["afro", "twitchdev"]).await;
    assert_eq!(value(ok(&outcomes[0]), "viewers"), Some(1490.0));
    assert_eq!(value(ok(&outcomes[0]), "live"), Some(1.0));
    assert_eq!(
        value(ok(&outcomes[1]), "viewers"),
        Some(0.0),
        "offline: empty data"
    );
    assert_eq!(value(ok(&outcomes[1]), "live"), Some(0.0));
    assert!(
        standin
            .hits()
            .iter()
            .any(|hit| hit.contains("user_login=afro&user_login=twitchdev"))
    );

    let outcomes = fetch(
        &engine,
        "twitch.clip",
        &["AwkwardHelplessSalamanderSwiftRage", "NoSuchClip"],
    )
    .await;
    assert_eq!(value(ok(&outcomes[0]), "views"), Some(10.0));
    gone(&outcomes[1]);
    let outcomes = fetch(&engine, "twitch.video", &["335921245"]).await;
    assert_eq!(value(ok(&outcomes[0]), "views"), Some(1_863_062.0));
    let outcomes = fetch(&engine, "twitch.video", &["1"]).await;
    gone(&outcomes[0]);
    assert_eq!(
        standin.hits_on("/twitch_auth/oauth2/token"),
        1,
        "the app token is cached"
    );

    // A revoked token: one 401, one new token, and the call goes through.
    standin.revoke_twitch_token();
    let metadata = metadata_of(&engine, "twitch.stream", "twitchdev")
        .await
        .expect("metadata");
    assert_eq!(metadata.title, "TwitchDev");
    assert_eq!(standin.hits_on("/twitch_auth/oauth2/token"), 2);
    assert_gone(&engine, "twitch.stream", "nosuchuser").await;
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
