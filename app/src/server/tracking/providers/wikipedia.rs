//! Wikipedia articles, in any language, through the Wikimedia REST API's page-view
//! metrics: `GET /metrics/pageviews/per-article/{project}/all-access/all-agents/{article}/daily/{start}/{end}`
//! (days as `YYYYMMDD`; the newest day appears about a day after it ends). The API wants a
//! descriptive User-Agent with a way to reach us: every request sends Upcount's.
//!
//! A key is `{language}.wikipedia/{Article_title}`, the title as Wikipedia writes it in
//! links (underscores for spaces, first letter capital). An article with no views in the
//! last weeks (it does not exist, or was just created) answers 404.

use chrono::{Days, NaiveDate};

use super::prelude::*;

/// The Wikimedia REST API.
pub const WIKIMEDIA: Service = Service::new(&ServiceSpec {
    name: "wikimedia",
    label: "Wikimedia",
    default_base_url: Some("https://wikimedia.org/api/rest_v1"),
    // The documented ceiling is 100 requests a second; stay well below it.
    requests_per_minute: 600,
    requests_per_minute_with_credentials: 600,
    credentials: None,
});

pub const MODULE: Module = Module {
    name: "wikipedia",
    badge: Badge {
        letters: "W",
        name: "Wikipedia",
        colour: "#636466",
    },
    services: &[WIKIMEDIA],
    kinds: || vec![Arc::new(Article)],
    containers: no_containers,
};

pub struct Article;

/// How many days back a poll looks for the newest day with data.
const LOOKBACK_DAYS: u64 = 14;

/// The API's answer: one item per day.
#[derive(Debug, Deserialize)]
struct Pageviews {
    items: Vec<DailyViews>,
}

#[derive(Debug, Deserialize)]
struct DailyViews {
    /// `2026113000`: the day, as `YYYYMMDDHH`.
    timestamp: String,
    views: f64,
}

impl DailyViews {
    fn day(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(self.timestamp.get(..8)?, "%Y%m%d").ok()
    }
}

/// `(project, article)` of a key: `("en.wikipedia", "Rust_(programming_language)")`.
fn split(key: &str) -> Option<(&str, &str)> {
    key.split_once('/')
}

/// The daily views of `key` over the last [`LOOKBACK_DAYS`], oldest first.
async fn daily_views(http: &Upstreams, key: &str) -> Result<Vec<DailyViews>, FetchError> {
    let today = Utc::now().date_naive();
    let start = today
        .checked_sub_days(Days::new(LOOKBACK_DAYS))
        .unwrap_or(today);
    views_between(http, key, start, today).await
}

/// The first day the page-view API has (2015-07-01).
const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2015, 7, 1) {
    Some(day) => day,
    None => NaiveDate::MIN,
};

/// Days of history one request asks for: about 100 KiB of answer.
const HISTORY_DAYS: u64 = 730;

/// Where the history goes on: the last day of the next (older) span.
#[derive(serde::Serialize, Deserialize)]
struct HistoryCursor {
    end: NaiveDate,
    newest: NaiveDate,
}

/// One span of daily views, newest spans first, back to the API's first day or the
/// article's (an older span without data answers 404).
async fn history(
    http: &Upstreams,
    key: &str,
    cursor: Option<HistoryCursor>,
) -> Result<HistoryPage, FetchError> {
    let first_page = cursor.is_none();
    let cursor = cursor.unwrap_or_else(|| {
        let yesterday = Utc::now().date_naive() - Days::new(1);
        HistoryCursor {
            end: yesterday,
            newest: yesterday,
        }
    });
    let start = (cursor.end - Days::new(HISTORY_DAYS - 1)).max(FIRST_DAY);
    let days = match views_between(http, key, start, cursor.end).await {
        Ok(days) => days,
        // Nothing that long ago: the article is younger.
        Err(FetchError::Gone(_)) if !first_page => return Ok(HistoryPage::last(Vec::new())),
        Err(error) => return Err(error),
    };
    let points = days
        .iter()
        .filter_map(|day| {
            Some(HistoryPoint {
                metric: "views",
                t: day_start(day.day()?),
                value: day.views,
            })
        })
        .collect();
    if start <= FIRST_DAY {
        return Ok(HistoryPage::last(points));
    }
    let total = (cursor.newest - FIRST_DAY).num_days().max(1) as f64;
    let next = HistoryCursor {
        end: start - Days::new(1),
        newest: cursor.newest,
    };
    HistoryPage::more(
        points,
        &next,
        (cursor.newest - start).num_days() as f64 / total,
    )
}

/// The daily views of `key` from `start` to `end`, oldest first.
async fn views_between(
    http: &Upstreams,
    key: &str,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<DailyViews>, FetchError> {
    let (project, article) = split(key)
        .ok_or_else(|| FetchError::Invalid(format!("`{key}` is not a Wikipedia article key")))?;
    let mut url = http.endpoint(WIKIMEDIA, "/metrics/pageviews/per-article")?;
    url.path_segments_mut()
        .map_err(|()| FetchError::Invalid("the Wikimedia API URL cannot take a path".into()))?
        .extend([
            project,
            "all-access",
            "all-agents",
            article,
            "daily",
            &start.format("%Y%m%d").to_string(),
            &end.format("%Y%m%d").to_string(),
        ]);
    let what = format!("Wikipedia article {}", title_of(article));
    let answer: Pageviews = http
        .get(&UpstreamRequest::get(WIKIMEDIA, url), &what)
        .await?;
    let mut items = answer.items;
    items.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
    Ok(items)
}

/// `Rust_(programming_language)` → `Rust (programming language)`.
fn title_of(article: &str) -> String {
    article.replace('_', " ")
}

/// Whether `language` can be a Wikipedia's subdomain: `en`, `simple`, `zh-min-nan`.
fn is_language(language: &str) -> bool {
    (2..=20).contains(&language.len())
        && language.starts_with(|c: char| c.is_ascii_lowercase())
        && language
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !matches!(language, "www" | "meta" | "commons" | "species")
}

/// A title as links write it: underscores for spaces, no edge underscores, first letter
/// capital; `None` when it holds characters titles cannot have.
fn normalise_title(title: &str) -> Option<String> {
    let title = title.replace(' ', "_");
    let title = title.trim_matches('_');
    let forbidden =
        |c: char| matches!(c, '#' | '<' | '>' | '[' | ']' | '|' | '{' | '}') || c.is_control();
    if title.is_empty() || title.len() > 255 || title.chars().any(forbidden) {
        return None;
    }
    let mut chars = title.chars();
    let first = chars.next()?;
    Some(first.to_uppercase().chain(chars).collect())
}

#[async_trait]
impl Provider for Article {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "wikipedia.article",
            label: "Wikipedia article",
            service: WIKIMEDIA,
            examples: &[
                "https://en.wikipedia.org/wiki/Rust_(programming_language)",
                "https://de.m.wikipedia.org/wiki/K%C3%B6ln",
                "https://fr.wikipedia.org/w/index.php?title=AC/DC&action=history",
            ],
            metrics: &[Metric("views", MetricKind::Gauge, "views a day")],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let host = url.host_str()?.to_ascii_lowercase();
        let language = host.strip_suffix(".wikipedia.org")?;
        let language = language.strip_suffix(".m").unwrap_or(language);
        let segments = segments(url);
        let title = match segments.first().map(String::as_str) {
            // `/wiki/AC/DC`: the title is everything after `/wiki/`.
            Some("wiki") if segments.len() > 1 => segments[1..].join("/"),
            Some("w") => query_param(url, "title")?,
            _ => return None,
        };
        let title = percent_decode(&title)?;
        self.parse_key(&format!("{language}.wikipedia/{title}"))
            .ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        let invalid = || {
            format!(
                "`{key}` is not a Wikipedia article (language.wikipedia/Title, for example en.wikipedia/Rust_(programming_language))"
            )
        };
        let (project, title) = split(key).ok_or_else(invalid)?;
        let language = project
            .strip_suffix(".wikipedia")
            .filter(|language| is_language(language))
            .ok_or_else(invalid)?;
        let title = normalise_title(title).ok_or_else(invalid)?;
        Ok(format!("{language}.wikipedia/{title}"))
    }

    fn history_from(&self) -> Option<&'static str> {
        Some("Wikipedia")
    }

    async fn history(
        &self,
        http: &Upstreams,
        source: &SourceRef,
        saved: Option<&serde_json::Value>,
    ) -> Result<HistoryPage, FetchError> {
        history(http, &source.key, cursor(saved)?).await
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        // The existence check: an article nobody viewed lately has no data either.
        daily_views(http, &source.key).await?;
        let (project, article) = split(&source.key).unwrap_or(("en.wikipedia", &source.key));
        let mut link = Url::parse(&format!("https://{project}.org/wiki/"))
            .map_err(|error| FetchError::Invalid(format!("bad Wikipedia link: {error}")))?;
        if let Ok(mut path) = link.path_segments_mut() {
            path.pop_if_empty().push(article);
        }
        Ok(Metadata {
            key: source.key.clone(),
            title: title_of(article),
            url: link.to_string(),
            author: None,
            published_at: None,
            tags: vec![project.to_string()],
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let days = daily_views(http, &source.key).await?;
        let newest = days
            .iter()
            .rfind(|day| day.day().is_some())
            .ok_or_else(|| {
                FetchError::Gone(format!(
                    "Wikipedia article {} has no page views in the last {LOOKBACK_DAYS} days",
                    title_of(split(&source.key).map_or(&source.key[..], |(_, a)| a))
                ))
            })?;
        Ok(Readings::of([("views", Some(newest.views))]))
    }
}

/// `K%C3%B6ln` → `Köln`; `None` when the escapes are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("t={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_article_links_in_any_language() {
        assert_recognised(&[
            (
                &Article,
                "https://en.wikipedia.org/wiki/Rust_(programming_language)",
                Some("en.wikipedia/Rust_(programming_language)"),
            ),
            (
                &Article,
                "https://de.m.wikipedia.org/wiki/K%C3%B6ln#Geschichte",
                Some("de.wikipedia/Köln"),
            ),
            (
                &Article,
                "https://fr.wikipedia.org/w/index.php?title=AC/DC&action=history",
                Some("fr.wikipedia/AC/DC"),
            ),
            (
                &Article,
                "https://en.wikipedia.org/wiki/AC/DC",
                Some("en.wikipedia/AC/DC"),
            ),
            (
                &Article,
                "https://en.wikipedia.org/wiki/c++",
                Some("en.wikipedia/C++"),
            ),
            (
                &Article,
                "https://zh-min-nan.wikipedia.org/wiki/Tâi-oân",
                Some("zh-min-nan.wikipedia/Tâi-oân"),
            ),
            (&Article, "https://en.wikipedia.org/", None),
            (&Article, "https://www.wikipedia.org/wiki/Rust", None),
            (&Article, "https://en.wikipedia.org/wiki/", None),
            (&Article, "https://en.wiktionary.org/wiki/rust", None),
            (
                &Article,
                "https://wikipedia.org.evil.example/wiki/Rust",
                None,
            ),
        ]);
    }

    #[test]
    fn keys_are_checked_and_normalised() {
        assert_eq!(
            Article.parse_key("en.wikipedia/rust language").as_deref(),
            Ok("en.wikipedia/Rust_language")
        );
        for bad in [
            "Rust",
            "en/Rust",
            "en.wikipedia/",
            "x.wikipedia/A",
            "en.wikipedia/A|B",
        ] {
            assert!(Article.parse_key(bad).is_err(), "{bad}");
        }
    }
}
