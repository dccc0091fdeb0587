//! The reqwest clients and one exchange with an upstream: timeouts, redirect rules, the
//! guarded resolver for user URLs, the body size limit, and transport errors read as
//! [`FetchError`]s.

use std::sync::Arc;

use reqwest::redirect;

use super::{
    super::{
        FetchError,
        config::{Service, TrackingConfig},
        guard::{self, Policy},
    },
    request::{UpstreamRequest, UpstreamResponse},
};

/// The three clients requests go through.
pub(super) struct Clients {
    /// For the configured APIs.
    api: reqwest::Client,
    /// For user-supplied URLs: guarded resolver and redirects.
    web: reqwest::Client,
    /// The same, following redirects within the first URL's origin only: for requests
    /// carrying secret headers (reqwest drops only `Authorization` and cookies on a
    /// redirect elsewhere, not a user's `X-Api-Key`).
    web_same_origin: reqwest::Client,
}

impl Clients {
    pub(super) fn new(
        config: &TrackingConfig,
        policy: &Arc<Policy>,
    ) -> Result<Self, reqwest::Error> {
        let base = || {
            reqwest::Client::builder()
                .user_agent(config.user_agent.clone())
                .connect_timeout(config.connect_timeout)
                .timeout(config.request_timeout)
                // A proxy would resolve names itself, past the guard.
                .no_proxy()
        };
        // Configured APIs: redirects (a renamed GitHub repository) only within the same
        // host, so credentials in custom headers or the query never travel elsewhere.
        let api = base()
            .redirect(redirect::Policy::custom(|attempt| {
                let same_host = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.host_str() == attempt.url().host_str());
                if attempt.previous().len() > 5 {
                    attempt.error("more than 5 redirects")
                } else if same_host {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()?;
        let guarded = |same_origin_only| guard::guarded_client(base(), policy, same_origin_only);
        Ok(Self {
            api,
            web: guarded(false)?,
            web_same_origin: guarded(true)?,
        })
    }

    /// The guarded client that stays within the first URL's origin.
    pub(super) fn outbound(&self) -> &reqwest::Client {
        &self.web_same_origin
    }

    /// The request built on the client its service and headers call for; a user URL the
    /// guard refuses is an error.
    pub(super) fn build(
        &self,
        policy: &Policy,
        request: &UpstreamRequest,
    ) -> Result<reqwest::RequestBuilder, FetchError> {
        let client = if request.service == Service::WEB {
            guard::check_url(policy, &request.url)
                .map_err(|reason| FetchError::Refused(format!("{} {reason}", guard::REFUSED)))?;
            if request.secret_headers {
                &self.web_same_origin
            } else {
                &self.web
            }
        } else {
            &self.api
        };
        let mut builder = client.request(request.method.clone(), request.url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some((content_type, body)) = &request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                .body(body.clone());
        }
        Ok(builder)
    }
}

/// Sends `builder` and reads the answer's body, at most `limit` bytes of it.
pub(super) async fn exchange(
    builder: reqwest::RequestBuilder,
    service: Service,
    limit: usize,
) -> Result<UpstreamResponse, FetchError> {
    let mut response = builder
        .send()
        .await
        .map_err(|error| transport_error(service, error))?;
    let status = response.status();
    let headers = response.headers().clone();
    let too_large = || FetchError::Parse {
        message: format!(
            "{} answered more than {} KiB; the limit is {} KiB",
            service.label(),
            limit / 1024,
            limit / 1024
        ),
        excerpt: String::new(),
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport_error(service, error))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(UpstreamResponse {
        status,
        headers,
        body,
    })
}

fn transport_error(service: Service, error: reqwest::Error) -> FetchError {
    // Never echo the URL (it may hold a key).
    if let Some(refused) = guard::refusal(&error) {
        return FetchError::Refused(refused);
    }
    let label = service.label();
    if error.is_timeout() {
        FetchError::Unavailable(format!("{label} did not answer in time"))
    } else if error.is_connect() {
        FetchError::Unavailable(format!("could not connect to {label}"))
    } else if error.is_redirect() {
        FetchError::Invalid(format!("{label} redirected too many times"))
    } else {
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(current) = source {
            message = format!("{message}: {current}");
            source = current.source();
        }
        FetchError::Unavailable(format!("{label}: {message}"))
    }
}
