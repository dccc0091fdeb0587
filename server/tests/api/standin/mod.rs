//! A stand-in for every upstream API on one loopback port, answering with payloads shaped
//! like the real ones (see `fixtures`). Each API lives under its own prefix; the app is
//! pointed at them through the `UPCOUNT_*_API_URL` settings, so requests go through the
//! same reqwest code as in production.
//!
//! Tests put things in the stand-in's world (`set`), script answers for a path (`script`:
//! a 500, a 429 with `Retry-After`, garbage), and read what was requested (`hits`).

pub mod fixtures;

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use app::server::tracking::providers;
use axum::{
    Router,
    body::Body,
    extract::State,
    http::{Request, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// The value the stand-in expects for a credential setting:
/// `UPCOUNT_YOUTUBE_API_KEY` → `test-youtube-api-key`.
pub fn test_credential(var: &str) -> String {
    format!(
        "test-{}",
        var.trim_start_matches("UPCOUNT_")
            .to_ascii_lowercase()
            .replace('_', "-")
    )
}

enum RegistryValue {
    /// A path on the stand-in.
    Path(String),
    Fixed(String),
}

/// The settings every registered service gets, built once (the names live as long as
/// the test process).
fn registry_vars() -> &'static [(&'static str, RegistryValue)] {
    static VARS: std::sync::OnceLock<Vec<(&'static str, RegistryValue)>> =
        std::sync::OnceLock::new();
    VARS.get_or_init(|| {
        let leak = |text: String| -> &'static str { Box::leak(text.into_boxed_str()) };
        let mut vars = Vec::new();
        for service in providers::services() {
            if let (Some(var), Some(default)) = (service.url_var(), service.default_base_url()) {
                let path = url::Url::parse(default)
                    .map(|url| url.path().trim_end_matches('/').to_string())
                    .unwrap_or_default();
                vars.push((
                    leak(var),
                    RegistryValue::Path(format!("/{}{path}", service.name())),
                ));
            }
            vars.push((
                leak(service.rate_var()),
                RegistryValue::Fixed("1000000".into()),
            ));
            if let Some(credentials) = service.credentials().filter(|c| c.required) {
                for var in credentials.vars {
                    if !vars.iter().any(|(known, _)| known == var) {
                        vars.push((*var, RegistryValue::Fixed(test_credential(var))));
                    }
                }
            }
        }
        vars
    })
}

/// The fixtures of provider module `name`.
pub fn fixtures_folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid: {error}", path.display()))
}

/// What a provider's `contract.json` says: the world its fixtures make, and a key that
/// does not exist upstream.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Contract {
    /// World key (see [`World::things`]) → fixture file.
    pub world: std::collections::BTreeMap<String, String>,
    /// A key per kind (`"github.repo": "nobody/nothing"`) the upstream does not know.
    pub unknown: std::collections::BTreeMap<String, String>,
    /// A prefix of the service's requests, for scripting a 429 (`/github/repos`).
    pub rate_limited_path: String,
    /// Kinds whose polls cannot tell an unknown key from an idle one (kind → why): their
    /// metadata must still say gone.
    #[serde(default)]
    pub offline_not_gone: std::collections::BTreeMap<String, String>,
}

/// A scripted answer.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Canned {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: json!({ "message": "scripted" }).to_string(),
        }
    }

    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.to_string(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Default)]
struct World {
    /// "hn/item/1", "github/owner/name" (lowercase), "reddit/post/id", "reddit/sub/name",
    /// "youtube/video/id", "youtube/channel/id", "youtube/handle/@x" (→ channel id as a
    /// string), "youtube/playlist/id" (a list of items, newest first), "twitch/user/login", "twitch/stream/login", "twitch/clip/id",
    /// "twitch/video/id", "coingecko/coin/id", "coingecko/price/id", "json/name".
    things: HashMap<String, Value>,
    scripted: Vec<(String, VecDeque<Canned>)>,
    /// Requests under these prefixes wait this long before they are answered.
    stalls: Vec<(String, std::time::Duration)>,
    hits: Vec<String>,
    /// The `User-Agent` of every request, in order.
    user_agents: Vec<String>,
    /// Every request's path (and query) with its headers, in order.
    requests: Vec<(String, axum::http::HeaderMap)>,
    twitch_token: u32,
    /// Reddit's current app token is `reddit-token-{n}`, given out for this many seconds.
    reddit_token: u32,
    reddit_token_lifetime: u64,
}

#[derive(Clone)]
pub struct StandIn {
    pub address: SocketAddr,
    world: Arc<Mutex<World>>,
}

impl StandIn {
    /// Starts the stand-in on `127.0.0.1` (or another loopback `host`) and a free port.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1").await
    }

    pub async fn start_on(host: &str) -> Self {
        let world = Arc::new(Mutex::new(World {
            twitch_token: 1,
            reddit_token: 1,
            reddit_token_lifetime: 86_400,
            ..World::default()
        }));
        let listener = tokio::net::TcpListener::bind((host, 0))
            .await
            .expect("bind the stand-in");
        let address = listener.local_addr().expect("address");
        let router = Router::new().fallback(answer).with_state(world.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { address, world }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The settings that point the app at this stand-in, from the provider registry:
    /// every service's base URL is `{stand-in}/{service}{the real base URL's path}`, its
    /// rate limit never slows a test down, and required credentials are set.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let base = self.base();
        let mut vars: Vec<(&'static str, String)> = registry_vars()
            .iter()
            .map(|(var, value)| match value {
                RegistryValue::Path(path) => (*var, format!("{base}{path}")),
                RegistryValue::Fixed(value) => (*var, value.clone()),
            })
            .collect();
        vars.extend([
            (
                "UPCOUNT_SECRET_KEY",
                "a-test-secret-key-that-is-long-enough-0123".into(),
            ),
            // Fast retries and dispatches.
            ("UPCOUNT_POLL_RETRY_BASE_MS", "10".into()),
            ("UPCOUNT_DISPATCH_INTERVAL_MS", "100".into()),
        ]);
        vars
    }

    /// Reads the world from a provider's fixtures folder (`server/tests/fixtures/<name>/`):
    /// `world.json` maps world keys to the folder's files.
    pub fn load_fixtures(&self, module: &str) -> Contract {
        let folder = fixtures_folder(module);
        let manifest: Contract = read_json(&folder.join("contract.json"));
        for (key, file) in &manifest.world {
            self.set(key, read_json(&folder.join(file)));
        }
        manifest
    }

    pub fn set(&self, key: &str, value: Value) {
        self.world().things.insert(key.to_string(), value);
    }

    /// What the world holds under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.world().things.get(key).cloned()
    }

    /// CoinGecko knows coin `id`, at `price_usd`.
    pub fn set_coingecko_coin(&self, id: &str, price_usd: f64) {
        self.set(
            &format!("coingecko/coin/{id}"),
            fixtures::coingecko_coin(id),
        );
        self.set(
            &format!("coingecko/price/{id}"),
            fixtures::coingecko_price(price_usd),
        );
    }

    /// GitHub knows repository `full_name` with `stars` stars.
    pub fn set_github_repo(&self, full_name: &str, stars: u64) {
        self.set(
            &format!("github/{full_name}"),
            fixtures::github_repo(full_name, stars),
        );
    }

    /// Forgets `key`: the API answers as for something that does not exist.
    pub fn remove(&self, key: &str) {
        self.world().things.remove(key);
    }

    /// Answers the next requests whose path starts with `prefix` with `answers`, in order.
    pub fn script(&self, prefix: &str, answers: Vec<Canned>) {
        self.world()
            .scripted
            .push((prefix.to_string(), answers.into_iter().collect()));
    }

    /// Every request so far, as path and query.
    /// Makes requests under `prefix` wait `wait` before their answer (an upstream that
    /// hangs), until [`StandIn::unstall`].
    pub fn stall(&self, prefix: &str, wait: std::time::Duration) {
        self.world().stalls.push((prefix.to_string(), wait));
    }

    pub fn unstall(&self) {
        self.world().stalls.clear();
    }

    pub fn hits(&self) -> Vec<String> {
        self.world().hits.clone()
    }

    /// The `User-Agent` of every request so far.
    pub fn user_agents(&self) -> Vec<String> {
        self.world().user_agents.clone()
    }

    /// The value of header `name` of each request whose path starts with `prefix`, in order.
    pub fn headers_on(&self, prefix: &str, name: &str) -> Vec<Option<String>> {
        self.world()
            .requests
            .iter()
            .filter(|(hit, _)| hit.starts_with(prefix))
            .map(|(_, headers)| {
                let value = headers.get(name)?.to_str().ok()?;
                Some(value.to_string())
            })
            .collect()
    }

    /// [`StandIn::headers_on`] with an empty string for a request without the header: for
    /// checking that credentials arrive (and how).
    pub fn header_values(&self, prefix: &str, name: &str) -> Vec<String> {
        self.headers_on(prefix, name)
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect()
    }

    /// How many requests had a path starting with `prefix`.
    pub fn hits_on(&self, prefix: &str) -> usize {
        self.world()
            .hits
            .iter()
            .filter(|hit| hit.starts_with(prefix))
            .count()
    }

    /// Revokes the current Twitch token: the next Helix call gets a 401.
    pub fn revoke_twitch_token(&self) {
        self.world().twitch_token += 1000;
    }

    /// Revokes the current Reddit app token: the next OAuth call gets a 401.
    pub fn revoke_reddit_token(&self) {
        self.world().reddit_token += 1000;
    }

    /// Reddit's app tokens from now on live `seconds`.
    pub fn set_reddit_token_lifetime(&self, seconds: u64) {
        self.world().reddit_token_lifetime = seconds;
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn json_response(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

fn params(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .collect()
}

async fn answer(State(world): State<Arc<Mutex<World>>>, request: Request<Body>) -> Response {
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let headers = request.headers().clone();
    let authorization = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let stall = world
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .stalls
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix.as_str()))
        .map(|(_, wait)| *wait);
    if let Some(wait) = stall {
        tokio::time::sleep(wait).await;
    }
    let mut world = world
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let user_agent = headers
        .get("user-agent")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    world.user_agents.push(user_agent);
    let hit = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    world.requests.push((hit.clone(), headers.clone()));
    world.hits.push(hit);
    if let Some(canned) = world
        .scripted
        .iter_mut()
        .find(|(prefix, answers)| path.starts_with(prefix.as_str()) && !answers.is_empty())
        .and_then(|(_, answers)| answers.pop_front())
    {
        let mut response = Response::builder()
            .status(StatusCode::from_u16(canned.status).unwrap_or(StatusCode::OK));
        for (name, value) in &canned.headers {
            response = response.header(name.as_str(), value.as_str());
        }
        return response
            .body(Body::from(canned.body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let pairs = query_pairs(&query);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // Reddit's OAuth API (paths without `.json`) wants the current app token.
    if segments.first() == Some(&"reddit")
        && !path.ends_with(".json")
        && authorization != format!("bearer reddit-token-{}", world.reddit_token)
    {
        return json_response(401, json!({ "message": "Unauthorized", "error": 401 }));
    }
    let thing = |key: String| world.things.get(&key).cloned();
    match segments.as_slice() {
        // Hacker News: unknown ids answer `null` with 200.
        // A body larger than the engine reads (1 MiB).
        ["big"] => json_response(200, json!({ "padding": "x".repeat(2 << 20) })),
        ["hackernews", "v0", "item", file] => {
            let id = file.trim_end_matches(".json");
            json_response(200, thing(format!("hn/item/{id}")).unwrap_or(Value::Null))
        }
        ["hackernews", "v0", "user", file] => {
            let id = file.trim_end_matches(".json");
            json_response(200, thing(format!("hn/user/{id}")).unwrap_or(Value::Null))
        }
        // GitHub.
        ["github", "repos", owner, name] => {
            match thing(format!(
                "github/{}/{}",
                owner.to_lowercase(),
                name.to_lowercase()
            )) {
                Some(repo) => json_response(200, repo),
                None => json_response(404, fixtures::github_not_found()),
            }
        }
        // GitHub's star history, made from `github/stars/{owner}/{name}` (see
        // `fixtures::star_history`); a repository without one has no weeks.
        ["github", "repos", owner, name, "stargazers", "history"] => {
            let Some(history) = thing(format!(
                "github/stars/{}/{}",
                owner.to_lowercase(),
                name.to_lowercase()
            )) else {
                return json_response(404, fixtures::github_not_found());
            };
            let number = |name: &str, default: usize| {
                param(&pairs, name)
                    .and_then(|value| value.parse().ok())
                    .unwrap_or(default)
            };
            json_response(
                200,
                fixtures::star_history(&history, number("per_page", 30), number("page", 1)),
            )
        }
        // npm's daily downloads, made from `npm/history/{package}` (see
        // `fixtures::npm_range`).
        ["npm", "downloads", "range", span, package @ ..] => {
            let package = package.join("/").replace("%40", "@");
            match (
                thing(format!("npm/history/{package}")),
                span.split_once(':'),
            ) {
                (Some(history), Some((start, end))) => {
                    json_response(200, fixtures::npm_range(&history, &package, start, end))
                }
                _ => json_response(
                    404,
                    json!({ "error": format!("package {package} not found") }),
                ),
            }
        }
        // Reddit: the public JSON (`.json`) and the OAuth API.
        ["reddit_auth", "api", "v1", "access_token"] => {
            let form = query_pairs(&String::from_utf8_lossy(&body));
            let client = format!(
                "{}:{}",
                test_credential("UPCOUNT_REDDIT_CLIENT_ID"),
                test_credential("UPCOUNT_REDDIT_CLIENT_SECRET")
            );
            let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, client);
            if authorization != format!("Basic {basic}")
                || param(&form, "grant_type").as_deref() != Some("client_credentials")
            {
                return json_response(401, json!({ "message": "Unauthorized", "error": 401 }));
            }
            let token = format!("reddit-token-{}", world.reddit_token);
            json_response(
                200,
                fixtures::reddit_token(&token, world.reddit_token_lifetime),
            )
        }
        ["reddit", "api", "info.json" | "info"] => {
            let ids = param(&pairs, "id").unwrap_or_default();
            let things = ids
                .split(',')
                .filter_map(|fullname| {
                    let (kind, id) = fullname.split_once('_')?;
                    let what = match kind {
                        "t3" => "post",
                        "t1" => "comment",
                        _ => return None,
                    };
                    Some((kind.to_string(), thing(format!("reddit/{what}/{id}"))?))
                })
                .collect();
            json_response(200, fixtures::reddit_things(things))
        }
        ["reddit", "r", name, "about.json" | "about"] => {
            match thing(format!("reddit/sub/{}", name.to_lowercase())) {
                Some(about) => json_response(200, about),
                // An unknown subreddit redirects to a search; answer the search listing.
                None => json_response(200, fixtures::reddit_listing(vec![])),
            }
        }
        // YouTube: a playlist's items, newest first, from `youtube/playlist/{id}` (a list
        // of `playlistItems` items); an unknown playlist is a 404.
        ["youtube", "youtube", "v3", "playlistItems"] => {
            if param(&pairs, "key") != Some(test_credential("UPCOUNT_YOUTUBE_API_KEY")) {
                return json_response(400, fixtures::youtube_key_invalid());
            }
            let playlist = param(&pairs, "playlistId").unwrap_or_default();
            let max: usize = param(&pairs, "maxResults")
                .and_then(|max| max.parse().ok())
                .unwrap_or(5);
            match thing(format!("youtube/playlist/{playlist}")) {
                Some(Value::Array(items)) => json_response(
                    200,
                    fixtures::youtube_list("playlistItem", items.into_iter().take(max).collect()),
                ),
                _ => json_response(404, fixtures::youtube_playlist_not_found()),
            }
        }
        // YouTube.
        [
            "youtube",
            "youtube",
            "v3",
            resource @ ("videos" | "channels"),
        ] => {
            if param(&pairs, "key") != Some(test_credential("UPCOUNT_YOUTUBE_API_KEY")) {
                return json_response(400, fixtures::youtube_key_invalid());
            }
            let kind = if *resource == "videos" {
                "video"
            } else {
                "channel"
            };
            let mut ids: Vec<String> = param(&pairs, "id")
                .map(|ids| ids.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            if let Some(id) = param(&pairs, "forHandle")
                .and_then(|handle| thing(format!("youtube/handle/{handle}")))
            {
                ids.push(id.as_str().unwrap_or_default().to_string());
            }
            let items = ids
                .iter()
                .filter_map(|id| thing(format!("youtube/{kind}/{id}")))
                .collect();
            json_response(200, fixtures::youtube_list(kind, items))
        }
        // Twitch.
        ["twitch_auth", "oauth2", "token"] => {
            let form = query_pairs(&String::from_utf8_lossy(&body));
            if param(&form, "client_id") != Some(test_credential("UPCOUNT_TWITCH_CLIENT_ID"))
                || param(&form, "client_secret")
                    != Some(test_credential("UPCOUNT_TWITCH_CLIENT_SECRET"))
                || param(&form, "grant_type").as_deref() != Some("client_credentials")
            {
                return json_response(
                    400,
                    json!({ "status": 400, "message": "invalid client secret" }),
                );
            }
            let token = format!("token-{}", world.twitch_token);
            json_response(200, fixtures::twitch_token(&token))
        }
        ["twitch", "helix", resource] => {
            if authorization != format!("Bearer token-{}", world.twitch_token) {
                return json_response(
                    401,
                    json!({ "error": "Unauthorized", "status": 401, "message": "Invalid OAuth token" }),
                );
            }
            let data: Vec<Value> = match *resource {
                "users" => params(&pairs, "login")
                    .iter()
                    .filter_map(|login| thing(format!("twitch/user/{login}")))
                    .collect(),
                "streams" => params(&pairs, "user_login")
                    .iter()
                    .filter_map(|login| thing(format!("twitch/stream/{login}")))
                    .collect(),
                // A channel's listings: `twitch/clips_of/{user id}`, `twitch/videos_of/…`.
                "clips" if param(&pairs, "broadcaster_id").is_some() => {
                    let id = param(&pairs, "broadcaster_id").unwrap_or_default();
                    listed(thing(format!("twitch/clips_of/{id}")))
                }
                "videos" if param(&pairs, "user_id").is_some() => {
                    let id = param(&pairs, "user_id").unwrap_or_default();
                    listed(thing(format!("twitch/videos_of/{id}")))
                }
                "clips" => params(&pairs, "id")
                    .iter()
                    .filter_map(|id| thing(format!("twitch/clip/{id}")))
                    .collect(),
                "videos" => {
                    let found: Vec<Value> = params(&pairs, "id")
                        .iter()
                        .filter_map(|id| thing(format!("twitch/video/{id}")))
                        .collect();
                    if found.is_empty() {
                        return json_response(
                            404,
                            json!({ "error": "Not Found", "status": 404, "message": "videos not found" }),
                        );
                    }
                    found
                }
                _ => {
                    return json_response(
                        404,
                        json!({ "error": "Not Found", "status": 404, "message": "" }),
                    );
                }
            };
            json_response(200, fixtures::helix(data))
        }
        // CoinGecko: unknown ids are left out; none known → `{}`.
        ["coingecko", "api", "v3", "simple", "price"] => {
            let mut prices = serde_json::Map::new();
            for id in param(&pairs, "ids").unwrap_or_default().split(',') {
                if let Some(price) = thing(format!("coingecko/price/{id}")) {
                    prices.insert(id.to_string(), price);
                }
            }
            json_response(200, Value::Object(prices))
        }
        ["coingecko", "api", "v3", "coins", id] => match thing(format!("coingecko/coin/{id}")) {
            Some(coin) => json_response(200, coin),
            None => json_response(404, json!({ "error": "coin not found" })),
        },
        // Any JSON document, and redirects for the outbound guard.
        ["json", name] => match thing(format!("json/{name}")) {
            // A document that needs a header: `json-header/{name}` = {"name", "value"}.
            Some(_)
                if thing(format!("json-header/{name}")).is_some_and(|required| {
                    headers
                        .get(required["name"].as_str().unwrap_or_default())
                        .and_then(|value| value.to_str().ok())
                        != required["value"].as_str()
                }) =>
            {
                json_response(401, json!({ "message": "missing or wrong API key" }))
            }
            Some(document) => json_response(200, document),
            None => json_response(404, json!({ "error": "no such document" })),
        },
        ["redirect"] => {
            let to = param(&pairs, "to").unwrap_or_default();
            Response::builder()
                .status(StatusCode::FOUND)
                .header("location", to)
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        // Any other service: the world thing whose key is the longest prefix of the path
        // (`wikimedia/api/rest_v1/metrics/…/Rust_(programming_language)`), or of the path
        // and query for keys that hold a `?` (`finnhub/api/v1/quote?symbol=AAPL`), else
        // the provider's `not_found.json` with a 404.
        [service, ..] => {
            let key = if query.is_empty() {
                path.trim_start_matches('/').to_string()
            } else {
                format!("{}?{query}", path.trim_start_matches('/'))
            };
            let found = world
                .things
                .iter()
                .filter(|(prefix, _)| {
                    prefix.starts_with(&format!("{service}/")) && key.starts_with(prefix.as_str())
                })
                .max_by_key(|(prefix, _)| prefix.len())
                .map(|(_, thing)| thing.clone());
            match found {
                Some(thing) => json_response(200, thing),
                None => json_response(404, not_found(service)),
            }
        }
        _ => json_response(404, json!({ "message": "Not Found" })),
    }
}

/// A listing the world holds (a JSON array), or none.
fn listed(value: Option<Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// The `not_found.json` of the provider module calling `service`, or a plain 404 body.
fn not_found(service: &str) -> Value {
    providers::MODULES
        .iter()
        .find(|module| module.services.iter().any(|s| s.name() == service))
        .map(|module| fixtures_folder(module.name).join("not_found.json"))
        .filter(|path| path.exists())
        .map(|path| read_json(&path))
        .unwrap_or_else(|| json!({ "message": "Not Found" }))
}
