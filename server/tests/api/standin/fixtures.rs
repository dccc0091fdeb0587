//! Payloads shaped like the upstream APIs' documented responses (the examples in each
//! API's reference, with the fields Upcount reads and the ones around them).

use serde_json::{Value, json};

/// HN `/v0/item/{id}.json`: the documented story example.
pub fn hn_story(id: u64, score: u64, descendants: u64) -> Value {
    json!({
        "by": "dhouston",
        "descendants": descendants,
        "id": id,
        "kids": [8952, 9224, 8917, 8884, 8887],
        "score": score,
        "time": 1175714200,
        "title": "My YC app: Dropbox - Throw away your USB drive",
        "type": "story",
        "url": "http://www.getdropbox.com/u/2/screencast.html"
    })
}

/// HN: a deleted comment (what the API answers for deleted items).
pub fn hn_deleted(id: u64) -> Value {
    json!({ "deleted": true, "id": id, "parent": 8863, "time": 1175714300, "type": "comment" })
}

/// HN `/v0/user/{id}.json`: the documented example.
pub fn hn_user(id: &str, karma: u64) -> Value {
    json!({
        "about": "This is a test",
        "created": 1173923446,
        "delay": 0,
        "id": id,
        "karma": karma,
        "submitted": [8265435, 8168423, 8090946]
    })
}

/// GitHub `GET /repos/{owner}/{repo}` (trimmed to the usual top-level fields).
pub fn github_repo(full_name: &str, stars: u64) -> Value {
    let (owner, name) = full_name
        .split_once('/')
        .unwrap_or(("octocat", "Hello-World"));
    json!({
        "id": 1296269,
        "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
        "name": name,
        "full_name": full_name,
        "private": false,
        "owner": {
            "login": owner,
            "id": 1,
            "node_id": "MDQ6VXNlcjE=",
            "avatar_url": "https://github.com/images/error/octocat_happy.gif",
            "html_url": format!("https://github.com/{owner}"),
            "type": "Organization",
            "site_admin": false
        },
        "html_url": format!("https://github.com/{full_name}"),
        "description": "This your first repo!",
        "fork": false,
        "url": format!("https://api.github.com/repos/{full_name}"),
        "homepage": "https://github.com",
        "language": "Rust",
        "forks_count": 9,
        "stargazers_count": stars,
        "watchers_count": stars,
        "size": 108,
        "default_branch": "main",
        "open_issues_count": 17,
        "is_template": false,
        "topics": ["octocat", "atom", "electron", "api"],
        "has_issues": true,
        "archived": false,
        "disabled": false,
        "visibility": "public",
        "pushed_at": "2011-01-26T19:06:43Z",
        "created_at": "2011-01-26T19:01:12Z",
        "updated_at": "2011-01-26T19:14:43Z",
        "forks": 9,
        "open_issues": 17,
        "watchers": stars,
        "network_count": 0,
        "subscribers_count": 42
    })
}

pub fn github_not_found() -> Value {
    json!({
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository",
        "status": "404"
    })
}

pub fn github_rate_limited() -> Value {
    json!({
        "message": "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)",
        "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
    })
}

/// Reddit: the `data` of a `t3` thing.
pub fn reddit_post(id: &str, score: i64, comments: u64) -> Value {
    json!({
        "approved_at_utc": null,
        "subreddit": "rust",
        "selftext": "",
        "author_fullname": "t2_abcd",
        "title": "Announcing Rust 1.95",
        "subreddit_name_prefixed": "r/rust",
        "name": format!("t3_{id}"),
        "upvote_ratio": 0.97,
        "ups": score,
        "score": score,
        "created": 1767225600.0,
        "created_utc": 1767225600.0,
        "num_comments": comments,
        "removed_by_category": null,
        "over_18": false,
        "id": id,
        "author": "steveklabnik",
        "permalink": format!("/r/rust/comments/{id}/announcing_rust_195/"),
        "url": "https://blog.rust-lang.org/",
        "subreddit_subscribers": 350000,
        "is_self": false
    })
}

/// Reddit: a post the moderators removed.
pub fn reddit_removed(id: &str) -> Value {
    let mut post = reddit_post(id, 1, 0);
    post["removed_by_category"] = json!("moderator");
    post["selftext"] = json!("[removed]");
    post
}

/// Reddit `GET /api/info.json`: a Listing of `t3` things.
pub fn reddit_listing(posts: Vec<Value>) -> Value {
    reddit_things(posts.into_iter().map(|data| ("t3".into(), data)).collect())
}

/// Reddit `GET /api/info`: a Listing of things, each with its kind (`t3`, `t1`).
pub fn reddit_things(things: Vec<(String, Value)>) -> Value {
    let children: Vec<Value> = things
        .into_iter()
        .map(|(kind, data)| json!({ "kind": kind, "data": data }))
        .collect();
    json!({
        "kind": "Listing",
        "data": {
            "after": null,
            "dist": children.len(),
            "modhash": "",
            "geo_filter": "",
            "children": children,
            "before": null
        }
    })
}

/// Reddit: the `data` of a `t1` thing (a comment on post `post`).
pub fn reddit_comment(id: &str, post: &str, score: i64) -> Value {
    json!({
        "all_awardings": [],
        "approved_at_utc": null,
        "archived": false,
        "author": "steveklabnik",
        "author_fullname": "t2_abcd",
        "body": "The release notes are worth reading in full this time.",
        "body_html": "&lt;div class=\"md\"&gt;&lt;p&gt;The release notes are worth reading.&lt;/p&gt;\n&lt;/div&gt;",
        "collapsed": false,
        "controversiality": 0,
        "created": 1767229200.0,
        "created_utc": 1767229200.0,
        "distinguished": null,
        "downs": 0,
        "edited": false,
        "id": id,
        "is_submitter": false,
        "link_id": format!("t3_{post}"),
        "name": format!("t1_{id}"),
        "parent_id": format!("t3_{post}"),
        "permalink": format!("/r/rust/comments/{post}/announcing_rust_195/{id}/"),
        "replies": "",
        "score": score,
        "score_hidden": false,
        "stickied": false,
        "subreddit": "rust",
        "subreddit_id": "t5_2s7lj",
        "subreddit_name_prefixed": "r/rust",
        "subreddit_type": "public",
        "ups": score
    })
}

/// Reddit: a comment deleted by its author (`[deleted]`) or removed by the moderators
/// (`[removed]`): the author goes, the score stays.
pub fn reddit_gone_comment(id: &str, post: &str, body: &str) -> Value {
    let mut comment = reddit_comment(id, post, 1);
    comment["author"] = json!("[deleted]");
    comment["body"] = json!(body);
    comment["body_html"] = json!(format!(
        "&lt;div class=\"md\"&gt;&lt;p&gt;{body}&lt;/p&gt;\n&lt;/div&gt;"
    ));
    comment
        .as_object_mut()
        .map(|fields| fields.remove("author_fullname"));
    comment
}

/// Reddit `GET /user/{name}/about`: a `t2`.
pub fn reddit_account(name: &str, link_karma: i64, comment_karma: i64) -> Value {
    json!({
        "kind": "t2",
        "data": {
            "is_employee": false,
            "is_friend": false,
            "awardee_karma": 40,
            "awarder_karma": 2,
            "id": "1w72",
            "verified": true,
            "is_gold": false,
            "is_mod": false,
            "has_verified_email": true,
            "icon_img": "https://www.redditstatic.com/avatars/defaults/v2/avatar_default_3.png",
            "hide_from_robots": false,
            "link_karma": link_karma,
            "comment_karma": comment_karma,
            "total_karma": link_karma + comment_karma + 42,
            "pref_show_snoovatar": false,
            "name": name,
            "created": 1118030400.0,
            "created_utc": 1118030400.0,
            "accept_followers": true,
            "has_subscribed": true,
            "accept_pms": true
        }
    })
}

/// Reddit `GET /user/{name}/about` of a suspended account: its name, no karma.
pub fn reddit_suspended(name: &str) -> Value {
    json!({
        "kind": "t2",
        "data": { "is_suspended": true, "name": name, "is_blocked": false }
    })
}

/// Reddit `POST /api/v1/access_token` (client credentials).
pub fn reddit_token(token: &str, expires_in: u64) -> Value {
    json!({ "access_token": token, "token_type": "bearer", "expires_in": expires_in, "scope": "*" })
}

/// Reddit `GET /r/{name}/about.json`.
pub fn reddit_about(name: &str, subscribers: u64, active: u64) -> Value {
    json!({
        "kind": "t5",
        "data": {
            "display_name": name,
            "title": "The Rust Programming Language",
            "display_name_prefixed": format!("r/{name}"),
            "active_user_count": active,
            "accounts_active": active,
            "subscribers": subscribers,
            "name": "t5_2s7lj",
            "public_description": "A place for all things related to the Rust programming language.",
            "created": 1355288218.0,
            "created_utc": 1355288218.0,
            "url": format!("/r/{name}/"),
            "subreddit_type": "public",
            "over18": false
        }
    })
}

/// YouTube `videos` item with `snippet,statistics`.
pub fn youtube_video(id: &str, views: u64) -> Value {
    json!({
        "kind": "youtube#video",
        "etag": "Bd3XkIEhTYJKKc6Z9Mx9Z2ZlVhI",
        "id": id,
        "snippet": {
            "publishedAt": "2009-10-25T06:57:33Z",
            "channelId": "UCuAXFkgsw1L7xaCfnd5JJOw",
            "title": "Rick Astley - Never Gonna Give You Up (Official Music Video)",
            "description": "The official video for “Never Gonna Give You Up” by Rick Astley.",
            "thumbnails": { "default": { "url": "https://i.ytimg.com/vi/dQw4w9WgXcQ/default.jpg", "width": 120, "height": 90 } },
            "channelTitle": "Rick Astley",
            "tags": ["rick astley", "Never Gonna Give You Up"],
            "categoryId": "10",
            "liveBroadcastContent": "none"
        },
        "statistics": {
            "viewCount": views.to_string(),
            "likeCount": "18000000",
            "favoriteCount": "0",
            "commentCount": "2400000"
        }
    })
}

/// YouTube `channels` item with `snippet,statistics,contentDetails` (the stand-in
/// answers every part it holds).
pub fn youtube_channel(id: &str, handle: &str, subscribers: u64) -> Value {
    let uploads = format!("UU{}", id.get(2..).unwrap_or_default());
    json!({
        "contentDetails": { "relatedPlaylists": { "likes": "", "uploads": uploads } },
        "kind": "youtube#channel",
        "etag": "hAv6JVq3Bl9qkCxCy5AJ3pWbdZU",
        "id": id,
        "snippet": {
            "title": "Rick Astley",
            "description": "Official YouTube channel for Rick Astley.",
            "customUrl": handle,
            "publishedAt": "2015-02-01T16:32:49Z",
            "country": "GB"
        },
        "statistics": {
            "viewCount": "2800000000",
            "subscriberCount": subscribers.to_string(),
            "hiddenSubscriberCount": false,
            "videoCount": "250"
        }
    })
}

/// A YouTube `playlistItems` item with `snippet,contentDetails`: video `video_id` of
/// channel `channel_id`, published at `published` (RFC 3339).
pub fn youtube_playlist_item(
    channel_id: &str,
    video_id: &str,
    title: &str,
    published: &str,
) -> Value {
    let uploads = format!("UU{}", channel_id.get(2..).unwrap_or_default());
    json!({
        "kind": "youtube#playlistItem",
        "etag": "Rs0fJ0mHfYB3cTr6dTXj5n8gqJ4",
        "id": format!("{uploads}.{video_id}"),
        "snippet": {
            "publishedAt": published,
            "channelId": channel_id,
            "title": title,
            "description": "",
            "thumbnails": { "default": { "url": format!("https://i.ytimg.com/vi/{video_id}/default.jpg"), "width": 120, "height": 90 } },
            "channelTitle": "Rick Astley",
            "playlistId": uploads,
            "position": 0,
            "resourceId": { "kind": "youtube#video", "videoId": video_id },
            "videoOwnerChannelTitle": "Rick Astley",
            "videoOwnerChannelId": channel_id
        },
        "contentDetails": { "videoId": video_id, "videoPublishedAt": published }
    })
}

/// YouTube's answer for an unknown playlist.
pub fn youtube_playlist_not_found() -> Value {
    json!({
        "error": {
            "code": 404,
            "message": "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.",
            "errors": [{ "message": "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.", "domain": "youtube.playlistItem", "reason": "playlistNotFound", "location": "playlistId", "locationType": "parameter" }]
        }
    })
}

/// A YouTube list response around `items`.
pub fn youtube_list(kind: &str, items: Vec<Value>) -> Value {
    json!({
        "kind": format!("youtube#{kind}ListResponse"),
        "etag": "5ZdlGRKWzCf0-nXJ7JQtTTvcUQk",
        "pageInfo": { "totalResults": items.len(), "resultsPerPage": items.len() },
        "items": items
    })
}

/// YouTube's error for a missing or wrong key.
pub fn youtube_key_invalid() -> Value {
    json!({
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "errors": [{ "message": "API key not valid. Please pass a valid API key.", "domain": "global", "reason": "badRequest" }],
            "status": "INVALID_ARGUMENT"
        }
    })
}

/// Twitch `POST /oauth2/token` (client credentials).
pub fn twitch_token(token: &str) -> Value {
    json!({ "access_token": token, "expires_in": 5011271, "token_type": "bearer" })
}

pub fn twitch_user(login: &str) -> Value {
    json!({
        "id": "141981764",
        "login": login,
        "display_name": "TwitchDev",
        "type": "",
        "broadcaster_type": "partner",
        "description": "Supporting third-party developers building Twitch integrations.",
        "profile_image_url": "https://static-cdn.jtvnw.net/jtv_user_pictures/8a6381c7-d0c0-4576-b179-38bd5ce1d6af-profile_image-300x300.png",
        "offline_image_url": "https://static-cdn.jtvnw.net/jtv_user_pictures/3f13ab61-ec78-4fe6-8481-8682cb3b0ac2-channel_offline_image-1920x1080.png",
        "view_count": 5980557,
        "created_at": "2016-12-14T20:32:28Z"
    })
}

pub fn twitch_stream(login: &str, viewers: u64) -> Value {
    json!({
        "id": "40952121085",
        "user_id": "101051819",
        "user_login": login,
        "user_name": "Afro",
        "game_id": "32982",
        "game_name": "Grand Theft Auto V",
        "type": "live",
        "title": "Jacob: Digital Den Laptops & Routers | NoPixel | !FemBoy !sponsor",
        "tags": ["English"],
        "viewer_count": viewers,
        "started_at": "2021-03-10T03:18:11Z",
        "language": "en",
        "thumbnail_url": "https://static-cdn.jtvnw.net/previews-ttv/live_user_afro-{width}x{height}.jpg",
        "tag_ids": [],
        "is_mature": false
    })
}

pub fn twitch_clip(id: &str, views: u64) -> Value {
    json!({
        "id": id,
        "url": format!("https://clips.twitch.tv/{id}"),
        "embed_url": format!("https://clips.twitch.tv/embed?clip={id}"),
        "broadcaster_id": "67955580",
        "broadcaster_name": "ChewieMelodies",
        "creator_id": "53834192",
        "creator_name": "BlackNova03",
        "video_id": "205586603",
        "game_id": "488191",
        "language": "en",
        "title": "babymetal",
        "view_count": views,
        "created_at": "2017-11-30T22:34:18Z",
        "thumbnail_url": "https://clips-media-assets.twitch.tv/157589949-preview-480x272.jpg",
        "duration": 60,
        "vod_offset": 480,
        "is_featured": false
    })
}

pub fn twitch_video(id: &str, views: u64) -> Value {
    json!({
        "id": id,
        "stream_id": null,
        "user_id": "141981764",
        "user_login": "twitchdev",
        "user_name": "TwitchDev",
        "title": "Twitch Developers 101",
        "description": "Welcome to Twitch development!",
        "created_at": "2018-11-14T21:30:18Z",
        "published_at": "2018-11-14T22:04:30Z",
        "url": format!("https://www.twitch.tv/videos/{id}"),
        "thumbnail_url": "https://static-cdn.jtvnw.net/cf_vods/d2nvs31859zcd8/twitchdev/335921245/ce0f3a7f-57a3-4152-bc06-0c6610189fb3/thumb/index-0000000000-%{width}x%{height}.jpg",
        "viewable": "public",
        "view_count": views,
        "language": "en",
        "type": "upload",
        "duration": "3m21s",
        "muted_segments": null
    })
}

/// A Helix answer around `data`.
pub fn helix(data: Vec<Value>) -> Value {
    json!({ "data": data, "pagination": {} })
}

/// CoinGecko `/coins/{id}` with the optional parts switched off.
pub fn coingecko_coin(id: &str) -> Value {
    json!({
        "id": id,
        "symbol": "btc",
        "name": "Bitcoin",
        "web_slug": id,
        "asset_platform_id": null,
        "platforms": { "": "" },
        "block_time_in_minutes": 10,
        "hashing_algorithm": "SHA-256",
        "categories": ["Cryptocurrency", "Layer 1 (L1)", "FTX Holdings"],
        "public_notice": null,
        "description": { "en": "Bitcoin is the first successful internet money based on peer-to-peer technology." },
        "links": { "homepage": ["http://www.bitcoin.org", "", ""] },
        "genesis_date": "2009-01-03",
        "last_updated": "2026-11-26T08:00:00.000Z"
    })
}

/// One coin's entry in `/simple/price`.
pub fn coingecko_price(price: f64) -> Value {
    json!({ "usd": price, "usd_market_cap": price * 19_600_000.0, "usd_24h_vol": 31260929299.5248 })
}

/// GitHub `GET /repos/{owner}/{repo}/stargazers/history?per_page=&page=`: weeks newest
/// first (the first holds today, Sunday first), each with `week` (its first day, as a Unix
/// time on even weeks and as an ISO date on odd ones: the API has sent both), `total` and
/// the seven daily gains in `days`; `history` is `{"weeks": N, "per_day": k}` (k stars a
/// day up to today). A page past the end is empty.
pub fn star_history(history: &Value, per_page: usize, page: usize) -> Value {
    use chrono::{Datelike, Days, Utc};
    let weeks = history["weeks"].as_u64().unwrap_or(0) as usize;
    let per_day = history["per_day"].as_u64().unwrap_or(1);
    let today = Utc::now().date_naive();
    let sunday = today - Days::new(u64::from(today.weekday().num_days_from_sunday()));
    let per_page = per_page.clamp(1, 30);
    let first = per_page * page.saturating_sub(1);
    let list: Vec<Value> = (first..(first + per_page).min(weeks))
        .map(|index| {
            let start = sunday - Days::new(7 * index as u64);
            let days: Vec<u64> = (0..7)
                .map(|offset| {
                    if start + Days::new(offset) <= today {
                        per_day
                    } else {
                        0
                    }
                })
                .collect();
            let week = if index % 2 == 0 {
                json!(start.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()))
            } else {
                json!(start.to_string())
            };
            json!({ "week": week, "total": days.iter().sum::<u64>(), "days": days })
        })
        .collect();
    json!(list)
}

/// The stars a [`star_history`] of `weeks` weeks at `per_day` adds up to, to today.
pub fn star_history_total(weeks: u64, per_day: f64) -> f64 {
    use chrono::{Datelike, Utc};
    let today = Utc::now().date_naive();
    let days_this_week = f64::from(today.weekday().num_days_from_sunday() + 1);
    ((weeks - 1) as f64 * 7.0 + days_this_week) * per_day
}

/// npm `GET /downloads/range/{start}:{end}/{package}`: one entry a day of the span, zero
/// before the package's first day; `history` is `{"first_day": "2025-01-01",
/// "per_day": k}`.
pub fn npm_range(history: &Value, package: &str, start: &str, end: &str) -> Value {
    use chrono::{Days, NaiveDate};
    let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let first_day = history["first_day"].as_str().and_then(day);
    let per_day = history["per_day"].as_u64().unwrap_or(1);
    let (Some(start), Some(end), Some(first_day)) = (day(start), day(end), first_day) else {
        return json!({ "error": "invalid date range" });
    };
    let mut downloads = Vec::new();
    let mut current = start;
    while current <= end {
        let count = if current >= first_day { per_day } else { 0 };
        downloads.push(json!({ "downloads": count, "day": current.to_string() }));
        current = current + Days::new(1);
    }
    json!({
        "start": start.to_string(),
        "end": end.to_string(),
        "package": package,
        "downloads": downloads,
    })
}

/// The npm registry's `GET /-/v1/search`: one result per `(name, date of its latest
/// publish)`, shaped as npm answers (scores, flags, links, publisher and maintainers).
pub fn npm_search(packages: &[(&str, &str)], maintainer: &str) -> Value {
    let objects: Vec<Value> = packages
        .iter()
        .map(|(name, date)| {
            json!({
                "downloads": { "monthly": 1200, "weekly": 300 },
                "dependents": 4,
                "updated": date,
                "searchScore": 91.3,
                "package": {
                    "name": name,
                    "keywords": [],
                    "version": "1.0.0",
                    "description": format!("The {name} package"),
                    "sanitized_name": name.replace('@', "").replace('/', "__"),
                    "publisher": { "email": format!("{maintainer}@example.com"), "username": maintainer },
                    "maintainers": [{ "email": format!("{maintainer}@example.com"), "username": maintainer }],
                    "license": "MIT",
                    "date": date,
                    "links": {
                        "homepage": "https://example.com",
                        "npm": format!("https://www.npmjs.com/package/{name}"),
                    },
                },
                "score": {
                    "final": 0.6,
                    "detail": { "quality": 0.8, "popularity": 0.3, "maintenance": 0.9 },
                },
                "flags": { "insecure": 0 },
            })
        })
        .collect();
    json!({
        "objects": objects,
        "total": packages.len(),
        "time": "2026-12-07T10:00:00.000Z",
    })
}

/// Hugging Face: `GET /api/models?author=` items (its default fields).
pub fn huggingface_listed(id: &str, created_at: &str) -> Value {
    json!({
        "_id": "621ffdc036468d709f17434d",
        "id": id,
        "likes": 12,
        "trendingScore": 0,
        "private": false,
        "downloads": 3400,
        "tags": ["transformers", "safetensors", "text-generation", "region:us"],
        "pipeline_tag": "text-generation",
        "library_name": "transformers",
        "createdAt": created_at,
        "modelId": id,
    })
}
