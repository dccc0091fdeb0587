//! A webhook receiver on loopback, as a customer's endpoint (or Slack's, Discord's) would
//! be: it keeps every request it gets and answers each with the next status it was told
//! to (200 once those run out).

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    routing::post,
};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    answers: VecDeque<StatusCode>,
}

#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(inner.clone());
        let address = crate::helpers::serve_on_loopback(app).await;
        Receiver {
            base: format!("http://{address}"),
            inner,
        }
    }

    /// The next requests are answered with these statuses, in order.
    pub fn answer(&self, statuses: &[u16]) {
        let mut inner = self.inner.lock().expect("the receiver");
        inner.answers.extend(
            statuses
                .iter()
                .map(|status| StatusCode::from_u16(*status).expect("a status")),
        );
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("the receiver").received.clone()
    }
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut inner = inner.lock().expect("the receiver");
    inner.received.push(Received {
        path: uri.path().to_string(),
        headers,
        body,
    });
    inner.answers.pop_front().unwrap_or(StatusCode::OK)
}
