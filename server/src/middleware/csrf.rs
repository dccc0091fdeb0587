//! Cross-site request forgery: a state-changing request (anything but GET, HEAD, OPTIONS)
//! must come from Upcount's own pages: its `Origin` (or, without one, its `Referer`) must
//! be `UPCOUNT_PUBLIC_URL`. API calls that carry an `Authorization` header (then the
//! cookie is ignored) or no session cookie at all have no cookie authority to abuse and
//! are exempt.

use app::server::state::AppState;
use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::routes::errors::json_error;

pub async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    if path.starts_with("/api/v1/")
        && (request.headers().contains_key(header::AUTHORIZATION)
            || !has_session_cookie(request.headers()))
    {
        return next.run(request).await;
    }
    match source_origin(request.headers()) {
        Some(origin) if origin == state.web.public_origin => next.run(request).await,
        seen => {
            tracing::warn!(
                origin = seen.as_deref().unwrap_or("(none)"),
                method = %request.method(),
                path,
                "refused a cross-site request"
            );
            refuse(path)
        }
    }
}

fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .any(|cookie| {
            cookie
                .trim_start()
                .starts_with(crate::router::SESSION_COOKIE)
        })
}

/// The origin (`scheme://host[:port]`) the request says it comes from.
fn source_origin(headers: &HeaderMap) -> Option<String> {
    // `Origin: null` (sandboxed frames, privacy redirects) is refused outright, not
    // explained away by a Referer.
    let candidate = match headers.get(header::ORIGIN) {
        Some(origin) => origin.to_str().ok()?,
        None => headers.get(header::REFERER)?.to_str().ok()?,
    };
    let url = url::Url::parse(candidate).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

fn refuse(path: &str) -> Response {
    const MESSAGE: &str = "This request did not come from Upcount's own pages, so it was refused. Reload the page and try again.";
    if path.starts_with("/api/") {
        json_error(StatusCode::FORBIDDEN, MESSAGE)
    } else {
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            Body::from(MESSAGE),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn origin_wins_and_referer_is_the_fallback() {
        assert_eq!(
            source_origin(&headers(&[(header::ORIGIN, "https://upcount.example")])).as_deref(),
            Some("https://upcount.example")
        );
        assert_eq!(
            source_origin(&headers(&[(
                header::REFERER,
                "https://upcount.example:443/account?x=1"
            )]))
            .as_deref(),
            Some("https://upcount.example")
        );
        assert_eq!(source_origin(&headers(&[(header::ORIGIN, "null")])), None);
        assert_eq!(
            source_origin(&headers(&[
                (header::ORIGIN, "null"),
                (header::REFERER, "https://upcount.example/account")
            ])),
            None
        );
        assert_eq!(source_origin(&headers(&[])), None);
        assert_eq!(
            source_origin(&headers(&[(header::REFERER, "not a url")])),
            None
        );
    }

    #[test]
    fn session_cookies_are_recognised() {
        let cookie = |value| headers(&[(header::COOKIE, value)]);
        assert!(has_session_cookie(&cookie("upcount_session=abc")));
        assert!(has_session_cookie(&cookie(
            "theme=dark; upcount_session=abc"
        )));
        assert!(!has_session_cookie(&cookie("theme=dark")));
        assert!(!has_session_cookie(&headers(&[])));
    }
}
