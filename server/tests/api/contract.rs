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
    let article = engine.provider("wikipedia.article").expect("provider");
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
    let (status, tracker) = app
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/trackers/{id}"),
            &token,
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {tracker}");
    let text = tracker.to_string();
    assert!(text.contains("wikipedia.article"), "{text}");
    assert!(text.contains("Rust (programming language)"), "{text}");
    assert!(
        text.contains("4233"),
        "the first sample is the newest day: {text}"
    );
}
