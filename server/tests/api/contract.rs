//! The contract every registered provider keeps, run against its fixture files
//! (`server/tests/fixtures/<provider>/`, shaped like the real API's answers): each example
//! link is recognised, metadata and a batch fetch work, an unknown key is gone, and the
//! upstream's 429 with `Retry-After` pauses the service. A provider module whose kinds
//! recognise links and that has no fixtures fails here.

use std::time::Duration;

use app::server::tracking::{FetchError, SourceRef, providers};

use crate::{
    providers::engine_for,
    standin::{Canned, StandIn, fixtures_folder},
};

#[tokio::test]
async fn every_provider_keeps_the_contract_on_its_fixtures() {
    let mut checked = Vec::new();
    for module in providers::MODULES {
        let kinds = (module.kinds)();
        if kinds.iter().all(|kind| kind.examples().is_empty()) {
            // `json`: user URLs, covered by the JSON tests.
            continue;
        }
        assert!(
            fixtures_folder(module.name).join("contract.json").exists(),
            "provider `{}` has no server/tests/fixtures/{}/contract.json",
            module.name,
            module.name
        );
        let standin = StandIn::start().await;
        let contract = standin.load_fixtures(module.name);
        let engine = engine_for(&standin, &[]);
        for kind in &kinds {
            let name = kind.kind();
            assert!(
                name.starts_with(&format!("{}.", module.name)),
                "kind `{name}` is named after its module `{}`",
                module.name
            );
            assert!(!kind.examples().is_empty(), "`{name}` gives example links");
            let mut sources = Vec::new();
            for example in kind.examples() {
                let (provider, key) = engine
                    .recognise(example)
                    .unwrap_or_else(|error| panic!("{example} is not recognised: {error}"));
                assert_eq!(provider.kind(), name, "{example}");
                let metadata = engine
                    .metadata(provider.as_ref(), &SourceRef::new(key.clone()))
                    .await
                    .unwrap_or_else(|error| panic!("metadata of {name} {key}: {error}"));
                assert!(!metadata.title.is_empty(), "{name} {key} has a title");
                assert!(
                    metadata.url.starts_with("https://"),
                    "{name} {key} links to the thing: {}",
                    metadata.url
                );
                if !sources
                    .iter()
                    .any(|source: &SourceRef| source.key == metadata.key)
                {
                    sources.push(SourceRef::new(metadata.key));
                }
            }
            let metric_names: Vec<String> = sources
                .iter()
                .flat_map(|source| kind.metrics(source))
                .map(|metric| metric.name)
                .collect();
            let outcomes = engine
                .fetch(kind.as_ref(), &sources)
                .await
                .unwrap_or_else(|error| panic!("batch fetch of {name}: {error}"));
            assert_eq!(outcomes.len(), sources.len(), "one outcome per source");
            for (source, outcome) in sources.iter().zip(&outcomes) {
                let readings = outcome
                    .as_ref()
                    .unwrap_or_else(|error| panic!("{name} {}: {error}", source.key));
                assert!(
                    !readings.values.is_empty(),
                    "{name} {} has values",
                    source.key
                );
                for (metric, _) in &readings.values {
                    assert!(metric_names.contains(metric), "{name} declares `{metric}`");
                }
            }

            let unknown = contract
                .unknown
                .get(name)
                .unwrap_or_else(|| panic!("contract.json names an unknown key for {name}"));
            let unknown = SourceRef::new(kind.parse_key(unknown).expect("a valid unknown key"));
            match engine.metadata(kind.as_ref(), &unknown).await {
                Err(FetchError::Gone(_)) => {}
                other => panic!("{name} {}: expected gone, got {other:?}", unknown.key),
            }
            let outcomes = engine
                .fetch(kind.as_ref(), std::slice::from_ref(&unknown))
                .await
                .expect("a batch with an unknown key still answers");
            let gone = matches!(outcomes.first(), Some(Err(FetchError::Gone(_))));
            if contract.offline_not_gone.contains_key(name) {
                assert!(
                    matches!(outcomes.first(), Some(Ok(_))),
                    "{name}: {outcomes:?}"
                );
            } else {
                assert!(
                    gone,
                    "{name} {}: fetch says gone, got {outcomes:?}",
                    unknown.key
                );
            }
        }

        // The upstream asks to slow down: the request fails as rate-limited and the
        // service pauses for as long as it said.
        let kind = &kinds[0];
        let key = engine.recognise(kind.examples()[0]).expect("recognised").1;
        standin.script(
            &contract.rate_limited_path,
            vec![
                Canned::json(429, serde_json::json!({ "message": "Too Many Requests" }))
                    .header("Retry-After", "120");
                3
            ],
        );
        match engine.metadata(kind.as_ref(), &SourceRef::new(key)).await {
            Err(FetchError::RateLimited {
                retry_after: Some(wait),
                ..
            }) => assert!(
                wait >= Duration::from_secs(100),
                "{}: waits {wait:?}",
                module.name
            ),
            other => panic!("{}: expected rate-limited, got {other:?}", module.name),
        }
        let paused = engine
            .http()
            .rate_states()
            .into_iter()
            .any(|(service, state)| service == kind.service() && state.paused_until.is_some());
        assert!(paused, "{}: the service is paused", module.name);
        let user_agents = standin.user_agents();
        assert!(
            user_agents
                .iter()
                .all(|agent| agent.starts_with("Upcount/")),
            "{}: every request says who we are: {user_agents:?}",
            module.name
        );
        checked.push(module.name);
    }
    assert!(checked.contains(&"wikipedia"), "checked: {checked:?}");
    assert!(checked.len() >= 7, "checked: {checked:?}");
}

/// Wikipedia: the newest day's views, whatever days the API leaves out; a title with a
/// slash or non-ASCII letters reaches the API percent-encoded.
#[tokio::test]
async fn wikipedia_reads_the_newest_day_of_page_views() {
    let standin = StandIn::start().await;
    standin.load_fixtures("wikipedia");
    let engine = engine_for(&standin, &[]);
    let article = engine
        .provider(&"wikipedia.article".parse().expect("a kind"))
        .expect("provider");
    let sources: Vec<SourceRef> = [
        "en.wikipedia/Rust_(programming_language)",
        "de.wikipedia/Köln",
        "fr.wikipedia/AC/DC",
    ]
    .into_iter()
    .map(SourceRef::new)
    .collect();
    let outcomes = engine
        .fetch(article.as_ref(), &sources)
        .await
        .expect("fetch");
    let views: Vec<Option<f64>> = outcomes
        .iter()
        .map(|outcome| outcome.as_ref().ok().and_then(|r| r.value_of("views")))
        .collect();
    assert_eq!(views, [Some(4233.0), Some(2305.0), Some(990.0)]);
    let metadata = engine
        .metadata(article.as_ref(), &sources[2])
        .await
        .expect("metadata");
    assert_eq!(metadata.title, "AC/DC");
    assert_eq!(metadata.url, "https://fr.wikipedia.org/wiki/AC%2FDC");
    let hits = standin.hits();
    assert!(
        hits.iter()
            .any(|hit| hit.contains("/de.wikipedia/all-access/all-agents/K%C3%B6ln/daily/")),
        "{hits:?}"
    );

    // An article with no days at all in the answer is gone, with the reason.
    standin.set(
        "wikimedia/api/rest_v1/metrics/pageviews/per-article/en.wikipedia/all-access/all-agents/Quiet/daily",
        serde_json::json!({ "items": [] }),
    );
    let outcomes = engine
        .fetch(article.as_ref(), &[SourceRef::new("en.wikipedia/Quiet")])
        .await
        .expect("fetch");
    match &outcomes[0] {
        Err(FetchError::Gone(message)) => assert!(message.contains("no page views"), "{message}"),
        other => panic!("expected gone, got {other:?}"),
    }
}

/// Through the API, as a customer adds one: a pasted Wikipedia link becomes a tracker
/// with its title and its first sample.
#[tokio::test]
async fn a_wikipedia_link_becomes_a_tracker() {
    use app::domain::{Role, TokenScope};
    let (standin, app) = crate::helpers::spawn_app_with_standin(vec![]).await;
    standin.load_fixtures("wikipedia");
    let user = app.create_user(Role::Member).await;
    let token = app.token(&user, TokenScope::Write).await;
    let id = app
        .add_tracker(
            &token,
            serde_json::json!({ "url": "https://en.wikipedia.org/wiki/Rust_(programming_language)" }),
        )
        .await;
    let (status, tracker) = app.api_get(&format!("/api/v1/trackers/{id}"), &token).await;
    assert!(status.is_success(), "{status} {tracker}");
    let text = tracker.to_string();
    assert!(text.contains("wikipedia.article"), "{text}");
    assert!(text.contains("Rust (programming language)"), "{text}");
    assert!(
        text.contains("4233"),
        "the first sample is the newest day: {text}"
    );
}

const DOCS_START: &str =
    "<!-- provider tables: generated from the registry by `make docs`; do not edit -->";
const DOCS_END: &str = "<!-- end of the provider tables -->";

/// The README's provider and service tables, from the registry.
fn provider_tables() -> String {
    let code = |text: &str| format!("`{text}`");
    let mut out = String::from(
        "| kind | provider | example links | metrics | history on day one | needs |\n|---|---|---|---|---|---|\n",
    );
    for module in providers::MODULES {
        for kind in (module.kinds)() {
            let examples: Vec<String> = kind.examples().iter().map(|url| code(url)).collect();
            let key = kind
                .examples()
                .first()
                .and_then(|url| url::Url::parse(url).ok())
                .and_then(|url| kind.recognise(&url))
                .unwrap_or_default();
            let metrics: Vec<String> = kind
                .metrics(&SourceRef::new(key))
                .into_iter()
                .map(|metric| code(&metric.name))
                .collect();
            let needs = kind
                .service()
                .credentials()
                .map(|credentials| {
                    let vars: Vec<String> = credentials.vars.iter().map(|var| code(var)).collect();
                    let vars = vars.join(" and ");
                    if credentials.required {
                        vars
                    } else {
                        format!("optional {vars}")
                    }
                })
                .unwrap_or_default();
            let (examples, metrics) = if kind.kind() == "json" {
                (
                    "any http(s) URL answering JSON, with `metrics`".to_string(),
                    "named by you: `name → JMESPath`".to_string(),
                )
            } else {
                (examples.join(", "), metrics.join(", "))
            };
            let history = kind
                .history_from()
                .map(|from| format!("from {from}"))
                .unwrap_or_else(|| "from the first poll".to_string());
            out.push_str(&format!(
                "| {} | {} | {examples} | {metrics} | {history} | {needs} |\n",
                code(kind.kind()),
                module.badge.name,
            ));
        }
    }
    out.push_str(
        "\n| watch a link like | container kind | provider | its new items become | read through |\n|---|---|---|---|---|\n",
    );
    for module in providers::MODULES {
        for container in (module.containers)() {
            let spec = container.spec();
            let examples: Vec<String> = spec.examples.iter().map(|url| code(url)).collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} ({}) | `{}` |\n",
                examples.join(", "),
                code(spec.kind),
                module.badge.name,
                spec.yields,
                code(spec.item_kind),
                spec.service.name().to_ascii_uppercase(),
            ));
        }
    }
    out.push_str(
        "\n| service | base URL setting (default) | requests a minute: `UPCOUNT_<SERVICE>_RATE_PER_MIN` (default) | credentials |\n|---|---|---|---|\n",
    );
    for service in providers::services() {
        let base = match (
            service.url_var(),
            service.default_base_url_for(false),
            service.default_base_url_for(true),
        ) {
            (Some(var), Some(url), Some(with)) if with != url => {
                format!("`{var}` ({url}; {with} with credentials)")
            }
            (Some(var), Some(url), _) => format!("`{var}` ({url})"),
            _ => "none: the URL a user gives".into(),
        };
        let rate = {
            let (without, with) = (
                service.default_requests_per_minute(false),
                service.default_requests_per_minute(true),
            );
            if without == with {
                format!("`{}` ({without})", service.rate_var())
            } else {
                format!(
                    "`{}` ({without}; {with} with credentials)",
                    service.rate_var()
                )
            }
        };
        let credentials = service
            .credentials()
            .map(|credentials| {
                let vars: Vec<String> = credentials.vars.iter().map(|var| code(var)).collect();
                let need = if credentials.required {
                    "required"
                } else {
                    "optional"
                };
                format!(
                    "{} ({need}; without: {})",
                    vars.join(", "),
                    credentials.when_missing
                )
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "| `{}` ({}) | {base} | {rate} | {credentials} |\n",
            service.name().to_ascii_uppercase(),
            service.label()
        ));
    }
    out
}

/// The README's tables are the registry's: `make docs` (`UPDATE_DOCS=1`) rewrites them.
#[test]
fn the_readme_lists_every_registered_provider() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let (before, rest) = readme
        .split_once(DOCS_START)
        .expect("README has the start marker");
    let (_, after) = rest
        .split_once(DOCS_END)
        .expect("README has the end marker");
    let expected = format!(
        "{before}{DOCS_START}\n\n{}\n{DOCS_END}{after}",
        provider_tables()
    );
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write README.md");
        return;
    }
    assert!(
        readme == expected,
        "README.md's provider tables are out of date with the registry: run `make docs`"
    );
}
