//! Hacker News, Reddit, YouTube and Twitch against the stand-in: items, users, channels,
//! streams, and what each API answers for the removed and the unknown.

use super::*;

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
