//! Reddit against the stand-in: comments and users (deleted, removed, suspended, unknown),
//! the OAuth API with its app tokens and User-Agent, and the pause when Reddit's window is
//! used up.

use app::server::tracking::providers::reddit::REDDIT;

use super::*;
use crate::standin::test_credential;

const USER_AGENT: &str = "linux:dev.upcount.tests:1.0.0 (by /u/upcount_ops)";

/// A stand-in Reddit knowing a post, a subreddit, comments and users.
async fn reddit_world() -> StandIn {
    let standin = StandIn::start().await;
    standin.set(
        "reddit/post/1abcde",
        fixtures::reddit_post("1abcde", 1234, 56),
    );
    standin.set(
        "reddit/sub/rust",
        fixtures::reddit_about("rust", 350_000, 1_200),
    );
    standin.set(
        "reddit/comment/kx9z2ab",
        fixtures::reddit_comment("kx9z2ab", "1abcde", 321),
    );
    standin.set(
        "reddit/comment/kdel000",
        fixtures::reddit_gone_comment("kdel000", "1abcde", "[deleted]"),
    );
    standin.set(
        "reddit/comment/krem000",
        fixtures::reddit_gone_comment("krem000", "1abcde", "[removed]"),
    );
    standin.set(
        "reddit/user/spez/about",
        fixtures::reddit_account("spez", 182_000, 772_000),
    );
    standin.set(
        "reddit/user/banned_one/about",
        fixtures::reddit_suspended("banned_one"),
    );
    standin
}

/// An engine on the OAuth API: client credentials and a User-Agent set.
fn oauth_engine(standin: &StandIn) -> Arc<Engine> {
    let (id, secret) = (
        test_credential("UPCOUNT_REDDIT_CLIENT_ID"),
        test_credential("UPCOUNT_REDDIT_CLIENT_SECRET"),
    );
    engine_for(
        standin,
        &[
            ("UPCOUNT_REDDIT_CLIENT_ID", id.as_str()),
            ("UPCOUNT_REDDIT_CLIENT_SECRET", secret.as_str()),
            ("UPCOUNT_REDDIT_USER_AGENT", USER_AGENT),
        ],
    )
}

#[tokio::test]
async fn reddit_comments_and_users_deleted_removed_suspended_and_unknown() {
    let standin = reddit_world().await;
    let engine = engine_for(&standin, &[]);

    let comments = ["kx9z2ab", "kdel000", "krem000", "knothere"];
    let outcomes = fetch(&engine, "reddit.comment", &comments).await;
    assert_eq!(standin.hits_on("/reddit/api/info.json"), 1, "one request");
    assert!(
        standin.hits()[0].contains("id=t1_kx9z2ab%2Ct1_kdel000%2Ct1_krem000%2Ct1_knothere"),
        "{:?}",
        standin.hits()
    );
    assert_eq!(value(ok(&outcomes[0]), "score"), Some(321.0));
    assert!(gone(&outcomes[1]).contains("deleted by its author"));
    assert!(gone(&outcomes[2]).contains("removed by the moderators"));
    assert!(gone(&outcomes[3]).contains("does not exist"));
    let metadata = metadata_of_link(
        &engine,
        "https://www.reddit.com/r/rust/comments/1abcde/comment/kx9z2ab/?utm_source=share",
    )
    .await;
    assert_eq!(
        metadata.url,
        "https://www.reddit.com/r/rust/comments/1abcde/announcing_rust_195/kx9z2ab/"
    );
    assert_eq!(metadata.author.as_deref(), Some("steveklabnik"));
    assert_eq!(metadata.tags, ["r/rust"]);

    let outcomes = fetch(&engine, "reddit.user", &["spez"]).await;
    let readings = ok(&outcomes[0]);
    assert_eq!(value(readings, "karma"), Some(954_042.0));
    assert_eq!(value(readings, "link_karma"), Some(182_000.0));
    assert_eq!(value(readings, "comment_karma"), Some(772_000.0));
    assert!(
        standin
            .hits()
            .iter()
            .any(|hit| hit == "/reddit/user/spez/about.json?raw_json=1"),
        "{:?}",
        standin.hits()
    );
    let outcomes = fetch(&engine, "reddit.user", &["banned_one", "nobody_at_all"]).await;
    assert!(gone(&outcomes[0]).contains("suspended"));
    assert!(gone(&outcomes[1]).contains("does not exist"));
    let metadata = metadata_of_link(&engine, "https://www.reddit.com/u/Spez/submitted/").await;
    assert_eq!(
        (metadata.key.as_str(), metadata.title.as_str()),
        ("spez", "u/spez")
    );

    // Without credentials: the public JSON, and the client's own User-Agent.
    assert_eq!(standin.hits_on("/reddit_auth"), 0);
    assert!(
        standin
            .user_agents()
            .iter()
            .all(|agent| agent.starts_with("Upcount/"))
    );
}

#[tokio::test]
async fn reddit_oauth_takes_app_tokens_and_takes_new_ones_in_time() {
    let standin = reddit_world().await;
    let engine = oauth_engine(&standin);
    let tokens = || standin.hits_on("/reddit_auth/api/v1/access_token");

    // The OAuth API's paths (no `.json`), with one app token for every kind.
    let outcomes = fetch(&engine, "reddit.post", &["1abcde"]).await;
    assert_eq!(value(ok(&outcomes[0]), "score"), Some(1234.0));
    let outcomes = fetch(&engine, "reddit.comment", &["kx9z2ab"]).await;
    assert_eq!(value(ok(&outcomes[0]), "score"), Some(321.0));
    let outcomes = fetch(&engine, "reddit.subreddit", &["rust"]).await;
    assert_eq!(value(ok(&outcomes[0]), "subscribers"), Some(350_000.0));
    let outcomes = fetch(&engine, "reddit.user", &["spez"]).await;
    assert_eq!(value(ok(&outcomes[0]), "link_karma"), Some(182_000.0));
    assert_eq!(tokens(), 1, "the token is cached");
    let hits = standin.hits();
    assert!(
        hits.iter()
            .any(|hit| hit == "/reddit/api/info?id=t3_1abcde&raw_json=1"),
        "{hits:?}"
    );
    assert!(
        hits.iter()
            .any(|hit| hit == "/reddit/r/rust/about?raw_json=1")
    );
    assert!(
        hits.iter()
            .all(|hit| !hit.starts_with("/reddit/") || !hit.contains(".json")),
        "{hits:?}"
    );
    let authorizations = standin.headers_on("/reddit/", "authorization");
    assert!(
        authorizations
            .iter()
            .all(|value| value.as_deref() == Some("bearer reddit-token-1")),
        "{authorizations:?}"
    );
    // Every request says who is asking, the token's too.
    let agents = standin.user_agents();
    assert!(agents.iter().all(|agent| agent == USER_AGENT), "{agents:?}");

    // A revoked token: one 401, a new token, and the request again.
    standin.revoke_reddit_token();
    let outcomes = fetch(&engine, "reddit.post", &["1abcde"]).await;
    ok(&outcomes[0]);
    assert_eq!(tokens(), 2);

    // Tokens now live 30 s: the next one is taken as it comes (a 401 first), and then
    // again before each request, as it expires within the minute Upcount keeps in hand.
    standin.set_reddit_token_lifetime(30);
    standin.revoke_reddit_token();
    ok(&fetch(&engine, "reddit.post", &["1abcde"]).await[0]);
    assert_eq!(tokens(), 3);
    let api_before = standin.hits_on("/reddit/api/info");
    ok(&fetch(&engine, "reddit.post", &["1abcde"]).await[0]);
    assert_eq!(tokens(), 4, "a new token before the old one expires");
    assert_eq!(
        standin.hits_on("/reddit/api/info") - api_before,
        1,
        "no 401 on the way"
    );

    // Refused client credentials say so.
    let wrong = engine_for(
        &standin,
        &[
            ("UPCOUNT_REDDIT_CLIENT_ID", "someone"),
            ("UPCOUNT_REDDIT_CLIENT_SECRET", "wrong"),
        ],
    );
    match metadata_of(&wrong, "reddit.subreddit", "rust").await {
        Err(FetchError::NotConfigured(message)) => {
            assert!(
                message.contains("Reddit refused the client credentials (HTTP 401)"),
                "{message}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn reddit_pauses_until_its_window_resets() {
    let standin = reddit_world().await;
    let engine = engine_for(&standin, &[]);
    let window = |remaining: &str| {
        Canned::json(200, fixtures::reddit_about("rust", 350_000, 1_200))
            .header("x-ratelimit-used", "3")
            .header("x-ratelimit-remaining", remaining)
            .header("x-ratelimit-reset", "42")
    };
    let paused_for = || {
        engine
            .http()
            .rate_states()
            .into_iter()
            .find(|(service, _)| *service == REDDIT)
            .and_then(|(_, state)| state.paused_until)
            .map(|until| until.saturating_duration_since(std::time::Instant::now()))
    };

    // Requests left (a float, as Reddit counts): no pause.
    standin.script("/reddit/r/rust/about.json", vec![window("97.0")]);
    ok(&fetch(&engine, "reddit.subreddit", &["rust"]).await[0]);
    assert_eq!(paused_for(), None);

    // None left: Reddit waits the 42 s to the end of its window (seconds, not a time).
    standin.script("/reddit/r/rust/about.json", vec![window("0.0")]);
    ok(&fetch(&engine, "reddit.subreddit", &["rust"]).await[0]);
    let pause = paused_for().expect("paused");
    assert!(
        (35..=42).contains(&pause.as_secs()),
        "until the reset: {pause:?}"
    );
    let before = standin.hits().len();
    match metadata_of(&engine, "reddit.user", "spez").await {
        Err(FetchError::RateLimited {
            retry_after: Some(wait),
            ..
        }) => assert!(wait.as_secs() >= 35, "{wait:?}"),
        other => panic!("expected rate-limited, got {other:?}"),
    }
    assert_eq!(standin.hits().len(), before, "nothing sent while paused");
}
