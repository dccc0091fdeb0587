//! Sending one alert to one channel: a webhook gets the event as signed JSON, Slack and
//! Discord a line of text in their incoming-webhook shape. Every URL goes through the
//! outbound guard, as `json` sources do. An email channel's message is queued by the
//! caller (see the delivery job); this module is the HTTP side.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use url::Url;

use super::channels::Channel;
use crate::domain::{AlertEventId, AlertRuleId, ChannelKind, TrackerId};
use crate::server::{
    signature,
    tracking::{guard, http::Upstreams},
};

/// The header each webhook delivery is signed in.
pub const SIGNATURE_HEADER: &str = "Upcount-Signature";

/// What fired, as every channel is told it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertMessage {
    pub event: AlertEventId,
    pub tracker: TrackerRef,
    pub metric: String,
    pub value: Option<f64>,
    pub previous: Option<f64>,
    pub condition: String,
    pub rule: Option<AlertRuleId>,
    pub fired_at: DateTime<Utc>,
    /// In words: "stars rose above 20,000 (now 20,140)".
    #[serde(skip)]
    pub reason: String,
}

/// The tracker an alert is about.
#[derive(Debug, Clone, Serialize)]
pub struct TrackerRef {
    pub id: Option<TrackerId>,
    pub label: String,
    pub url: String,
}

impl AlertMessage {
    /// The one line Slack, Discord and the email's subject say.
    pub fn line(&self) -> String {
        format!("{}: {}", self.tracker.label, self.reason)
    }
}

/// Why a delivery failed: worth trying again later, or never.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("{0}")]
    Retry(String),
    #[error("{0}")]
    Permanent(String),
}

/// Posts `message` to an HTTP channel (webhook, Slack, Discord) at `now`.
pub async fn post(
    http: &Upstreams,
    channel: &Channel,
    message: &AlertMessage,
    now: DateTime<Utc>,
) -> Result<(), DeliveryError> {
    let url = Url::parse(&channel.target).map_err(|error| {
        DeliveryError::Permanent(format!("the channel's URL is not valid: {error}"))
    })?;
    guard::check_url(http.policy(), &url)
        .map_err(|reason| DeliveryError::Permanent(format!("{} {reason}", guard::REFUSED)))?;
    let body = match channel.kind {
        ChannelKind::Webhook => serde_json::to_vec(message),
        ChannelKind::Slack => serde_json::to_vec(&json!({ "text": message.line() })),
        ChannelKind::Discord => serde_json::to_vec(&json!({ "content": message.line() })),
        ChannelKind::Email => {
            return Err(DeliveryError::Permanent(
                "an email channel is not posted to".into(),
            ));
        }
    }
    .map_err(|error| DeliveryError::Permanent(format!("could not write the alert: {error}")))?;
    let mut request = http
        .outbound()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if let Some(secret) = &channel.secret {
        request = request.header(
            SIGNATURE_HEADER,
            signature::sign(&body, secret, now.timestamp()),
        );
    }
    let response = request.body(body).send().await.map_err(|error| {
        // Never the URL in the message: a Slack or Discord URL is its secret.
        if let Some(refused) = guard::refusal(&error) {
            DeliveryError::Permanent(refused)
        } else if error.is_timeout() {
            DeliveryError::Retry("the channel did not answer in time".into())
        } else if error.is_connect() {
            DeliveryError::Retry("could not connect to the channel".into())
        } else {
            DeliveryError::Retry(format!("the request failed: {}", error.without_url()))
        }
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let message = format!("the channel answered {status}");
    if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        Err(DeliveryError::Retry(message))
    } else {
        // 404 or 410: the webhook was deleted; other 4xx: it refuses what we send.
        Err(DeliveryError::Permanent(message))
    }
}
