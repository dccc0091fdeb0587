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

/// The posts with these ids, by id; missing ids are absent.
async fn posts(
    http: &Upstreams,
    ids: &[&str],
) -> Result<HashMap<String, serde_json::Value>, FetchError> {
    let mut url = http.endpoint(REDDIT, "/api/info.json")?;
    let fullnames: Vec<String> = ids.iter().map(|id| format!("t3_{id}")).collect();
    url.query_pairs_mut()
        .append_pair("id", &fullnames.join(","))
        .append_pair("raw_json", "1");
    let json = http
        .get_json(&UpstreamRequest::get(REDDIT, url), "Reddit")
        .await?;
    let children = json["data"]["children"]
        .as_array()
        .ok_or_else(|| missing("listing of posts", &json))?;
    let posts = children.iter().filter(|child| child["kind"] == "t3");
    Ok(by_key(posts.map(|child| child["data"].clone()), |data| {
        text(&data["id"])
    }))
}

/// A post missing from the answer.
fn no_post(id: &str) -> FetchError {
    FetchError::Gone(format!("Reddit post {id} does not exist"))
}

/// A post as readings, or gone when it was removed or deleted.
fn post_readings(id: &str, data: &serde_json::Value) -> Result<Readings, FetchError> {
    if let Some(category) = data["removed_by_category"].as_str() {
        let how = match category {
            "deleted" | "author" => "was deleted by its author",
            "moderator" | "automod_filtered" => "was removed by the moderators",
            "reddit" | "anti_evil_ops" | "copyright_takedown" => "was removed by Reddit",
            _ => "was removed",
        };
        return Err(FetchError::Gone(format!("Reddit post {id} {how}")));
    }
    Ok(Readings::of([
        ("score", Some(required(data, "score")?)),
        ("upvote_ratio", number(&data["upvote_ratio"])),
        ("comments", number(&data["num_comments"])),
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
        let data = found.get(&source.key).ok_or_else(|| no_post(&source.key))?;
        post_readings(&source.key, data)?;
        let subreddit = data["subreddit"].as_str().unwrap_or_default();
        Ok(Metadata {
            key: source.key.clone(),
            title: data["title"].as_str().unwrap_or("Reddit post").to_string(),
            url: data["permalink"]
                .as_str()
                .map(|permalink| format!("{SITE}{permalink}"))
                .unwrap_or_else(|| format!("{SITE}/comments/{}", source.key)),
            author: text(&data["author"]),
            published_at: unix_time(&data["created_utc"]),
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
        Ok(read_each(
            sources,
            |key| found.get(key),
            no_post,
            post_readings,
        ))
    }
}

async fn about(http: &Upstreams, name: &str) -> Result<serde_json::Value, FetchError> {
    let what = format!("r/{name}");
    let mut url = http.endpoint(REDDIT, &format!("/r/{name}/about.json"))?;
    url.query_pairs_mut().append_pair("raw_json", "1");
    let response = http.send(&UpstreamRequest::get(REDDIT, url)).await?;
    let reason = || {
        serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|json| json["reason"].as_str().map(str::to_string))
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
    let json = response.json("Reddit")?;
    // An unknown name redirects to a search listing instead of a `t5`.
    if json["kind"] != "t5" {
        return Err(FetchError::Gone(format!("{what} does not exist")));
    }
    Ok(json["data"].clone())
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
        let data = about(http, &source.key).await?;
        let name = data["display_name"]
            .as_str()
            .unwrap_or(&source.key)
            .to_string();
        Ok(Metadata {
            key: name.to_ascii_lowercase(),
            title: format!("r/{name}"),
            url: format!("{SITE}/r/{name}/"),
            author: None,
            published_at: unix_time(&data["created_utc"]),
            tags: data["title"]
                .as_str()
                .filter(|title| !title.is_empty())
                .map(|title| vec![title.to_string()])
                .unwrap_or_default(),
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let data = about(http, &source.key).await?;
        Ok(Readings::of([
            ("subscribers", Some(required(&data, "subscribers")?)),
            (
                "active_users",
                number(&data["active_user_count"]).or_else(|| number(&data["accounts_active"])),
            ),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_post_and_subreddit_urls() {
        let url = |text: &str| Url::parse(text).expect("url");
        assert_eq!(
            Post.recognise(&url(
                "https://www.reddit.com/r/rust/comments/1abcde/some_title/"
            )),
            Some("1abcde".into())
        );
        assert_eq!(
            Post.recognise(&url("https://redd.it/1abcde")),
            Some("1abcde".into())
        );
        assert_eq!(
            Post.recognise(&url("https://old.reddit.com/comments/xyz12")),
            Some("xyz12".into())
        );
        assert_eq!(Post.recognise(&url("https://www.reddit.com/r/rust/")), None);
        assert_eq!(
            Subreddit.recognise(&url("https://www.reddit.com/r/Rust/")),
            Some("rust".into())
        );
        assert_eq!(
            Subreddit.recognise(&url("https://www.reddit.com/r/rust/comments/1abcde/x/")),
            None
        );
    }
}
