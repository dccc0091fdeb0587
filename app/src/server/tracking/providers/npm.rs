//! npm packages through npm's public download-counts API only (never the registry):
//! `GET /downloads/point/{last-day,last-week,last-month}/{package}` answers
//! `{"downloads": 123, "start": "2026-11-30", "end": "2026-11-30", "package": "react"}`,
//! and an unknown package 404 with `{"error": "package … not found"}`. The counts are
//! made once a day, soon after UTC midnight.
//!
//! Up to 128 unscoped packages go in one request, comma-separated
//! (`/downloads/point/last-week/react,left-pad`), answered by an object keyed by package
//! name, with `null` for a package npm does not know. Scoped packages are not allowed in
//! bulk: each is asked for alone, with its slash as is (`/downloads/point/last-day/@types/node`,
//! as npm's documentation writes it). A key is the package's name, as npm's naming rules
//! allow for new packages.
//!
//! A watch of an npm scope (`npmjs.com/org/{scope}`) or user (`npmjs.com/~{user}`) lists
//! its packages through the registry's search (`registry.npmjs.org/-/v1/search`, with the
//! `scope:` or `maintainer:` qualifier), which answers
//! `{"objects": [{"package": {"name", "version", "date", "links": {"npm"}, "maintainers"}}],
//! "total", "time"}`: at most 250 a page, each with the date of its latest publish.

use std::collections::HashMap;

use chrono::{Days, Months, NaiveDate};
use serde::Serialize;

use super::prelude::*;

/// npm's download-counts API.
pub const NPM: Service = Service::new(&ServiceSpec {
    name: "npm",
    label: "npm",
    default_base_url: Some("https://api.npmjs.org"),
    // No published limit, and it answers 429 when pushed; its counts change once a day.
    requests_per_minute: 120,
    requests_per_minute_with_credentials: 120,
    credentials: None,
});

/// npm's registry, for its search only: what a scope or a user publishes.
pub const NPM_REGISTRY: Service = Service::new(&ServiceSpec {
    name: "npm_registry",
    label: "npm registry",
    default_base_url: Some("https://registry.npmjs.org"),
    // Watches only: a read an hour per scope or user.
    requests_per_minute: 60,
    requests_per_minute_with_credentials: 60,
    credentials: None,
});

pub const MODULE: Module = Module {
    name: "npm",
    badge: Badge {
        letters: "npm",
        name: "npm",
        colour: "#cb3837",
    },
    services: &[NPM, NPM_REGISTRY],
    kinds: || vec![Arc::new(Package)],
    containers: || vec![Arc::new(Packages)],
};

pub struct Package;

/// The packages of a scope (`@types`) or of a user (`~sindresorhus`), for watches.
pub struct Packages;

/// The windows npm counts downloads over; each feeds the metric of the same place in
/// [`METRICS`].
const PERIODS: [&str; 3] = ["last-day", "last-week", "last-month"];

/// Rolling windows, not running totals: each can fall as well as rise.
const METRICS: [Metric; 3] = [
    Metric("downloads_day", MetricKind::Gauge, "downloads"),
    Metric("downloads_week", MetricKind::Gauge, "downloads"),
    Metric("downloads_month", MetricKind::Gauge, "downloads"),
];

/// The most packages one bulk request may name.
const BULK_MAX: usize = 128;

/// The longest package name npm allows, scope included.
const NAME_MAX: usize = 214;

/// A point value: one package's downloads over one period (`start` to `end`, UTC days).
#[derive(Deserialize)]
struct Point {
    downloads: f64,
}

/// `@types/node` is scoped: never part of a bulk request.
fn is_scoped(name: &str) -> bool {
    name.starts_with('@')
}

/// `/downloads/point/{period}/{names}`: one package, or unscoped ones joined by commas.
fn point_request(
    http: &Upstreams,
    period: &str,
    names: &str,
) -> Result<UpstreamRequest, FetchError> {
    let mut url = http.endpoint(NPM, "/downloads/point")?;
    url.path_segments_mut()
        .map_err(|()| FetchError::Invalid("the npm API URL cannot take a path".into()))?
        .push(period)
        .extend(names.split('/'));
    Ok(UpstreamRequest::get(NPM, url))
}

fn what(name: &str) -> String {
    format!("npm package {name}")
}

/// The first day npm counts downloads for.
const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2015, 1, 10) {
    Some(day) => day,
    None => NaiveDate::MIN,
};

/// The longest span one range request may cover.
const RANGE_MONTHS: u32 = 18;

/// Zero days at the start of a range that say the package did not exist yet.
const BEFORE_FIRST_DAY: usize = 14;

/// `GET /downloads/range/{start}:{end}/{package}`: one package's downloads per day.
#[derive(Deserialize)]
struct Range {
    downloads: Vec<Day>,
}

#[derive(Deserialize)]
struct Day {
    day: String,
    downloads: f64,
}

/// Where the daily history goes on: the last day of the next (older) range.
#[derive(Serialize, Deserialize)]
struct RangeCursor {
    end: NaiveDate,
    /// The newest day the history loads (yesterday when the backfill began).
    newest: NaiveDate,
}

/// One range of daily downloads, newest ranges first, back to the package's first day
/// (a range opening with [`BEFORE_FIRST_DAY`] days of nothing) or npm's.
async fn range_history(
    http: &Upstreams,
    name: &str,
    cursor: Option<RangeCursor>,
) -> Result<HistoryPage, FetchError> {
    let cursor = cursor.unwrap_or_else(|| {
        let yesterday = Utc::now().date_naive() - Days::new(1);
        RangeCursor {
            end: yesterday,
            newest: yesterday,
        }
    });
    let end = cursor.end;
    let start = end
        .checked_sub_months(Months::new(RANGE_MONTHS))
        .map_or(FIRST_DAY, |start| start + Days::new(1))
        .max(FIRST_DAY);
    let mut url = http.endpoint(NPM, "/downloads/range")?;
    url.path_segments_mut()
        .map_err(|()| FetchError::Invalid("the npm API URL cannot take a path".into()))?
        .push(&format!("{start}:{end}"))
        .extend(name.split('/'));
    let range: Range = http
        .get(&UpstreamRequest::get(NPM, url), &what(name))
        .await?;
    let days: Vec<(NaiveDate, f64)> = range
        .downloads
        .iter()
        .filter_map(|day| Some((parse_day(&day.day)?, day.downloads)))
        .filter(|(day, _)| (start..=end).contains(day))
        .collect();
    let leading_zeros = days.iter().take_while(|(_, count)| *count == 0.0).count();
    let began = leading_zeros == days.len() || leading_zeros >= BEFORE_FIRST_DAY;
    let points = days
        .iter()
        .skip(if began { leading_zeros } else { 0 })
        .map(|(day, count)| HistoryPoint {
            metric: "downloads_day",
            t: day_start(*day),
            value: *count,
        })
        .collect();
    if began || start <= FIRST_DAY {
        return Ok(HistoryPage::last(points));
    }
    let total = (cursor.newest - FIRST_DAY).num_days().max(1) as f64;
    let done = (cursor.newest - start).num_days() as f64 / total;
    let next = RangeCursor {
        end: start - Days::new(1),
        newest: cursor.newest,
    };
    HistoryPage::more(points, &next, done)
}

/// One package's downloads over `period`; gone when npm does not know it.
async fn point(http: &Upstreams, period: &str, name: &str) -> Result<f64, FetchError> {
    let point: Point = http
        .get(&point_request(http, period, name)?, &what(name))
        .await?;
    Ok(point.downloads)
}

/// One package's counts, a request a period; the first failure ends them.
async fn readings_of(http: &Upstreams, name: &str) -> Result<Readings, FetchError> {
    let mut values = Vec::with_capacity(PERIODS.len());
    for (period, Metric(metric, ..)) in PERIODS.into_iter().zip(METRICS) {
        values.push((metric, Some(point(http, period, name).await?)));
    }
    Ok(Readings::of(values))
}

/// The counts of many unscoped packages, one request a period for all of them. A package
/// the answer gives `null` (or leaves out) is gone; a request failing fails them all.
async fn bulk_readings(
    http: &Upstreams,
    sources: &[SourceRef],
) -> Result<BatchOutcome, FetchError> {
    let names = keys(sources).join(",");
    let mut outcomes: BatchOutcome = vec![Ok(Readings::default()); sources.len()];
    for (period, Metric(metric, ..)) in PERIODS.into_iter().zip(METRICS) {
        let answer: HashMap<String, Option<Each<Point>>> = http
            .get(
                &point_request(http, period, &names)?,
                "npm's download counts",
            )
            .await?;
        let found: HashMap<String, Each<Point>> = answer
            .into_iter()
            .filter_map(|(name, point)| Some((name, point?)))
            .collect();
        let read = read_each(
            sources,
            &found,
            |name| FetchError::Gone(format!("{} does not exist", what(name))),
            |_, point| Ok(Readings::of([(metric, Some(point.downloads))])),
        );
        for (outcome, read) in outcomes.iter_mut().zip(read) {
            if let Ok(readings) = outcome {
                match read {
                    Ok(more) => readings.values.extend(more.values),
                    Err(error) => *outcome = Err(error),
                }
            }
        }
    }
    Ok(outcomes)
}

/// Whether `part` (a name, or a scope without its `@`) is 1..=214 characters npm allows in
/// new package names: lowercase letters, digits, `-`, `.` and `_`, not starting with `.`.
fn is_name_part(part: &str) -> bool {
    is_token(part, NAME_MAX, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_')
    }) && !part.starts_with('.')
}

#[async_trait]
impl Provider for Package {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "npm.package",
            label: "npm package",
            service: NPM,
            examples: &[
                "https://www.npmjs.com/package/react",
                "https://www.npmjs.com/package/@types/node?activeTab=versions",
                "https://www.npmjs.com/package/left-pad/v/1.3.0",
            ],
            metrics: &METRICS,
            batch_size: BULK_MAX,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        // `/package/{name}` or `/package/@scope/name`, then maybe `/v/{version}`. The
        // website writes a scope as is; a pasted link may have it escaped (`%40x%2Fy`).
        let segments = segments_on(url, "npmjs.com")?;
        let unescape = |segment: &String| {
            segment
                .replace("%40", "@")
                .replace("%2F", "/")
                .replace("%2f", "/")
        };
        let name = match segments.as_slice() {
            [package, first, rest @ ..] if package == "package" => {
                let first = unescape(first);
                match rest.first() {
                    Some(name) if is_scoped(&first) && !first.contains('/') => {
                        format!("{first}/{}", unescape(name))
                    }
                    _ => first,
                }
            }
            _ => return None,
        };
        self.parse_key(&name).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        let valid = key.len() <= NAME_MAX
            && match key.strip_prefix('@') {
                Some(scoped) => scoped
                    .split_once('/')
                    .is_some_and(|(scope, name)| is_name_part(scope) && is_name_part(name)),
                None => {
                    is_name_part(key)
                        && !key.starts_with('_')
                        && !matches!(key, "node_modules" | "favicon.ico")
                }
            };
        if valid {
            Ok(key.to_string())
        } else {
            Err(format!(
                "`{key}` is not an npm package name (lowercase, such as `react` or `@types/node`)"
            ))
        }
    }

    fn history_from(&self) -> Option<&'static str> {
        Some("npm")
    }

    async fn history(
        &self,
        http: &Upstreams,
        source: &SourceRef,
        saved: Option<&serde_json::Value>,
    ) -> Result<HistoryPage, FetchError> {
        range_history(http, &source.key, cursor(saved)?).await
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        // The existence check; there is no metadata call, so the title is the name.
        point(http, PERIODS[0], &source.key).await?;
        Ok(Metadata {
            key: source.key.clone(),
            title: source.key.clone(),
            url: format!("https://www.npmjs.com/package/{}", source.key),
            ..Metadata::default()
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        // Unscoped packages together, when there are several: a "bulk" of one answers
        // like a single package.
        let unscoped: Vec<SourceRef> = sources
            .iter()
            .filter(|source| !is_scoped(&source.key))
            .take(BULK_MAX)
            .cloned()
            .collect();
        let mut bulk: HashMap<String, Result<Readings, FetchError>> = HashMap::new();
        if unscoped.len() > 1 {
            let outcomes = bulk_readings(http, &unscoped).await?;
            bulk.extend(unscoped.into_iter().map(|source| source.key).zip(outcomes));
        }
        let mut outcomes = Vec::with_capacity(sources.len());
        for source in sources {
            outcomes.push(match bulk.remove(&source.key) {
                Some(outcome) => outcome,
                None => readings_of(http, &source.key).await,
            });
        }
        Ok(outcomes)
    }
}

/// The most packages one search answers (npm's own cap).
const SEARCH_SIZE: usize = 250;

/// Who publishes the packages a watch follows: a scope's, or those a user maintains.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Publisher {
    Scope(String),
    User(String),
}

impl Publisher {
    /// `@types` or `~sindresorhus`: a watch's container key.
    fn parse(key: &str) -> Result<Self, String> {
        let key = key.trim();
        let publisher = match (key.strip_prefix('@'), key.strip_prefix('~')) {
            (Some(scope), _) if is_name_part(scope) => Some(Self::Scope(scope.to_string())),
            (_, Some(user)) if is_name_part(user) => Some(Self::User(user.to_string())),
            _ => None,
        };
        publisher.ok_or_else(|| {
            format!("`{key}` is not an npm scope or user (such as `@types` or `~sindresorhus`)")
        })
    }

    fn key(&self) -> String {
        match self {
            Self::Scope(scope) => format!("@{scope}"),
            Self::User(user) => format!("~{user}"),
        }
    }

    fn page(&self) -> String {
        match self {
            Self::Scope(scope) => format!("https://www.npmjs.com/org/{scope}"),
            Self::User(user) => format!("https://www.npmjs.com/~{user}"),
        }
    }

    fn what(&self) -> String {
        match self {
            Self::Scope(scope) => format!("npm scope @{scope}"),
            Self::User(user) => format!("npm user ~{user}"),
        }
    }

    /// The search's qualifier.
    fn text(&self) -> String {
        match self {
            Self::Scope(scope) => format!("scope:{scope}"),
            Self::User(user) => format!("maintainer:{user}"),
        }
    }

    /// Whether a search result is really one of its packages (the search also ranks
    /// near matches).
    fn publishes(&self, package: &Found) -> bool {
        match self {
            Self::Scope(scope) => package
                .name
                .strip_prefix('@')
                .and_then(|name| name.split_once('/'))
                .is_some_and(|(of, _)| of == scope),
            Self::User(user) => {
                package.maintainers.is_empty()
                    || package
                        .maintainers
                        .iter()
                        .any(|maintainer| maintainer.username.as_deref() == Some(user.as_str()))
            }
        }
    }
}

/// `GET /-/v1/search`.
#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    objects: Vec<SearchObject>,
    #[serde(default)]
    total: u64,
}

#[derive(Deserialize)]
struct SearchObject {
    package: Found,
}

#[derive(Deserialize)]
struct Found {
    name: String,
    /// When its latest version was published.
    #[serde(default, deserialize_with = "rfc3339")]
    date: Option<DateTime<Utc>>,
    #[serde(default)]
    maintainers: Vec<Maintainer>,
}

#[derive(Deserialize)]
struct Maintainer {
    username: Option<String>,
}

/// One search of `publisher`'s packages, `size` at most.
async fn search(
    http: &Upstreams,
    publisher: &Publisher,
    size: usize,
) -> Result<Search, FetchError> {
    let mut url = http.endpoint(NPM_REGISTRY, "/-/v1/search")?;
    url.query_pairs_mut()
        .append_pair("text", &publisher.text())
        .append_pair("size", &size.to_string());
    let what = format!("the packages of {}", publisher.what());
    http.get(&UpstreamRequest::get(NPM_REGISTRY, url), &what)
        .await
}

#[async_trait]
impl Container for Packages {
    fn spec(&self) -> ContainerSpec {
        ContainerSpec {
            kind: "npm.packages",
            label: "npm scope or user",
            yields: "packages",
            item_kind: "npm.package",
            service: NPM_REGISTRY,
            scored: false,
            examples: &[
                "https://www.npmjs.com/org/types",
                "https://www.npmjs.com/~sindresorhus",
            ],
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let segments = segments_on(url, "npmjs.com")?;
        let key = match segments.as_slice() {
            [org, scope, ..] if org == "org" => format!("@{scope}"),
            [user, ..] if user.starts_with('~') => user.clone(),
            _ => return None,
        };
        Publisher::parse(&key).ok().map(|publisher| publisher.key())
    }

    async fn describe(&self, http: &Upstreams, key: &str) -> Result<ContainerInfo, FetchError> {
        let publisher = Publisher::parse(key).map_err(FetchError::Invalid)?;
        let found = search(http, &publisher, 1).await?;
        // The search knows no scope or user that has published nothing public.
        if found.total == 0 && found.objects.is_empty() {
            return Err(FetchError::Gone(format!(
                "{} has no public packages",
                publisher.what()
            )));
        }
        Ok(ContainerInfo {
            key: publisher.key(),
            title: publisher.key(),
            url: publisher.page(),
            config: serde_json::Value::Null,
        })
    }

    async fn items(
        &self,
        http: &Upstreams,
        container: &ContainerRef,
    ) -> Result<Vec<ContainerItem>, FetchError> {
        let publisher = Publisher::parse(&container.key).map_err(FetchError::Invalid)?;
        let found = search(http, &publisher, SEARCH_SIZE).await?;
        let mut items: Vec<ContainerItem> = found
            .objects
            .into_iter()
            .map(|object| object.package)
            .filter(|package| publisher.publishes(package))
            .filter(|package| Package.parse_key(&package.name).is_ok())
            .map(|package| ContainerItem {
                url: format!("https://www.npmjs.com/package/{}", package.name),
                title: package.name.clone(),
                published_at: package.date,
                score: None,
                key: package.name,
            })
            .collect();
        // The search ranks by relevance: newest first, as a watch reads them.
        items.sort_by_key(|item| std::cmp::Reverse(item.published_at));
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_package_pages_scoped_or_not() {
        let cases: &[(&str, Option<&str>)] = &[
            ("https://www.npmjs.com/package/react", Some("react")),
            ("https://npmjs.com/package/react/", Some("react")),
            (
                "https://www.npmjs.com/package/@types/node",
                Some("@types/node"),
            ),
            (
                "https://www.npmjs.com/package/@types/node/v/22.10.1",
                Some("@types/node"),
            ),
            (
                "https://www.npmjs.com/package/%40types%2Fnode",
                Some("@types/node"),
            ),
            (
                "https://www.npmjs.com/package/left-pad/v/1.3.0?activeTab=code#readme",
                Some("left-pad"),
            ),
            (
                "https://www.npmjs.com/package/lodash.merge",
                Some("lodash.merge"),
            ),
            ("https://www.npmjs.com/package/", None),
            ("https://www.npmjs.com/package/@types", None),
            ("https://www.npmjs.com/package/React", None),
            ("https://www.npmjs.com/search?q=react", None),
            ("https://www.npmjs.com/~sindresorhus", None),
            ("https://registry.npmjs.org/react", None),
            ("https://registry.npmjs.org/package/react", None),
            ("https://api.npmjs.org/downloads/point/last-day/react", None),
            ("https://npmjs.com.evil.example/package/react", None),
        ];
        let cases: Vec<(&dyn Provider, &str, Option<&str>)> = cases
            .iter()
            .map(|&(link, key)| (&Package as &dyn Provider, link, key))
            .collect();
        assert_recognised(&cases);
    }

    #[test]
    fn keys_follow_npm_naming_rules() {
        for good in [
            "react",
            "left-pad",
            "lodash.merge",
            "socket.io",
            "@types/node",
            "@babel/core",
            "@scope/_private",
            "a",
        ] {
            assert_eq!(Package.parse_key(good).as_deref(), Ok(good), "{good}");
        }
        assert_eq!(Package.parse_key(" react\n").as_deref(), Ok("react"));
        assert_eq!(
            Package
                .parse_key(&"a".repeat(NAME_MAX))
                .map(|key| key.len()),
            Ok(NAME_MAX)
        );
        for bad in [
            "",
            "React",
            "JSONStream",
            ".hidden",
            "_private",
            "node_modules",
            "favicon.ico",
            "with space",
            "a,b",
            "a/b",
            "@types",
            "@types/",
            "@/node",
            "@types/node/extra",
            "@Types/node",
            "@types/.hidden",
            "@../x",
            "café",
            "tilde~",
            "excl!",
            &"a".repeat(NAME_MAX + 1),
            &format!("@s/{}", "a".repeat(NAME_MAX - 2)),
        ] {
            assert!(Package.parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn recognises_scopes_and_users_for_watches() {
        let cases: &[(&str, Option<&str>)] = &[
            ("https://www.npmjs.com/org/types", Some("@types")),
            ("https://npmjs.com/org/babel/", Some("@babel")),
            ("https://www.npmjs.com/~sindresorhus", Some("~sindresorhus")),
            (
                "https://www.npmjs.com/~sindresorhus?activeTab=packages",
                Some("~sindresorhus"),
            ),
            ("https://www.npmjs.com/org/Types", None),
            ("https://www.npmjs.com/org/", None),
            ("https://www.npmjs.com/~", None),
            ("https://www.npmjs.com/package/react", None),
            ("https://npmjs.com.evil.example/org/types", None),
        ];
        assert_recognised_containers(&Packages, cases);
    }

    #[test]
    fn a_scope_keeps_only_its_own_packages_and_a_user_those_they_maintain() {
        let found = |name: &str, maintainers: &[&str]| Found {
            name: name.to_string(),
            date: None,
            maintainers: maintainers
                .iter()
                .map(|username| Maintainer {
                    username: Some(username.to_string()),
                })
                .collect(),
        };
        let scope = Publisher::Scope("types".into());
        assert!(scope.publishes(&found("@types/node", &[])));
        assert!(!scope.publishes(&found("@typescript/vfs", &[])));
        assert!(!scope.publishes(&found("types", &[])));
        let user = Publisher::User("sindresorhus".into());
        assert!(user.publishes(&found("got", &["sindresorhus", "szmarczak"])));
        assert!(!user.publishes(&found("ky-universal", &["someone"])));
        assert_eq!(
            Publisher::parse("@types").map(|p| p.text()).as_deref(),
            Ok("scope:types")
        );
        assert!(Publisher::parse("types").is_err());
        assert!(Publisher::parse("@Types").is_err());
    }
}
