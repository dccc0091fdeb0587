//! Docker Hub repositories (images) through Docker Hub's API:
//! `GET /v2/repositories/{namespace}/{repository}/` (`pull_count`, `star_count`), one
//! repository a request. Official images live in the `library` namespace
//! (`hub.docker.com/_/nginx` is `library/nginx`). A repository that does not exist (or is
//! private: Upcount asks anonymously) answers 404 `{"message":"object not found",…}`.
//!
//! Every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
//! (a Unix time), and a 429 says `Retry-After` (seconds): [`Upstreams`] reads both for every
//! service and pauses Docker Hub for as long as it asks.

use super::prelude::*;

/// Docker Hub's API.
pub const DOCKERHUB: Service = Service::new(&ServiceSpec {
    name: "dockerhub",
    label: "Docker Hub",
    default_base_url: Some("https://hub.docker.com"),
    // The limit is per minute and unpublished (each answer says what is left, which pauses
    // us when it runs out); one request a second stays well inside it.
    requests_per_minute: 60,
    requests_per_minute_with_credentials: 60,
    credentials: None,
});

pub const MODULE: Module = Module {
    name: "dockerhub",
    badge: Badge {
        letters: "DH",
        name: "Docker Hub",
        colour: "#1d63ed",
    },
    services: &[DOCKERHUB],
    kinds: || vec![Arc::new(Repo)],
    containers: no_containers,
};

pub struct Repo;

/// The namespace of Docker's official images (`hub.docker.com/_/{name}`).
const OFFICIAL: &str = "library";

/// `GET /v2/repositories/{namespace}/{repository}/`: the fields Upcount reads.
#[derive(Deserialize)]
struct Repository {
    /// `library`, `bitnami`: as Docker Hub spells it.
    namespace: String,
    /// `nginx`, `redis`.
    name: String,
    star_count: f64,
    /// Every pull since the repository was made.
    pull_count: f64,
    #[serde(default, deserialize_with = "rfc3339")]
    date_registered: Option<DateTime<Utc>>,
    /// `[{"name": "Web Servers", "slug": "web-servers"}]`; absent or `null` on older
    /// repositories.
    #[serde(default)]
    categories: Option<Vec<Category>>,
}

#[derive(Deserialize)]
struct Category {
    name: String,
}

impl Repository {
    /// `library/nginx`: the key, as Docker Hub spells it.
    fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    fn is_official(&self) -> bool {
        self.namespace == OFFICIAL
    }

    /// `nginx` for official images, `bitnami/redis` otherwise.
    fn title(&self) -> String {
        if self.is_official() {
            self.name.clone()
        } else {
            self.key()
        }
    }

    /// The repository's page on Docker Hub.
    fn page(&self) -> String {
        if self.is_official() {
            format!("https://hub.docker.com/_/{}", self.name)
        } else {
            format!("https://hub.docker.com/r/{}", self.key())
        }
    }
}

/// Whether `part` can be a namespace or a repository name: lowercase letters, digits and
/// `.`, `_`, `-` between them (the registry's path components), at most 255 characters.
fn is_component(part: &str) -> bool {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    is_token(part, 255, |c| {
        alphanumeric(c) || matches!(c, '.' | '_' | '-')
    }) && part.starts_with(alphanumeric)
        && part.ends_with(alphanumeric)
}

async fn repository(http: &Upstreams, key: &str) -> Result<Repository, FetchError> {
    let url = http.endpoint(DOCKERHUB, &format!("/v2/repositories/{key}/"))?;
    let what = format!("Docker Hub repository {key}");
    http.get(&UpstreamRequest::get(DOCKERHUB, url), &what).await
}

#[async_trait]
impl Provider for Repo {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "dockerhub.repo",
            label: "Docker Hub image",
            service: DOCKERHUB,
            examples: &[
                "https://hub.docker.com/_/nginx",
                "https://hub.docker.com/r/bitnami/redis/tags",
                "https://hub.docker.com/repository/docker/bitnami/redis/general",
            ],
            metrics: &[
                Metric("pulls", MetricKind::Counter, "pulls"),
                Metric("stars", MetricKind::Gauge, "stars"),
            ],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let segments = segments_on(url, "hub.docker.com")?;
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let (namespace, name) = match segments.as_slice() {
            // Official images: `/_/nginx`, and the older `/r/_/nginx`.
            ["_", name, ..] | ["r", "_", name, ..] => (OFFICIAL, *name),
            // `/r/bitnami/redis/tags`, and the owner's view `/repository/docker/…`.
            ["r", namespace, name, ..] | ["repository", "docker", namespace, name, ..] => {
                (*namespace, *name)
            }
            _ => return None,
        };
        self.parse_key(&format!("{namespace}/{name}")).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        let lowercase = key.to_ascii_lowercase();
        // `nginx` is `library/nginx`, as `docker pull nginx` reads it.
        let (namespace, name) = lowercase.split_once('/').unwrap_or((OFFICIAL, &lowercase));
        if is_component(namespace) && is_component(name) {
            Ok(format!("{namespace}/{name}"))
        } else {
            Err(format!(
                "`{key}` is not a Docker Hub repository (namespace/name, for example library/nginx or bitnami/redis)"
            ))
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let repo = repository(http, &source.key).await?;
        Ok(Metadata {
            key: repo.key(),
            title: repo.title(),
            url: repo.page(),
            author: (!repo.is_official()).then(|| repo.namespace.clone()),
            published_at: repo.date_registered,
            tags: repo
                .categories
                .unwrap_or_default()
                .into_iter()
                .map(|category| category.name)
                .collect(),
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let repo = repository(http, &source.key).await?;
        Ok(Readings::of([
            ("pulls", Some(repo.pull_count)),
            ("stars", Some(repo.star_count)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`Repo::recognise`] makes of `link`.
    fn key_of(link: &str) -> Option<String> {
        Repo.recognise(&Url::parse(link).expect("a URL"))
    }

    #[test]
    fn recognises_repository_and_official_image_links() {
        for (link, key) in [
            ("https://hub.docker.com/_/nginx", "library/nginx"),
            (
                "https://hub.docker.com/_/postgres/tags?name=17",
                "library/postgres",
            ),
            ("https://hub.docker.com/r/_/redis", "library/redis"),
            ("https://hub.docker.com/r/library/nginx", "library/nginx"),
            (
                "https://hub.docker.com/r/bitnami/redis/tags",
                "bitnami/redis",
            ),
            (
                "https://hub.docker.com/r/Grafana/Grafana",
                "grafana/grafana",
            ),
            (
                "https://hub.docker.com/repository/docker/someone/my-app.api/general",
                "someone/my-app.api",
            ),
        ] {
            assert_eq!(key_of(link).as_deref(), Some(key), "{link}");
        }
    }

    #[test]
    fn leaves_other_links_alone() {
        for link in [
            "https://hub.docker.com/r/bitnami",
            "https://hub.docker.com/_/",
            "https://hub.docker.com/u/bitnami",
            "https://hub.docker.com/search?q=nginx",
            "https://hub.docker.com/r/bad%20name/x",
            "https://docker.com/r/bitnami/redis",
            "https://hub.docker.com.evil.example/_/nginx",
        ] {
            assert_eq!(key_of(link), None, "{link}");
        }
    }

    #[test]
    fn keys_are_checked_and_normalised() {
        for (key, expected) in [
            ("library/nginx", "library/nginx"),
            (" Bitnami/Redis ", "bitnami/redis"),
            ("nginx", "library/nginx"),
            ("nginxinc/nginx-unprivileged", "nginxinc/nginx-unprivileged"),
            ("a0/b_c.d-e", "a0/b_c.d-e"),
        ] {
            assert_eq!(Repo.parse_key(key).as_deref(), Ok(expected), "{key}");
        }
        for bad in [
            "",
            "/nginx",
            "library/",
            "_/nginx",
            "a/b/c",
            "library/nginx:latest",
            "library/-nginx",
            "library/nginx.",
            "library/ngi nx",
        ] {
            assert!(Repo.parse_key(bad).is_err(), "{bad}");
        }
        assert!(Repo.parse_key(&format!("a/{}", "b".repeat(256))).is_err());
    }
}
