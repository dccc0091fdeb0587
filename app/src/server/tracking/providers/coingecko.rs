//! Coins through CoinGecko: `/simple/price?ids=…&vs_currencies=usd&include_market_cap=true
//! &include_24hr_vol=true` for many coins at once (an unknown id is missing from the
//! answer, which is `{}` when none is known), and `/coins/{id}` for the metadata.
//! `UPCOUNT_COINGECKO_API_KEY` (a demo key) is sent as `x-cg-demo-api-key`.

use std::collections::HashMap;

use super::prelude::*;

/// CoinGecko's API.
pub const COINGECKO: Service = Service::new(&ServiceSpec {
    name: "coingecko",
    label: "CoinGecko",
    default_base_url: Some("https://api.coingecko.com/api/v3"),
    // The public API allows 5 to 15 calls a minute; demo keys 30.
    requests_per_minute: 10,
    requests_per_minute_with_credentials: 30,
    credentials: Some(Credentials {
        vars: &["UPCOUNT_COINGECKO_API_KEY"],
        required: false,
        when_set: "demo key set",
        when_missing: "none (public limits)",
    }),
});

pub const MODULE: Module = Module {
    name: "coingecko",
    badge: Badge {
        letters: "CG",
        name: "CoinGecko",
        colour: "#8dc63f",
    },
    services: &[COINGECKO],
    kinds: || vec![Arc::new(Coin)],
    containers: no_containers,
};

pub struct Coin;

/// `/coins/{id}` with the optional parts switched off: the fields the metadata reads.
#[derive(Deserialize)]
struct CoinInfo {
    id: String,
    name: Option<String>,
    /// `btc`.
    symbol: Option<String>,
    /// `2009-01-03`; `null` for most coins.
    genesis_date: Option<String>,
    #[serde(default, deserialize_with = "strings")]
    categories: Vec<String>,
}

/// One coin of `/simple/price`, in US dollars.
#[derive(Deserialize)]
struct Price {
    usd: f64,
    usd_market_cap: Option<f64>,
    usd_24h_vol: Option<f64>,
}

/// `/coins/{id}/market_chart?vs_currency=usd&days=365`: a year of `[ms, value]` pairs,
/// one a day (at 00:00 UTC) past 90 days, the last one the current value.
#[derive(Deserialize)]
struct MarketChart {
    prices: Vec<(f64, Option<f64>)>,
    #[serde(default)]
    market_caps: Vec<(f64, Option<f64>)>,
    #[serde(default)]
    total_volumes: Vec<(f64, Option<f64>)>,
}

/// A year of daily prices, market caps and volumes, in one request.
async fn market_chart(http: &Upstreams, id: &str) -> Result<HistoryPage, FetchError> {
    let mut url = http.endpoint(COINGECKO, &format!("/coins/{id}/market_chart"))?;
    url.query_pairs_mut()
        .append_pair("vs_currency", "usd")
        .append_pair("days", "365");
    let chart: MarketChart = http
        .get(&request(http, url), &format!("CoinGecko coin {id}"))
        .await?;
    let series = [
        ("price_usd", &chart.prices),
        ("market_cap_usd", &chart.market_caps),
        ("volume_24h_usd", &chart.total_volumes),
    ];
    let points = series
        .into_iter()
        .flat_map(|(metric, pairs)| {
            pairs.iter().filter_map(move |&(ms, value)| {
                Some(HistoryPoint {
                    metric,
                    t: DateTime::from_timestamp_millis(ms as i64)?,
                    value: value?,
                })
            })
        })
        .collect();
    Ok(HistoryPage::last(points))
}

fn request(http: &Upstreams, url: Url) -> UpstreamRequest {
    let request = UpstreamRequest::get(COINGECKO, url);
    match http.config().credential("UPCOUNT_COINGECKO_API_KEY") {
        Some(key) => request.header("x-cg-demo-api-key", key),
        None => request,
    }
}

#[async_trait]
impl Provider for Coin {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "coingecko.coin",
            label: "Coin price",
            service: COINGECKO,
            examples: &["https://www.coingecko.com/en/coins/bitcoin"],
            metrics: &[
                Metric("price_usd", MetricKind::Gauge, "USD"),
                Metric("market_cap_usd", MetricKind::Gauge, "USD"),
                Metric("volume_24h_usd", MetricKind::Gauge, "USD"),
            ],
            batch_size: 100,
        }
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        let segments = segments_on(url, "coingecko.com")?;
        // /en/coins/bitcoin or /coins/bitcoin
        let position = segments.iter().position(|segment| segment == "coins")?;
        self.parse_key(segments.get(position + 1)?).ok()
    }

    fn parse_key(&self, key: &str) -> Result<String, String> {
        let key = key.trim().to_ascii_lowercase();
        if is_token(&key, 100, |c| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
        }) {
            Ok(key)
        } else {
            Err(format!(
                "`{key}` is not a CoinGecko coin id (such as `bitcoin`)"
            ))
        }
    }

    fn history_from(&self) -> Option<&'static str> {
        Some("CoinGecko")
    }

    async fn history(
        &self,
        http: &Upstreams,
        source: &SourceRef,
        _cursor: Option<&serde_json::Value>,
    ) -> Result<HistoryPage, FetchError> {
        market_chart(http, &source.key).await
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let mut url = http.endpoint(COINGECKO, &format!("/coins/{}", source.key))?;
        url.query_pairs_mut()
            .append_pair("localization", "false")
            .append_pair("tickers", "false")
            .append_pair("market_data", "false")
            .append_pair("community_data", "false")
            .append_pair("developer_data", "false");
        let coin: CoinInfo = http
            .get(
                &request(http, url),
                &format!("CoinGecko coin {}", source.key),
            )
            .await?;
        let name = coin.name.as_deref().unwrap_or(&coin.id);
        let symbol = coin.symbol.as_deref().unwrap_or_default().to_uppercase();
        Ok(Metadata {
            title: if symbol.is_empty() {
                name.to_string()
            } else {
                format!("{name} ({symbol})")
            },
            url: format!("https://www.coingecko.com/en/coins/{}", coin.id),
            author: None,
            published_at: coin
                .genesis_date
                .as_deref()
                .and_then(|date| chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .map(|time| time.and_utc()),
            tags: coin.categories.into_iter().take(10).collect(),
            key: coin.id,
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let mut url = http.endpoint(COINGECKO, "/simple/price")?;
        url.query_pairs_mut()
            .append_pair("ids", &keys(sources).join(","))
            .append_pair("vs_currencies", "usd")
            .append_pair("include_market_cap", "true")
            .append_pair("include_24hr_vol", "true");
        // Coin id → its prices; an unknown id is left out.
        let prices: HashMap<String, Each<Price>> =
            http.get(&request(http, url), "CoinGecko").await?;
        Ok(read_each(
            sources,
            &prices,
            |key| FetchError::Gone(format!("CoinGecko has no coin {key}")),
            |_, price| {
                Ok(Readings::of([
                    ("price_usd", Some(price.usd)),
                    ("market_cap_usd", price.usd_market_cap),
                    ("volume_24h_usd", price.usd_24h_vol),
                ]))
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_coin_urls() {
        assert_recognised(&[
            (
                &Coin,
                "https://www.coingecko.com/en/coins/bitcoin",
                Some("bitcoin"),
            ),
            (&Coin, "https://www.coingecko.com/en/exchanges", None),
        ]);
    }
}
