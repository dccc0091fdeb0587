//! PyPI packages through pypistats.org's JSON API (PyPI itself publishes no download
//! counts): `GET /api/packages/{package}/recent` answers the downloads of the last day,
//! week and month, without known mirrors, in one request:
//! `{"data": {"last_day": 1, "last_month": 2, "last_week": 3}, "package": "…",
//! "type": "recent_downloads"}`. The counts are made once a day from PyPI's BigQuery data.
//!
//! pypistats.org knows a package by its normalised name (PEP 503: lowercase, runs of `-`,
//! `_` and `.` as one `-`), which is what a key is. A package it has no downloads of (it
//! does not exist, or is too new to be counted yet) answers 404 with a plain-text `404`
//! body, never JSON; its 429 is an HTML link to its etiquette.
//!
//! The daily history (`/api/packages/{package}/overall?mirrors=false`: a row a day and
//! category, `with_mirrors` and `without_mirrors`, over the 180 days pypistats keeps)
//! loads a new tracker's `downloads_day` on day one, from the `without_mirrors` rows.

use super::prelude::*;

/// pypistats.org's API.
pub const PYPISTATS: Service = Service::new(&ServiceSpec {
    name: "pypistats",
    label: "PyPI Stats",
    default_base_url: Some("https://pypistats.org"),
    // One volunteer-run server, whose etiquette asks clients to be gentle (it answers 429
    // when pushed), with counts that change once a day: a request every two seconds is
    // more than a poller needs and little for it to serve.
    requests_per_minute: 30,
    requests_per_minute_with_credentials: 30,
    credentials: None,
});

pub const MODULE: Module = Module {
    name: "pypi",
    badge: Badge {
        letters: "Py",
        name: "PyPI",
        colour: "#3775a9",
    },
    services: &[PYPISTATS],
    kinds: || vec![Arc::new(Package)],
    containers: no_containers,
};

pub struct Package;

/// The longest package name accepted (PyPI sets no limit; real names stay far below).
const NAME_MAX: usize = 200;

/// `/api/packages/{package}/recent`: downloads over rolling windows that end with the
/// newest counted day. pypistats fills in 0 for a window it has no figure for.
#[derive(Deserialize)]
struct Recent {
    data: RecentDownloads,
}

#[derive(Deserialize)]
struct RecentDownloads {
    #[serde(default, deserialize_with = "optional_count")]
    last_day: Option<f64>,
    #[serde(default, deserialize_with = "optional_count")]
    last_week: Option<f64>,
    #[serde(default, deserialize_with = "optional_count")]
    last_month: Option<f64>,
}

impl RecentDownloads {
    fn readings(&self) -> Readings {
        Readings::of([
            ("downloads_day", self.last_day),
            ("downloads_week", self.last_week),
            ("downloads_month", self.last_month),
        ])
    }
}

/// `/api/packages/{name}/{endpoint}` (`recent`, and later `overall`).
fn package_url(http: &Upstreams, name: &str, endpoint: &str) -> Result<Url, FetchError> {
    let mut url = http.endpoint(PYPISTATS, "/api/packages")?;
    url.path_segments_mut()
        .map_err(|()| FetchError::Invalid("the pypistats API URL cannot take a path".into()))?
        .extend([name, endpoint]);
    Ok(url)
}

/// The recent downloads of `name`; gone when pypistats has none (its 404).
/// `/api/packages/{name}/overall?mirrors=false`: a row a day and category, over the 180
/// days pypistats keeps; `without_mirrors` counts what people downloaded.
#[derive(Deserialize)]
struct Overall {
    data: Vec<OverallDay>,
}

#[derive(Deserialize)]
struct OverallDay {
    category: String,
    /// `2026-06-05`.
    date: String,
    #[serde(deserialize_with = "count")]
    downloads: f64,
}

/// The daily downloads pypistats keeps, in one request.
async fn overall(http: &Upstreams, name: &str) -> Result<HistoryPage, FetchError> {
    let mut url = package_url(http, name, "overall")?;
    url.query_pairs_mut().append_pair("mirrors", "false");
    let answer: Overall = http
        .get(
            &UpstreamRequest::get(PYPISTATS, url),
            &format!("PyPI package {name}"),
        )
        .await?;
    let points = answer
        .data
        .iter()
        .filter(|day| day.category == "without_mirrors")
        .filter_map(|day| {
            Some(HistoryPoint {
                metric: "downloads_day",
                t: day_start(parse_day(&day.date)?),
                value: day.downloads,
            })
        })
        .collect();
    Ok(HistoryPage::last(points))
}

async fn recent(http: &Upstreams, name: &str) -> Result<RecentDownloads, FetchError> {
    let request = UpstreamRequest::get(PYPISTATS, package_url(http, name, "recent")?);
    let answer: Recent = http.get(&request, &format!("PyPI package {name}")).await?;
    Ok(answer.data)
}

/// `name` as PEP 503 normalises it, when it is a valid distribution name (PEP 508: ASCII
/// letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit).
fn normalise(name: &str) -> Option<String> {
    let valid = is_token(name, NAME_MAX, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
    }) && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        return None;
    }
    let mut normalised = String::with_capacity(name.len());
    for c in name.chars() {
        if !matches!(c, '-' | '_' | '.') {
            normalised.push(c.to_ascii_lowercase());
        } else if !normalised.ends_with('-') {
            normalised.push('-');
        }
    }
    Some(normalised)
}

#[async_trait]
impl Provider for Package {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "pypi.package",
            label: "PyPI package",
            service: PYPISTATS,
            examples: &[
                "https://pypistats.org/packages/requests",
                "https://pypistats.org/packages/django",
                "https://pypistats.org/packages/zope.interface",
            ],
            // Rolling windows, not running totals: each can fall as well as rise.
            metrics: &[
                Metric("downloads_day", MetricKind::Gauge, "downloads"),
                Metric("downloads_week", MetricKind::Gauge, "downloads"),
                Metric("downloads_month", MetricKind::Gauge, "downloads"),
            ],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        match segments_on(url, "pypistats.org")?.as_slice() {
            [packages, name, ..] if packages == "packages" => self.parse_key(name).ok(),
            _ => None,
        }
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        normalise(key).ok_or_else(|| {
            format!("`{key}` is not a PyPI package name (such as `requests` or `zope.interface`)")
        })
    }

    fn history_from(&self) -> Option<&'static str> {
        Some("pypistats")
    }

    async fn history(
        &self,
        http: &Upstreams,
        source: &SourceRef,
        _cursor: Option<&serde_json::Value>,
    ) -> Result<HistoryPage, FetchError> {
        overall(http, &source.key).await
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        // The existence check; pypistats has no metadata, so the title is the name.
        recent(http, &source.key).await?;
        Ok(Metadata {
            key: source.key.clone(),
            title: source.key.clone(),
            url: format!("https://pypi.org/project/{}/", source.key),
            ..Metadata::default()
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        Ok(recent(http, &source.key).await?.readings())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_pypistats_package_pages() {
        let cases: &[(&str, Option<&str>)] = &[
            ("https://pypistats.org/packages/requests", Some("requests")),
            ("https://www.pypistats.org/packages/Django/", Some("django")),
            (
                "https://pypistats.org/packages/zope.interface",
                Some("zope-interface"),
            ),
            (
                "https://pypistats.org/packages/typing_extensions?x=1",
                Some("typing-extensions"),
            ),
            ("https://pypistats.org/packages/", None),
            ("https://pypistats.org/top", None),
            ("https://pypistats.org/api/packages/requests/recent", None),
            ("https://pypistats.org/packages/-bad", None),
            ("https://pypi.org/packages/requests", None),
            ("https://pypistats.org.evil.example/packages/requests", None),
        ];
        let cases: Vec<(&dyn Provider, &str, Option<&str>)> = cases
            .iter()
            .map(|&(link, key)| (&Package as &dyn Provider, link, key))
            .collect();
        assert_recognised(&cases);
    }

    #[test]
    fn keys_are_normalised_as_pep_503_says() {
        for (key, expected) in [
            ("requests", "requests"),
            (" Django\n", "django"),
            ("zope.interface", "zope-interface"),
            ("Foo__Bar..-baz", "foo-bar-baz"),
            ("typing_extensions", "typing-extensions"),
            ("a", "a"),
            ("0x", "0x"),
        ] {
            assert_eq!(Package.parse_key(key).as_deref(), Ok(expected), "{key}");
        }
        for bad in [
            "",
            "-leading",
            "trailing_",
            ".hidden",
            "with space",
            "a/b",
            "café",
            "a,b",
            "@scope/name",
            &"a".repeat(NAME_MAX + 1),
        ] {
            assert!(Package.parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_documented_answer() {
        let answer: Recent = serde_json::from_str(
            r#"{"data": {"last_day": 1, "last_month": 2, "last_week": 3},
                "package": "package_name", "type": "recent_downloads"}"#,
        )
        .expect("the documented example");
        let readings = answer.data.readings();
        assert_eq!(readings.value_of("downloads_day"), Some(1.0));
        assert_eq!(readings.value_of("downloads_week"), Some(3.0));
        assert_eq!(readings.value_of("downloads_month"), Some(2.0));
        // Asked for one period (`?period=day`), the others are left out.
        let answer: Recent =
            serde_json::from_str(r#"{"data": {"last_day": 0}, "package": "p"}"#).expect("read");
        assert_eq!(answer.data.readings().values.len(), 1);
    }
}
