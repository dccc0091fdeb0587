//! What is sent upstream and what comes back: the request a provider builds, the answer it
//! reads (typed, or as the message of an error body).

use reqwest::{Method, StatusCode, header::HeaderMap};
use url::Url;

use super::super::{FetchError, config::Service, excerpt};

/// An upstream's answer: any status but 429 and 5xx (those are errors).
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl UpstreamResponse {
    /// The body read into `T`: a parse error with an excerpt when it is not JSON or not
    /// shaped like `T` (serde's error names the field).
    pub fn parse<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, FetchError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            let message = if error.is_data() {
                format!("{what} is not what was expected ({error})")
            } else {
                format!("{what} answered with invalid JSON ({error})")
            };
            FetchError::parse(message, &self.body)
        })
    }
}

/// A request to an upstream.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    pub service: Service,
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, String)>,
    /// The headers hold a user's secret: redirects are followed only within the URL's
    /// origin, so the secret never reaches another one.
    pub secret_headers: bool,
}

impl UpstreamRequest {
    pub fn get(service: Service, url: Url) -> Self {
        Self {
            service,
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            secret_headers: false,
        }
    }

    /// A `POST` of an `application/x-www-form-urlencoded` body.
    pub fn post_form(service: Service, url: Url, body: String) -> Self {
        Self {
            method: Method::POST,
            body: Some(("application/x-www-form-urlencoded".into(), body)),
            ..Self::get(service, url)
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// A header whose value is a secret (see [`UpstreamRequest::secret_headers`]).
    pub fn secret_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.secret_headers = true;
        self.header(name, value)
    }
}

/// The `message` (or `error.message`) of a JSON error body, or an excerpt of it. On
/// `serde_json::Value`: error bodies come from any upstream, user JSON APIs included, in
/// any shape, and only a message is looked for.
pub fn upstream_message(body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        for pointer in ["/message", "/error/message", "/error", "/reason"] {
            if let Some(text) = json.pointer(pointer).and_then(|value| value.as_str()) {
                return text.to_string();
            }
        }
    }
    let text = excerpt(body);
    if text.is_empty() {
        "(no message)".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_json_bodies() {
        assert_eq!(upstream_message(br#"{"message":"Not Found"}"#), "Not Found");
        assert_eq!(
            upstream_message(br#"{"error":{"code":403,"message":"quota"}}"#),
            "quota"
        );
        assert_eq!(upstream_message(b"plain"), "plain");
    }
}
