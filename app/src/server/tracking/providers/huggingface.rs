//! Hugging Face Hub repositories (models, datasets and Spaces) through the Hub API:
//! `GET /api/models/{id}`, `/api/datasets/{id}` and `/api/spaces/{id}`, one repository a
//! request. An id is `{author}/{name}`; models and datasets made before namespaces have a
//! single-segment legacy id (`gpt2`), which the Hub redirects to the canonical one
//! (`openai-community/gpt2`), as spelled in the answer's `id`.
//!
//! `downloads` is the last 30 days; the all-time count (`downloadsAllTime`) is only sent
//! when asked for with `expand[]=downloadsAllTime`, and once `expand[]` is given the
//! answer holds `_id`, `id` and the fields named, nothing else: every field read here is
//! named. An unknown repository answers 404 `{"error":"Repository not found"}`, or 401
//! with the same body to anonymous callers (private and missing repositories look alike).
//! A configured token the Hub refuses is a 401 `{"error":"Invalid credentials in
//! Authorization header"}`: a credentials error, not a missing repository.
//!
//! Limits are per 5-minute window, announced on every answer in the IETF draft's fields
//! (`RateLimit: "api";r=499;t=120`, `RateLimit-Policy: "fixed window";"api";q=500;w=300`):
//! [`Upstreams`] reads them and pauses the Hub when none are left. The optional
//! `UPCOUNT_HUGGINGFACE_TOKEN` (sent as a Bearer token) raises them.
//!
//! A watch of an author (`huggingface.co/{author}`) checks it with
//! `GET /api/organizations/{author}/overview` (`{"name", "fullname", …}`), else
//! `/api/users/{author}/overview` (`{"user", "fullname", …}`), and lists its newest models
//! with `GET /api/models?author={author}&sort=createdAt&direction=-1&limit=50` (an array of
//! `{"id", "createdAt", "private", …}`; an unknown author is an empty array).

use reqwest::StatusCode;

use super::prelude::*;
use crate::server::tracking::http::{UpstreamResponse, upstream_message};

const TOKEN: &str = "UPCOUNT_HUGGINGFACE_TOKEN";

/// The Hugging Face Hub API.
pub const HUGGINGFACE: Service = Service::new(&ServiceSpec {
    name: "huggingface",
    label: "Hugging Face",
    default_base_url: Some("https://huggingface.co"),
    // Hub API calls: 500 per 5-minute window anonymously, more for an account's token.
    // Staying at about 60% of that leaves room for the add form; the `RateLimit` field
    // pauses us before a window runs out in any case.
    requests_per_minute: 60,
    requests_per_minute_with_credentials: 120,
    credentials: Some(Credentials {
        vars: &[TOKEN],
        required: false,
        when_set: "token set",
        when_missing: "none (anonymous limits)",
    }),
});

pub const MODULE: Module = Module {
    name: "huggingface",
    badge: Badge {
        letters: "HF",
        name: "Hugging Face",
        colour: "#ff9d00",
    },
    services: &[HUGGINGFACE],
    kinds: || vec![Arc::new(Model), Arc::new(Dataset), Arc::new(Space)],
    containers: || vec![Arc::new(Models)],
};

pub struct Model;
pub struct Dataset;
pub struct Space;

/// The models of an author (a user or an organisation), for watches.
pub struct Models;

/// First path segments that are Hugging Face's own pages, not authors or legacy models.
const RESERVED: &[&str] = &[
    "api",
    "blog",
    "changelog",
    "chat",
    "collections",
    "datasets",
    "docs",
    "enterprise",
    "join",
    "learn",
    "login",
    "models",
    "new",
    "new-dataset",
    "new-space",
    "notifications",
    "organizations",
    "papers",
    "posts",
    "pricing",
    "privacy",
    "search",
    "settings",
    "spaces",
    "tasks",
    "terms-of-service",
];

/// Pages of a repository (`/{id}/tree/main`): after one of these, the id had one segment.
const REPO_PAGES: &[&str] = &[
    "blame",
    "blob",
    "commit",
    "commits",
    "discussions",
    "edit",
    "raw",
    "resolve",
    "settings",
    "tree",
    "viewer",
];

/// The longest author or name the Hub accepts.
const PART_MAX: usize = 96;

/// What tells the three kinds of repository apart.
struct RepoType {
    /// `models`: the API's path (`/api/models/{id}`).
    api: &'static str,
    /// `datasets/`: before the id in links to its page (models have none).
    page: &'static str,
    /// `Hugging Face model`: how messages name one.
    what: &'static str,
    /// Whether an id may be a single legacy segment.
    legacy_ids: bool,
    /// The `expand[]` fields asked for: every one read.
    fields: &'static [&'static str],
}

/// What metadata and polls read of models and datasets.
const WITH_DOWNLOADS: &[&str] = &[
    "author",
    "createdAt",
    "downloads",
    "downloadsAllTime",
    "likes",
    "tags",
];

const MODELS: RepoType = RepoType {
    api: "models",
    page: "",
    what: "Hugging Face model",
    legacy_ids: true,
    fields: WITH_DOWNLOADS,
};

const DATASETS: RepoType = RepoType {
    api: "datasets",
    page: "datasets/",
    what: "Hugging Face dataset",
    legacy_ids: true,
    fields: WITH_DOWNLOADS,
};

/// Spaces are not downloaded, and always have an author.
const SPACES: RepoType = RepoType {
    api: "spaces",
    page: "spaces/",
    what: "Hugging Face Space",
    legacy_ids: false,
    fields: &["author", "createdAt", "likes", "tags"],
};

/// A repository as the Hub answers it, with the fields of [`RepoType::fields`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Repo {
    /// `openai-community/gpt2`: the canonical id, as the Hub spells it.
    id: String,
    author: Option<String>,
    /// The lowest value is 2022-03-02, when the Hub began to record it.
    #[serde(default, deserialize_with = "rfc3339")]
    created_at: Option<DateTime<Utc>>,
    /// The card's tags and the Hub's own (`transformers`, `license:mit`, `region:us`).
    #[serde(default, deserialize_with = "strings")]
    tags: Vec<String>,
    /// The last 30 days.
    #[serde(default, deserialize_with = "optional_count")]
    downloads: Option<f64>,
    #[serde(default, deserialize_with = "optional_count")]
    downloads_all_time: Option<f64>,
    #[serde(default, deserialize_with = "optional_count")]
    likes: Option<f64>,
}

impl Repo {
    fn metadata(self, repo_type: &RepoType) -> Metadata {
        Metadata {
            url: format!("https://huggingface.co/{}{}", repo_type.page, self.id),
            title: self.id.clone(),
            author: self.author,
            published_at: self.created_at,
            // Where the Hub serves it from says nothing about the repository.
            tags: self
                .tags
                .into_iter()
                .filter(|tag| !tag.starts_with("region:"))
                .take(10)
                .collect(),
            key: self.id,
        }
    }

    fn readings(&self) -> Readings {
        Readings::of([
            ("downloads", self.downloads),
            ("downloads_all_time", self.downloads_all_time),
            ("likes", self.likes),
        ])
    }
}

/// `GET /api/{type}/{id}?expand[]=…`.
async fn repo(http: &Upstreams, repo_type: &RepoType, id: &str) -> Result<Repo, FetchError> {
    let mut url = http.endpoint(HUGGINGFACE, "/api")?;
    url.path_segments_mut()
        .map_err(|()| FetchError::Invalid("the Hugging Face API URL cannot take a path".into()))?
        .push(repo_type.api)
        .extend(id.split('/'));
    {
        let mut query = url.query_pairs_mut();
        for field in repo_type.fields {
            query.append_pair("expand[]", field);
        }
    }
    hub_get(http, url, &format!("{} {id}", repo_type.what)).await
}

/// A Hub API call, with the token when one is set: a missing (or, to anonymous callers,
/// private) thing is gone, a refused token a settings error.
async fn hub_get<T: serde::de::DeserializeOwned>(
    http: &Upstreams,
    url: Url,
    what: &str,
) -> Result<T, FetchError> {
    let token = http.config().credential(TOKEN);
    let mut request = UpstreamRequest::get(HUGGINGFACE, url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = http.send(&request).await?;
    match response.status {
        status if status.is_success() => response.parse(what),
        StatusCode::NOT_FOUND | StatusCode::GONE => {
            Err(FetchError::Gone(format!("{what} does not exist")))
        }
        StatusCode::UNAUTHORIZED if is_repository_not_found(&response) => Err(FetchError::Gone(
            format!("{what} does not exist (or is private)"),
        )),
        StatusCode::UNAUTHORIZED if token.is_some() => Err(FetchError::NotConfigured(format!(
            "Hugging Face refused {TOKEN}: {}",
            upstream_message(&response.body)
        ))),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Err(http.refusal(HUGGINGFACE, &response, what))
        }
        status => Err(FetchError::Unavailable(format!(
            "{what} answered HTTP {}: {}",
            status.as_u16(),
            upstream_message(&response.body)
        ))),
    }
}

/// The Hub's "Repository not found" (its body, or its `X-Error-Code` header).
fn is_repository_not_found(response: &UpstreamResponse) -> bool {
    let coded = response
        .headers
        .get("x-error-code")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|code| code.eq_ignore_ascii_case("RepoNotFound"));
    coded
        || upstream_message(&response.body)
            .trim()
            .eq_ignore_ascii_case("Repository not found")
}

/// Whether `part` can be an author or a repository name: letters, digits, `-`, `_` and
/// `.`, not starting or ending with `-` or `.`, without `--` or `..`.
fn is_part(part: &str) -> bool {
    is_token(part, PART_MAX, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
    }) && !part.starts_with(['-', '.'])
        && !part.ends_with(['-', '.'])
        && !part.contains("--")
        && !part.contains("..")
}

/// The id in `segments` (a link's path after `/datasets` or `/spaces`, or all of it for
/// a model): `author/name`, or a legacy single segment when `legacy_ids` allows it and
/// the link has nothing after it but one of a repository's pages.
fn id_in(segments: &[String], legacy_ids: bool) -> Option<String> {
    match segments {
        [name] if legacy_ids => Some(name.clone()),
        [name, page, ..] if legacy_ids && REPO_PAGES.contains(&page.as_str()) => Some(name.clone()),
        [author, name, ..] => Some(format!("{author}/{name}")),
        _ => None,
    }
}

/// The path segments of a Hub link (`huggingface.co` or its short `hf.co`).
fn hub_segments(url: &Url) -> Option<Vec<String>> {
    segments_on(url, "huggingface.co").or_else(|| segments_on(url, "hf.co"))
}

/// Checks an id: `author/name`, or `name` alone where `legacy_ids` allows.
fn parse_id(repo_type: &RepoType, key: &str) -> Result<String, String> {
    let key = key.trim();
    let valid = match key.split_once('/') {
        Some((author, name)) => is_part(author) && is_part(name),
        None => repo_type.legacy_ids && is_part(key),
    };
    if valid {
        Ok(key.to_string())
    } else if repo_type.legacy_ids {
        Err(format!(
            "`{key}` is not a {} id (author/name, such as `openai-community/gpt2`)",
            repo_type.what
        ))
    } else {
        Err(format!(
            "`{key}` is not a {} id (author/name, such as `gradio/hello_world`)",
            repo_type.what
        ))
    }
}

#[async_trait]
impl Provider for Model {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "huggingface.model",
            label: "Hugging Face model",
            service: HUGGINGFACE,
            examples: &[
                "https://huggingface.co/openai-community/gpt2",
                "https://huggingface.co/google-bert/bert-base-uncased/tree/main",
                "https://huggingface.co/gpt2",
            ],
            metrics: &DOWNLOAD_METRICS,
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let segments = hub_segments(url)?;
        if RESERVED.contains(&segments.first()?.as_str()) {
            return None;
        }
        self.parse_key(&id_in(&segments, true)?).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        parse_id(&MODELS, key)
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        Ok(repo(http, &MODELS, &source.key).await?.metadata(&MODELS))
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        Ok(repo(http, &MODELS, &source.key).await?.readings())
    }
}

/// Models' and datasets' metrics.
const DOWNLOAD_METRICS: [Metric; 3] = [
    // The last 30 days: a window, so it falls as well as rises.
    Metric("downloads", MetricKind::Gauge, "downloads"),
    Metric("downloads_all_time", MetricKind::Counter, "downloads"),
    Metric("likes", MetricKind::Gauge, "likes"),
];

#[async_trait]
impl Provider for Dataset {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "huggingface.dataset",
            label: "Hugging Face dataset",
            service: HUGGINGFACE,
            examples: &[
                "https://huggingface.co/datasets/rajpurkar/squad",
                "https://huggingface.co/datasets/HuggingFaceFW/fineweb/viewer/default/train",
            ],
            metrics: &DOWNLOAD_METRICS,
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        match hub_segments(url)?.split_first()? {
            (datasets, rest) if datasets == "datasets" => self.parse_key(&id_in(rest, true)?).ok(),
            _ => None,
        }
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        parse_id(&DATASETS, key)
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        Ok(repo(http, &DATASETS, &source.key)
            .await?
            .metadata(&DATASETS))
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        Ok(repo(http, &DATASETS, &source.key).await?.readings())
    }
}

#[async_trait]
impl Provider for Space {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "huggingface.space",
            label: "Hugging Face Space",
            service: HUGGINGFACE,
            examples: &[
                "https://huggingface.co/spaces/gradio/hello_world",
                "https://huggingface.co/spaces/open-llm-leaderboard/open_llm_leaderboard/discussions",
            ],
            metrics: &[Metric("likes", MetricKind::Gauge, "likes")],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        match hub_segments(url)?.split_first()? {
            (spaces, rest) if spaces == "spaces" => self.parse_key(&id_in(rest, false)?).ok(),
            _ => None,
        }
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        parse_id(&SPACES, key)
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        Ok(repo(http, &SPACES, &source.key).await?.metadata(&SPACES))
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let repo = repo(http, &SPACES, &source.key).await?;
        Ok(Readings::of([("likes", repo.likes)]))
    }
}

/// The newest models a watch reads at once.
const MODELS_PAGE: usize = 50;

/// An organisation's or a user's overview: whichever answers names the author.
#[derive(Deserialize)]
struct Overview {
    /// An organisation's name.
    name: Option<String>,
    /// A user's name.
    user: Option<String>,
    fullname: Option<String>,
}

/// One model of `GET /api/models?author=`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    id: String,
    #[serde(default)]
    private: bool,
    #[serde(default, deserialize_with = "rfc3339")]
    created_at: Option<DateTime<Utc>>,
}

/// `/api/{organizations|users}/{author}/overview`.
async fn overview(http: &Upstreams, of: &str, author: &str) -> Result<Overview, FetchError> {
    let mut url = http.endpoint(HUGGINGFACE, "/api")?;
    url.path_segments_mut()
        .map_err(|()| FetchError::Invalid("the Hugging Face API URL cannot take a path".into()))?
        .extend([of, author, "overview"]);
    hub_get(http, url, &format!("Hugging Face author {author}")).await
}

#[async_trait]
impl Container for Models {
    fn spec(&self) -> ContainerSpec {
        ContainerSpec {
            kind: "huggingface.models",
            label: "Hugging Face author",
            yields: "models",
            item_kind: "huggingface.model",
            service: HUGGINGFACE,
            scored: false,
            examples: &["https://huggingface.co/google", "https://hf.co/julien-c"],
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        // `/{author}`, or the author's lists (`/{author}?tab=models`, `/organizations/…`).
        let author = match hub_segments(url)?.as_slice() {
            [organizations, author, ..] if organizations == "organizations" => author.clone(),
            [author] if !RESERVED.contains(&author.as_str()) => author.clone(),
            _ => return None,
        };
        is_part(&author).then_some(author)
    }

    async fn describe(&self, http: &Upstreams, key: &str) -> Result<ContainerInfo, FetchError> {
        if !is_part(key) {
            return Err(FetchError::Invalid(format!(
                "`{key}` is not a Hugging Face author (such as `google`)"
            )));
        }
        let found = match overview(http, "organizations", key).await {
            Err(FetchError::Gone(_)) => overview(http, "users", key).await,
            found => found,
        };
        let overview = found.map_err(|error| match error {
            FetchError::Gone(_) => {
                FetchError::Gone(format!("Hugging Face author {key} does not exist"))
            }
            error => error,
        })?;
        let author = overview
            .name
            .or(overview.user)
            .unwrap_or_else(|| key.to_string());
        Ok(ContainerInfo {
            url: format!("https://huggingface.co/{author}"),
            title: overview
                .fullname
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| author.clone()),
            key: author,
            config: serde_json::Value::Null,
        })
    }

    async fn items(
        &self,
        http: &Upstreams,
        container: &ContainerRef,
    ) -> Result<Vec<ContainerItem>, FetchError> {
        let mut url = http.endpoint(HUGGINGFACE, "/api/models")?;
        url.query_pairs_mut()
            .append_pair("author", &container.key)
            .append_pair("sort", "createdAt")
            .append_pair("direction", "-1")
            .append_pair("limit", &MODELS_PAGE.to_string());
        let what = format!("the models of Hugging Face author {}", container.key);
        let listed: Vec<Listed> = hub_get(http, url, &what).await?;
        Ok(listed
            .into_iter()
            .filter(|model| !model.private)
            .map(|model| ContainerItem {
                url: format!("https://huggingface.co/{}", model.id),
                title: model.id.clone(),
                published_at: model.created_at,
                score: None,
                key: model.id,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_models_datasets_and_spaces() {
        assert_recognised(&[
            (
                &Model,
                "https://huggingface.co/openai-community/gpt2",
                Some("openai-community/gpt2"),
            ),
            (
                &Model,
                "https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/README.md",
                Some("meta-llama/Llama-3.1-8B"),
            ),
            (&Model, "https://huggingface.co/gpt2", Some("gpt2")),
            (
                &Model,
                "https://huggingface.co/gpt2/tree/main",
                Some("gpt2"),
            ),
            (
                &Model,
                "https://hf.co/Qwen/Qwen2.5-7B-Instruct?library=transformers",
                Some("Qwen/Qwen2.5-7B-Instruct"),
            ),
            (
                &Dataset,
                "https://huggingface.co/datasets/rajpurkar/squad",
                Some("rajpurkar/squad"),
            ),
            (
                &Dataset,
                "https://huggingface.co/datasets/HuggingFaceFW/fineweb/viewer/default/train",
                Some("HuggingFaceFW/fineweb"),
            ),
            (
                &Dataset,
                "https://huggingface.co/datasets/squad/discussions",
                Some("squad"),
            ),
            (
                &Space,
                "https://huggingface.co/spaces/gradio/hello_world",
                Some("gradio/hello_world"),
            ),
            (
                &Space,
                "https://huggingface.co/spaces/open-llm-leaderboard/open_llm_leaderboard/discussions",
                Some("open-llm-leaderboard/open_llm_leaderboard"),
            ),
        ]);
    }

    #[test]
    fn leaves_the_hubs_own_pages_and_other_kinds_links_alone() {
        let mut cases: Vec<(&dyn Provider, &str, Option<&str>)> = Vec::new();
        for page in [
            "https://huggingface.co/docs/transformers/index",
            "https://huggingface.co/models?pipeline_tag=text-generation",
            "https://huggingface.co/datasets",
            "https://huggingface.co/spaces",
            "https://huggingface.co/pricing",
            "https://huggingface.co/blog/welcome",
            "https://huggingface.co/login",
            "https://huggingface.co/join",
            "https://huggingface.co/settings/tokens",
            "https://huggingface.co/organizations/google/settings",
            "https://huggingface.co/papers/2307.09288",
            "https://huggingface.co/collections/meta-llama/llama-31",
            "https://huggingface.co/tasks/text-generation",
            "https://huggingface.co/learn/nlp-course",
            "https://huggingface.co/enterprise",
            "https://huggingface.co/posts/julien-c/123",
            "https://huggingface.co/chat/",
            "https://huggingface.co/",
            "https://huggingface.co/spaces/gradio",
            "https://huggingface.co/bad name/x",
            "https://huggingface.co.evil.example/openai-community/gpt2",
            "https://github.com/openai-community/gpt2",
        ] {
            cases.push((&Model, page, None));
            cases.push((&Dataset, page, None));
            cases.push((&Space, page, None));
        }
        cases.push((
            &Dataset,
            "https://huggingface.co/openai-community/gpt2",
            None,
        ));
        cases.push((
            &Space,
            "https://huggingface.co/datasets/rajpurkar/squad",
            None,
        ));
        assert_recognised(&cases);
    }

    #[test]
    fn ids_are_checked() {
        for good in [
            "gpt2",
            "openai-community/gpt2",
            "a/b.c_d-e",
            "Qwen/Qwen2.5-7B",
        ] {
            assert_eq!(Model.parse_key(good).as_deref(), Ok(good), "{good}");
            assert_eq!(Dataset.parse_key(good).as_deref(), Ok(good), "{good}");
        }
        assert_eq!(
            Space.parse_key(" gradio/hello_world ").as_deref(),
            Ok("gradio/hello_world")
        );
        assert!(
            Space.parse_key("hello_world").is_err(),
            "spaces have authors"
        );
        for bad in [
            "",
            "/gpt2",
            "gpt2/",
            "a/b/c",
            "a--b/c",
            "a/b..c",
            "-a/b",
            "a/b.",
            "with space/x",
            "a/b?c",
            &format!("a/{}", "b".repeat(PART_MAX + 1)),
        ] {
            assert!(Model.parse_key(bad).is_err(), "{bad}");
            assert!(Space.parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_an_expanded_answer_and_skips_the_region_tag() {
        let repo: Repo = serde_json::from_str(
            r#"{"_id": "621ffdc036468d709f17434d", "id": "openai-community/gpt2",
                "author": "openai-community", "createdAt": "2022-03-02T23:29:04.000Z",
                "downloads": 11234567, "downloadsAllTime": 812345678, "likes": 2890,
                "tags": ["transformers", "pytorch", "gpt2", "region:us"]}"#,
        )
        .expect("read");
        let readings = repo.readings();
        assert_eq!(readings.value_of("downloads_all_time"), Some(812_345_678.0));
        let metadata = repo.metadata(&MODELS);
        assert_eq!(metadata.url, "https://huggingface.co/openai-community/gpt2");
        assert_eq!(metadata.tags, ["transformers", "pytorch", "gpt2"]);
        // Without `expand[]` the all-time count is simply not there.
        let repo: Repo =
            serde_json::from_str(r#"{"id": "gpt2", "downloads": 5, "likes": 1}"#).expect("read");
        assert_eq!(repo.readings().value_of("downloads_all_time"), None);
    }

    #[test]
    fn recognises_authors_for_watches() {
        let cases: &[(&str, Option<&str>)] = &[
            ("https://huggingface.co/google", Some("google")),
            ("https://huggingface.co/google?tab=models", Some("google")),
            ("https://hf.co/julien-c", Some("julien-c")),
            (
                "https://huggingface.co/organizations/meta-llama/settings",
                Some("meta-llama"),
            ),
            ("https://huggingface.co/models", None),
            ("https://huggingface.co/google/gemma-2b", None),
            ("https://huggingface.co/-bad", None),
            ("https://huggingface.co.evil.example/google", None),
        ];
        assert_recognised_containers(&Models, cases);
    }
}
