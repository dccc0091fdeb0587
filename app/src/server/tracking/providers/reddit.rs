//! Reddit: posts and comments through `GET /api/info?id=t3_…,t1_…` (up to 100 fullnames a
//! request; the answer is a `Listing` of the things that exist, each of its kind: `t3` a
//! post, `t1` a comment), a subreddit through `GET /r/{name}/about`, a user through `GET
//! /user/{name}/about` (`t2`).
//!
//! Two ways in. With `UPCOUNT_REDDIT_CLIENT_ID` and `UPCOUNT_REDDIT_CLIENT_SECRET`, an app
//! token from the client-credentials grant (`POST /api/v1/access_token` on
//! `www.reddit.com`, the client in HTTP basic auth; `{"access_token": …, "token_type":
//! "bearer", "expires_in": 86400, "scope": "*"}`), cached and taken anew before it expires
//! or on a 401, opens the OAuth API (`oauth.reddit.com`, paths as documented, 100 requests
//! a minute). Without them, the public JSON (`www.reddit.com`, `.json` after each path,
//! about 10 a minute). The answers are the same shapes. Either way every answer carries
//! `X-Ratelimit-Used`, `-Remaining` (a float: `"99.0"`) and `-Reset` (the seconds to the end
//! of the window, not a time), and the service pauses until the reset when none remain.
//! Reddit asks clients for a User-Agent of the form `<platform>:<app id>:<version> (by
//! /u/<account>)`: `UPCOUNT_REDDIT_USER_AGENT`, sent with every request (token requests
//! too) when set.
//!
//! Awkward answers: a removed post keeps its score and says why in
//! `removed_by_category`; a deleted comment reads `"author": "[deleted]", "body":
//! "[deleted]"` (`"[removed]"` when the moderators removed it); a new comment's score may
//! be hidden (`score_hidden`); an unknown subreddit redirects to a search listing; a
//! suspended account answers `{"kind": "t2", "data": {"is_suspended": true, "name": …}}`
//! without its karma; an unknown one 404 `{"message": "Not Found", "error": 404}`.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::prelude::*;
use crate::server::tracking::http::{
    ClientAuth, ClientCredentials, UpstreamResponse, upstream_message,
};

const SITE: &str = "https://www.reddit.com";

const CLIENT_ID: &str = "UPCOUNT_REDDIT_CLIENT_ID";
const CLIENT_SECRET: &str = "UPCOUNT_REDDIT_CLIENT_SECRET";
/// `linux:dev.upcount:1.4.0 (by /u/upcount_ops)`.
const USER_AGENT: &str = "UPCOUNT_REDDIT_USER_AGENT";

/// Reddit's API: the OAuth API with credentials, the public JSON without.
pub const REDDIT: Service = Service::new(&ServiceSpec {
    name: "reddit",
    label: "Reddit",
    default_base_url: Some("https://www.reddit.com"),
    // About 10 a minute for clients without OAuth, 100 with.
    requests_per_minute: 10,
    requests_per_minute_with_credentials: 100,
    credentials: Some(Credentials {
        vars: &[CLIENT_ID, CLIENT_SECRET],
        required: false,
        when_set: "OAuth, 100 requests a minute",
        when_missing: "none: public JSON, 10 requests a minute",
    }),
})
.with_base_url_with_credentials("https://oauth.reddit.com")
.with_settings(&[USER_AGENT]);

/// Reddit's token endpoint, for app tokens.
pub const REDDIT_AUTH: Service = Service::new(&ServiceSpec {
    name: "reddit_auth",
    label: "Reddit",
    default_base_url: Some("https://www.reddit.com"),
    requests_per_minute: 60,
    requests_per_minute_with_credentials: 60,
    credentials: Some(Credentials {
        vars: &[CLIENT_ID, CLIENT_SECRET],
        required: false,
        when_set: "client set: app tokens for the OAuth API",
        when_missing: "none: not used (public JSON)",
    }),
});

/// App tokens: the client in HTTP basic auth, the form holding the grant alone.
const GRANT: ClientCredentials = ClientCredentials {
    service: REDDIT_AUTH,
    path: "/api/v1/access_token",
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    auth: ClientAuth::Basic,
};

pub const MODULE: Module = Module {
    name: "reddit",
    badge: Badge {
        letters: "R",
        name: "Reddit",
        colour: "#ff4500",
    },
    services: &[REDDIT, REDDIT_AUTH],
    // A comment's link is a post's link and more: comments are tried first.
    kinds: || {
        vec![
            Arc::new(Comment),
            Arc::new(Post),
            Arc::new(Subreddit),
            Arc::new(User),
        ]
    },
    containers: || vec![Arc::new(NewPosts), Arc::new(UserPosts)],
};

pub struct Post;
pub struct Comment;
pub struct Subreddit;
pub struct User;
/// A subreddit's new posts, watched (`GET /r/{name}/new`).
pub struct NewPosts;
/// A user's new posts, watched (`GET /user/{name}/submitted?sort=new`).
pub struct UserPosts;

/// Posts a read of a listing asks for.
const LISTING_LIMIT: &str = "25";

/// A Reddit "thing": its kind (`t1` a comment, `t2` an account, `t3` a post, `t5` a
/// subreddit, `Listing`) and its data.
#[derive(Deserialize)]
struct Thing<T> {
    kind: Option<String>,
    data: T,
}

/// A thing's kind alone, read before its data (whose shape depends on it).
#[derive(Deserialize)]
struct Kind {
    kind: Option<String>,
}

/// The data of a `Listing`.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
struct Listing<T> {
    children: Vec<Thing<Each<T>>>,
}

/// The data of a `t3`: a post.
#[derive(Deserialize)]
struct PostData {
    /// Why the post is gone, when it is: `deleted`, `moderator`, `reddit`…
    removed_by_category: Option<String>,
    score: f64,
    upvote_ratio: Option<f64>,
    num_comments: Option<f64>,
    title: Option<String>,
    subreddit: Option<String>,
    /// `/r/rust/comments/1abcde/some_title/`.
    permalink: Option<String>,
    author: Option<String>,
    #[serde(default, deserialize_with = "unix_time")]
    created_utc: Option<DateTime<Utc>>,
}

/// The data of a `t1`: a comment.
#[derive(Deserialize)]
struct CommentData {
    /// Left out or `null` in no documented answer, but a hidden score is no score.
    score: Option<f64>,
    /// A new comment's score, hidden for a while in some subreddits.
    #[serde(default)]
    score_hidden: bool,
    /// `[deleted]` or `[removed]` once it is gone.
    body: Option<String>,
    /// `[deleted]` once the comment (or the account) is gone.
    author: Option<String>,
    subreddit: Option<String>,
    /// `/r/rust/comments/1abcde/some_title/kx9z2ab/`.
    permalink: Option<String>,
    /// The post's title, in the answers that carry it.
    link_title: Option<String>,
    #[serde(default, deserialize_with = "unix_time")]
    created_utc: Option<DateTime<Utc>>,
}

/// The data of a `t5`: a subreddit's `about`.
#[derive(Deserialize)]
struct About {
    /// The name as the subreddit spells it (`rust`, `AskReddit`).
    display_name: Option<String>,
    title: Option<String>,
    #[serde(default, deserialize_with = "unix_time")]
    created_utc: Option<DateTime<Utc>>,
    subscribers: f64,
    active_user_count: Option<f64>,
    /// The older name of `active_user_count`.
    accounts_active: Option<f64>,
}

/// The data of a `t2`: an account's `about` (a suspended one has its name and
/// `is_suspended` only).
#[derive(Deserialize)]
struct Account {
    /// As Reddit spells it (`spez`).
    name: Option<String>,
    #[serde(default)]
    is_suspended: bool,
    total_karma: Option<f64>,
    link_karma: Option<f64>,
    comment_karma: Option<f64>,
    #[serde(default, deserialize_with = "unix_time")]
    created_utc: Option<DateTime<Utc>>,
}

/// The `reason` of a refusal: `private`, `banned`, `quarantined`…
#[derive(Deserialize)]
struct Refusal {
    reason: Option<String>,
}

/// Whether Reddit is reached through the OAuth API (credentials set) or the public JSON.
fn oauth(http: &Upstreams) -> bool {
    http.config().has_credentials(REDDIT)
}

/// The User-Agent Reddit asks of clients, when one is set (else the client's own,
/// `Upcount/…`).
fn user_agent(http: &Upstreams) -> Vec<(String, String)> {
    http.config()
        .setting(USER_AGENT)
        .map(|agent| vec![("User-Agent".to_string(), agent.to_string())])
        .unwrap_or_default()
}

/// The URL of `path` with `params` (and `raw_json=1`: text unescaped) in the way in use:
/// `.json` after the path for the public JSON.
fn endpoint(http: &Upstreams, path: &str, params: &[(&str, &str)]) -> Result<Url, FetchError> {
    let path = if oauth(http) {
        path.to_string()
    } else {
        format!("{path}.json")
    };
    let mut url = http.endpoint(REDDIT, &path)?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        query.append_pair("raw_json", "1");
    }
    Ok(url)
}

/// `GET url` with the User-Agent, and in OAuth mode an app token (taken anew once on a
/// 401).
async fn get(http: &Upstreams, url: Url) -> Result<UpstreamResponse, FetchError> {
    let headers = user_agent(http);
    let request = || {
        let mut request = UpstreamRequest::get(REDDIT, url.clone());
        request.headers.extend(headers.iter().cloned());
        request
    };
    if oauth(http) {
        http.send_with_app_token(&GRANT, &headers, |token| {
            request().secret_header("Authorization", format!("bearer {token}"))
        })
        .await
    } else {
        http.send(&request()).await
    }
}

/// The things of `kind` (`t3`, `t1`) with these ids (without the prefix), by id; missing
/// ids are absent.
async fn info<T: DeserializeOwned>(
    http: &Upstreams,
    kind: &str,
    ids: &[&str],
) -> Result<HashMap<String, Each<T>>, FetchError> {
    let fullnames: Vec<String> = ids.iter().map(|id| format!("{kind}_{id}")).collect();
    let url = endpoint(http, "/api/info", &[("id", &fullnames.join(","))])?;
    let response = http.success(REDDIT, get(http, url).await?, "Reddit")?;
    let listing: Thing<Listing<T>> = response.parse("Reddit")?;
    let things = listing.data.children.into_iter();
    Ok(by_key(
        things
            .filter(|child| child.kind.as_deref() == Some(kind))
            .map(|child| child.data),
    ))
}

/// The one thing of `kind` with id `key`, or `missing(key)`.
async fn one<T: DeserializeOwned>(
    http: &Upstreams,
    kind: &str,
    key: &str,
    missing: fn(&str) -> FetchError,
) -> Result<Each<T>, FetchError> {
    let mut found = info(http, kind, &[key]).await?;
    found.remove(key).ok_or_else(|| missing(key))
}

/// A post missing from the answer.
fn no_post(id: &str) -> FetchError {
    FetchError::Gone(format!("Reddit post {id} does not exist"))
}

/// A comment missing from the answer.
fn no_comment(id: &str) -> FetchError {
    FetchError::Gone(format!("Reddit comment {id} does not exist"))
}

/// `r/rust`, as a tag, when the subreddit is known.
fn subreddit_tag(subreddit: Option<&str>) -> Vec<String> {
    subreddit
        .filter(|name| !name.is_empty())
        .map(|name| vec![format!("r/{name}")])
        .unwrap_or_default()
}

/// A post as readings, or gone when it was removed or deleted.
fn post_readings(id: &str, post: &PostData) -> Result<Readings, FetchError> {
    if let Some(category) = &post.removed_by_category {
        let how = match category.as_str() {
            "deleted" | "author" => "was deleted by its author",
            "moderator" | "automod_filtered" => "was removed by the moderators",
            "reddit" | "anti_evil_ops" | "copyright_takedown" => "was removed by Reddit",
            _ => "was removed",
        };
        return Err(FetchError::Gone(format!("Reddit post {id} {how}")));
    }
    Ok(Readings::of([
        ("score", Some(post.score)),
        ("upvote_ratio", post.upvote_ratio),
        ("comments", post.num_comments),
    ]))
}

/// A comment as readings: gone when deleted or removed, its score missing (with the
/// reason) while Reddit hides it.
fn comment_readings(id: &str, comment: &CommentData) -> Result<Readings, FetchError> {
    if comment.author.as_deref() == Some("[deleted]") {
        let how = match comment.body.as_deref() {
            Some("[deleted]") => Some("was deleted by its author"),
            Some("[removed]") => Some("was removed by the moderators"),
            // The account went; the comment stays.
            _ => None,
        };
        if let Some(how) = how {
            return Err(FetchError::Gone(format!("Reddit comment {id} {how}")));
        }
    }
    let mut readings = Readings::default();
    match comment.score {
        Some(score) if !comment.score_hidden => readings.push("score", score),
        _ => readings.errors.push((
            "score".to_string(),
            "Reddit hides this comment's score for now".to_string(),
        )),
    }
    Ok(readings)
}

#[async_trait]
impl Provider for Post {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "reddit.post",
            label: "Reddit post",
            service: REDDIT,
            examples: &[
                "https://www.reddit.com/r/rust/comments/1abcde/some_title/",
                "https://redd.it/1abcde",
            ],
            metrics: &[
                Metric("score", MetricKind::Gauge, "points"),
                Metric("upvote_ratio", MetricKind::Gauge, "ratio"),
                Metric("comments", MetricKind::Counter, "comments"),
            ],
            batch_size: 100,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let (host, segments) = host_and_segments(url)?;
        // Not `/comments/{post}/{slug}/{comment}`: that is the comment's.
        let id = match (host.as_str(), segments.as_slice()) {
            ("redd.it", [id, ..]) => id,
            ("reddit.com", [r, _, comments, id] | [r, _, comments, id, _])
                if r == "r" && comments == "comments" =>
            {
                id
            }
            ("reddit.com", [comments, id] | [comments, id, _]) if comments == "comments" => id,
            _ => return None,
        };
        self.parse_key(id).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim().trim_start_matches("t3_").to_ascii_lowercase();
        if is_token(&key, 12, |c| c.is_ascii_alphanumeric()) {
            Ok(key)
        } else {
            Err(format!("`{key}` is not a Reddit post id"))
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let found: Each<PostData> = one(http, "t3", &source.key, no_post).await?;
        let post = found.item()?;
        post_readings(&source.key, post)?;
        Ok(Metadata {
            key: source.key.clone(),
            title: post.title.clone().unwrap_or_else(|| "Reddit post".into()),
            url: match &post.permalink {
                Some(permalink) => format!("{SITE}{permalink}"),
                None => format!("{SITE}/comments/{}", source.key),
            },
            author: post.author.clone(),
            published_at: post.created_utc,
            tags: subreddit_tag(post.subreddit.as_deref()),
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let found = info(http, "t3", &keys(sources)).await?;
        Ok(read_each(sources, &found, no_post, post_readings))
    }
}

#[async_trait]
impl Provider for Comment {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "reddit.comment",
            label: "Reddit comment",
            service: REDDIT,
            examples: &[
                "https://www.reddit.com/r/rust/comments/1abcde/some_title/kx9z2ab/",
                "https://www.reddit.com/r/rust/comments/1abcde/comment/kx9z2ab/",
            ],
            metrics: &[Metric("score", MetricKind::Gauge, "points")],
            // Its own `/api/info` call: poll jobs hold one kind each.
            batch_size: 100,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let segments = segments_on(url, "reddit.com")?;
        let rest = match segments.as_slice() {
            [r, _, rest @ ..] if r == "r" => rest,
            rest => rest,
        };
        // `/comments/{post}/{slug}/{comment}/`, and the share links'
        // `/comments/{post}/comment/{comment}/`.
        match rest {
            [comments, _post, _slug, comment, ..] if comments == "comments" => {
                self.parse_key(comment).ok()
            }
            _ => None,
        }
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim().trim_start_matches("t1_").to_ascii_lowercase();
        if is_token(&key, 12, |c| c.is_ascii_alphanumeric()) {
            Ok(key)
        } else {
            Err(format!("`{key}` is not a Reddit comment id"))
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let found: Each<CommentData> = one(http, "t1", &source.key, no_comment).await?;
        let comment = found.item()?;
        comment_readings(&source.key, comment)?;
        let author = comment
            .author
            .clone()
            .filter(|author| author != "[deleted]");
        let by = author
            .as_deref()
            .map_or(String::new(), |name| format!(" by u/{name}"));
        Ok(Metadata {
            key: source.key.clone(),
            title: match &comment.link_title {
                Some(post) => format!("Comment{by} on “{post}”"),
                None => format!("Reddit comment{by}"),
            },
            url: match &comment.permalink {
                Some(permalink) => format!("{SITE}{permalink}"),
                None => format!("{SITE}/comments/{}", source.key),
            },
            author,
            published_at: comment.created_utc,
            tags: subreddit_tag(comment.subreddit.as_deref()),
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let found = info(http, "t1", &keys(sources)).await?;
        Ok(read_each(sources, &found, no_comment, comment_readings))
    }
}

async fn about(http: &Upstreams, name: &str) -> Result<About, FetchError> {
    let what = format!("r/{name}");
    let url = endpoint(http, &format!("/r/{name}/about"), &[])?;
    let response = get(http, url).await?;
    let reason = || {
        serde_json::from_slice::<Refusal>(&response.body)
            .ok()
            .and_then(|refusal| refusal.reason)
    };
    match response.status {
        status if status.is_success() => {}
        StatusCode::NOT_FOUND | StatusCode::GONE => {
            return Err(FetchError::Gone(match reason().as_deref() {
                Some("banned") => format!("{what} is banned"),
                _ => format!("{what} does not exist"),
            }));
        }
        StatusCode::FORBIDDEN => {
            return Err(match reason().as_deref() {
                Some(reason @ ("private" | "quarantined" | "gold_only")) => {
                    FetchError::Gone(format!("{what} is {reason}"))
                }
                _ => http.refusal(REDDIT, &response, &what),
            });
        }
        StatusCode::UNAUTHORIZED => return Err(http.refusal(REDDIT, &response, &what)),
        status => {
            return Err(FetchError::Unavailable(format!(
                "Reddit answered HTTP {} for {what}: {}",
                status.as_u16(),
                upstream_message(&response.body)
            )));
        }
    }
    // An unknown name redirects to a search listing instead of a `t5`: the kind is read
    // first, as the listing's data is no subreddit's.
    let Kind { kind } = response.parse("Reddit")?;
    if kind.as_deref() != Some("t5") {
        return Err(FetchError::Gone(format!("{what} does not exist")));
    }
    let about: Thing<About> = response.parse(&format!("Reddit's {what}"))?;
    Ok(about.data)
}

#[async_trait]
impl Provider for Subreddit {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "reddit.subreddit",
            label: "Subreddit",
            service: REDDIT,
            examples: &["https://www.reddit.com/r/rust/"],
            metrics: &[
                Metric("subscribers", MetricKind::Gauge, "subscribers"),
                Metric("active_users", MetricKind::Gauge, "users"),
            ],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        match segments_on(url, "reddit.com")?.as_slice() {
            [r, name] | [r, name, _] if r == "r" => self.parse_key(name).ok(),
            _ => None,
        }
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key
            .trim()
            .trim_start_matches("r/")
            .trim_start_matches("/r/");
        if is_token(key, 21, |c| c.is_ascii_alphanumeric() || c == '_') && key.len() >= 2 {
            Ok(key.to_ascii_lowercase())
        } else {
            Err(format!("`{key}` is not a subreddit name"))
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let about = about(http, &source.key).await?;
        let name = about.display_name.unwrap_or_else(|| source.key.clone());
        Ok(Metadata {
            key: name.to_ascii_lowercase(),
            title: format!("r/{name}"),
            url: format!("{SITE}/r/{name}/"),
            author: None,
            published_at: about.created_utc,
            tags: about
                .title
                .filter(|title| !title.is_empty())
                .into_iter()
                .collect(),
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let about = about(http, &source.key).await?;
        Ok(Readings::of([
            ("subscribers", Some(about.subscribers)),
            (
                "active_users",
                about.active_user_count.or(about.accounts_active),
            ),
        ]))
    }
}

/// The account `name` (lowercase), or gone when it does not exist or is suspended.
async fn account(http: &Upstreams, name: &str) -> Result<Account, FetchError> {
    let what = format!("Reddit user u/{name}");
    let url = endpoint(http, &format!("/user/{name}/about"), &[])?;
    let response = http.success(REDDIT, get(http, url).await?, &what)?;
    let account: Thing<Account> = response.parse(&what)?;
    if account.kind.as_deref() != Some("t2") {
        return Err(FetchError::Gone(format!("{what} does not exist")));
    }
    if account.data.is_suspended {
        return Err(FetchError::Gone(format!("{what} is suspended")));
    }
    Ok(account.data)
}

/// Path segments of reddit.com that are not accounts.
const NOT_ACCOUNTS: &[&str] = &["me"];

#[async_trait]
impl Provider for User {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "reddit.user",
            label: "Reddit user",
            service: REDDIT,
            examples: &[
                "https://www.reddit.com/user/spez/",
                "https://www.reddit.com/u/spez/submitted/",
            ],
            metrics: &[
                Metric("karma", MetricKind::Gauge, "karma"),
                Metric("link_karma", MetricKind::Gauge, "karma"),
                Metric("comment_karma", MetricKind::Gauge, "karma"),
            ],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        match segments_on(url, "reddit.com")?.as_slice() {
            // The profile and its tabs (`/submitted`, `/comments`, `/overview`).
            [user, name] | [user, name, _] if user == "user" || user == "u" => {
                self.parse_key(name).ok()
            }
            _ => None,
        }
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key
            .trim()
            .trim_start_matches('/')
            .trim_start_matches("u/")
            .trim_start_matches("user/")
            .to_ascii_lowercase();
        let valid = is_token(&key, 20, |c| {
            c.is_ascii_alphanumeric() || c == '_' || c == '-'
        }) && !NOT_ACCOUNTS.contains(&key.as_str());
        if valid {
            Ok(key)
        } else {
            Err(format!("`{key}` is not a Reddit user name"))
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let account = account(http, &source.key).await?;
        let name = account.name.unwrap_or_else(|| source.key.clone());
        Ok(Metadata {
            key: name.to_ascii_lowercase(),
            title: format!("u/{name}"),
            url: format!("{SITE}/user/{name}/"),
            author: Some(name),
            published_at: account.created_utc,
            tags: Vec::new(),
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let account = account(http, &source.key).await?;
        // `total_karma` also counts awards; older answers lack it.
        let karma = account
            .total_karma
            .or(match (account.link_karma, account.comment_karma) {
                (Some(link), Some(comment)) => Some(link + comment),
                _ => None,
            });
        Ok(Readings::of([
            ("karma", karma),
            ("link_karma", account.link_karma),
            ("comment_karma", account.comment_karma),
        ]))
    }
}

/// A subreddit (`r`) or a user (`u`) as a watch follows it, named as Reddit spells it.
fn listed_at(prefix: &str, name: String) -> ContainerInfo {
    let path = if prefix == "u" { "user" } else { prefix };
    ContainerInfo {
        key: name.to_ascii_lowercase(),
        title: format!("{prefix}/{name}"),
        url: format!("{SITE}/{path}/{name}/"),
        config: serde_json::Value::Null,
    }
}

/// The posts of the listing at `path` (newest first), removed ones left out.
async fn posts(
    http: &Upstreams,
    path: &str,
    params: &[(&str, &str)],
    what: &str,
) -> Result<Vec<ContainerItem>, FetchError> {
    let url = endpoint(http, path, params)?;
    let response = http.success(REDDIT, get(http, url).await?, what)?;
    let listing: Thing<Listing<PostData>> = response.parse(what)?;
    Ok(listing
        .data
        .children
        .into_iter()
        .filter(|child| child.kind.as_deref() == Some("t3"))
        .filter_map(|child| {
            let id = child.data.key()?.to_string();
            let post = child.data.into_item().ok()?;
            if post.removed_by_category.is_some() {
                return None;
            }
            let permalink = post.permalink?;
            Some(ContainerItem {
                url: format!("{SITE}{permalink}"),
                title: post.title.unwrap_or_else(|| format!("Post {id}")),
                published_at: post.created_utc,
                score: Some(post.score),
                key: id,
            })
        })
        .collect())
}

#[async_trait]
impl Container for NewPosts {
    fn spec(&self) -> ContainerSpec {
        ContainerSpec {
            kind: "reddit.new_posts",
            label: "Subreddit",
            yields: "posts",
            item_kind: "reddit.post",
            service: REDDIT,
            scored: true,
            examples: &["https://www.reddit.com/r/rust/"],
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        Subreddit.recognise(url)
    }

    async fn describe(&self, http: &Upstreams, key: &str) -> Result<ContainerInfo, FetchError> {
        let key = Subreddit.parse_key(key).map_err(FetchError::Invalid)?;
        let about = about(http, &key).await?;
        Ok(listed_at("r", about.display_name.unwrap_or(key)))
    }

    /// The newest posts, and the day's top ones (with their scores now, for watches that
    /// keep the day's top N): a post may have climbed there after leaving the newest.
    async fn items(
        &self,
        http: &Upstreams,
        container: &ContainerRef,
    ) -> Result<Vec<ContainerItem>, FetchError> {
        let newest = posts(
            http,
            &format!("/r/{}/new", container.key),
            &[("limit", LISTING_LIMIT)],
            &format!("the new posts of r/{}", container.key),
        )
        .await?;
        let top = posts(
            http,
            &format!("/r/{}/top", container.key),
            &[("t", "day"), ("limit", LISTING_LIMIT)],
            &format!("the day's top posts of r/{}", container.key),
        )
        .await?;
        let mut items = newest;
        for post in top {
            match items.iter_mut().find(|item| item.key == post.key) {
                Some(item) => item.score = post.score,
                None => items.push(post),
            }
        }
        items.sort_by_key(|item| std::cmp::Reverse(item.published_at));
        Ok(items)
    }
}

#[async_trait]
impl Container for UserPosts {
    fn spec(&self) -> ContainerSpec {
        ContainerSpec {
            kind: "reddit.user_posts",
            label: "Reddit user",
            yields: "posts",
            item_kind: "reddit.post",
            service: REDDIT,
            scored: true,
            examples: &["https://www.reddit.com/user/spez/"],
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        User.recognise(url)
    }

    async fn describe(&self, http: &Upstreams, key: &str) -> Result<ContainerInfo, FetchError> {
        let key = User.parse_key(key).map_err(FetchError::Invalid)?;
        let account = account(http, &key).await?;
        Ok(listed_at("u", account.name.unwrap_or(key)))
    }

    async fn items(
        &self,
        http: &Upstreams,
        container: &ContainerRef,
    ) -> Result<Vec<ContainerItem>, FetchError> {
        let what = format!("the posts of u/{}", container.key);
        let path = format!("/user/{}/submitted", container.key);
        posts(
            http,
            &path,
            &[("sort", "new"), ("limit", LISTING_LIMIT)],
            &what,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_post_comment_subreddit_and_user_links() {
        assert_recognised(&[
            (
                &Post,
                "https://www.reddit.com/r/rust/comments/1abcde/some_title/",
                Some("1abcde"),
            ),
            (&Post, "https://redd.it/1abcde", Some("1abcde")),
            (
                &Post,
                "https://old.reddit.com/comments/xyz12",
                Some("xyz12"),
            ),
            (
                &Post,
                "https://www.reddit.com/r/rust/comments/1abcde/",
                Some("1abcde"),
            ),
            (&Post, "https://www.reddit.com/r/rust/", None),
            // A comment's permalink is the comment's, in either shape.
            (
                &Post,
                "https://www.reddit.com/r/rust/comments/1abcde/some_title/kx9z2ab/",
                None,
            ),
            (
                &Post,
                "https://www.reddit.com/r/rust/comments/1abcde/comment/kx9z2ab/",
                None,
            ),
            (
                &Comment,
                "https://www.reddit.com/r/rust/comments/1abcde/some_title/kx9z2ab/",
                Some("kx9z2ab"),
            ),
            (
                &Comment,
                "https://www.reddit.com/r/rust/comments/1abcde/comment/KX9Z2AB/?utm_source=share",
                Some("kx9z2ab"),
            ),
            (
                &Comment,
                "https://old.reddit.com/comments/1abcde/_/kx9z2ab?context=3",
                Some("kx9z2ab"),
            ),
            (
                &Comment,
                "https://www.reddit.com/r/rust/comments/1abcde/some_title/",
                None,
            ),
            (
                &Comment,
                "https://www.reddit.com/r/rust/comments/1abcde/",
                None,
            ),
            (&Comment, "https://www.reddit.com/user/spez/comments/", None),
            (&Subreddit, "https://www.reddit.com/r/Rust/", Some("rust")),
            (
                &Subreddit,
                "https://www.reddit.com/r/rust/comments/1abcde/x/",
                None,
            ),
            (&User, "https://www.reddit.com/user/spez/", Some("spez")),
            (&User, "https://www.reddit.com/u/Spez", Some("spez")),
            (
                &User,
                "https://old.reddit.com/user/some_one-2/submitted/",
                Some("some_one-2"),
            ),
            (
                &User,
                "https://www.reddit.com/u/spez/comments/",
                Some("spez"),
            ),
            (&User, "https://www.reddit.com/user/me/", None),
            (
                &User,
                "https://www.reddit.com/user/spez/comments/abc/title/",
                None,
            ),
            (&User, "https://www.reddit.com/r/spez/", None),
            (&User, "https://www.reddit.com/user/", None),
        ]);
        assert_eq!(Comment.parse_key("t1_KX9Z2AB"), Ok("kx9z2ab".into()));
        assert_eq!(User.parse_key("u/Spez"), Ok("spez".into()));
        assert!(User.parse_key("far_too_long_for_reddit_names").is_err());
        assert!(User.parse_key("a b").is_err());
    }

    fn comment(author: &str, body: &str, score_hidden: bool) -> CommentData {
        CommentData {
            score: Some(7.0),
            score_hidden,
            body: Some(body.into()),
            author: Some(author.into()),
            subreddit: Some("rust".into()),
            permalink: None,
            link_title: None,
            created_utc: None,
        }
    }

    #[test]
    fn deleted_and_removed_comments_are_gone_and_hidden_scores_missing() {
        let gone = |outcome: Result<Readings, FetchError>| match outcome {
            Err(FetchError::Gone(message)) => message,
            other => panic!("expected gone, got {other:?}"),
        };
        let read = |data: CommentData| comment_readings("c1", &data);
        assert!(gone(read(comment("[deleted]", "[deleted]", false))).contains("deleted by"));
        assert!(gone(read(comment("[deleted]", "[removed]", false))).contains("moderators"));
        // The account is gone, the comment is not; a body quoting "[removed]" is a body.
        let orphan = read(comment("[deleted]", "Still here", false)).expect("readings");
        assert_eq!(orphan.value_of("score"), Some(7.0));
        let quoting = read(comment("alice", "[removed]", false)).expect("readings");
        assert_eq!(quoting.value_of("score"), Some(7.0));
        let hidden = read(comment("alice", "new", true)).expect("readings");
        assert_eq!(hidden.value_of("score"), None);
        assert!(
            hidden
                .error_of("score")
                .is_some_and(|why| why.contains("hides"))
        );
    }
}
