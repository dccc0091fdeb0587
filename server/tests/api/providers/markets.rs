//! Stock quotes against the stand-in: Finnhub's zeros for the unknown, funds without a
//! profile, its key in a header, and its minute's limit.

use super::*;
use crate::standin::test_credential;

#[tokio::test]
async fn stock_quotes_unknown_symbols_funds_and_the_key_header() {
    let standin = StandIn::start().await;
    standin.load_fixtures("stock");
    let engine = engine_for(&standin, &[]);

    // Yahoo's `BRK-B` is Finnhub's `BRK.B`.
    let metadata =
        metadata_of_link(&engine, "https://finance.yahoo.com/quote/BRK-B/history/").await;
    assert_eq!(metadata.key, "BRK.B");
    assert_eq!(metadata.title, "Berkshire Hathaway Inc (BRK.B)");
    assert_eq!(metadata.url, "https://finance.yahoo.com/quote/BRK.B");
    assert_eq!(
        metadata.tags,
        ["NEW YORK STOCK EXCHANGE, INC.", "Financial Services"]
    );
    assert_eq!(
        metadata
            .published_at
            .map(|at| at.date_naive().to_string())
            .as_deref(),
        Some("1996-05-09")
    );
    // A fund has a quote and no profile; an unknown symbol has neither.
    let spy = metadata_of(&engine, "stock.quote", "SPY")
        .await
        .expect("exists");
    assert_eq!(spy.title, "SPY");
    assert_gone(&engine, "stock.quote", "NOPE").await;

    let outcomes = fetch(&engine, "stock.quote", &["AAPL", "BRK.B", "MSFT", "NOPE"]).await;
    assert_eq!(value(ok(&outcomes[0]), "price"), Some(237.33));
    assert_eq!(value(ok(&outcomes[0]), "change_pct"), Some(0.6275));
    assert_eq!(value(ok(&outcomes[1]), "change_pct"), Some(-0.6426));
    let msft = ok(&outcomes[2]);
    assert_eq!(value(msft, "price"), Some(422.54));
    assert_eq!(
        value(msft, "change_pct"),
        None,
        "no change yet: `dp` is null"
    );
    assert!(gone(&outcomes[3]).contains("NOPE"), "Finnhub's zeros");

    // The key travels in its header, never in a URL.
    let key = test_credential("UPCOUNT_FINNHUB_API_KEY");
    let sent = standin.header_values("/finnhub", "x-finnhub-token");
    assert!(
        !sent.is_empty() && sent.iter().all(|value| *value == key),
        "{sent:?}"
    );
    assert!(
        !standin
            .hits()
            .iter()
            .any(|hit| hit.contains(&key) || hit.contains("token"))
    );

    standin.script(
        "/finnhub/api/v1/quote",
        vec![Canned::json(401, json!({ "error": "Invalid API key" }))],
    );
    let outcome = fetch_one(&engine, "stock.quote", "AAPL").await;
    assert!(not_configured(&outcome).contains("Invalid API key"));

    // The minute's calls used up: rate-limited, and Finnhub is left alone meanwhile.
    standin.script(
        "/finnhub/api/v1/quote",
        vec![Canned::json(
            429,
            json!({ "error": "API limit reached. Please try again later. Remaining Limit: 0" }),
        )],
    );
    assert_rate_limited(&fetch_one(&engine, "stock.quote", "AAPL").await, 30);
    let before = standin.hits_on("/finnhub");
    assert_rate_limited(&fetch_one(&engine, "stock.quote", "MSFT").await, 30);
    assert_eq!(standin.hits_on("/finnhub"), before, "nothing was sent");

    let keyless = engine_for(&standin, &[("UPCOUNT_FINNHUB_API_KEY", "")]);
    assert_refused_without(
        &keyless,
        "https://finance.yahoo.com/quote/AAPL",
        "UPCOUNT_FINNHUB_API_KEY",
    );
}
