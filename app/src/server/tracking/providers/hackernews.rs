//! Hacker News through its Firebase API: `/v0/item/{id}.json` and `/v0/user/{id}.json`.
//! Unknown ids answer `null`; deleted and dead items are gone.

use super::prelude::*;

const SITE: &str = "https://news.ycombinator.com";

/// Hacker News's API.
pub const HACKER_NEWS: Service = Service::new(&ServiceSpec {
    name: "hackernews",
    label: "Hacker News",
    default_base_url: Some("https://hacker-news.firebaseio.com"),
    // No published limit; be a good citizen.
    requests_per_minute: 600,
    requests_per_minute_with_credentials: 600,
    credentials: None,
});

pub const MODULE: Module = Module {
    name: "hackernews",
    badge: Badge {
        letters: "HN",
        name: "Hacker News",
        colour: "#ff6600",
    },
    services: &[HACKER_NEWS],
    kinds: || vec![Arc::new(Item), Arc::new(User)],
    containers: || vec![Arc::new(Stories)],
};

pub struct Item;
pub struct User;
/// A user's stories, watched: the newest of `submitted` that are stories.
pub struct Stories;

/// How many of a user's newest submissions a read looks at (each one is a request).
const NEWEST_SUBMISSIONS: usize = 10;

/// `/v0/item/{id}.json`: a story, comment, job, poll or poll option. Every field but `id`
/// may be missing (a deleted item keeps hardly any).
#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    deleted: bool,
    /// Flagged or killed.
    #[serde(default)]
    dead: bool,
    #[serde(rename = "type")]
    kind: Option<String>,
    title: Option<String>,
    /// A comment's (or an Ask HN's) text, in HTML.
    text: Option<String>,
    by: Option<String>,
    #[serde(default, deserialize_with = "unix_time")]
    time: Option<DateTime<Utc>>,
    score: Option<f64>,
    /// Stories and polls count all their comments here.
    descendants: Option<f64>,
    /// The direct replies; absent when there are none.
    kids: Option<Vec<u64>>,
}

/// `/v0/user/{id}.json`.
#[derive(Deserialize)]
struct Profile {
    /// The name as the site spells it (case-sensitive).
    id: Option<String>,
    #[serde(default, deserialize_with = "unix_time")]
    created: Option<DateTime<Utc>>,
    karma: f64,
    /// Stories, polls and comments, newest first.
    #[serde(default)]
    submitted: Vec<u64>,
}

/// The thing at `path`; gone when the API answers `null` (how it says "unknown id").
async fn get<T: serde::de::DeserializeOwned>(
    http: &Upstreams,
    path: &str,
    what: &str,
) -> Result<T, FetchError> {
    let url = http.endpoint(HACKER_NEWS, path)?;
    let thing: Option<T> = http
        .get(&UpstreamRequest::get(HACKER_NEWS, url), what)
        .await?;
    thing.ok_or_else(|| FetchError::Gone(format!("{what} does not exist")))
}

/// The `id` of a link to `path` on the site (`/item?id=8863`).
fn id_in(url: &Url, path: &str) -> Option<String> {
    if bare_host(url)? != "news.ycombinator.com" || url.path() != path {
        return None;
    }
    query_param(url, "id")
}

async fn user(http: &Upstreams, id: &str) -> Result<Profile, FetchError> {
    let what = format!("Hacker News user {id}");
    get(http, &format!("/v0/user/{id}.json"), &what).await
}

/// An item; gone when it is unknown, deleted or dead.
async fn item(http: &Upstreams, id: &str) -> Result<Entry, FetchError> {
    let what = format!("Hacker News item {id}");
    let item: Entry = get(http, &format!("/v0/item/{id}.json"), &what).await?;
    if item.deleted {
        return Err(FetchError::Gone(format!("{what} was deleted")));
    }
    if item.dead {
        return Err(FetchError::Gone(format!(
            "{what} is dead (flagged or killed)"
        )));
    }
    Ok(item)
}

#[async_trait]
impl Provider for Item {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "hackernews.item",
            label: "Hacker News post",
            service: HACKER_NEWS,
            examples: &["https://news.ycombinator.com/item?id=8863"],
            metrics: &[
                Metric("score", MetricKind::Gauge, "points"),
                Metric("comments", MetricKind::Counter, "comments"),
            ],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        self.parse_key(&id_in(url, "/item")?).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        match key.parse::<u64>() {
            Ok(id) if id > 0 => Ok(id.to_string()),
            _ => Err(format!("`{key}` is not a Hacker News item id (a number)")),
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let item = item(http, &source.key).await?;
        let kind = item.kind.unwrap_or_else(|| "item".into());
        let title = item
            .title
            .or_else(|| item.text.map(|text| text.chars().take(80).collect()))
            .unwrap_or_else(|| format!("Hacker News {kind} {}", source.key));
        Ok(Metadata {
            key: source.key.clone(),
            title,
            url: format!("{SITE}/item?id={}", source.key),
            author: item.by,
            published_at: item.time,
            tags: vec![kind],
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let item = item(http, &source.key).await?;
        Ok(Readings::of([
            ("score", item.score),
            // Stories and polls count their comments in `descendants`.
            (
                "comments",
                item.descendants
                    .or_else(|| item.kids.map(|kids| kids.len() as f64)),
            ),
        ]))
    }
}

#[async_trait]
impl Provider for User {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "hackernews.user",
            label: "Hacker News user",
            service: HACKER_NEWS,
            examples: &["https://news.ycombinator.com/user?id=pg"],
            metrics: &[Metric("karma", MetricKind::Gauge, "karma")],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        self.parse_key(&id_in(url, "/user")?).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        if is_token(key, 32, |c| {
            c.is_ascii_alphanumeric() || c == '_' || c == '-'
        }) {
            Ok(key.to_string())
        } else {
            Err(format!("`{key}` is not a Hacker News user name"))
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let user = user(http, &source.key).await?;
        let id = user.id.unwrap_or_else(|| source.key.clone());
        Ok(Metadata {
            key: id.clone(),
            title: id.clone(),
            url: format!("{SITE}/user?id={id}"),
            author: Some(id),
            published_at: user.created,
            tags: vec!["user".into()],
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let user = user(http, &source.key).await?;
        Ok(Readings::of([("karma", Some(user.karma))]))
    }
}

#[async_trait]
impl Container for Stories {
    fn spec(&self) -> ContainerSpec {
        ContainerSpec {
            kind: "hackernews.stories",
            label: "Hacker News user",
            yields: "stories",
            item_kind: "hackernews.item",
            service: HACKER_NEWS,
            scored: true,
            examples: &["https://news.ycombinator.com/submitted?id=pg"],
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let id = id_in(url, "/submitted").or_else(|| id_in(url, "/user"))?;
        User.parse_key(&id).ok()
    }

    async fn describe(&self, http: &Upstreams, key: &str) -> Result<ContainerInfo, FetchError> {
        let id = User.parse_key(key).map_err(FetchError::Invalid)?;
        let user = user(http, &id).await?;
        let id = user.id.unwrap_or(id);
        Ok(ContainerInfo {
            title: id.clone(),
            url: format!("{SITE}/submitted?id={id}"),
            key: id,
            config: serde_json::Value::Null,
        })
    }

    async fn items(
        &self,
        http: &Upstreams,
        container: &ContainerRef,
    ) -> Result<Vec<ContainerItem>, FetchError> {
        let user = user(http, &container.key).await?;
        let mut stories = Vec::new();
        for id in user.submitted.iter().take(NEWEST_SUBMISSIONS) {
            let id = id.to_string();
            let entry = match item(http, &id).await {
                Ok(entry) => entry,
                // Deleted or dead: nothing to track.
                Err(FetchError::Gone(_)) => continue,
                Err(error) => return Err(error),
            };
            if entry.kind.as_deref() != Some("story") {
                continue;
            }
            stories.push(ContainerItem {
                url: format!("{SITE}/item?id={id}"),
                title: entry.title.unwrap_or_else(|| format!("Story {id}")),
                published_at: entry.time,
                score: entry.score,
                key: id,
            });
        }
        Ok(stories)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_item_and_user_urls() {
        assert_recognised(&[
            (
                &Item,
                "https://news.ycombinator.com/item?id=8863",
                Some("8863"),
            ),
            (&Item, "https://news.ycombinator.com/item?id=abc", None),
            (&User, "https://news.ycombinator.com/user?id=pg", Some("pg")),
            (&Item, "https://example.com/item?id=1", None),
        ]);
    }
}
