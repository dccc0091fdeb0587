//! Coins through CoinGecko: `/simple/price?ids=…&vs_currencies=usd&include_market_cap=true
//! &include_24hr_vol=true` for many coins at once (an unknown id is missing from the
//! answer, which is `{}` when none is known), and `/coins/{id}` for the metadata.
//! `UPCOUNT_COINGECKO_API_KEY` (a demo key) is sent as `x-cg-demo-api-key`.

use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use super::{
    Badge, BatchOutcome, Module, Provider, bare_host, is_token, missing, number, segments,
};
use crate::server::tracking::{
    FetchError, Metadata, MetricKind, MetricSpec, Readings, SourceRef,
    config::{Credentials, Service, ServiceSpec},
    http::{UpstreamRequest, Upstreams},
};

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
};

pub struct Coin;

fn request(http: &Upstreams, url: Url) -> UpstreamRequest {
    let request = UpstreamRequest::get(COINGECKO, url);
    match http.config().credential("UPCOUNT_COINGECKO_API_KEY") {
        Some(key) => request.header("x-cg-demo-api-key", key),
        None => request,
    }
}

#[async_trait]
impl Provider for Coin {
    fn kind(&self) -> &'static str {
        "coingecko.coin"
    }

    fn label(&self) -> &'static str {
        "Coin price"
    }

    fn examples(&self) -> &'static [&'static str] {
        &["https://www.coingecko.com/en/coins/bitcoin"]
    }

    fn service(&self) -> Service {
        COINGECKO
    }

    fn recognise(&self, url: &Url) -> Option<String> {
        if bare_host(url)? != "coingecko.com" {
            return None;
        }
        let segments = segments(url);
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

    fn metrics(&self, _source: &SourceRef) -> Vec<MetricSpec> {
        vec![
            MetricSpec::new("price_usd", MetricKind::Gauge, "USD"),
            MetricSpec::new("market_cap_usd", MetricKind::Gauge, "USD"),
            MetricSpec::new("volume_24h_usd", MetricKind::Gauge, "USD"),
        ]
    }

    fn batch_size(&self) -> usize {
        100
    }

    async fn metadata(&self, http: &Upstreams, source: &SourceRef) -> Result<Metadata, FetchError> {
        let mut url = http.endpoint(COINGECKO, &format!("/coins/{}", source.key))?;
        url.query_pairs_mut()
            .append_pair("localization", "false")
            .append_pair("tickers", "false")
            .append_pair("market_data", "false")
            .append_pair("community_data", "false")
            .append_pair("developer_data", "false");
        let json = http
            .get_json(
                &request(http, url),
                &format!("CoinGecko coin {}", source.key),
            )
            .await?;
        let id = json["id"]
            .as_str()
            .ok_or_else(|| missing("coin id", &json))?;
        let name = json["name"].as_str().unwrap_or(id);
        let symbol = json["symbol"].as_str().unwrap_or_default().to_uppercase();
        Ok(Metadata {
            key: id.to_string(),
            title: if symbol.is_empty() {
                name.to_string()
            } else {
                format!("{name} ({symbol})")
            },
            url: format!("https://www.coingecko.com/en/coins/{id}"),
            author: None,
            published_at: json["genesis_date"]
                .as_str()
                .and_then(|date| chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .map(|time| time.and_utc()),
            tags: json["categories"]
                .as_array()
                .map(|categories| {
                    categories
                        .iter()
                        .filter_map(|category| category.as_str().map(str::to_string))
                        .take(10)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    async fn fetch(
        &self,
        http: &Upstreams,
        sources: &[SourceRef],
    ) -> Result<BatchOutcome, FetchError> {
        let ids: Vec<&str> = sources.iter().map(|source| source.key.as_str()).collect();
        let mut url = http.endpoint(COINGECKO, "/simple/price")?;
        url.query_pairs_mut()
            .append_pair("ids", &ids.join(","))
            .append_pair("vs_currencies", "usd")
            .append_pair("include_market_cap", "true")
            .append_pair("include_24hr_vol", "true");
        let json = http.get_json(&request(http, url), "CoinGecko").await?;
        if !json.is_object() {
            return Err(missing("object of prices", &json));
        }
        Ok(sources
            .iter()
            .map(|source| {
                let coin = json.get(&source.key).ok_or_else(|| {
                    FetchError::Gone(format!("CoinGecko has no coin {}", source.key))
                })?;
                let price = number(&coin["usd"]).ok_or_else(|| missing("usd price", coin))?;
                let mut readings = Readings::default();
                readings.push("price_usd", price);
                readings.push_some("market_cap_usd", number(&coin["usd_market_cap"]));
                readings.push_some("volume_24h_usd", number(&coin["usd_24h_vol"]));
                Ok(readings)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_coin_urls() {
        let url = |text: &str| Url::parse(text).expect("url");
        assert_eq!(
            Coin.recognise(&url("https://www.coingecko.com/en/coins/bitcoin")),
            Some("bitcoin".into())
        );
        assert_eq!(
            Coin.recognise(&url("https://www.coingecko.com/en/exchanges")),
            None
        );
    }
}
