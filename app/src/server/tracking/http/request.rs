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
    /// The answer's validator (its `ETag`, strong `"…"` or weak `W/"…"`), to send back as
    /// `If-None-Match` next time.
    pub fn validator(&self) -> Option<String> {
        let etag = self
            .headers
            .get(reqwest::header::ETAG)?
            .to_str()
            .ok()?
            .trim();
        (!etag.is_empty()).then(|| etag.to_string())
    }

    /// The target of the answer's `Link: <…>; rel="next"` (RFC 8288), for paged lists.
    pub fn next_link(&self) -> Option<Url> {
        self.headers
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .find_map(|link| {
                let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
                let next = params.split(';').any(|param| {
                    param.trim().split_once('=').is_some_and(|(name, value)| {
                        name.trim().eq_ignore_ascii_case("rel")
                            && value
                                .trim()
                                .trim_matches('"')
                                .split_ascii_whitespace()
                                .any(|rel| rel.eq_ignore_ascii_case("next"))
                    })
                });
                next.then(|| Url::parse(target.trim()).ok()).flatten()
            })
    }

    /// The body read into `T`: a parse error with an excerpt when it is not JSON or not
    /// shaped like `T`, naming where in the document (`items[0].statistics.viewCount`).
    pub fn parse<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, FetchError> {
        let mut document = serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(&mut document)
            .map_err(|error| {
                let path = error.path().to_string();
                let error = error.into_inner();
                if error.is_data() && path != "." {
                    format!("{what} is not what was expected (at `{path}`: {error})")
                } else if error.is_data() {
                    format!("{what} is not what was expected ({error})")
                } else {
                    format!("{what} answered with invalid JSON ({error})")
                }
            })
            .and_then(|value| {
                document
                    .end()
                    .map(|()| value)
                    .map_err(|error| format!("{what} answered with invalid JSON ({error})"))
            })
            .map_err(|message| FetchError::parse(message, &self.body))
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

    /// HTTP basic authentication (RFC 7617): `Authorization: Basic base64(user:password)`.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::{Engine as _, engine::general_purpose::STANDARD};
        let credentials = STANDARD.encode(format!("{user}:{password}"));
        self.header("Authorization", format!("Basic {credentials}"))
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

    #[test]
    fn validators_and_next_links_come_from_the_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "etag",
            reqwest::header::HeaderValue::from_static("W/\"abc\""),
        );
        headers.insert(
            "link",
            reqwest::header::HeaderValue::from_static(
                "<https://api.github.com/repositories/1300192/releases?per_page=100&page=2>; \
                 rel=\"next\", <https://api.github.com/repositories/1300192/releases?per_page=100&page=5>; \
                 rel=\"last\"",
            ),
        );
        let response = UpstreamResponse {
            status: StatusCode::OK,
            headers,
            body: Vec::new(),
        };
        assert_eq!(response.validator().as_deref(), Some("W/\"abc\""));
        assert_eq!(
            response.next_link().map(String::from).as_deref(),
            Some("https://api.github.com/repositories/1300192/releases?per_page=100&page=2")
        );
        let mut last_page = response.clone();
        last_page.headers.insert(
            "link",
            reqwest::header::HeaderValue::from_static(
                "<https://api.github.com/repositories/1300192/releases?per_page=100&page=1>; rel=\"prev\", \
                 <https://api.github.com/repositories/1300192/releases?per_page=100&page=1>; rel=\"first\"",
            ),
        );
        last_page.headers.remove("etag");
        assert_eq!(last_page.next_link(), None);
        assert_eq!(last_page.validator(), None);
    }

    #[test]
    fn basic_auth_is_the_rfc_7617_header() {
        let url = Url::parse("https://example.com/").expect("a URL");
        let request = UpstreamRequest::get(Service::WEB, url).basic_auth("Aladdin", "open sesame");
        assert_eq!(
            request.headers,
            [(
                "Authorization".to_string(),
                "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".to_string()
            )]
        );
    }

    #[derive(Debug, serde::Deserialize)]
    struct Answer {
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Item {
        count: u64,
    }

    fn parsed(body: &str) -> Result<Answer, String> {
        let response = UpstreamResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        };
        response
            .parse::<Answer>("The stand-in")
            .map_err(|error| error.to_string())
    }

    #[test]
    fn a_misshapen_answer_names_where_in_the_document() {
        assert_eq!(
            parsed(r#"{"items": [{"count": 1}]}"#).map(|answer| answer.items[0].count),
            Ok(1)
        );
        let error = parsed(r#"{"items": [{"count": 1}, {"count": "many"}]}"#).expect_err("refused");
        assert!(
            error.contains("is not what was expected (at `items[1].count`: invalid type: string"),
            "{error}"
        );
        let error = parsed(r#""text""#).expect_err("refused");
        assert!(
            error.contains("is not what was expected (invalid type: string"),
            "{error}"
        );
        let error = parsed(r#"{"items": [}"#).expect_err("refused");
        assert!(error.contains("answered with invalid JSON"), "{error}");
        let error = parsed(r#"{"items": []} trailing"#).expect_err("refused");
        assert!(
            error.contains("answered with invalid JSON (trailing characters"),
            "{error}"
        );
    }
}
