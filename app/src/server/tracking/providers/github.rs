//! GitHub repositories through the REST API: `GET /repos/{owner}/{repo}`. An optional
//! `UPCOUNT_GITHUB_TOKEN` raises the rate limit from 60 to 5,000 requests an hour.

use chrono::NaiveDate;
use serde::Serialize;

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

/// A GET of `url` as GitHub asks: its media type, an API version, and the token if set.
fn request(http: &Upstreams, url: Url, version: &str) -> UpstreamRequest {
    let request = UpstreamRequest::get(GITHUB, url)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", version);
    match http.config().credential("UPCOUNT_GITHUB_TOKEN") {
        Some(token) => request.header("Authorization", format!("Bearer {token}")),
        None => request,
    }
}

async fn repo(http: &Upstreams, key: &str) -> Result<Repository, FetchError> {
    let url = http.endpoint(GITHUB, &format!("/repos/{key}"))?;
    http.get(
        &request(http, url, "2022-11-28"),
        &format!("GitHub repository {key}"),
    )
    .await
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
            let count = repo(http, key).await?.stargazers_count;
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
            &request(http, url, "2026-03-10"),
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
