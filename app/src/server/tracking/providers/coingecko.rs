//! Coins through CoinGecko: `/simple/price?ids=…&vs_currencies=usd&include_market_cap=true
//! &include_24hr_vol=true` for many coins at once (an unknown id is missing from the
//! answer, which is `{}` when none is known), and `/coins/{id}` for the metadata.
//! `UPCOUNT_COINGECKO_API_KEY` (a demo key) is sent as `x-cg-demo-api-key`.

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
            tags: strings(&json["categories"]).take(10).collect(),
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
        let json = http.get_json(&request(http, url), "CoinGecko").await?;
        let coins = json
            .as_object()
            .ok_or_else(|| missing("object of prices", &json))?;
        Ok(read_each(
            sources,
            |key| coins.get(key),
            |key| FetchError::Gone(format!("CoinGecko has no coin {key}")),
            |_, coin| {
                let price = number(&coin["usd"]).ok_or_else(|| missing("usd price", coin))?;
                Ok(Readings::of([
                    ("price_usd", Some(price)),
                    ("market_cap_usd", number(&coin["usd_market_cap"])),
                    ("volume_24h_usd", number(&coin["usd_24h_vol"])),
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
