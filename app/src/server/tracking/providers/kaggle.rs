//! Kaggle datasets and notebooks through Kaggle's public API v1, with HTTP basic
//! authentication (`UPCOUNT_KAGGLE_USERNAME` and `UPCOUNT_KAGGLE_KEY`, an account's API
//! key; Kaggle answers nothing anonymously).
//!
//! A dataset is `GET /datasets/view/{owner}/{slug}` (`ref`, `title`, `downloadCount`,
//! `viewCount`, `voteCount`, `ownerName`, `lastUpdated`, `tags`…). An unknown one answers
//! 404 `{"code":404,"message":"Not found"}`, and one the account may not see (private, or
//! not there at all: Kaggle does not say which) 403 with a "Permission … was denied".
//!
//! A notebook (a "kernel" to the API) has no endpoint of its own that counts votes: it is
//! found with `GET /kernels/list?user={owner}&search={slug}`, whose items (`ref`, `title`,
//! `author`, `totalVotes`, `lastRunTime`) are whatever the search matched, best first. The
//! notebook is the item whose `ref` is exactly `owner/slug` (compared without case); a
//! search without it means the notebook is gone, however close its first hit.
//!
//! Dates come as `2017-11-27T17:08:04.413Z`, and from older records without the `Z`.

use chrono::NaiveDateTime;
use reqwest::StatusCode;
use serde::Deserializer;

use super::prelude::*;
use crate::server::tracking::http::upstream_message;

const USERNAME: &str = "UPCOUNT_KAGGLE_USERNAME";
const KEY: &str = "UPCOUNT_KAGGLE_KEY";

/// Kaggle's public API.
pub const KAGGLE: Service = Service::new(&ServiceSpec {
    name: "kaggle",
    label: "Kaggle",
    default_base_url: Some("https://www.kaggle.com/api/v1"),
    // Kaggle publishes no limit for its API and answers 429 when pushed; one request a
    // second is well below what its own command-line tool sends.
    requests_per_minute: 60,
    requests_per_minute_with_credentials: 60,
    credentials: Some(Credentials {
        vars: &[USERNAME, KEY],
        required: true,
        when_set: "API key set",
        when_missing: "missing: Kaggle cannot be tracked",
    }),
});

pub const MODULE: Module = Module {
    name: "kaggle",
    badge: Badge {
        letters: "K",
        name: "Kaggle",
        colour: "#20beff",
    },
    services: &[KAGGLE],
    kinds: || vec![Arc::new(Dataset), Arc::new(Notebook)],
    containers: no_containers,
};

pub struct Dataset;
pub struct Notebook;

/// The most notebooks one search answers (the API's ceiling).
const PAGE_SIZE: &str = "100";

/// `GET /datasets/view/{owner}/{slug}`: the fields Upcount reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatasetView {
    #[serde(rename = "ref")]
    reference: String,
    title: Option<String>,
    /// The owner's display name (`ownerRef` is the account).
    owner_name: Option<String>,
    owner_ref: Option<String>,
    /// When the newest version was published: the API gives no creation date.
    #[serde(default, deserialize_with = "kaggle_time")]
    last_updated: Option<DateTime<Utc>>,
    #[serde(default)]
    tags: Option<Vec<Tag>>,
    #[serde(default, deserialize_with = "optional_count")]
    download_count: Option<f64>,
    #[serde(default, deserialize_with = "optional_count")]
    view_count: Option<f64>,
    #[serde(default, deserialize_with = "optional_count")]
    vote_count: Option<f64>,
}

#[derive(Deserialize)]
struct Tag {
    name: Option<String>,
}

/// An item of `GET /kernels/list`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Kernel {
    title: Option<String>,
    /// The author's display name.
    author: Option<String>,
    #[serde(default, deserialize_with = "kaggle_time")]
    last_run_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "optional_count")]
    total_votes: Option<f64>,
}

/// A notebook's `ref`, read apart from the rest of its item so that a malformed near
/// miss does not hide the exact match.
#[derive(Deserialize)]
struct KernelRef {
    #[serde(rename = "ref")]
    reference: String,
}

impl ItemKey for KernelRef {
    fn key(self) -> String {
        normalise_ref(&self.reference)
    }
}

/// `owner/slug`, lowercase, of a `ref`: also when it comes as a path (`/code/owner/slug`).
fn normalise_ref(reference: &str) -> String {
    let parts: Vec<&str> = reference
        .split('/')
        .filter(|part| !part.is_empty())
        .collect();
    parts[parts.len().saturating_sub(2)..]
        .join("/")
        .to_ascii_lowercase()
}

/// A Kaggle date: RFC 3339, or the same without a zone (UTC); `None` when absent or
/// unreadable.
fn kaggle_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    Ok(text.and_then(|text| {
        DateTime::parse_from_rfc3339(&text)
            .map(|time| time.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
            })
            .ok()
    }))
}

/// A request to Kaggle with the account's credentials.
fn request(http: &Upstreams, url: Url) -> Result<UpstreamRequest, FetchError> {
    let config = http.config();
    let (Some(username), Some(key)) = (config.credential(USERNAME), config.credential(KEY)) else {
        return Err(FetchError::NotConfigured(format!(
            "Kaggle tracking needs {USERNAME} and {KEY} on the server"
        )));
    };
    Ok(UpstreamRequest::get(KAGGLE, url).basic_auth(username, key))
}

/// `path` (and `query`) of the API, answered as `T`; `what` names the thing for messages.
async fn get<T: serde::de::DeserializeOwned>(
    http: &Upstreams,
    segments: &[&str],
    query: &[(&str, &str)],
    what: &str,
) -> Result<T, FetchError> {
    let mut url = http.endpoint(KAGGLE, "/")?;
    url.path_segments_mut()
        .map_err(|()| FetchError::Invalid("the Kaggle API URL cannot take a path".into()))?
        .pop_if_empty()
        .extend(segments);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let response = http.send(&request(http, url)?).await?;
    let message = || upstream_message(&response.body);
    match response.status {
        status if status.is_success() => response.parse(what),
        StatusCode::NOT_FOUND | StatusCode::GONE => {
            Err(FetchError::Gone(format!("{what} does not exist")))
        }
        // Kaggle says the same of a private dataset and of one that is not there.
        StatusCode::FORBIDDEN if message().contains("denied") => Err(FetchError::Gone(format!(
            "{what} does not exist, or this server's Kaggle account may not see it ({})",
            message()
        ))),
        StatusCode::UNAUTHORIZED => Err(FetchError::NotConfigured(format!(
            "Kaggle refused {USERNAME} and {KEY}: {}",
            message()
        ))),
        StatusCode::FORBIDDEN => Err(http.refusal(KAGGLE, &response, what)),
        status => Err(FetchError::Unavailable(format!(
            "{what} answered HTTP {}: {}",
            status.as_u16(),
            message()
        ))),
    }
}

async fn dataset(http: &Upstreams, key: &str) -> Result<DatasetView, FetchError> {
    let (owner, slug) = split(key)?;
    let what = format!("Kaggle dataset {key}");
    get(http, &["datasets", "view", owner, slug], &[], &what).await
}

/// The notebook `key` among what a search of its owner's notebooks for its slug answers.
async fn notebook(http: &Upstreams, key: &str) -> Result<Kernel, FetchError> {
    let (owner, slug) = split(key)?;
    let what = format!("Kaggle notebook {key}");
    let query = [("user", owner), ("search", slug), ("pageSize", PAGE_SIZE)];
    let found: Vec<Each<Kernel, KernelRef>> =
        get(http, &["kernels", "list"], &query, &what).await?;
    let exact = found
        .into_iter()
        .find(|kernel| kernel.key() == Some(key))
        .ok_or_else(|| FetchError::Gone(format!("{what} does not exist")))?;
    exact.into_item()
}

fn split(key: &str) -> Result<(&str, &str), FetchError> {
    key.split_once('/')
        .ok_or_else(|| FetchError::Invalid(format!("`{key}` is not a Kaggle owner/slug")))
}

/// Whether `part` can be an owner or a slug: letters, digits, `-` and `_`.
fn is_part(part: &str) -> bool {
    is_token(part, 100, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
    })
}

/// `owner/slug` (lowercase, as Kaggle writes refs), checked.
fn parse_ref(key: &str, what: &str, example: &str) -> Result<String, String> {
    let key = key.trim().to_ascii_lowercase();
    match key.split_once('/') {
        Some((owner, slug)) if is_part(owner) && is_part(slug) => Ok(key),
        _ => Err(format!(
            "`{key}` is not a Kaggle {what} (owner/slug, such as `{example}`)"
        )),
    }
}

/// The `owner/slug` of a `kaggle.com/{section}/{owner}/{slug}…` link.
fn recognise_in(url: &Url, section: &str) -> Option<String> {
    match segments_on(url, "kaggle.com")?.as_slice() {
        [first, owner, slug, ..] if first == section => Some(format!("{owner}/{slug}")),
        _ => None,
    }
}

#[async_trait]
impl Provider for Dataset {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "kaggle.dataset",
            label: "Kaggle dataset",
            service: KAGGLE,
            examples: &[
                "https://www.kaggle.com/datasets/zynicide/wine-reviews",
                "https://www.kaggle.com/datasets/uciml/iris/data",
            ],
            metrics: &[
                Metric("downloads", MetricKind::Counter, "downloads"),
                Metric("views", MetricKind::Counter, "views"),
                // Votes can be withdrawn.
                Metric("votes", MetricKind::Gauge, "votes"),
            ],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        self.parse_key(&recognise_in(url, "datasets")?).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        parse_ref(key, "dataset", "zynicide/wine-reviews")
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let dataset = dataset(http, &source.key).await?;
        let key = normalise_ref(&dataset.reference);
        Ok(Metadata {
            title: dataset.title.unwrap_or_else(|| key.clone()),
            url: format!("https://www.kaggle.com/datasets/{key}"),
            author: dataset.owner_name.or(dataset.owner_ref),
            published_at: dataset.last_updated,
            tags: dataset
                .tags
                .unwrap_or_default()
                .into_iter()
                .filter_map(|tag| tag.name)
                .take(10)
                .collect(),
            key,
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let dataset = dataset(http, &source.key).await?;
        Ok(Readings::of([
            ("downloads", dataset.download_count),
            ("views", dataset.view_count),
            ("votes", dataset.vote_count),
        ]))
    }
}

#[async_trait]
impl Provider for Notebook {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "kaggle.notebook",
            label: "Kaggle notebook",
            service: KAGGLE,
            examples: &[
                "https://www.kaggle.com/code/alexisbcook/titanic-tutorial",
                "https://www.kaggle.com/code/startupsci/titanic-data-science-solutions/notebook",
            ],
            metrics: &[Metric("votes", MetricKind::Gauge, "votes")],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        self.parse_key(&recognise_in(url, "code")?).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        parse_ref(key, "notebook", "alexisbcook/titanic-tutorial")
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let kernel = notebook(http, &source.key).await?;
        Ok(Metadata {
            key: source.key.clone(),
            title: kernel.title.unwrap_or_else(|| source.key.clone()),
            url: format!("https://www.kaggle.com/code/{}", source.key),
            author: kernel.author,
            published_at: kernel.last_run_time,
            tags: Vec::new(),
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let kernel = notebook(http, &source.key).await?;
        Ok(Readings::of([("votes", kernel.total_votes)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_dataset_and_notebook_links() {
        assert_recognised(&[
            (
                &Dataset,
                "https://www.kaggle.com/datasets/zynicide/wine-reviews",
                Some("zynicide/wine-reviews"),
            ),
            (
                &Dataset,
                "https://kaggle.com/datasets/UCIML/Iris/versions/2?resource=download",
                Some("uciml/iris"),
            ),
            (
                &Notebook,
                "https://www.kaggle.com/code/alexisbcook/titanic-tutorial",
                Some("alexisbcook/titanic-tutorial"),
            ),
            (
                &Notebook,
                "https://www.kaggle.com/code/startupsci/titanic-data-science-solutions/notebook",
                Some("startupsci/titanic-data-science-solutions"),
            ),
            (
                &Dataset,
                "https://www.kaggle.com/code/alexisbcook/titanic-tutorial",
                None,
            ),
            (
                &Notebook,
                "https://www.kaggle.com/datasets/zynicide/wine-reviews",
                None,
            ),
            (
                &Dataset,
                "https://www.kaggle.com/datasets?search=wine",
                None,
            ),
            (&Dataset, "https://www.kaggle.com/datasets/zynicide", None),
            (&Notebook, "https://www.kaggle.com/code/alexisbcook", None),
            (
                &Notebook,
                "https://www.kaggle.com/competitions/titanic",
                None,
            ),
            (
                &Dataset,
                "https://www.kaggle.com/zynicide/wine-reviews",
                None,
            ),
            (
                &Dataset,
                "https://kaggle.com.evil.example/datasets/zynicide/wine-reviews",
                None,
            ),
        ]);
    }

    #[test]
    fn keys_are_lowercase_owner_and_slug() {
        assert_eq!(
            Dataset.parse_key(" Zynicide/Wine-Reviews ").as_deref(),
            Ok("zynicide/wine-reviews")
        );
        assert_eq!(Notebook.parse_key("a_b/c-1").as_deref(), Ok("a_b/c-1"));
        for bad in [
            "",
            "wine-reviews",
            "/x",
            "x/",
            "a/b/c",
            "a b/c",
            "a/ü",
            "a/b?c",
        ] {
            assert!(Dataset.parse_key(bad).is_err(), "{bad}");
            assert!(Notebook.parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refs_and_dates_are_read_leniently() {
        assert_eq!(
            normalise_ref("AlexisBCook/Titanic-Tutorial"),
            "alexisbcook/titanic-tutorial"
        );
        assert_eq!(normalise_ref("/code/owner/slug"), "owner/slug");
        assert_eq!(normalise_ref("slug"), "slug");
        let kernel: Kernel = serde_json::from_str(
            r#"{"title": "T", "author": "A", "lastRunTime": "2018-03-22T09:58:20.27",
                "totalVotes": 12}"#,
        )
        .expect("read");
        assert_eq!(
            kernel
                .last_run_time
                .map(|time| time.to_rfc3339())
                .as_deref(),
            Some("2018-03-22T09:58:20.270+00:00")
        );
        let kernel: Kernel =
            serde_json::from_str(r#"{"lastRunTime": "yesterday", "totalVotes": null}"#)
                .expect("read");
        assert_eq!((kernel.last_run_time, kernel.total_votes), (None, None));
    }
}
