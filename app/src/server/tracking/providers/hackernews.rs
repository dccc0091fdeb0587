//! Hacker News through its Firebase API: `/v0/item/{id}.json` and `/v0/user/{id}.json`.
//! Unknown ids answer `null`; deleted and dead items are gone.

use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use super::{
    Badge, BatchOutcome, Module, Provider, bare_host, is_token, missing, query_param, unix_time,
};
use crate::server::tracking::{
    FetchError, Metadata, MetricKind, MetricSpec, Readings, SourceRef,
    config::{Service, ServiceSpec},
    http::{UpstreamRequest, Upstreams},
};

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
    fn kind(&self) -> &'static str {
        "hackernews.item"
    }

    fn label(&self) -> &'static str {
        "Hacker News post"
    }

    fn examples(&self) -> &'static [&'static str] {
        &["https://news.ycombinator.com/item?id=8863"]
    }

    fn service(&self) -> Service {
        HACKER_NEWS
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        if bare_host(url)? != "news.ycombinator.com" || url.path() != "/item" {
            return None;
        }
        self.parse_key(&query_param(url, "id")?).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        match key.parse::<u64>() {
            Ok(id) if id > 0 => Ok(id.to_string()),
            _ => Err(format!("`{key}` is not a Hacker News item id (a number)")),
        }
    }

    fn metrics(&self, _source: &SourceRef) -> Vec<MetricSpec> {
        vec![
            MetricSpec::new("score", MetricKind::Gauge, "points"),
            MetricSpec::new("comments", MetricKind::Counter, "comments"),
        ]
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
            author: json["by"].as_str().map(str::to_string),
            published_at: unix_time(&json["time"]),
            tags: vec![kind.to_string()],
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let mut outcomes = Vec::with_capacity(sources.len());
        for source in sources {
            outcomes.push(item(http, &source.key).await.map(|json| {
                let mut readings = Readings::default();
                readings.push_some("score", json["score"].as_f64());
                // Stories and polls count their comments in `descendants`.
                readings.push_some(
                    "comments",
                    json["descendants"]
                        .as_f64()
                        .or_else(|| json["kids"].as_array().map(|kids| kids.len() as f64)),
                );
                readings
            }));
        }
        Ok(outcomes)
    }
}

#[async_trait]
impl Provider for User {
    fn kind(&self) -> &'static str {
        "hackernews.user"
    }

    fn label(&self) -> &'static str {
        "Hacker News user"
    }

    fn examples(&self) -> &'static [&'static str] {
        &["https://news.ycombinator.com/user?id=pg"]
    }

    fn service(&self) -> Service {
        HACKER_NEWS
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        if bare_host(url)? != "news.ycombinator.com" || url.path() != "/user" {
            return None;
        }
        self.parse_key(&query_param(url, "id")?).ok()
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

    fn metrics(&self, _source: &SourceRef) -> Vec<MetricSpec> {
        vec![MetricSpec::new("karma", MetricKind::Gauge, "karma")]
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let what = format!("Hacker News user {}", source.key);
        let json = get(http, &format!("/v0/user/{}.json", source.key), &what).await?;
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

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let mut outcomes = Vec::with_capacity(sources.len());
        for source in sources {
            let what = format!("Hacker News user {}", source.key);
            let outcome = get(http, &format!("/v0/user/{}.json", source.key), &what)
                .await
                .and_then(|json| {
                    let karma = json["karma"]
                        .as_f64()
                        .ok_or_else(|| missing("karma", &json))?;
                    let mut readings = Readings::default();
                    readings.push("karma", karma);
                    Ok(readings)
                });
            outcomes.push(outcome);
        }
        Ok(outcomes)
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
