//! GitHub through the REST API: repositories (`GET /repos/{owner}/{repo}`), users and
//! organisations (`GET /users/{login}`: an organisation answers there too, with `"type":
//! "Organization"`), and a repository's releases (`GET
//! /repos/{owner}/{repo}/releases?per_page=100&page=N`: newest first, further pages named
//! by a `Link: <…>; rel="next"` header; a repository without releases answers `[]`, an
//! unknown one 404 `{"message": "Not Found", …}`). Drafts are listed only to those who may
//! push, and carry `"published_at": null`.
//!
//! An optional `UPCOUNT_GITHUB_TOKEN` raises the rate limit from 60 to 5,000 requests an
//! hour. Every answer says what is left of it: `x-ratelimit-remaining`, `-reset` (a Unix
//! time) and `-resource` (`core` for everything here; `search` and `graphql` are budgets
//! of their own), which pause the service when it runs out.
//!
//! Polls are conditional requests: a source keeps the `ETag` of its last answer and sends
//! it back as `If-None-Match`; GitHub answers `304 Not Modified` with no body when nothing
//! changed (not counted against the limit of an authorised request), and the poll records
//! the last values again at the new time. A list of releases longer than one page is read
//! afresh each time: the first page's `ETag` does not vouch for the others.

use serde::de::DeserializeOwned;

use chrono::NaiveDate;
use serde::Serialize;

use super::prelude::*;
use crate::server::tracking::http::Conditional;

/// GitHub's API.
pub const GITHUB: Service = Service::new(&ServiceSpec {
    name: "github",
    label: "GitHub",
    default_base_url: Some("https://api.github.com"),
    // 60 an hour without a token, 5,000 with one.
    requests_per_minute: 1,
    requests_per_minute_with_credentials: 80,
    credentials: Some(Credentials {
        vars: &[TOKEN],
        required: false,
        when_set: "token set",
        when_missing: "none (60 requests an hour)",
    }),
})
.with_rate_resource("core");

const TOKEN: &str = "UPCOUNT_GITHUB_TOKEN";

pub const MODULE: Module = Module {
    name: "github",
    badge: Badge {
        letters: "GH",
        name: "GitHub",
        colour: "#24292f",
    },
    services: &[GITHUB],
    kinds: || vec![Arc::new(Repo), Arc::new(Release), Arc::new(User)],
    containers: || vec![Arc::new(Repositories)],
};

pub struct Repo;
pub struct Release;
pub struct User;
/// A user's or an organisation's public repositories, watched
/// (`GET /users/{login}/repos?sort=created&direction=desc`).
pub struct Repositories;

/// First path segments that are GitHub's own pages, not owners.
const RESERVED: &[&str] = &[
    "about",
    "account",
    "apps",
    "codespaces",
    "collections",
    "contact",
    "copilot",
    "customer-stories",
    "dashboard",
    "discussions",
    "enterprise",
    "events",
    "explore",
    "features",
    "issues",
    "join",
    "login",
    "logout",
    "marketplace",
    "new",
    "notifications",
    "organizations",
    "orgs",
    "pricing",
    "pulls",
    "readme",
    "search",
    "security",
    "sessions",
    "settings",
    "signup",
    "site",
    "solutions",
    "sponsors",
    "stars",
    "team",
    "topics",
    "trending",
    "users",
    "watching",
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

impl Repository {
    /// The repository's page.
    fn page(&self) -> String {
        self.html_url
            .clone()
            .unwrap_or_else(|| format!("https://github.com/{}", self.full_name))
    }
}

#[derive(Deserialize)]
struct Owner {
    login: Option<String>,
}

/// `GET /users/{login}`: a user or an organisation.
#[derive(Deserialize)]
struct Account {
    /// As GitHub spells it (`torvalds`, `Microsoft`).
    login: String,
    /// `User` or `Organization`.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// The display name: `null` or empty when none is set.
    name: Option<String>,
    html_url: Option<String>,
    #[serde(default, deserialize_with = "rfc3339")]
    created_at: Option<DateTime<Utc>>,
    followers: f64,
    public_repos: f64,
}

/// One release of `GET /repos/{owner}/{repo}/releases`.
#[derive(Deserialize)]
struct ReleaseItem {
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    prerelease: bool,
    /// The date of the release's commit: what "latest" is sorted by.
    #[serde(default, deserialize_with = "rfc3339")]
    created_at: Option<DateTime<Utc>>,
    /// `null` for drafts.
    #[serde(default, deserialize_with = "rfc3339")]
    published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    assets: Vec<Asset>,
}

impl ReleaseItem {
    /// The downloads of every asset of the release.
    fn downloads(&self) -> f64 {
        self.assets.iter().map(|asset| asset.download_count).sum()
    }
}

#[derive(Deserialize)]
struct Asset {
    download_count: f64,
}

/// The most pages of releases read (100 a page): the newest 1,000 releases.
const MAX_RELEASE_PAGES: usize = 10;

/// The release `/releases/latest` answers: the newest by `created_at` (then
/// `published_at`) that is neither a draft nor a prerelease.
fn latest(releases: &[ReleaseItem]) -> Option<&ReleaseItem> {
    releases
        .iter()
        .filter(|release| !release.draft && !release.prerelease)
        .max_by_key(|release| (release.created_at, release.published_at))
}

/// A request to the API, with the token when one is set.
fn request(http: &Upstreams, url: Url) -> UpstreamRequest {
    versioned(http, url, "2022-11-28")
}

/// A request to the API as of its `version` (`X-GitHub-Api-Version`), with the token
/// when one is set.
fn versioned(http: &Upstreams, url: Url, version: &str) -> UpstreamRequest {
    let request = UpstreamRequest::get(GITHUB, url)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", version);
    match http.config().credential(TOKEN) {
        Some(token) => request.secret_header("Authorization", format!("Bearer {token}")),
        None => request,
    }
}

/// The document at `path`, read afresh (metadata).
async fn document<T: DeserializeOwned>(
    http: &Upstreams,
    path: &str,
    what: &str,
) -> Result<T, FetchError> {
    let url = http.endpoint(GITHUB, path)?;
    http.get(&request(http, url), what).await
}

/// A poll of the document at `path`: read into `T` and then into readings, or unchanged
/// since the source's validator.
async fn poll<T: DeserializeOwned>(
    http: &Upstreams,
    path: &str,
    source: &SourceRef,
    what: &str,
    read: impl FnOnce(T) -> Readings,
) -> Result<Readings, FetchError> {
    let url = http.endpoint(GITHUB, path)?;
    let request = request(http, url);
    match http
        .get_conditional(&request, source.validator.as_deref(), what)
        .await?
    {
        Conditional::Fresh(response) => {
            Ok(read(response.parse(what)?).with_validator(response.validator()))
        }
        Conditional::Unchanged { validator } => Ok(Readings::unchanged(validator)),
    }
}

fn repository_what(key: &str) -> String {
    format!("GitHub repository {key}")
}

/// `owner/name`, checked: what both repositories and their releases are keyed by.
fn parse_repository(key: &str) -> Result<String, String> {
    let key = key.trim();
    let invalid = || format!("`{key}` is not a GitHub repository (owner/name)");
    let (owner, name) = key.split_once('/').ok_or_else(invalid)?;
    let name_ok = is_token(name, 100, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
    }) && name != "."
        && name != "..";
    if is_login(owner) && name_ok {
        Ok(format!("{owner}/{name}"))
    } else {
        Err(invalid())
    }
}

/// Letters, digits and hyphens, at most 39: a user's or organisation's login.
fn is_login(text: &str) -> bool {
    is_token(text, 39, |c| c.is_ascii_alphanumeric() || c == '-')
}

/// The owner and repository of a link to one, and the rest of its path, unless it is one
/// of GitHub's own pages.
fn repository_link(url: &Url) -> Option<(String, Vec<String>)> {
    let segments = segments_on(url, "github.com")?;
    let (owner, name) = (segments.first()?, segments.get(1)?);
    if RESERVED.contains(&owner.to_ascii_lowercase().as_str()) {
        return None;
    }
    let name = name.strip_suffix(".git").unwrap_or(name);
    let key = parse_repository(&format!("{owner}/{name}")).ok()?;
    Some((key, segments[2..].to_vec()))
}

/// The metadata of repository `key`, with `title` and the page's `path` for a kind that
/// is about part of it.
async fn repository_metadata(
    http: &Upstreams,
    key: &str,
    title: impl Fn(&str) -> String,
    path: &str,
) -> Result<Metadata, FetchError> {
    let repo: Repository = document(http, &format!("/repos/{key}"), &repository_what(key)).await?;
    Ok(Metadata {
        url: format!("{}{path}", repo.page()),
        key: repo.full_name.clone(),
        title: title(&repo.full_name),
        author: repo.owner.and_then(|owner| owner.login),
        published_at: repo.created_at,
        tags: repo.topics,
    })
}

/// Weeks of star history a page holds, and the last page GitHub serves.
const STAR_WEEKS_PER_PAGE: u32 = 30;
const STAR_PAGES: u32 = 100;

/// A week of `GET /repos/{owner}/{repo}/stargazers/history`: the stars gained that week
/// and still held (`total`), and per day (`days`, Sunday first).
#[derive(Deserialize)]
struct StarWeek {
    /// The week's first day: a Unix time or an ISO date, as the API has sent both.
    week: WeekStart,
    total: f64,
    #[serde(default)]
    days: Option<Vec<f64>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WeekStart {
    Unix(i64),
    Date(String),
}

impl WeekStart {
    fn day(&self) -> Option<NaiveDate> {
        match self {
            WeekStart::Unix(seconds) => {
                DateTime::from_timestamp(*seconds, 0).map(|time| time.date_naive())
            }
            WeekStart::Date(text) => parse_day(text),
        }
    }
}

/// Where the star history goes on: the next page, and the stars held at the end of the
/// newest day that page holds (the repository's count when the backfill began, less every
/// gain read since).
#[derive(Serialize, Deserialize)]
struct StarCursor {
    page: u32,
    stars: f64,
    /// The stars the repository had when the backfill began.
    count: f64,
}

/// One page of the star history, newest weeks first, as a cumulative series of one point a
/// day: the stars held at the end of each day, built back from today's count.
async fn star_history(
    http: &Upstreams,
    key: &str,
    cursor: Option<StarCursor>,
) -> Result<HistoryPage, FetchError> {
    let cursor = match cursor {
        Some(cursor) => cursor,
        None => {
            let repo: Repository =
                document(http, &format!("/repos/{key}"), &repository_what(key)).await?;
            let count = repo.stargazers_count;
            StarCursor {
                page: 1,
                stars: count,
                count,
            }
        }
    };
    let mut url = http.endpoint(GITHUB, &format!("/repos/{key}/stargazers/history"))?;
    url.query_pairs_mut()
        .append_pair("per_page", &STAR_WEEKS_PER_PAGE.to_string())
        .append_pair("page", &cursor.page.to_string());
    let weeks: Vec<StarWeek> = http
        .get(
            &versioned(http, url, "2026-03-10"),
            &format!("GitHub star history of {key}"),
        )
        .await?;
    let mut stars = cursor.stars;
    let mut points = Vec::new();
    let mut oldest = None;
    for week in &weeks {
        let Some(start) = week.week.day() else {
            continue;
        };
        // Without days, the week's gain counts on its first day.
        let days = week.days.clone().unwrap_or_else(|| vec![week.total]);
        for (offset, gain) in days.iter().enumerate().rev() {
            let Some(day) = start.checked_add_days(chrono::Days::new(offset as u64)) else {
                continue;
            };
            let end = day_start(day) + chrono::Duration::days(1);
            points.push(HistoryPoint {
                metric: "stars",
                t: end,
                value: stars,
            });
            stars = (stars - gain).max(0.0);
            oldest = Some(day);
        }
    }
    let last = weeks.len() < STAR_WEEKS_PER_PAGE as usize || cursor.page >= STAR_PAGES;
    if last {
        // The stars held before the oldest day: zero for a repository's whole history.
        if let Some(oldest) = oldest {
            points.push(HistoryPoint {
                metric: "stars",
                t: day_start(oldest),
                value: stars,
            });
        }
        return Ok(HistoryPage::last(points));
    }
    let progress = if cursor.count > 0.0 {
        1.0 - stars / cursor.count
    } else {
        1.0
    };
    let next = StarCursor {
        page: cursor.page + 1,
        stars,
        count: cursor.count,
    };
    HistoryPage::more(points, &next, progress)
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
        let (key, rest) = repository_link(url)?;
        // `/releases…` is the repository's releases: `github.release`.
        (rest.first().map(String::as_str) != Some("releases")).then_some(key)
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        parse_repository(key)
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        repository_metadata(http, &source.key, str::to_string, "").await
    }

    fn history_from(&self) -> Option<&'static str> {
        Some("GitHub")
    }

    async fn history(
        &self,
        http: &Upstreams,
        source: &SourceRef,
        saved: Option<&serde_json::Value>,
    ) -> Result<HistoryPage, FetchError> {
        star_history(http, &source.key, cursor(saved)?).await
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let path = format!("/repos/{}", source.key);
        let what = repository_what(&source.key);
        poll(http, &path, source, &what, |repo: Repository| {
            Readings::of([
                ("stars", Some(repo.stargazers_count)),
                ("forks", repo.forks_count),
                ("open_issues", repo.open_issues_count),
                ("watchers", repo.subscribers_count),
            ])
        })
        .await
    }
}

/// Every release of repository `key` (at most [`MAX_RELEASE_PAGES`] pages), with the
/// first page's validator when it was the only one; or unchanged since `validator`.
async fn releases(
    http: &Upstreams,
    key: &str,
    validator: Option<&str>,
) -> Result<Conditional<(Vec<ReleaseItem>, Option<String>)>, FetchError> {
    let what = repository_what(key);
    let list = format!("GitHub's releases of {key}");
    let mut url = http.endpoint(GITHUB, &format!("/repos/{key}/releases"))?;
    url.query_pairs_mut()
        .append_pair("per_page", "100")
        .append_pair("page", "1");
    let first = match http
        .get_conditional(&request(http, url.clone()), validator, &what)
        .await?
    {
        Conditional::Fresh(response) => response,
        Conditional::Unchanged { validator } => return Ok(Conditional::Unchanged { validator }),
    };
    let mut items: Vec<ReleaseItem> = first.parse(&list)?;
    let mut validator = first.validator();
    let mut next = first.next_link();
    for _ in 1..MAX_RELEASE_PAGES {
        let Some(page) = next.take() else { break };
        // The token goes to GitHub's API only.
        if page.origin() != url.origin() {
            return Err(FetchError::Invalid(format!(
                "GitHub named a next page of releases on another host: {}",
                page.host_str().unwrap_or_default()
            )));
        }
        validator = None;
        let response = http.get_success(&request(http, page), &what).await?;
        items.extend(response.parse::<Vec<ReleaseItem>>(&list)?);
        next = response.next_link();
    }
    Ok(Conditional::Fresh((items, validator)))
}

#[async_trait]
impl Provider for Release {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "github.release",
            label: "GitHub releases",
            service: GITHUB,
            examples: &[
                "https://github.com/leptos-rs/leptos/releases",
                "https://github.com/serde-rs/json/releases/tag/v1.0.140",
                "https://github.com/leptos-rs/leptos/releases/latest",
            ],
            metrics: &[
                Metric("downloads", MetricKind::Counter, "downloads"),
                Metric("latest_downloads", MetricKind::Gauge, "downloads"),
            ],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let (key, rest) = repository_link(url)?;
        (rest.first().map(String::as_str) == Some("releases")).then_some(key)
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        parse_repository(key)
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let title = |name: &str| format!("{name} releases");
        repository_metadata(http, &source.key, title, "/releases").await
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        match releases(http, &source.key, source.validator.as_deref()).await? {
            Conditional::Fresh((items, validator)) => {
                // No releases at all is no downloads, not a missing repository.
                let downloads = items.iter().map(ReleaseItem::downloads).sum();
                let readings = Readings::of([
                    ("downloads", Some(downloads)),
                    (
                        "latest_downloads",
                        latest(&items).map(ReleaseItem::downloads),
                    ),
                ]);
                Ok(readings.with_validator(validator))
            }
            Conditional::Unchanged { validator } => Ok(Readings::unchanged(validator)),
        }
    }
}

#[async_trait]
impl Provider for User {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "github.user",
            label: "GitHub user or organisation",
            service: GITHUB,
            examples: &[
                "https://github.com/torvalds",
                "https://github.com/rust-lang",
            ],
            metrics: &[
                Metric("followers", MetricKind::Gauge, "followers"),
                Metric("public_repos", MetricKind::Gauge, "repositories"),
            ],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let segments = segments_on(url, "github.com")?;
        let login = match segments.as_slice() {
            [login] => login,
            // An organisation's pages: `/orgs/rust-lang/repositories`.
            [orgs, login, ..] if orgs == "orgs" => login,
            _ => return None,
        };
        if RESERVED.contains(&login.to_ascii_lowercase().as_str()) {
            return None;
        }
        self.parse_key(login).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim().trim_start_matches('@');
        if is_login(key) && !key.starts_with('-') && !key.ends_with('-') {
            Ok(key.to_string())
        } else {
            Err(format!("`{key}` is not a GitHub user or organisation"))
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let what = format!("GitHub user {}", source.key);
        let account: Account = document(http, &format!("/users/{}", source.key), &what).await?;
        let organisation = account.kind.as_deref() == Some("Organization");
        Ok(Metadata {
            url: account
                .html_url
                .unwrap_or_else(|| format!("https://github.com/{}", account.login)),
            title: account
                .name
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| account.login.clone()),
            key: account.login,
            author: None,
            published_at: account.created_at,
            tags: if organisation {
                vec!["organisation".to_string()]
            } else {
                Vec::new()
            },
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let path = format!("/users/{}", source.key);
        let what = format!("GitHub user {}", source.key);
        poll(http, &path, source, &what, |account: Account| {
            Readings::of([
                ("followers", Some(account.followers)),
                ("public_repos", Some(account.public_repos)),
            ])
        })
        .await
    }
}

/// One repository of `GET /users/{login}/repos`.
#[derive(Deserialize)]
struct Listed {
    full_name: String,
    html_url: Option<String>,
    #[serde(default)]
    fork: bool,
    #[serde(default, deserialize_with = "rfc3339")]
    created_at: Option<DateTime<Utc>>,
}

#[async_trait]
impl Container for Repositories {
    fn spec(&self) -> ContainerSpec {
        ContainerSpec {
            kind: "github.repositories",
            label: "GitHub user or organisation",
            yields: "repositories",
            item_kind: "github.repo",
            service: GITHUB,
            scored: false,
            examples: &[
                "https://github.com/rust-lang",
                "https://github.com/torvalds",
            ],
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        User.recognise(url)
    }

    async fn describe(&self, http: &Upstreams, key: &str) -> Result<ContainerInfo, FetchError> {
        let what = format!("GitHub user {key}");
        let login = User.parse_key(key).map_err(FetchError::Invalid)?;
        let account: Account = document(http, &format!("/users/{login}"), &what).await?;
        Ok(ContainerInfo {
            url: account
                .html_url
                .unwrap_or_else(|| format!("https://github.com/{}", account.login)),
            title: account
                .name
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| account.login.clone()),
            key: account.login,
            config: serde_json::Value::Null,
        })
    }

    async fn items(
        &self,
        http: &Upstreams,
        container: &ContainerRef,
    ) -> Result<Vec<ContainerItem>, FetchError> {
        let what = format!("the repositories of GitHub user {}", container.key);
        let mut url = http.endpoint(GITHUB, &format!("/users/{}/repos", container.key))?;
        url.query_pairs_mut()
            .append_pair("sort", "created")
            .append_pair("direction", "desc")
            .append_pair("per_page", "30");
        let listed: Vec<Listed> = http.get(&request(http, url), &what).await?;
        Ok(listed
            .into_iter()
            // A fork is someone else's work.
            .filter(|repository| !repository.fork)
            .map(|repository| ContainerItem {
                url: repository
                    .html_url
                    .clone()
                    .unwrap_or_else(|| format!("https://github.com/{}", repository.full_name)),
                title: repository.full_name.clone(),
                published_at: repository.created_at,
                score: None,
                key: repository.full_name.to_ascii_lowercase(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_repository_release_and_user_links() {
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
            (&Repo, "https://github.com/stars/someone/lists/rust", None),
            (&Repo, "https://gitlab.com/a/b", None),
            // Releases are their own kind.
            (&Repo, "https://github.com/leptos-rs/leptos/releases", None),
            (
                &Repo,
                "https://github.com/leptos-rs/leptos/releases/tag/v0.8.0",
                None,
            ),
            (
                &Release,
                "https://github.com/leptos-rs/leptos/releases",
                Some("leptos-rs/leptos"),
            ),
            (
                &Release,
                "https://github.com/serde-rs/json/releases/tag/v1.0.140",
                Some("serde-rs/json"),
            ),
            (
                &Release,
                "https://github.com/leptos-rs/leptos/releases/latest",
                Some("leptos-rs/leptos"),
            ),
            (
                &Release,
                "https://github.com/BurntSushi/ripgrep/releases/download/14.1.1/ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz",
                Some("BurntSushi/ripgrep"),
            ),
            (&Release, "https://github.com/leptos-rs/leptos", None),
            (&Release, "https://github.com/leptos-rs/leptos/tags", None),
            (&Release, "https://github.com/settings/releases", None),
            (&User, "https://github.com/torvalds", Some("torvalds")),
            (&User, "https://github.com/rust-lang/", Some("rust-lang")),
            (
                &User,
                "https://github.com/Microsoft?tab=repositories",
                Some("Microsoft"),
            ),
            (
                &User,
                "https://github.com/orgs/rust-lang/repositories",
                Some("rust-lang"),
            ),
            (&User, "https://github.com/leptos-rs/leptos", None),
            (&User, "https://github.com/settings", None),
            (&User, "https://github.com/explore", None),
            (&User, "https://github.com/orgs", None),
            (&User, "https://github.com/", None),
            (&User, "https://gist.github.com/torvalds", None),
        ]);
        assert!(Repo.parse_key("a/b/c").is_err());
        assert!(Repo.parse_key("nobody").is_err());
        assert_eq!(
            Release.parse_key(" serde-rs/json "),
            Ok("serde-rs/json".into())
        );
        assert_eq!(User.parse_key("@torvalds"), Ok("torvalds".into()));
        for invalid in ["-leading", "trailing-", "a/b", "under_score", ""] {
            assert!(User.parse_key(invalid).is_err(), "{invalid}");
        }
    }

    fn release(draft: bool, prerelease: bool, created: &str, downloads: &[f64]) -> ReleaseItem {
        ReleaseItem {
            draft,
            prerelease,
            created_at: DateTime::parse_from_rfc3339(created)
                .ok()
                .map(|at| at.with_timezone(&Utc)),
            published_at: None,
            assets: downloads
                .iter()
                .map(|&download_count| Asset { download_count })
                .collect(),
        }
    }

    #[test]
    fn the_latest_release_is_the_newest_published_non_prerelease() {
        let releases = [
            release(true, false, "2026-03-01T00:00:00Z", &[]),
            release(false, true, "2026-02-01T00:00:00Z", &[5.0]),
            release(false, false, "2025-12-01T00:00:00Z", &[1.0, 2.0]),
            release(false, false, "2026-01-01T00:00:00Z", &[10.0, 20.0]),
        ];
        assert_eq!(latest(&releases).map(ReleaseItem::downloads), Some(30.0));
        assert_eq!(latest(&releases[..2]).map(ReleaseItem::downloads), None);
        assert_eq!(latest(&[]).map(ReleaseItem::downloads), None);
    }
}
