//! Twitch through Helix: `GET /streams?user_login=…` (100 a request; an offline channel
//! is missing from `data` and records 0 viewers, not live), `/clips?id=…` and
//! `/videos?id=…`. An app access token comes from the client-credentials flow
//! (`UPCOUNT_TWITCH_CLIENT_ID`, `UPCOUNT_TWITCH_CLIENT_SECRET`).

use std::collections::HashMap;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::prelude::*;
use crate::domain::streams::{self as domain_streams, StreamSeen};
use crate::server::tracking::http::{ClientAuth, ClientCredentials, upstream_message};

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
    containers: || vec![Arc::new(Published)],
};

/// Helix takes an app access token from the client-credentials flow, presenting the
/// client in the form.
const GRANT: ClientCredentials = ClientCredentials {
    service: TWITCH_AUTH,
    path: "/oauth2/token",
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    auth: ClientAuth::Form,
};

/// A Helix answer: the items are in `data` (an unknown id is left out).
#[derive(Deserialize)]
struct Data<T> {
    data: Vec<T>,
}

/// `/users`: a channel's owner.
#[derive(Deserialize)]
struct User {
    /// Helix's user id, which `/videos` and `/clips` are asked by.
    id: Option<String>,
    login: Option<String>,
    display_name: Option<String>,
    #[serde(default, deserialize_with = "rfc3339")]
    created_at: Option<DateTime<Utc>>,
}

/// `/streams`: a live stream (an offline channel has none).
#[derive(Deserialize)]
struct LiveStream {
    /// The broadcast's id: a new one each time the channel goes live.
    id: Option<String>,
    /// `live`, or empty when something went wrong upstream.
    #[serde(rename = "type")]
    kind: Option<String>,
    viewer_count: Option<f64>,
    #[serde(default, deserialize_with = "rfc3339")]
    started_at: Option<DateTime<Utc>>,
    title: Option<String>,
    game_name: Option<String>,
    /// Free-form tags (Helix's `tags`; `null` when the channel has none).
    tags: Option<Vec<String>>,
}

impl LiveStream {
    /// What the poll saw, for stream sessions; a live stream with no id is one per start
    /// time (Helix always sends one, but a session needs something to tell streams apart).
    fn seen(&self, viewers: f64) -> StreamSeen {
        let stream_id = self
            .id
            .clone()
            .filter(|id| !id.is_empty())
            .or_else(|| {
                self.started_at
                    .map(|at| format!("started-{}", at.timestamp()))
            })
            .unwrap_or_else(|| "unknown".to_string());
        StreamSeen::Live(domain_streams::LiveStream {
            stream_id,
            started_at: self.started_at,
            viewers,
            title: self.title.clone().unwrap_or_default(),
            game: self.game_name.clone().filter(|game| !game.is_empty()),
            tags: self.tags.clone().unwrap_or_default(),
        })
    }
}

/// A stream's key: the login of its channel, lowercase like the sources' keys.
#[derive(Deserialize)]
struct Login {
    user_login: String,
}

impl ItemKey for Login {
    fn key(self) -> String {
        self.user_login.to_ascii_lowercase()
    }
}

/// `/clips` or `/videos`, as metadata reads them.
#[derive(Deserialize)]
struct Recording {
    title: Option<String>,
    url: Option<String>,
    /// The channel's display name: a video's.
    user_name: Option<String>,
    /// The channel's display name: a clip's.
    broadcaster_name: Option<String>,
    #[serde(default, deserialize_with = "rfc3339")]
    created_at: Option<DateTime<Utc>>,
}

impl Recording {
    /// The metadata of the clip or video `key`: `what` and `link` stand in for a missing
    /// title and URL.
    fn metadata(self, key: &str, what: &str, link: String) -> Metadata {
        Metadata {
            key: key.to_string(),
            title: self.title.unwrap_or_else(|| what.to_string()),
            url: self.url.unwrap_or(link),
            author: self.user_name.or(self.broadcaster_name),
            published_at: self.created_at,
            tags: Vec::new(),
        }
    }
}

/// The views of a clip or a video.
#[derive(Deserialize)]
struct Views {
    view_count: f64,
}

impl Views {
    fn readings(&self) -> Readings {
        Readings::of([("views", Some(self.view_count))])
    }
}

/// `data` of a Helix call, with the client id and an app access token (cached, and taken
/// anew once when Helix answers 401 for an expired or revoked one).
async fn helix<T: DeserializeOwned>(
    http: &Upstreams,
    path: &str,
    params: &[(&str, &str)],
    what: &str,
) -> Result<Vec<T>, FetchError> {
    let mut url = http.endpoint(TWITCH, path)?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    let client_id = http.config().credential(CLIENT_ID).unwrap_or_default();
    let response = http
        .send_with_app_token(&GRANT, &[], |token| {
            UpstreamRequest::get(TWITCH, url.clone())
                .header("Client-Id", client_id)
                .secret_header("Authorization", format!("Bearer {token}"))
        })
        .await?;
    match response.status {
        status if status.is_success() => {
            let answer: Data<T> = response.parse("Twitch")?;
            Ok(answer.data)
        }
        StatusCode::NOT_FOUND => Err(FetchError::Gone(format!("{what} does not exist"))),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Err(http.refusal(TWITCH, &response, what))
        }
        status => Err(FetchError::Unavailable(format!(
            "Twitch answered HTTP {}: {}",
            status.as_u16(),
            upstream_message(&response.body)
        ))),
    }
}

/// The one item Helix answers at `path` for `{param}={key}`; gone when there is none.
async fn one<T: DeserializeOwned>(
    http: &Upstreams,
    path: &str,
    param: &str,
    key: &str,
    what: &str,
) -> Result<T, FetchError> {
    let data = helix(http, path, &[(param, key)], what).await?;
    data.into_iter()
        .next()
        .ok_or_else(|| FetchError::Gone(format!("{what} does not exist")))
}

/// A video by id; gone when Helix has none.
async fn video<T: DeserializeOwned>(http: &Upstreams, id: &str) -> Result<T, FetchError> {
    one(http, "/videos", "id", id, &format!("Twitch video {id}")).await
}

/// The items Helix answers at `path` for a batch (one `{param}={key}` per source), by the
/// key `K` reads from each.
async fn helix_batch<T: DeserializeOwned, K: ItemKey>(
    http: &Upstreams,
    path: &str,
    param: &str,
    sources: &[SourceRef],
    what: &str,
) -> Result<HashMap<String, Each<T, K>>, FetchError> {
    let params: Vec<(&str, &str)> = keys(sources).into_iter().map(|key| (param, key)).collect();
    Ok(by_key(helix(http, path, &params, what).await?))
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
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "twitch.stream",
            label: "Twitch channel",
            service: TWITCH,
            examples: &["https://www.twitch.tv/shroud"],
            metrics: &[
                Metric("viewers", MetricKind::Gauge, "viewers"),
                Metric("live", MetricKind::Gauge, "live"),
            ],
            batch_size: 100,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        match segments_on(url, "twitch.tv")?.as_slice() {
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

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let what = format!("Twitch channel {}", source.key);
        let user: User = one(http, "/users", "login", &source.key, &what).await?;
        let login = user.login.unwrap_or_else(|| source.key.clone());
        Ok(Metadata {
            key: login.clone(),
            title: user.display_name.clone().unwrap_or_else(|| login.clone()),
            url: format!("https://www.twitch.tv/{login}"),
            author: user.display_name,
            published_at: user.created_at,
            tags: Vec::new(),
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let live: HashMap<String, Each<LiveStream, Login>> =
            helix_batch(http, "/streams", "user_login", sources, "Twitch streams").await?;
        Ok(sources
            .iter()
            .map(|source| {
                let (viewers, live, seen) = match live.get(&source.key) {
                    Some(item) => match item.item()? {
                        stream if stream.kind.as_deref() == Some("live") => {
                            let viewers = stream.viewer_count.ok_or_else(|| {
                                item.unreadable("the live stream has no viewer_count")
                            })?;
                            (viewers, 1.0, stream.seen(viewers))
                        }
                        _ => (0.0, 0.0, StreamSeen::Offline),
                    },
                    // Offline: missing from `data`.
                    None => (0.0, 0.0, StreamSeen::Offline),
                };
                let mut readings = Readings::of([("viewers", Some(viewers)), ("live", Some(live))]);
                readings.stream = Some(seen);
                Ok(readings)
            })
            .collect())
    }
}

#[async_trait]
impl Provider for Clip {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "twitch.clip",
            label: "Twitch clip",
            service: TWITCH,
            examples: &[
                "https://clips.twitch.tv/AwkwardHelplessSalamanderSwiftRage",
                "https://www.twitch.tv/shroud/clip/AwkwardHelplessSalamanderSwiftRage",
            ],
            metrics: &[Metric("views", MetricKind::Counter, "views")],
            batch_size: 100,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let (host, segments) = host_and_segments(url)?;
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

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let what = format!("Twitch clip {}", source.key);
        let clip: Recording = one(http, "/clips", "id", &source.key, &what).await?;
        let link = format!("https://clips.twitch.tv/{}", source.key);
        Ok(clip.metadata(&source.key, "Twitch clip", link))
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let clips: HashMap<String, Each<Views>> =
            helix_batch(http, "/clips", "id", sources, "Twitch clips").await?;
        Ok(read_each(
            sources,
            &clips,
            |key| FetchError::Gone(format!("Twitch clip {key} does not exist")),
            |_, clip| Ok(clip.readings()),
        ))
    }
}

#[async_trait]
impl Provider for Video {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "twitch.video",
            label: "Twitch video",
            service: TWITCH,
            examples: &["https://www.twitch.tv/videos/1234567"],
            metrics: &[Metric("views", MetricKind::Counter, "views")],
            // Helix answers 404 for the whole request when any id is unknown: one id a request.
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        match segments_on(url, "twitch.tv")?.as_slice() {
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

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let video: Recording = video(http, &source.key).await?;
        let link = format!("https://www.twitch.tv/videos/{}", source.key);
        Ok(video.metadata(&source.key, "Twitch video", link))
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let video: Views = video(http, &source.key).await?;
        Ok(video.readings())
    }
}

/// A channel's new videos and clips, watched: `GET /videos?user_id=…&sort=time` and
/// `GET /clips?broadcaster_id=…&started_at=…` (the last week's, most viewed first).
pub struct Published;

/// A video or a clip as the listings answer them.
#[derive(Deserialize)]
struct Listed {
    id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default, deserialize_with = "rfc3339")]
    created_at: Option<DateTime<Utc>>,
}

/// How many videos and clips a read asks for.
const LISTED: &str = "20";

#[async_trait]
impl Container for Published {
    fn spec(&self) -> ContainerSpec {
        ContainerSpec {
            kind: "twitch.published",
            label: "Twitch channel",
            yields: "videos and clips",
            item_kind: "twitch.video",
            service: TWITCH,
            scored: false,
            examples: &["https://www.twitch.tv/shroud"],
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        Stream.recognise(url)
    }

    async fn describe(&self, http: &Upstreams, key: &str) -> Result<ContainerInfo, FetchError> {
        let what = format!("Twitch channel {key}");
        let user: User = one(http, "/users", "login", key, &what).await?;
        let id = user
            .id
            .ok_or_else(|| FetchError::Invalid(format!("{what} has no id")))?;
        let login = user.login.unwrap_or_else(|| key.to_string());
        Ok(ContainerInfo {
            title: user.display_name.unwrap_or_else(|| login.clone()),
            url: format!("https://www.twitch.tv/{login}"),
            key: login.to_ascii_lowercase(),
            config: serde_json::json!({ "user_id": id }),
        })
    }

    async fn items(
        &self,
        http: &Upstreams,
        container: &ContainerRef,
    ) -> Result<Vec<ContainerItem>, FetchError> {
        let user_id = container.config["user_id"]
            .as_str()
            .ok_or_else(|| FetchError::Invalid("the watch lost the channel's id".into()))?;
        let videos: Vec<Listed> = helix(
            http,
            "/videos",
            &[("user_id", user_id), ("sort", "time"), ("first", LISTED)],
            "Twitch videos",
        )
        .await?;
        let since = (Utc::now() - chrono::TimeDelta::days(7)).to_rfc3339();
        let clips: Vec<Listed> = helix(
            http,
            "/clips",
            &[
                ("broadcaster_id", user_id),
                ("started_at", &since),
                ("first", LISTED),
            ],
            "Twitch clips",
        )
        .await?;
        let item = |listed: Listed, url: String, key: String| ContainerItem {
            title: listed.title.unwrap_or_else(|| listed.id.clone()),
            published_at: listed.created_at,
            score: None,
            url,
            key,
        };
        let mut items: Vec<ContainerItem> = videos
            .into_iter()
            .map(|video| {
                let url = format!("https://www.twitch.tv/videos/{}", video.id);
                let key = format!("video:{}", video.id);
                item(video, url, key)
            })
            .chain(clips.into_iter().map(|clip| {
                let url = format!("https://clips.twitch.tv/{}", clip.id);
                let key = format!("clip:{}", clip.id);
                item(clip, url, key)
            }))
            .collect();
        items.sort_by_key(|item| std::cmp::Reverse(item.published_at));
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_channel_clip_and_video_urls() {
        assert_recognised(&[
            (&Stream, "https://www.twitch.tv/Shroud", Some("shroud")),
            (&Stream, "https://www.twitch.tv/videos/123", None),
            (&Stream, "https://www.twitch.tv/directory", None),
            (
                &Clip,
                "https://clips.twitch.tv/AwkwardHelplessSalamanderSwiftRage",
                Some("AwkwardHelplessSalamanderSwiftRage"),
            ),
            (
                &Clip,
                "https://www.twitch.tv/shroud/clip/Some-Clip_1",
                Some("Some-Clip_1"),
            ),
            (
                &Video,
                "https://www.twitch.tv/videos/1234567",
                Some("1234567"),
            ),
        ]);
    }
}
