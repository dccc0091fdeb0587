//! YouTube through the Data API v3: `videos?part=snippet,statistics&id=…` (50 ids a
//! request) and `channels?part=snippet,statistics&id=…` (or `&forHandle=@…`). Needs
//! `UPCOUNT_YOUTUBE_API_KEY`. Unknown ids are simply missing from `items`. A channel can
//! be watched: its uploads playlist (`channels?part=contentDetails`) read with
//! `playlistItems` (one quota unit a call), each new video becoming a tracker.

use std::collections::HashMap;

use reqwest::StatusCode;

use super::prelude::*;
use crate::server::tracking::http::upstream_message;

/// YouTube's API.
pub const YOUTUBE: Service = Service::new(&ServiceSpec {
    name: "youtube",
    label: "YouTube",
    default_base_url: Some("https://www.googleapis.com/youtube/v3"),
    // 10,000 quota units a day; a list call costs one.
    requests_per_minute: 6,
    requests_per_minute_with_credentials: 6,
    credentials: Some(Credentials {
        vars: &["UPCOUNT_YOUTUBE_API_KEY"],
        required: true,
        when_set: "API key set",
        when_missing: "missing: YouTube cannot be tracked",
    }),
});

pub const MODULE: Module = Module {
    name: "youtube",
    badge: Badge {
        letters: "YT",
        name: "YouTube",
        colour: "#ff0000",
    },
    services: &[YOUTUBE],
    kinds: || vec![Arc::new(Video), Arc::new(Channel)],
    containers: || vec![Arc::new(Uploads)],
};

pub struct Video;
pub struct Channel;
/// A channel's uploads, watched.
pub struct Uploads;

const NO_KEY: &str = "YouTube tracking needs UPCOUNT_YOUTUBE_API_KEY on the server";

/// A list call's answer: unknown ids are simply missing from `items`.
#[derive(Deserialize)]
#[serde(bound = "T: serde::de::DeserializeOwned")]
struct List<T> {
    items: Vec<Each<T>>,
}

/// An item's `snippet`, as metadata reads it.
#[derive(Deserialize)]
struct WithSnippet<T> {
    #[serde(default)]
    snippet: T,
}

/// An item's `statistics`, as polls read it.
#[derive(Deserialize)]
struct WithStatistics<T> {
    statistics: T,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoSnippet {
    title: Option<String>,
    channel_title: Option<String>,
    #[serde(default, deserialize_with = "rfc3339")]
    published_at: Option<DateTime<Utc>>,
    /// Absent when the video has none.
    #[serde(default, deserialize_with = "strings")]
    tags: Vec<String>,
}

/// A video's counts: strings holding numbers, as everywhere in this API. A hidden like
/// count or disabled comments leave theirs out.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoStatistics {
    #[serde(deserialize_with = "count")]
    view_count: f64,
    #[serde(default, deserialize_with = "optional_count")]
    like_count: Option<f64>,
    #[serde(default, deserialize_with = "optional_count")]
    comment_count: Option<f64>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelSnippet {
    title: Option<String>,
    /// The channel's `@handle`.
    custom_url: Option<String>,
    #[serde(default, deserialize_with = "rfc3339")]
    published_at: Option<DateTime<Utc>>,
}

/// A channel's counts (strings holding numbers); the subscriber count means nothing when
/// the channel hides it.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelStatistics {
    #[serde(default)]
    hidden_subscriber_count: bool,
    #[serde(default, deserialize_with = "optional_count")]
    subscriber_count: Option<f64>,
    #[serde(default, deserialize_with = "optional_count")]
    view_count: Option<f64>,
    #[serde(default, deserialize_with = "optional_count")]
    video_count: Option<f64>,
}

/// Google's error answer: `{"error": {"errors": [{"reason": "quotaExceeded", …}], …}}`.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    errors: Vec<ErrorReason>,
}

#[derive(Deserialize)]
struct ErrorReason {
    reason: Option<String>,
}

/// `items` of a list call, by id, each read into `T`.
async fn list<T: serde::de::DeserializeOwned>(
    http: &Upstreams,
    resource: &str,
    filter: (&str, String),
) -> Result<HashMap<String, Each<T>>, FetchError> {
    let list: List<T> = call(http, resource, "snippet,statistics", &[filter]).await?;
    Ok(by_key(list.items))
}

/// A call to `resource` asking for `parts`, filtered by `query`, read into `T`.
async fn call<T: serde::de::DeserializeOwned>(
    http: &Upstreams,
    resource: &str,
    parts: &str,
    query: &[(&str, String)],
) -> Result<T, FetchError> {
    let key = http
        .config()
        .credential("UPCOUNT_YOUTUBE_API_KEY")
        .map(str::to_string)
        .ok_or_else(|| FetchError::NotConfigured(NO_KEY.into()))?;
    let mut url = http.endpoint(YOUTUBE, &format!("/{resource}"))?;
    {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("part", parts);
        for (name, value) in query {
            pairs.append_pair(name, value);
        }
        pairs.append_pair("key", &key);
    }
    let response = http.send(&UpstreamRequest::get(YOUTUBE, url)).await?;
    if !response.status.is_success() {
        let reason = serde_json::from_slice::<ErrorAnswer>(&response.body)
            .ok()
            .and_then(|answer| answer.error.errors.into_iter().next())
            .and_then(|error| error.reason)
            .unwrap_or_default();
        let message = upstream_message(&response.body);
        return Err(match (response.status, reason.as_str()) {
            (_, "quotaExceeded" | "rateLimitExceeded" | "userRateLimitExceeded") => {
                // The daily quota resets at midnight Pacific time; try again in an hour.
                let pause = std::time::Duration::from_secs(3_600);
                http.pause(YOUTUBE, pause);
                FetchError::RateLimited {
                    message: format!("YouTube API quota exhausted: {message}"),
                    retry_after: Some(pause),
                }
            }
            (StatusCode::BAD_REQUEST, "keyInvalid") | (StatusCode::FORBIDDEN, _) => {
                FetchError::NotConfigured(format!("YouTube rejected the API key: {message}"))
            }
            (StatusCode::NOT_FOUND, _) => FetchError::Gone(format!("YouTube: {message}")),
            (status, _) => FetchError::Unavailable(format!(
                "YouTube answered HTTP {}: {message}",
                status.as_u16()
            )),
        });
    }
    response.parse("YouTube")
}

/// A video missing from the answer.
fn no_video(id: &str) -> FetchError {
    FetchError::Gone(format!("YouTube video {id} does not exist"))
}

/// A channel missing from the answer.
fn no_channel(id: &str) -> FetchError {
    FetchError::Gone(format!("YouTube channel {id} does not exist"))
}

fn is_video_id(id: &str) -> bool {
    id.len() == 11
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[async_trait]
impl Provider for Video {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "youtube.video",
            label: "YouTube video",
            service: YOUTUBE,
            examples: &[
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                "https://youtu.be/dQw4w9WgXcQ",
                "https://www.youtube.com/shorts/dQw4w9WgXcQ",
            ],
            metrics: &[
                Metric("views", MetricKind::Counter, "views"),
                Metric("likes", MetricKind::Counter, "likes"),
                Metric("comments", MetricKind::Counter, "comments"),
            ],
            batch_size: 50,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let (host, segments) = host_and_segments(url)?;
        let id = match (host.as_str(), segments.as_slice()) {
            ("youtu.be", [id, ..]) => id.clone(),
            ("youtube.com" | "music.youtube.com", [watch]) if watch == "watch" => {
                query_param(url, "v")?
            }
            ("youtube.com" | "music.youtube.com", [kind, id, ..])
                if ["shorts", "embed", "live", "v"].contains(&kind.as_str()) =>
            {
                id.clone()
            }
            _ => return None,
        };
        self.parse_key(&id).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        if is_video_id(key) {
            Ok(key.to_string())
        } else {
            Err(format!("`{key}` is not a YouTube video id (11 characters)"))
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let found = list(http, "videos", ("id", source.key.clone())).await?;
        let video: &WithSnippet<VideoSnippet> = found
            .get(&source.key)
            .ok_or_else(|| no_video(&source.key))?
            .item()?;
        let snippet = &video.snippet;
        Ok(Metadata {
            key: source.key.clone(),
            title: snippet
                .title
                .clone()
                .unwrap_or_else(|| "YouTube video".into()),
            url: format!("https://www.youtube.com/watch?v={}", source.key),
            author: snippet.channel_title.clone(),
            published_at: snippet.published_at,
            tags: snippet.tags.iter().take(20).cloned().collect(),
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let found = list(http, "videos", ("id", keys(sources).join(","))).await?;
        Ok(read_each(
            sources,
            &found,
            no_video,
            |_, video: &WithStatistics<VideoStatistics>| {
                let statistics = &video.statistics;
                Ok(Readings::of([
                    ("views", Some(statistics.view_count)),
                    ("likes", statistics.like_count),
                    ("comments", statistics.comment_count),
                ]))
            },
        ))
    }
}

#[async_trait]
impl Provider for Channel {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "youtube.channel",
            label: "YouTube channel",
            service: YOUTUBE,
            examples: &[
                "https://www.youtube.com/channel/UCXuqSBlHAE6Xw-yeJA0Tunw",
                "https://www.youtube.com/@LinusTechTips",
            ],
            metrics: &[
                Metric("subscribers", MetricKind::Gauge, "subscribers"),
                Metric("views", MetricKind::Counter, "views"),
                Metric("videos", MetricKind::Gauge, "videos"),
            ],
            batch_size: 50,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        match segments_on(url, "youtube.com")?.as_slice() {
            [channel, id, ..] if channel == "channel" => self.parse_key(id).ok(),
            [handle, ..] if handle.starts_with('@') => self.parse_key(handle).ok(),
            _ => None,
        }
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        let is_id = key.len() == 24
            && key.starts_with("UC")
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let is_handle = key.starts_with('@')
            && is_token(&key[1..], 100, |c| {
                c.is_alphanumeric() || matches!(c, '-' | '_' | '.')
            });
        if is_id || is_handle {
            Ok(key.to_string())
        } else {
            Err(format!(
                "`{key}` is not a YouTube channel id (UC…) or @handle"
            ))
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let filter = if source.key.starts_with('@') {
            ("forHandle", source.key.clone())
        } else {
            ("id", source.key.clone())
        };
        let found = list(http, "channels", filter).await?;
        let gone = || no_channel(&source.key);
        let item = if source.key.starts_with('@') {
            found.values().next().ok_or_else(gone)?
        } else {
            found.get(&source.key).ok_or_else(gone)?
        };
        // `found` holds only items with an id.
        let id = item.key().unwrap_or(&source.key);
        let channel: &WithSnippet<ChannelSnippet> = item.item()?;
        let snippet = &channel.snippet;
        Ok(Metadata {
            key: id.to_string(),
            title: snippet
                .title
                .clone()
                .unwrap_or_else(|| "YouTube channel".into()),
            url: match &snippet.custom_url {
                Some(custom) => format!("https://www.youtube.com/{custom}"),
                None => format!("https://www.youtube.com/channel/{id}"),
            },
            author: snippet.title.clone(),
            published_at: snippet.published_at,
            tags: Vec::new(),
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let found: HashMap<String, Each<WithStatistics<ChannelStatistics>>> =
            list(http, "channels", ("id", keys(sources).join(","))).await?;
        Ok(sources
            .iter()
            .map(|source| {
                let item = found
                    .get(&source.key)
                    .ok_or_else(|| no_channel(&source.key))?;
                let statistics = &item.item()?.statistics;
                let hidden = statistics.hidden_subscriber_count;
                let readings = Readings::of([
                    (
                        "subscribers",
                        statistics.subscriber_count.filter(|_| !hidden),
                    ),
                    ("views", statistics.view_count),
                    ("videos", statistics.video_count),
                ]);
                if readings.values.is_empty() {
                    return Err(item.unreadable("the channel's answer has no statistics"));
                }
                Ok(readings)
            })
            .collect())
    }
}

/// A channel's `contentDetails`: where its uploads are listed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WithContentDetails {
    id: String,
    #[serde(default)]
    snippet: ChannelSnippet,
    content_details: ContentDetails,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentDetails {
    related_playlists: RelatedPlaylists,
}

#[derive(Deserialize)]
struct RelatedPlaylists {
    uploads: String,
}

#[derive(Deserialize)]
struct ChannelList {
    #[serde(default)]
    items: Vec<WithContentDetails>,
}

/// `playlistItems?part=snippet,contentDetails`: newest first for an uploads playlist.
#[derive(Deserialize)]
struct PlaylistItems {
    #[serde(default)]
    items: Vec<PlaylistItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlaylistItem {
    snippet: PlaylistSnippet,
    content_details: PlaylistContent,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlaylistSnippet {
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlaylistContent {
    video_id: String,
    /// Absent for a private or deleted video still in the playlist.
    #[serde(default, deserialize_with = "rfc3339")]
    video_published_at: Option<DateTime<Utc>>,
}

#[async_trait]
impl Container for Uploads {
    fn spec(&self) -> ContainerSpec {
        ContainerSpec {
            kind: "youtube.uploads",
            label: "YouTube channel",
            yields: "videos",
            item_kind: "youtube.video",
            service: YOUTUBE,
            scored: false,
            examples: &[
                "https://www.youtube.com/@LinusTechTips",
                "https://www.youtube.com/channel/UCXuqSBlHAE6Xw-yeJA0Tunw",
            ],
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        Channel.recognise(url)
    }

    async fn describe(&self, http: &Upstreams, key: &str) -> Result<ContainerInfo, FetchError> {
        let filter = if key.starts_with('@') {
            ("forHandle", key.to_string())
        } else {
            ("id", key.to_string())
        };
        let list: ChannelList = call(http, "channels", "snippet,contentDetails", &[filter]).await?;
        let channel = list
            .items
            .into_iter()
            .find(|channel| key.starts_with('@') || channel.id == key)
            .ok_or_else(|| no_channel(key))?;
        let title = channel
            .snippet
            .title
            .clone()
            .unwrap_or_else(|| "YouTube channel".into());
        Ok(ContainerInfo {
            url: match &channel.snippet.custom_url {
                Some(custom) => format!("https://www.youtube.com/{custom}"),
                None => format!("https://www.youtube.com/channel/{}", channel.id),
            },
            key: channel.id,
            title,
            config: serde_json::json!({
                "uploads": channel.content_details.related_playlists.uploads
            }),
        })
    }

    async fn items(
        &self,
        http: &Upstreams,
        container: &ContainerRef,
    ) -> Result<Vec<ContainerItem>, FetchError> {
        let uploads = container.config["uploads"]
            .as_str()
            .ok_or_else(|| FetchError::Invalid("the watch lost its uploads playlist".into()))?;
        let page: PlaylistItems = call(
            http,
            "playlistItems",
            "snippet,contentDetails",
            &[
                ("playlistId", uploads.to_string()),
                ("maxResults", "50".into()),
            ],
        )
        .await?;
        Ok(page
            .items
            .into_iter()
            .filter(|item| is_video_id(&item.content_details.video_id))
            .map(|item| {
                let id = item.content_details.video_id;
                ContainerItem {
                    url: format!("https://www.youtube.com/watch?v={id}"),
                    title: item.snippet.title.unwrap_or_else(|| id.clone()),
                    published_at: item.content_details.video_published_at,
                    score: None,
                    key: id,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_video_and_channel_urls() {
        let video = Some("dQw4w9WgXcQ");
        assert_recognised(&[
            (
                &Video,
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42",
                video,
            ),
            (&Video, "https://youtu.be/dQw4w9WgXcQ", video),
            (&Video, "https://m.youtube.com/shorts/dQw4w9WgXcQ", video),
            (&Video, "https://www.youtube.com/embed/dQw4w9WgXcQ", video),
            (&Video, "https://www.youtube.com/watch?v=short", None),
            (
                &Channel,
                "https://www.youtube.com/@LinusTechTips/videos",
                Some("@LinusTechTips"),
            ),
            (
                &Channel,
                "https://www.youtube.com/channel/UCXuqSBlHAE6Xw-yeJA0Tunw",
                Some("UCXuqSBlHAE6Xw-yeJA0Tunw"),
            ),
        ]);
    }
}
