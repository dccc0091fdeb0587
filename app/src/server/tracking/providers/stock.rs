//! Stock quotes through Finnhub's REST API, one symbol a request:
//! `GET /api/v1/quote?symbol={SYMBOL}` answers `{"c": 261.74, "d": 2.1, "dp": 0.81,
//! "h": …, "l": …, "o": …, "pc": 259.64, "t": 1582641000}` (current price, change, change
//! in percent, the day's high, low and open, the previous close, the Unix time of the
//! quote), and `GET /api/v1/stock/profile2?symbol=` the company (`name`, `ticker`,
//! `exchange`, `currency`, `weburl`, `logo`, `finnhubIndustry`, `ipo`).
//!
//! Finnhub has no "not found": an unknown symbol's quote is 200 with every number 0 (`d`
//! and `dp` `null`) and `t: 0`, and its profile is `{}`. Funds have a quote but no profile.
//! The key (`UPCOUNT_FINNHUB_API_KEY`, required) goes in the `X-Finnhub-Token` header,
//! never in the URL, so it stays out of every log. A rejected key answers 401
//! `{"error":"Invalid API key"}`; the free plan's 60 calls a minute, once used up, 429
//! `{"error":"API limit reached. Please try again later. Remaining Limit: 0"}`.
//!
//! Yahoo Finance links write a share class after a hyphen (`BRK-B`); Finnhub, like the
//! exchanges, after a dot (`BRK.B`), which is what such a link's key becomes.
//!
//! The free plan quotes listings on US exchanges, in US dollars: prices are recorded as
//! USD, and a profile in another currency says so in the title.

use chrono::NaiveDate;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::prelude::*;
use crate::server::tracking::http::upstream_message;

const API_KEY: &str = "UPCOUNT_FINNHUB_API_KEY";

/// Finnhub's API.
pub const FINNHUB: Service = Service::new(&ServiceSpec {
    name: "finnhub",
    label: "Finnhub",
    default_base_url: Some("https://finnhub.io"),
    // The free plan: 60 calls a minute.
    requests_per_minute: 60,
    requests_per_minute_with_credentials: 60,
    credentials: Some(Credentials {
        vars: &[API_KEY],
        required: true,
        when_set: "API key set",
        when_missing: "missing: stocks cannot be tracked",
    }),
});

pub const MODULE: Module = Module {
    name: "stock",
    badge: Badge {
        letters: "$",
        name: "Stocks",
        colour: "#137333",
    },
    services: &[FINNHUB],
    kinds: || vec![Arc::new(Quote)],
    containers: no_containers,
};

pub struct Quote;

/// The longest symbol accepted.
const SYMBOL_MAX: usize = 12;

/// `/api/v1/quote`: the fields Upcount reads.
#[derive(Deserialize)]
struct QuoteAnswer {
    /// The current (or last) price.
    #[serde(default)]
    c: Option<f64>,
    /// The change since the previous close, in percent; `null` for an unknown symbol.
    #[serde(default)]
    dp: Option<f64>,
    /// When the quote was made (Unix time); 0 for an unknown symbol.
    #[serde(default)]
    t: Option<f64>,
}

impl QuoteAnswer {
    /// Finnhub's way of saying it does not know the symbol.
    fn is_unknown(&self) -> bool {
        self.c.unwrap_or(0.0) == 0.0 && self.t.unwrap_or(0.0) == 0.0
    }
}

/// `/api/v1/stock/profile2`: `{}` for a symbol Finnhub has no company for.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    name: Option<String>,
    ticker: Option<String>,
    exchange: Option<String>,
    currency: Option<String>,
    finnhub_industry: Option<String>,
    /// `1980-12-12`.
    ipo: Option<String>,
}

impl Profile {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.ticker.is_none()
    }
}

/// `path?symbol={symbol}`, with the key in its header.
async fn get<T: DeserializeOwned>(
    http: &Upstreams,
    path: &str,
    symbol: &str,
) -> Result<T, FetchError> {
    let key = http.config().credential(API_KEY).ok_or_else(|| {
        FetchError::NotConfigured(format!("stock tracking needs {API_KEY} on the server"))
    })?;
    let mut url = http.endpoint(FINNHUB, path)?;
    url.query_pairs_mut().append_pair("symbol", symbol);
    let request = UpstreamRequest::get(FINNHUB, url).header("X-Finnhub-Token", key);
    let what = format!("Finnhub's {symbol}");
    let response = http.send(&request).await?;
    match response.status {
        status if status.is_success() => response.parse(&what),
        StatusCode::UNAUTHORIZED => Err(FetchError::NotConfigured(format!(
            "Finnhub rejected {API_KEY}: {}",
            upstream_message(&response.body)
        ))),
        // A symbol the plan does not cover: "You don't have access to this resource."
        StatusCode::FORBIDDEN => Err(http.refusal(FINNHUB, &response, &what)),
        StatusCode::NOT_FOUND => Err(FetchError::Gone(format!("{what} does not exist"))),
        status => Err(FetchError::Unavailable(format!(
            "Finnhub answered HTTP {}: {}",
            status.as_u16(),
            upstream_message(&response.body)
        ))),
    }
}

fn unknown(symbol: &str) -> FetchError {
    FetchError::Gone(format!("Finnhub knows no stock symbol {symbol}"))
}

/// The quote of `symbol`; gone when Finnhub answers its zeros.
async fn quote(http: &Upstreams, symbol: &str) -> Result<QuoteAnswer, FetchError> {
    let quote: QuoteAnswer = get(http, "/api/v1/quote", symbol).await?;
    if quote.is_unknown() {
        return Err(unknown(symbol));
    }
    Ok(quote)
}

/// A Yahoo Finance symbol as Finnhub writes it: Yahoo writes a share class after a
/// hyphen (`BRK-B`), Finnhub after a dot (`BRK.B`). Anything else (`BTC-USD`, `7203.T`)
/// is left as it is.
fn from_yahoo(symbol: &str) -> String {
    match symbol.split_once('-') {
        Some((base, class))
            if !base.is_empty()
                && base.chars().all(|c| c.is_ascii_alphabetic())
                && class.len() == 1
                && class.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            format!("{base}.{class}")
        }
        _ => symbol.to_string(),
    }
}

/// Whether `symbol` is 1..=12 uppercase letters, digits, `.` and `-` (`BRK.B`, `BRK-B`),
/// starting and ending with a letter or digit.
fn is_symbol(symbol: &str) -> bool {
    let alphanumeric = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit();
    is_token(symbol, SYMBOL_MAX, |c| {
        alphanumeric(c) || matches!(c, '.' | '-')
    }) && symbol.starts_with(alphanumeric)
        && symbol.ends_with(alphanumeric)
}

#[async_trait]
impl Provider for Quote {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "stock.quote",
            label: "Stock quote",
            service: FINNHUB,
            examples: &[
                "https://finance.yahoo.com/quote/AAPL",
                "https://finance.yahoo.com/quote/BRK-B/history/",
                "https://www.nasdaq.com/market-activity/stocks/msft",
            ],
            metrics: &[
                Metric("price", MetricKind::Gauge, "USD"),
                Metric("change_pct", MetricKind::Gauge, "%"),
            ],
            batch_size: 1,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let (host, segments) = host_and_segments(url)?;
        match (host.as_str(), segments.as_slice()) {
            // `/quote/AAPL`, `/quote/AAPL/history`; regional sites (`uk.finance.yahoo.com`)
            // link the same.
            (host, [quote, symbol, ..])
                if (host == "finance.yahoo.com" || host.ends_with(".finance.yahoo.com"))
                    && quote == "quote" =>
            {
                self.parse_key(&from_yahoo(symbol)).ok()
            }
            ("nasdaq.com", [activity, stocks, symbol, ..])
                if activity == "market-activity" && stocks == "stocks" =>
            {
                self.parse_key(symbol).ok()
            }
            _ => None,
        }
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let symbol = key.trim().to_ascii_uppercase();
        if is_symbol(&symbol) {
            Ok(symbol)
        } else {
            Err(format!(
                "`{}` is not a stock symbol (up to 12 letters, digits, `.` and `-`, such as `AAPL` or `BRK.B`)",
                key.trim()
            ))
        }
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let symbol = &source.key;
        let profile: Profile = get(http, "/api/v1/stock/profile2", symbol).await?;
        let url = format!("https://finance.yahoo.com/quote/{symbol}");
        if profile.is_empty() {
            // No company: a fund has a quote all the same; an unknown symbol has neither.
            quote(http, symbol).await?;
            return Ok(Metadata {
                key: symbol.clone(),
                title: symbol.clone(),
                url,
                ..Metadata::default()
            });
        }
        let name = profile.name.as_deref().unwrap_or(symbol);
        let ticker = profile.ticker.as_deref().unwrap_or(symbol);
        let title = match profile.currency.as_deref() {
            Some(currency) if !currency.eq_ignore_ascii_case("USD") => {
                format!("{name} ({ticker}, prices in {currency})")
            }
            _ => format!("{name} ({ticker})"),
        };
        Ok(Metadata {
            key: symbol.clone(),
            title,
            url,
            author: None,
            published_at: profile
                .ipo
                .as_deref()
                .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .map(|time| time.and_utc()),
            tags: [profile.exchange, profile.finnhub_industry]
                .into_iter()
                .flatten()
                .filter(|tag| !tag.is_empty())
                .collect(),
        })
    }

    async fn readings(&self, http: &Upstreams, source: &SourceRef) -> Result<Readings, FetchError> {
        let quote = quote(http, &source.key).await?;
        Ok(Readings::of([("price", quote.c), ("change_pct", quote.dp)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_yahoo_finance_and_nasdaq_quote_pages() {
        assert_recognised(&[
            (&Quote, "https://finance.yahoo.com/quote/AAPL", Some("AAPL")),
            (
                &Quote,
                "https://finance.yahoo.com/quote/AAPL/",
                Some("AAPL"),
            ),
            (
                &Quote,
                "https://finance.yahoo.com/quote/BRK-B/history/?period1=1",
                Some("BRK.B"),
            ),
            (&Quote, "https://finance.yahoo.com/quote/bf-b", Some("BF.B")),
            (
                &Quote,
                "https://finance.yahoo.com/quote/BTC-USD",
                Some("BTC-USD"),
            ),
            (
                &Quote,
                "https://finance.yahoo.com/quote/7203.T",
                Some("7203.T"),
            ),
            (
                &Quote,
                "https://uk.finance.yahoo.com/quote/BRK.B",
                Some("BRK.B"),
            ),
            (
                &Quote,
                "https://www.nasdaq.com/market-activity/stocks/msft",
                Some("MSFT"),
            ),
            (
                &Quote,
                "https://www.nasdaq.com/market-activity/stocks/aapl/historical",
                Some("AAPL"),
            ),
            (&Quote, "https://finance.yahoo.com/quote/%5EGSPC", None),
            (&Quote, "https://finance.yahoo.com/quote/", None),
            (&Quote, "https://finance.yahoo.com/news/markets", None),
            (
                &Quote,
                "https://www.nasdaq.com/market-activity/stocks",
                None,
            ),
            (
                &Quote,
                "https://www.nasdaq.com/market-activity/etf/spy",
                None,
            ),
            (&Quote, "https://yahoo.com/quote/AAPL", None),
            (
                &Quote,
                "https://finance.yahoo.com.evil.example/quote/AAPL",
                None,
            ),
        ]);
    }

    #[test]
    fn symbols_are_uppercase_and_short() {
        for (key, expected) in [
            ("AAPL", "AAPL"),
            (" msft ", "MSFT"),
            ("brk.b", "BRK.B"),
            ("BRK-B", "BRK-B"),
            ("7203.T", "7203.T"),
            ("A", "A"),
            ("ABCDEFGHIJKL", "ABCDEFGHIJKL"),
        ] {
            assert_eq!(Quote.parse_key(key).as_deref(), Ok(expected), "{key}");
        }
        for bad in [
            "",
            "ABCDEFGHIJKLM",
            "^GSPC",
            "BRK/B",
            ".A",
            "A-",
            "AA PL",
            "ÄPPL",
        ] {
            assert!(Quote.parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_all_zero_quote_is_unknown() {
        let quote: QuoteAnswer =
            serde_json::from_str(r#"{"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0}"#)
                .expect("read");
        assert!(quote.is_unknown());
        let quote: QuoteAnswer = serde_json::from_str(
            r#"{"c":261.74,"d":null,"dp":null,"h":263.31,"l":260.68,"o":261.07,"pc":261.74,"t":1582641000}"#,
        )
        .expect("read");
        assert!(!quote.is_unknown());
        assert_eq!(quote.dp, None, "no change to report yet");
        let profile: Profile = serde_json::from_str("{}").expect("read");
        assert!(profile.is_empty());
    }
}
