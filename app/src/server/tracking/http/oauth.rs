//! App access tokens from OAuth's client-credentials grant (RFC 6749 §4.4): the client's id
//! and secret buy a token for the app itself, no user involved. Tokens are cached per
//! token endpoint, taken anew a minute before they expire, and again when the API refuses
//! one (a 401: revoked, or expired early). Twitch and Reddit take them so.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use reqwest::StatusCode;
use serde::Deserialize;

use super::{
    super::{FetchError, config::Service},
    Upstreams,
    request::{UpstreamRequest, UpstreamResponse, upstream_message},
};

/// How the client presents its id and secret to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// In the form, beside the grant (`client_id=…&client_secret=…`: Twitch).
    Form,
    /// As HTTP basic authentication, the form holding the grant alone (RFC 6749 §2.3.1:
    /// Reddit).
    Basic,
}

/// Where and how a service takes its app tokens.
#[derive(Debug, Clone, Copy)]
pub struct ClientCredentials {
    /// The token endpoint's service (`twitch_auth`, `reddit_auth`): its base URL, rate
    /// limit and token cache.
    pub service: Service,
    /// The token endpoint under the service's base URL (`/oauth2/token`).
    pub path: &'static str,
    /// The settings holding the client's id and secret.
    pub client_id: &'static str,
    pub client_secret: &'static str,
    pub auth: ClientAuth,
}

/// The token endpoint's answer (`{"access_token": …, "token_type": "bearer", "expires_in":
/// 86400, …}`).
#[derive(Deserialize)]
struct AppToken {
    access_token: String,
    /// Seconds; some endpoints leave it out.
    #[serde(default)]
    expires_in: Option<u64>,
}

/// How long a token lives when the endpoint does not say.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3_600);

impl ClientCredentials {
    /// The client's id and secret, when both are set.
    fn client<'a>(&self, http: &'a Upstreams) -> Result<(&'a str, &'a str), FetchError> {
        let config = http.config();
        match (
            config.credential(self.client_id),
            config.credential(self.client_secret),
        ) {
            (Some(id), Some(secret)) => Ok((id, secret)),
            _ => Err(FetchError::NotConfigured(format!(
                "{} tracking needs {} and {} on the server",
                self.service.label(),
                self.client_id,
                self.client_secret
            ))),
        }
    }

    /// The token request, with `headers` (a `User-Agent` the upstream asks for).
    fn request(
        &self,
        http: &Upstreams,
        headers: &[(String, String)],
    ) -> Result<UpstreamRequest, FetchError> {
        let (id, secret) = self.client(http)?;
        let url = http.endpoint(self.service, self.path)?;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        if self.auth == ClientAuth::Form {
            form.append_pair("client_id", id)
                .append_pair("client_secret", secret);
        }
        let body = form
            .append_pair("grant_type", "client_credentials")
            .finish();
        let mut request = UpstreamRequest::post_form(self.service, url, body);
        request.headers.extend(headers.iter().cloned());
        if self.auth == ClientAuth::Basic {
            let basic = STANDARD.encode(format!("{id}:{secret}"));
            request = request.secret_header("Authorization", format!("Basic {basic}"));
        }
        Ok(request)
    }
}

impl Upstreams {
    /// An app token of `grant`: the cached one, or (when it expires within a minute, or
    /// with `refresh`) a new one. `headers` go with the token request.
    pub async fn app_token(
        &self,
        grant: &ClientCredentials,
        headers: &[(String, String)],
        refresh: bool,
    ) -> Result<String, FetchError> {
        let label = grant.service.label();
        self.cached_token(grant.service, refresh, || async {
            let response = self.send(&grant.request(self, headers)?).await?;
            if !response.status.is_success() {
                return Err(FetchError::NotConfigured(format!(
                    "{label} refused the client credentials (HTTP {}): {}",
                    response.status.as_u16(),
                    upstream_message(&response.body)
                )));
            }
            let token: AppToken = response.parse(&format!("{label}'s token answer"))?;
            let lifetime = token
                .expires_in
                .map_or(DEFAULT_LIFETIME, Duration::from_secs)
                .min(Duration::from_secs(86_400 * 365));
            Ok((token.access_token, lifetime))
        })
        .await
    }

    /// Sends the request `build` makes around an app token of `grant`; when the API
    /// answers 401 (a token revoked or expired early), takes a new token and sends it once
    /// more. The answer is the provider's to read, 401 included.
    pub async fn send_with_app_token(
        &self,
        grant: &ClientCredentials,
        headers: &[(String, String)],
        build: impl Fn(&str) -> UpstreamRequest,
    ) -> Result<UpstreamResponse, FetchError> {
        let token = self.app_token(grant, headers, false).await?;
        let response = self.send(&build(&token)).await?;
        if response.status != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let token = self.app_token(grant, headers, true).await?;
        self.send(&build(&token)).await
    }
}
