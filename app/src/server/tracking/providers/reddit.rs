//! Reddit through its public JSON endpoints: `GET /api/info.json?id=t3_…` for up to 100
//! posts at once, and `GET /r/{name}/about.json` for a subreddit.

use std::collections::HashMap;

use reqwest::StatusCode;

use super::prelude::*;
use crate::server::tracking::http::upstream_message;

const SITE: &str = "https://www.reddit.com";

/// Reddit's API.
pub const REDDIT: Service = Service::new(&ServiceSpec {
    name: "reddit",
    label: "Reddit",
    default_base_url: Some("https://www.reddit.com"),
    // About 10 a minute for clients without OAuth.
    requests_per_minute: 10,
    requests_per_minute_with_credentials: 10,
    credentials: None,
});

pub const MODULE: Module = Module {
    name: "reddit",
    badge: Badge {
        letters: "R",
        name: "Reddit",
        colour: "#ff4500",
    },
    services: &[REDDIT],
    kinds: || vec![Arc::new(Post), Arc::new(Subreddit)],
};

pub struct Post;
pub struct Subreddit;

/// A Reddit "thing": its kind (`t3` a post, `t5` a subreddit, `Listing`) and its data.
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
struct Listing {
    children: Vec<Thing<Each<PostData>>>,
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

/// The `reason` of a refusal: `private`, `banned`, `quarantined`…
#[derive(Deserialize)]
struct Refusal {
    reason: Option<String>,
}

/// The posts with these ids, by id; missing ids are absent.
async fn posts(
    http: &Upstreams,
    ids: &[&str],
) -> Result<HashMap<String, Each<PostData>>, FetchError> {
    let mut url = http.endpoint(REDDIT, "/api/info.json")?;
    let fullnames: Vec<String> = ids.iter().map(|id| format!("t3_{id}")).collect();
    url.query_pairs_mut()
        .append_pair("id", &fullnames.join(","))
        .append_pair("raw_json", "1");
    let listing: Thing<Listing> = http
        .get(&UpstreamRequest::get(REDDIT, url), "Reddit")
        .await?;
    let posts = listing.data.children.into_iter();
    Ok(by_key(
        posts
            .filter(|child| child.kind.as_deref() == Some("t3"))
            .map(|child| child.data),
    ))
}

/// A post missing from the answer.
fn no_post(id: &str) -> FetchError {
    FetchError::Gone(format!("Reddit post {id} does not exist"))
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
        let id = match (host.as_str(), segments.as_slice()) {
            ("redd.it", [id, ..]) => id,
            ("reddit.com", [r, _, comments, id, ..]) if r == "r" && comments == "comments" => id,
            ("reddit.com", [comments, id, ..]) if comments == "comments" => id,
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
        let found = posts(http, &[source.key.as_str()]).await?;
        let post = found
            .get(&source.key)
            .ok_or_else(|| no_post(&source.key))?
            .item()?;
        post_readings(&source.key, post)?;
        let subreddit = post.subreddit.as_deref().unwrap_or_default();
        Ok(Metadata {
            key: source.key.clone(),
            title: post.title.clone().unwrap_or_else(|| "Reddit post".into()),
            url: match &post.permalink {
                Some(permalink) => format!("{SITE}{permalink}"),
                None => format!("{SITE}/comments/{}", source.key),
            },
            author: post.author.clone(),
            published_at: post.created_utc,
            tags: if subreddit.is_empty() {
                vec![]
            } else {
                vec![format!("r/{subreddit}")]
            },
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let found = posts(http, &keys(sources)).await?;
        Ok(read_each(sources, &found, no_post, post_readings))
    }
}

async fn about(http: &Upstreams, name: &str) -> Result<About, FetchError> {
    let what = format!("r/{name}");
    let mut url = http.endpoint(REDDIT, &format!("/r/{name}/about.json"))?;
    url.query_pairs_mut().append_pair("raw_json", "1");
    let response = http.send(&UpstreamRequest::get(REDDIT, url)).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_post_and_subreddit_urls() {
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
            (&Post, "https://www.reddit.com/r/rust/", None),
            (&Subreddit, "https://www.reddit.com/r/Rust/", Some("rust")),
            (
                &Subreddit,
                "https://www.reddit.com/r/rust/comments/1abcde/x/",
                None,
            ),
        ]);
    }
}
