//! PyPI, Hugging Face and Kaggle against the stand-in: what each upstream answers for the
//! unknown, the credentials arriving as each API wants them, and the Hub's limits.

use base64::{Engine as _, engine::general_purpose::STANDARD};

use super::*;
use crate::standin::{fixtures_folder, test_credential};

/// A fixture file of provider `module`.
fn fixture(module: &str, file: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures_folder(module).join(file)).expect("fixture");
    serde_json::from_str(&text).expect("JSON")
}

#[tokio::test]
async fn pypi_recent_downloads_normalised_names_and_unknown_packages() {
    let standin = StandIn::start().await;
    standin.load_fixtures("pypi");
    let engine = engine_for(&standin, &[]);

    let metadata = metadata_of_link(&engine, "https://pypistats.org/packages/Zope.Interface").await;
    assert_eq!(metadata.key, "zope-interface", "PEP 503's name");
    assert_eq!(metadata.url, "https://pypi.org/project/zope-interface/");
    let keyed = engine
        .resolve(&TrackRequest {
            kind: Some("pypi.package".parse().expect("a kind")),
            key: Some("Typing_Extensions".into()),
            ..Default::default()
        })
        .map(|resolved| resolved.source.key);
    assert_eq!(keyed.ok().as_deref(), Some("typing-extensions"));

    let keys = [
        "requests",
        "django",
        "zope-interface",
        "no-such-package-here",
    ];
    let outcomes = fetch(&engine, "pypi.package", &keys).await;
    let requests = ok(&outcomes[0]);
    assert_eq!(value(requests, "downloads_day"), Some(38_512_906.0));
    assert_eq!(value(requests, "downloads_week"), Some(251_226_841.0));
    assert_eq!(value(requests, "downloads_month"), Some(1_061_838_472.0));
    assert_eq!(
        value(ok(&outcomes[1]), "downloads_month"),
        Some(11_915_310.0)
    );
    let zope = ok(&outcomes[2]);
    assert_eq!(value(zope, "downloads_day"), Some(0.0), "a quiet day is 0");
    assert!(gone(&outcomes[3]).contains("no-such-package-here"));
    assert!(
        standin
            .hits()
            .contains(&"/pypistats/api/packages/requests/recent".to_string()),
        "one request for the three windows: {:?}",
        standin.hits()
    );

    // Whatever the 404 says (pypistats' is not JSON), the package is gone.
    standin.script(
        "/pypistats/api/packages/requests/",
        vec![
            Canned::text(404, "404"),
            Canned::text(404, "<!doctype html><title>404 Not Found</title>"),
        ],
    );
    for _ in 0..2 {
        gone(&fetch_one(&engine, "pypi.package", "requests").await);
    }
}

#[tokio::test]
async fn hugging_face_models_datasets_spaces_and_what_is_not_found() {
    let standin = StandIn::start().await;
    standin.load_fixtures("huggingface");
    let engine = engine_for(&standin, &[]);

    // A legacy id becomes the canonical one the Hub answers.
    let metadata = metadata_of_link(&engine, "https://huggingface.co/gpt2/tree/main").await;
    assert_eq!(metadata.key, "openai-community/gpt2");
    assert_eq!(metadata.url, "https://huggingface.co/openai-community/gpt2");
    assert_eq!(metadata.author.as_deref(), Some("openai-community"));
    assert!(metadata.tags.contains(&"text-generation".to_string()));
    assert!(!metadata.tags.iter().any(|tag| tag.starts_with("region:")));

    let models = [
        "openai-community/gpt2",
        "google-bert/bert-base-uncased",
        "nobody/no-such-model",
    ];
    let outcomes = fetch(&engine, "huggingface.model", &models).await;
    let gpt2 = ok(&outcomes[0]);
    assert_eq!(value(gpt2, "downloads"), Some(10_684_227.0));
    assert_eq!(value(gpt2, "downloads_all_time"), Some(812_309_764.0));
    assert_eq!(value(gpt2, "likes"), Some(2_928.0));
    assert_eq!(
        value(ok(&outcomes[1]), "downloads_all_time"),
        Some(2_093_716_203.0)
    );
    assert!(gone(&outcomes[2]).contains("nobody/no-such-model"));
    // With `expand[]` only the fields named come back: every one read is named.
    let expand = |fields: &[&str]| {
        let pairs: Vec<String> = fields.iter().map(|f| format!("expand%5B%5D={f}")).collect();
        pairs.join("&")
    };
    let hits = standin.hits();
    let fields = [
        "author",
        "createdAt",
        "downloads",
        "downloadsAllTime",
        "likes",
        "tags",
    ];
    let model_hit = format!(
        "/huggingface/api/models/openai-community/gpt2?{}",
        expand(&fields)
    );
    assert!(hits.contains(&model_hit), "{model_hit} in {hits:?}");

    let outcomes = fetch(&engine, "huggingface.dataset", &["rajpurkar/squad"]).await;
    assert_eq!(
        value(ok(&outcomes[0]), "downloads_all_time"),
        Some(6_071_982.0)
    );
    let outcomes = fetch(&engine, "huggingface.space", &["gradio/hello_world"]).await;
    assert_eq!(ok(&outcomes[0]).values, [("likes".to_string(), 41.0)]);
    let space_hit = format!(
        "/huggingface/api/spaces/gradio/hello_world?{}",
        expand(&["author", "createdAt", "likes", "tags"])
    );
    assert!(standin.hits().contains(&space_hit), "{:?}", standin.hits());
    assert_gone(&engine, "huggingface.dataset", "nobody/no-such-dataset").await;
    assert!(
        standin
            .header_values("/huggingface", "authorization")
            .iter()
            .all(String::is_empty),
        "anonymous without a token"
    );

    // Anonymous callers get a 401 for what does not exist (or is private): gone too.
    standin.script(
        "/huggingface/api/models/someone/private-model",
        vec![
            Canned::json(401, json!({ "error": "Repository not found" }))
                .header("X-Error-Code", "RepoNotFound"),
        ],
    );
    assert_gone(&engine, "huggingface.model", "someone/private-model").await;
}

/// A token is sent as Bearer and a refused one is a configuration error, not a missing
/// repository; the last request of the Hub's window pauses it until the window ends.
#[tokio::test]
async fn hugging_face_token_and_the_rate_limit_window() {
    let standin = StandIn::start().await;
    standin.load_fixtures("huggingface");
    let engine = engine_for(&standin, &[("UPCOUNT_HUGGINGFACE_TOKEN", "hf_test_token")]);

    ok(&fetch_one(&engine, "huggingface.model", "openai-community/gpt2").await);
    assert_eq!(
        standin.header_values("/huggingface", "authorization"),
        ["Bearer hf_test_token"]
    );
    standin.script(
        "/huggingface/api/models",
        vec![Canned::json(
            401,
            json!({ "error": "Invalid credentials in Authorization header" }),
        )],
    );
    let outcome = fetch_one(&engine, "huggingface.model", "openai-community/gpt2").await;
    assert!(not_configured(&outcome).contains("UPCOUNT_HUGGINGFACE_TOKEN"));

    standin.script(
        "/huggingface/api/models",
        vec![
            Canned::json(200, fixture("huggingface", "gpt2.json"))
                .header("RateLimit", "\"api\";r=0;t=120")
                .header("RateLimit-Policy", "\"fixed window\";\"api\";q=500;w=300"),
        ],
    );
    let outcome = fetch_one(&engine, "huggingface.model", "openai-community/gpt2").await;
    assert_eq!(
        value(ok(&outcome), "likes"),
        Some(2_928.0),
        "the answer is read"
    );
    let state = engine
        .http()
        .rate_states()
        .into_iter()
        .find(|(service, _)| service.name() == "huggingface")
        .map(|(_, state)| state)
        .expect("the Hub has a rate-limit state");
    assert_eq!(state.remaining, Some(0.0));
    assert!(state.paused_until.is_some(), "paused until the window ends");
    let before = standin.hits_on("/huggingface");
    let outcome = fetch_one(&engine, "huggingface.space", "gradio/hello_world").await;
    assert_rate_limited(&outcome, 100);
    assert_eq!(standin.hits_on("/huggingface"), before, "nothing was sent");
}

#[tokio::test]
async fn kaggle_datasets_notebooks_by_exact_ref_and_credentials() {
    let standin = StandIn::start().await;
    standin.load_fixtures("kaggle");
    let engine = engine_for(&standin, &[]);

    let metadata = metadata_of_link(
        &engine,
        "https://www.kaggle.com/datasets/zynicide/wine-reviews",
    )
    .await;
    assert_eq!(metadata.title, "Wine Reviews");
    assert_eq!(metadata.author.as_deref(), Some("zackthoutt"));
    assert_eq!(metadata.tags, ["food", "alcohol"]);
    let iris = metadata_of(&engine, "kaggle.dataset", "uciml/iris")
        .await
        .expect("exists");
    assert_eq!(
        iris.published_at.map(|at| at.to_rfc3339()).as_deref(),
        Some("2016-09-27T07:38:05.710+00:00"),
        "a date without a zone is UTC"
    );

    let datasets = [
        "zynicide/wine-reviews",
        "uciml/iris",
        "nobody/no-such-dataset",
    ];
    let outcomes = fetch(&engine, "kaggle.dataset", &datasets).await;
    let wine = ok(&outcomes[0]);
    assert_eq!(
        [
            value(wine, "downloads"),
            value(wine, "views"),
            value(wine, "votes")
        ],
        [Some(271_843.0), Some(2_331_846.0), Some(3_791.0)]
    );
    assert_eq!(
        value(ok(&outcomes[1]), "views"),
        None,
        "a null count is left out"
    );
    assert_eq!(value(ok(&outcomes[1]), "downloads"), Some(410_231.0));
    gone(&outcomes[2]);

    // The notebook is the exact ref among the search's hits, not its first hit; a search
    // without it is gone.
    let notebooks = [
        "alexisbcook/titanic-tutorial",
        "startupsci/titanic-data-science-solutions",
        "nobody/no-such-notebook",
    ];
    let outcomes = fetch(&engine, "kaggle.notebook", &notebooks).await;
    assert_eq!(value(ok(&outcomes[0]), "votes"), Some(33_851.0));
    assert_eq!(value(ok(&outcomes[1]), "votes"), Some(10_512.0));
    assert!(gone(&outcomes[2]).contains("nobody/no-such-notebook"));
    let search =
        "/kaggle/api/v1/kernels/list?user=alexisbcook&search=titanic-tutorial&pageSize=100";
    assert!(
        standin.hits().contains(&search.to_string()),
        "{:?}",
        standin.hits()
    );

    // Every request carries the account's key as basic authentication.
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            test_credential("UPCOUNT_KAGGLE_USERNAME"),
            test_credential("UPCOUNT_KAGGLE_KEY")
        ))
    );
    let sent = standin.header_values("/kaggle", "authorization");
    assert!(
        !sent.is_empty() && sent.iter().all(|value| *value == basic),
        "{sent:?}"
    );

    // Private or missing, Kaggle will not say: gone. A refused key is the server's to fix.
    standin.script(
        "/kaggle/api/v1/datasets/view/someone/private",
        vec![Canned::json(
            403,
            json!({ "code": 403, "message": "Permission 'datasets.get' was denied" }),
        )],
    );
    assert_gone(&engine, "kaggle.dataset", "someone/private").await;
    standin.script(
        "/kaggle/api/v1/datasets/view",
        vec![Canned::json(
            401,
            json!({ "code": 401, "message": "Unauthenticated" }),
        )],
    );
    let outcome = fetch_one(&engine, "kaggle.dataset", "zynicide/wine-reviews").await;
    assert!(not_configured(&outcome).contains("UPCOUNT_KAGGLE_KEY"));

    let keyless = engine_for(&standin, &[("UPCOUNT_KAGGLE_KEY", "")]);
    let link = "https://www.kaggle.com/code/alexisbcook/titanic-tutorial";
    assert_refused_without(&keyless, link, "UPCOUNT_KAGGLE_KEY");
}
