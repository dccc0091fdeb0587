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
};

pub struct Item;
pub struct User;

async fn get(http: &Upstreams, path: &str, what: &str) -> Result<serde_json::Value, FetchError> {
    let url = http.endpoint(HACKER_NEWS, path)?;
    let json = http
        .get_json(&UpstreamRequest::get(HACKER_NEWS, url), what)
        .await?;
    if json.is_null() {
        return Err(FetchError::Gone(format!("{what} does not exist")));
    }
    Ok(json)
}

/// The `id` of a link to `path` on the site (`/item?id=8863`).
fn id_in(url: &Url, path: &str) -> Option<String> {
    if bare_host(url)? != "news.ycombinator.com" || url.path() != path {
        return None;
    }
    query_param(url, "id")
}

/// A user; gone when the API answers `null`.
async fn user(http: &Upstreams, id: &str) -> Result<serde_json::Value, FetchError> {
    let what = format!("Hacker News user {id}");
    get(http, &format!("/v0/user/{id}.json"), &what).await
}

async fn item(http: &Upstreams, id: &str) -> Result<serde_json::Value, FetchError> {
    let what = format!("Hacker News item {id}");
    let json = get(http, &format!("/v0/item/{id}.json"), &what).await?;
    if json["deleted"].as_bool() == Some(true) {
        return Err(FetchError::Gone(format!("{what} was deleted")));
    }
    if json["dead"].as_bool() == Some(true) {
        return Err(FetchError::Gone(format!(
            "{what} is dead (flagged or killed)"
        )));
    }
    if !json.is_object() {
        return Err(missing("item object", &json));
    }
    Ok(json)
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
        let json = item(http, &source.key).await?;
        let kind = json["type"].as_str().unwrap_or("item");
        let title = json["title"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                json["text"]
                    .as_str()
                    .map(|text| text.chars().take(80).collect())
            })
            .unwrap_or_else(|| format!("Hacker News {kind} {}", source.key));
        Ok(Metadata {
            key: source.key.clone(),
            title,
            url: format!("{SITE}/item?id={}", source.key),
            author: text(&json["by"]),
            published_at: unix_time(&json["time"]),
            tags: vec![kind.to_string()],
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let json = item(http, &source.key).await?;
        Ok(Readings::of([
            ("score", json["score"].as_f64()),
            // Stories and polls count their comments in `descendants`.
            (
                "comments",
                json["descendants"]
                    .as_f64()
                    .or_else(|| json["kids"].as_array().map(|kids| kids.len() as f64)),
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
        let json = user(http, &source.key).await?;
        let id = json["id"].as_str().unwrap_or(&source.key).to_string();
        Ok(Metadata {
            key: id.clone(),
            title: id.clone(),
            url: format!("{SITE}/user?id={id}"),
            author: Some(id),
            published_at: unix_time(&json["created"]),
            tags: vec!["user".into()],
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let json = user(http, &source.key).await?;
        let karma = json["karma"]
            .as_f64()
            .ok_or_else(|| missing("karma", &json))?;
        Ok(Readings::of([("karma", Some(karma))]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_item_and_user_urls() {
        let url = |text: &str| Url::parse(text).expect("url");
        assert_eq!(
            Item.recognise(&url("https://news.ycombinator.com/item?id=8863")),
            Some("8863".into())
        );
        assert_eq!(
            Item.recognise(&url("https://news.ycombinator.com/item?id=abc")),
            None
        );
        assert_eq!(
            User.recognise(&url("https://news.ycombinator.com/user?id=pg")),
            Some("pg".into())
        );
        assert_eq!(Item.recognise(&url("https://example.com/item?id=1")), None);
    }
}
