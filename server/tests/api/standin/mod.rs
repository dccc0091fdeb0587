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
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{Request, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

pub const YOUTUBE_KEY: &str = "test-youtube-key";
pub const TWITCH_CLIENT_ID: &str = "test-client-id";
pub const TWITCH_SECRET: &str = "test-client-secret";

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
    /// string), "twitch/user/login", "twitch/stream/login", "twitch/clip/id",
    /// "twitch/video/id", "coingecko/coin/id", "coingecko/price/id", "json/name".
    things: HashMap<String, Value>,
    scripted: Vec<(String, VecDeque<Canned>)>,
    hits: Vec<String>,
    twitch_token: u32,
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

    /// The settings that point the app at this stand-in, with credentials for every API.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let base = self.base();
        vec![
            ("UPCOUNT_HACKERNEWS_API_URL", format!("{base}/hn")),
            ("UPCOUNT_GITHUB_API_URL", format!("{base}/github")),
            ("UPCOUNT_REDDIT_API_URL", format!("{base}/reddit")),
            ("UPCOUNT_YOUTUBE_API_URL", format!("{base}/youtube/v3")),
            ("UPCOUNT_TWITCH_API_URL", format!("{base}/helix")),
            ("UPCOUNT_TWITCH_AUTH_API_URL", format!("{base}/twitch-id")),
            (
                "UPCOUNT_COINGECKO_API_URL",
                format!("{base}/coingecko/api/v3"),
            ),
            ("UPCOUNT_YOUTUBE_API_KEY", YOUTUBE_KEY.into()),
            ("UPCOUNT_TWITCH_CLIENT_ID", TWITCH_CLIENT_ID.into()),
            ("UPCOUNT_TWITCH_CLIENT_SECRET", TWITCH_SECRET.into()),
            (
                "UPCOUNT_SECRET_KEY",
                "a-test-secret-key-that-is-long-enough-0123".into(),
            ),
            // Fast retries; rate limits that never slow a test down.
            ("UPCOUNT_POLL_RETRY_BASE_MS", "10".into()),
            ("UPCOUNT_HACKERNEWS_RATE_PER_MIN", "1000000".into()),
            ("UPCOUNT_GITHUB_RATE_PER_MIN", "1000000".into()),
            ("UPCOUNT_REDDIT_RATE_PER_MIN", "1000000".into()),
            ("UPCOUNT_YOUTUBE_RATE_PER_MIN", "1000000".into()),
            ("UPCOUNT_TWITCH_RATE_PER_MIN", "1000000".into()),
            ("UPCOUNT_COINGECKO_RATE_PER_MIN", "1000000".into()),
            ("UPCOUNT_JSON_RATE_PER_MIN", "1000000".into()),
            ("UPCOUNT_DISPATCH_INTERVAL_MS", "100".into()),
        ]
    }

    pub fn set(&self, key: &str, value: Value) {
        self.world().things.insert(key.to_string(), value);
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
    pub fn hits(&self) -> Vec<String> {
        self.world().hits.clone()
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
    let mut world = world
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    world.hits.push(if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    });
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
    let thing = |key: String| world.things.get(&key).cloned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        // Hacker News: unknown ids answer `null` with 200.
        // A body larger than the engine reads (1 MiB).
        ["big"] => json_response(200, json!({ "padding": "x".repeat(2 << 20) })),
        ["hn", "v0", "item", file] => {
            let id = file.trim_end_matches(".json");
            json_response(200, thing(format!("hn/item/{id}")).unwrap_or(Value::Null))
        }
        ["hn", "v0", "user", file] => {
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
        // Reddit.
        ["reddit", "api", "info.json"] => {
            let ids = param(&pairs, "id").unwrap_or_default();
            let posts = ids
                .split(',')
                .filter_map(|fullname| {
                    thing(format!(
                        "reddit/post/{}",
                        fullname.trim_start_matches("t3_")
                    ))
                })
                .collect();
            json_response(200, fixtures::reddit_listing(posts))
        }
        ["reddit", "r", name, "about.json"] => {
            match thing(format!("reddit/sub/{}", name.to_lowercase())) {
                Some(about) => json_response(200, about),
                // An unknown subreddit redirects to a search; answer the search listing.
                None => json_response(200, fixtures::reddit_listing(vec![])),
            }
        }
        // YouTube.
        ["youtube", "v3", resource @ ("videos" | "channels")] => {
            if param(&pairs, "key").as_deref() != Some(YOUTUBE_KEY) {
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
        ["twitch-id", "oauth2", "token"] => {
            let form = query_pairs(&String::from_utf8_lossy(&body));
            if param(&form, "client_id").as_deref() != Some(TWITCH_CLIENT_ID)
                || param(&form, "client_secret").as_deref() != Some(TWITCH_SECRET)
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
        ["helix", resource] => {
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
        _ => json_response(404, json!({ "message": "Not Found" })),
    }
}
