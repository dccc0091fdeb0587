//! GitHub repositories through the REST API: `GET /repos/{owner}/{repo}`. An optional
//! `UPCOUNT_GITHUB_TOKEN` raises the rate limit from 60 to 5,000 requests an hour.

use super::prelude::*;

/// GitHub's API.
pub const GITHUB: Service = Service::new(&ServiceSpec {
    name: "github",
    label: "GitHub",
    default_base_url: Some("https://api.github.com"),
    // 60 an hour without a token, 5,000 with one.
    requests_per_minute: 1,
    requests_per_minute_with_credentials: 80,
    credentials: Some(Credentials {
        vars: &["UPCOUNT_GITHUB_TOKEN"],
        required: false,
        when_set: "token set",
        when_missing: "none (60 requests an hour)",
    }),
});

pub const MODULE: Module = Module {
    name: "github",
    badge: Badge {
        letters: "GH",
        name: "GitHub",
        colour: "#24292f",
    },
    services: &[GITHUB],
    kinds: || vec![Arc::new(Repo)],
};

pub struct Repo;

/// First path segments that are GitHub pages, not owners.
const RESERVED: &[&str] = &[
    "about",
    "apps",
    "collections",
    "explore",
    "features",
    "login",
    "marketplace",
    "notifications",
    "orgs",
    "organizations",
    "pricing",
    "pulls",
    "issues",
    "search",
    "settings",
    "sponsors",
    "topics",
    "trending",
    "users",
    "new",
    "codespaces",
];

/// `GET /repos/{owner}/{repo}`: the fields Upcount reads.
#[derive(Deserialize)]
struct Repository {
    /// `leptos-rs/leptos`, as GitHub spells it (the key may differ in case, or be an old
    /// name that redirects).
    full_name: String,
    html_url: Option<String>,
    owner: Option<Owner>,
    #[serde(default, deserialize_with = "rfc3339")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "strings")]
    topics: Vec<String>,
    stargazers_count: f64,
    forks_count: Option<f64>,
    open_issues_count: Option<f64>,
    /// The watchers (`watchers_count` repeats the stars).
    subscribers_count: Option<f64>,
}

#[derive(Deserialize)]
struct Owner {
    login: Option<String>,
}

async fn repo(http: &Upstreams, key: &str) -> Result<Repository, FetchError> {
    let url = http.endpoint(GITHUB, &format!("/repos/{key}"))?;
    let mut request = UpstreamRequest::get(GITHUB, url)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28");
    if let Some(token) = http.config().credential("UPCOUNT_GITHUB_TOKEN") {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    http.get(&request, &format!("GitHub repository {key}"))
        .await
}

#[async_trait]
impl Provider for Repo {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "github.repo",
            label: "GitHub repository",
            service: GITHUB,
            examples: &[
                "https://github.com/leptos-rs/leptos",
                "https://github.com/serde-rs/json",
            ],
            metrics: &[
                Metric("stars", MetricKind::Counter, "stars"),
                Metric("forks", MetricKind::Counter, "forks"),
                Metric("open_issues", MetricKind::Gauge, "issues"),
                Metric("watchers", MetricKind::Gauge, "watchers"),
            ],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let segments = segments_on(url, "github.com")?;
        let (owner, name) = (segments.first()?, segments.get(1)?);
        if RESERVED.contains(&owner.to_ascii_lowercase().as_str()) {
            return None;
        }
        let name = name.strip_suffix(".git").unwrap_or(name);
        self.parse_key(&format!("{owner}/{name}")).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        let invalid = || format!("`{key}` is not a GitHub repository (owner/name)");
        let (owner, name) = key.split_once('/').ok_or_else(invalid)?;
        let owner_ok = is_token(owner, 39, |c| c.is_ascii_alphanumeric() || c == '-');
        let name_ok = is_token(name, 100, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
        }) && name != "."
            && name != "..";
        if owner_ok && name_ok {
            Ok(format!("{owner}/{name}"))
        } else {
            Err(invalid())
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let repo = repo(http, &source.key).await?;
        Ok(Metadata {
            url: repo
                .html_url
                .unwrap_or_else(|| format!("https://github.com/{}", repo.full_name)),
            key: repo.full_name.clone(),
            title: repo.full_name,
            author: repo.owner.and_then(|owner| owner.login),
            published_at: repo.created_at,
            tags: repo.topics,
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let repo = repo(http, &source.key).await?;
        Ok(Readings::of([
            ("stars", Some(repo.stargazers_count)),
            ("forks", repo.forks_count),
            ("open_issues", repo.open_issues_count),
            ("watchers", repo.subscribers_count),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_repository_urls() {
        assert_recognised(&[
            (
                &Repo,
                "https://github.com/leptos-rs/leptos",
                Some("leptos-rs/leptos"),
            ),
            (
                &Repo,
                "https://github.com/leptos-rs/leptos/issues/12",
                Some("leptos-rs/leptos"),
            ),
            (
                &Repo,
                "https://www.github.com/serde-rs/json.git",
                Some("serde-rs/json"),
            ),
            (&Repo, "https://github.com/leptos-rs", None),
            (&Repo, "https://github.com/settings/profile", None),
            (&Repo, "https://gitlab.com/a/b", None),
        ]);
        assert!(Repo.parse_key("a/b/c").is_err());
        assert!(Repo.parse_key("nobody").is_err());
    }
}
