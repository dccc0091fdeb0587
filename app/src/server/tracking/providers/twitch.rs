//! Twitch through Helix: `GET /streams?user_login=…` (100 a request; an offline channel
//! is missing from `data` and records 0 viewers, not live), `/clips?id=…` and
//! `/videos?id=…`. An app access token comes from the client-credentials flow
//! (`UPCOUNT_TWITCH_CLIENT_ID`, `UPCOUNT_TWITCH_CLIENT_SECRET`).

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use super::{
    Badge, BatchOutcome, Module, Provider, bare_host, is_token, missing, number, rfc3339, segments,
};
use crate::server::tracking::{
    FetchError, Metadata, MetricKind, MetricSpec, Readings, SourceRef,
    config::{Credentials, Service, ServiceSpec},
    http::{UpstreamRequest, Upstreams, upstream_message},
};

pub struct Stream;
pub struct Clip;
pub struct Video;

const CLIENT_ID: &str = "UPCOUNT_TWITCH_CLIENT_ID";
const CLIENT_SECRET: &str = "UPCOUNT_TWITCH_CLIENT_SECRET";

const CREDENTIALS: Credentials = Credentials {
    vars: &[CLIENT_ID, CLIENT_SECRET],
    required: true,
    when_set: "client set",
    when_missing: "missing: Twitch cannot be tracked",
};

/// Helix, the Twitch API.
pub const TWITCH: Service = Service::new(&ServiceSpec {
    name: "twitch",
    label: "Twitch",
    default_base_url: Some("https://api.twitch.tv/helix"),
    // 800 points a minute per app token.
    requests_per_minute: 800,
    requests_per_minute_with_credentials: 800,
    credentials: Some(CREDENTIALS),
});

/// Twitch's OAuth server, for app access tokens.
pub const TWITCH_AUTH: Service = Service::new(&ServiceSpec {
    name: "twitch_auth",
    label: "Twitch",
    default_base_url: Some("https://id.twitch.tv"),
    requests_per_minute: 60,
    requests_per_minute_with_credentials: 60,
    credentials: Some(CREDENTIALS),
});

pub const MODULE: Module = Module {
    name: "twitch",
    badge: Badge {
        letters: "TW",
        name: "Twitch",
        colour: "#9146ff",
    },
    services: &[TWITCH, TWITCH_AUTH],
    kinds: || vec![Arc::new(Clip), Arc::new(Video), Arc::new(Stream)],
};

/// The app access token's answer (`POST /oauth2/token`, client-credentials flow).
#[derive(Deserialize)]
struct AppToken {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Headers for Helix: the client id and an app access token, fetched by the
/// client-credentials flow, cached and refreshed a minute before it expires.
async fn headers(http: &Upstreams, refresh: bool) -> Result<Vec<(String, String)>, FetchError> {
    let config = http.config();
    let (Some(client_id), Some(secret)) = (
        config.credential(CLIENT_ID),
        config.credential(CLIENT_SECRET),
    ) else {
        return Err(FetchError::NotConfigured(format!(
            "Twitch tracking needs {CLIENT_ID} and {CLIENT_SECRET} on the server"
        )));
    };
    let token = http
        .cached_token(TWITCH_AUTH, refresh, || async {
            let url = http.endpoint(TWITCH_AUTH, "/oauth2/token")?;
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", client_id)
                .append_pair("client_secret", secret)
                .append_pair("grant_type", "client_credentials")
                .finish();
            let request = UpstreamRequest::post_form(TWITCH_AUTH, url, body);
            let response = http.send(&request).await?;
            if !response.status.is_success() {
                return Err(FetchError::NotConfigured(format!(
                    "Twitch refused the client credentials (HTTP {}): {}",
                    response.status.as_u16(),
                    upstream_message(&response.body)
                )));
            }
            let token: AppToken = response.parse("Twitch's token answer")?;
            let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3_600).min(86_400 * 365));
            Ok((token.access_token, lifetime))
        })
        .await?;
    Ok(vec![
        ("Client-Id".to_string(), client_id.to_string()),
        ("Authorization".to_string(), format!("Bearer {token}")),
    ])
}

/// `data` of a Helix call. A 401 (an expired or revoked token) gets one new token.
async fn helix(
    http: &Upstreams,
    path: &str,
    params: &[(&str, &str)],
    what: &str,
) -> Result<Vec<serde_json::Value>, FetchError> {
    let mut url = http.endpoint(TWITCH, path)?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    let mut refresh = false;
    loop {
        let mut request = UpstreamRequest::get(TWITCH, url.clone());
        request.headers = headers(http, refresh).await?;
        let response = http.send(&request).await?;
        match response.status {
            status if status.is_success() => {
                let json = response.json("Twitch")?;
                return json["data"]
                    .as_array()
                    .cloned()
                    .ok_or_else(|| missing("data", &json));
            }
            StatusCode::UNAUTHORIZED if !refresh => refresh = true,
            StatusCode::NOT_FOUND => {
                return Err(FetchError::Gone(format!("{what} does not exist")));
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(http.refusal(TWITCH, &response, what));
            }
            status => {
                return Err(FetchError::Unavailable(format!(
                    "Twitch answered HTTP {}: {}",
                    status.as_u16(),
                    upstream_message(&response.body)
                )));
            }
        }
    }
}

fn by(field: &str, data: Vec<serde_json::Value>) -> HashMap<String, serde_json::Value> {
    data.into_iter()
        .filter_map(|item| Some((item[field].as_str()?.to_ascii_lowercase(), item)))
        .collect()
}

fn is_login(text: &str) -> bool {
    is_token(text, 25, |c| c.is_ascii_alphanumeric() || c == '_')
}

/// Paths of twitch.tv that are not channels.
const RESERVED: &[&str] = &[
    "directory",
    "videos",
    "settings",
    "search",
    "downloads",
    "jobs",
    "p",
    "subscriptions",
    "wallet",
    "inventory",
    "drops",
    "friends",
    "messages",
    "login",
    "signup",
    "turbo",
];

#[async_trait]
impl Provider for Stream {
    fn kind(&self) -> &'static str {
        "twitch.stream"
    }

    fn label(&self) -> &'static str {
        "Twitch channel"
    }

    fn examples(&self) -> &'static [&'static str] {
        &["https://www.twitch.tv/shroud"]
    }

    fn service(&self) -> Service {
        TWITCH
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        if bare_host(url)? != "twitch.tv" {
            return None;
        }
        match segments(url).as_slice() {
            [login] | [login, _] if !RESERVED.contains(&login.to_ascii_lowercase().as_str()) => {
                self.parse_key(login).ok()
            }
            _ => None,
        }
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim().to_ascii_lowercase();
        if is_login(&key) {
            Ok(key)
        } else {
            Err(format!("`{key}` is not a Twitch channel name"))
        }
    }

    fn metrics(&self, _source: &SourceRef) -> Vec<MetricSpec> {
        vec![
            MetricSpec::new("viewers", MetricKind::Gauge, "viewers"),
            MetricSpec::new("live", MetricKind::Gauge, "live"),
        ]
    }

    fn batch_size(&self) -> usize {
        100
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let what = format!("Twitch channel {}", source.key);
        let users = helix(http, "/users", &[("login", &source.key)], &what).await?;
        let user = users
            .first()
            .ok_or_else(|| FetchError::Gone(format!("{what} does not exist")))?;
        let login = user["login"].as_str().unwrap_or(&source.key).to_string();
        Ok(Metadata {
            key: login.clone(),
            title: user["display_name"].as_str().unwrap_or(&login).to_string(),
            url: format!("https://www.twitch.tv/{login}"),
            author: user["display_name"].as_str().map(str::to_string),
            published_at: rfc3339(&user["created_at"]),
            tags: Vec::new(),
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let params: Vec<(&str, &str)> = sources
            .iter()
            .map(|source| ("user_login", source.key.as_str()))
            .collect();
        let live = by(
            "user_login",
            helix(http, "/streams", &params, "Twitch streams").await?,
        );
        Ok(sources
            .iter()
            .map(|source| {
                let mut readings = Readings::default();
                match live.get(&source.key) {
                    Some(stream) if stream["type"] == "live" => {
                        let viewers = number(&stream["viewer_count"])
                            .ok_or_else(|| missing("viewer_count", stream))?;
                        readings.push("viewers", viewers);
                        readings.push("live", 1.0);
                    }
                    // Offline: missing from `data`.
                    _ => {
                        readings.push("viewers", 0.0);
                        readings.push("live", 0.0);
                    }
                }
                Ok(readings)
            })
            .collect())
    }
}

#[async_trait]
impl Provider for Clip {
    fn kind(&self) -> &'static str {
        "twitch.clip"
    }

    fn label(&self) -> &'static str {
        "Twitch clip"
    }

    fn examples(&self) -> &'static [&'static str] {
        &[
            "https://clips.twitch.tv/AwkwardHelplessSalamanderSwiftRage",
            "https://www.twitch.tv/shroud/clip/AwkwardHelplessSalamanderSwiftRage",
        ]
    }

    fn service(&self) -> Service {
        TWITCH
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let host = bare_host(url)?;
        let segments = segments(url);
        let slug = match (host.as_str(), segments.as_slice()) {
            ("clips.twitch.tv", [slug, ..]) => slug.clone(),
            ("twitch.tv", [_, clip, slug, ..]) if clip == "clip" => slug.clone(),
            _ => return None,
        };
        self.parse_key(&slug).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        if is_token(key, 120, |c| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        }) {
            Ok(key.to_string())
        } else {
            Err(format!("`{key}` is not a Twitch clip id"))
        }
    }

    fn metrics(&self, _source: &SourceRef) -> Vec<MetricSpec> {
        vec![MetricSpec::new("views", MetricKind::Counter, "views")]
    }

    fn batch_size(&self) -> usize {
        100
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let what = format!("Twitch clip {}", source.key);
        let clips = helix(http, "/clips", &[("id", &source.key)], &what).await?;
        let clip = clips
            .first()
            .ok_or_else(|| FetchError::Gone(format!("{what} does not exist")))?;
        Ok(Metadata {
            key: source.key.clone(),
            title: clip["title"].as_str().unwrap_or("Twitch clip").to_string(),
            url: clip["url"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("https://clips.twitch.tv/{}", source.key)),
            author: clip["broadcaster_name"].as_str().map(str::to_string),
            published_at: rfc3339(&clip["created_at"]),
            tags: Vec::new(),
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let params: Vec<(&str, &str)> = sources
            .iter()
            .map(|source| ("id", source.key.as_str()))
            .collect();
        let clips: HashMap<String, serde_json::Value> =
            helix(http, "/clips", &params, "Twitch clips")
                .await?
                .into_iter()
                .filter_map(|clip| Some((clip["id"].as_str()?.to_string(), clip)))
                .collect();
        Ok(sources
            .iter()
            .map(|source| {
                let clip = clips.get(&source.key).ok_or_else(|| {
                    FetchError::Gone(format!("Twitch clip {} does not exist", source.key))
                })?;
                let views =
                    number(&clip["view_count"]).ok_or_else(|| missing("view_count", clip))?;
                let mut readings = Readings::default();
                readings.push("views", views);
                Ok(readings)
            })
            .collect())
    }
}

#[async_trait]
impl Provider for Video {
    fn kind(&self) -> &'static str {
        "twitch.video"
    }

    fn label(&self) -> &'static str {
        "Twitch video"
    }

    fn examples(&self) -> &'static [&'static str] {
        &["https://www.twitch.tv/videos/1234567"]
    }

    fn service(&self) -> Service {
        TWITCH
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        if bare_host(url)? != "twitch.tv" {
            return None;
        }
        match segments(url).as_slice() {
            [videos, id, ..] if videos == "videos" => self.parse_key(id).ok(),
            _ => None,
        }
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim().trim_start_matches('v');
        match key.parse::<u64>() {
            Ok(id) if id > 0 => Ok(id.to_string()),
            _ => Err(format!("`{key}` is not a Twitch video id (a number)")),
        }
    }

    fn metrics(&self, _source: &SourceRef) -> Vec<MetricSpec> {
        vec![MetricSpec::new("views", MetricKind::Counter, "views")]
    }

    // Helix answers 404 for the whole request when any id is unknown: one id a request.
    fn batch_size(&self) -> usize {
        1
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let what = format!("Twitch video {}", source.key);
        let videos = helix(http, "/videos", &[("id", &source.key)], &what).await?;
        let video = videos
            .first()
            .ok_or_else(|| FetchError::Gone(format!("{what} does not exist")))?;
        Ok(Metadata {
            key: source.key.clone(),
            title: video["title"]
                .as_str()
                .unwrap_or("Twitch video")
                .to_string(),
            url: video["url"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("https://www.twitch.tv/videos/{}", source.key)),
            author: video["user_name"].as_str().map(str::to_string),
            published_at: rfc3339(&video["created_at"]),
            tags: Vec::new(),
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let mut outcomes = Vec::with_capacity(sources.len());
        for source in sources {
            let what = format!("Twitch video {}", source.key);
            let outcome = helix(http, "/videos", &[("id", &source.key)], &what)
                .await
                .and_then(|videos| {
                    let video = videos
                        .first()
                        .ok_or_else(|| FetchError::Gone(format!("{what} does not exist")))?;
                    let views =
                        number(&video["view_count"]).ok_or_else(|| missing("view_count", video))?;
                    let mut readings = Readings::default();
                    readings.push("views", views);
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
    fn recognises_channel_clip_and_video_urls() {
        let url = |text: &str| Url::parse(text).expect("url");
        assert_eq!(
            Stream.recognise(&url("https://www.twitch.tv/Shroud")),
            Some("shroud".into())
        );
        assert_eq!(
            Stream.recognise(&url("https://www.twitch.tv/videos/123")),
            None
        );
        assert_eq!(
            Stream.recognise(&url("https://www.twitch.tv/directory")),
            None
        );
        assert_eq!(
            Clip.recognise(&url(
                "https://clips.twitch.tv/AwkwardHelplessSalamanderSwiftRage"
            )),
            Some("AwkwardHelplessSalamanderSwiftRage".into())
        );
        assert_eq!(
            Clip.recognise(&url("https://www.twitch.tv/shroud/clip/Some-Clip_1")),
            Some("Some-Clip_1".into())
        );
        assert_eq!(
            Video.recognise(&url("https://www.twitch.tv/videos/1234567")),
            Some("1234567".into())
        );
    }
}
