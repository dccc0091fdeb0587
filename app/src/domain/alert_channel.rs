//! Where a workspace's alerts go: an email address, a webhook (any http(s) URL, each
//! delivery signed), a Slack or a Discord incoming webhook. Stored as text
//! (`alert_channels.kind`, `.target`), written in JSON by key.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use url::Url;

#[cfg(feature = "ssr")]
use super::Email;

/// The kind of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum ChannelKind {
    Email,
    Webhook,
    Slack,
    Discord,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 4] = [
        ChannelKind::Email,
        ChannelKind::Webhook,
        ChannelKind::Slack,
        ChannelKind::Discord,
    ];

    /// The key in JSON and the database: `email`, `webhook`, `slack`, `discord`.
    pub fn key(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Discord => "discord",
        }
    }

    /// For people: "Email", "Webhook", "Slack", "Discord".
    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Email => "Email",
            ChannelKind::Webhook => "Webhook",
            ChannelKind::Slack => "Slack",
            ChannelKind::Discord => "Discord",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.key() == text.trim())
            .ok_or_else(|| {
                format!(
                    "`{}` is not a channel kind; use one of email, webhook, slack, discord",
                    text.trim()
                )
            })
    }
}

/// A channel's validated target (server only: checking a URL needs `url`): the address of an email channel, the URL of the others.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelTarget {
    Email(Email),
    Url(Url),
}

#[cfg(feature = "ssr")]
impl ChannelTarget {
    /// Checks what was given for a channel of `kind`: an `address` for email, a `url`
    /// (http or https, with a host, no user name or password in it) for the others.
    /// Whether the URL's host may be reached is the outbound guard's call, when sending.
    pub fn parse(
        kind: ChannelKind,
        address: Option<&str>,
        url: Option<&str>,
    ) -> Result<Self, String> {
        match kind {
            ChannelKind::Email => {
                if url.is_some() {
                    return Err("an email channel has an `address`, not a `url`".into());
                }
                let address = address.ok_or("an email channel needs an `address`")?;
                Email::parse(address).map(ChannelTarget::Email)
            }
            _ => {
                if address.is_some() {
                    return Err(format!(
                        "a {} channel has a `url`, not an `address`",
                        kind.key()
                    ));
                }
                let text = url
                    .map(str::trim)
                    .filter(|url| !url.is_empty())
                    .ok_or_else(|| format!("a {} channel needs a `url`", kind.key()))?;
                if text.len() > 2048 {
                    return Err("the `url` is longer than 2,048 characters".into());
                }
                let url =
                    Url::parse(text).map_err(|error| format!("`url` is not a URL: {error}"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!(
                        "`url` must be http or https, not {}:",
                        url.scheme()
                    ));
                }
                if url.host_str().is_none_or(str::is_empty) {
                    return Err("`url` has no host".into());
                }
                if !url.username().is_empty() || url.password().is_some() {
                    return Err("`url` must not carry a user name or password".into());
                }
                Ok(ChannelTarget::Url(url))
            }
        }
    }

    /// As stored.
    pub fn as_str(&self) -> &str {
        match self {
            ChannelTarget::Email(email) => email.as_ref(),
            ChannelTarget::Url(url) => url.as_str(),
        }
    }
}

/// How a channel's target is shown once made: an address in full; a webhook URL without
/// its query; a Slack or Discord URL (whose path is its secret) as its host and the start
/// of its path.
#[cfg(feature = "ssr")]
pub fn shown_target(kind: ChannelKind, target: &str) -> String {
    match kind {
        ChannelKind::Email => target.to_string(),
        ChannelKind::Webhook => match Url::parse(target) {
            Ok(mut url) => {
                let had_query = url.query().is_some();
                url.set_query(None);
                url.set_fragment(None);
                if had_query {
                    format!("{url}?…")
                } else {
                    url.to_string()
                }
            }
            Err(_) => "(not a URL)".into(),
        },
        ChannelKind::Slack | ChannelKind::Discord => match Url::parse(target) {
            Ok(url) => {
                let path: String = url.path().chars().take(12).collect();
                format!(
                    "{}://{}{path}…",
                    url.scheme(),
                    url.host_str().unwrap_or_default()
                )
            }
            Err(_) => "(not a URL)".into(),
        },
    }
}

/// The flash key of the form that adds a channel (on the Alerts page and a tracker's).
pub const NEW_CHANNEL_FORM: &str = "new-channel";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_written_by_key() {
        for kind in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(kind.key()), Ok(kind));
            assert_eq!(
                serde_json::to_string(&kind).expect("json"),
                format!("\"{}\"", kind.key())
            );
        }
        assert!(
            ChannelKind::parse("sms")
                .unwrap_err()
                .contains("email, webhook")
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn targets_are_checked_for_their_kind() {
        assert_eq!(
            ChannelTarget::parse(ChannelKind::Email, Some(" Me@Example.com "), None)
                .map(|target| target.as_str().to_string()),
            Ok("me@example.com".into())
        );
        for (kind, address, url, problem) in [
            (ChannelKind::Email, None, None, "needs an `address`"),
            (ChannelKind::Email, Some("x"), None, "like name@example.com"),
            (
                ChannelKind::Email,
                Some("a@b.co"),
                Some("https://x.y"),
                "not a `url`",
            ),
            (ChannelKind::Webhook, None, None, "needs a `url`"),
            (
                ChannelKind::Webhook,
                Some("a@b.co"),
                None,
                "not an `address`",
            ),
            (
                ChannelKind::Webhook,
                None,
                Some("not a url"),
                "is not a URL",
            ),
            (
                ChannelKind::Slack,
                None,
                Some("ftp://files.example.com/x"),
                "http or https",
            ),
            (
                ChannelKind::Discord,
                None,
                Some("https://user:pw@discord.com/api/webhooks/1/x"),
                "user name or password",
            ),
        ] {
            let refused = ChannelTarget::parse(kind, address, url).unwrap_err();
            assert!(
                refused.contains(problem),
                "{kind:?} {address:?} {url:?}: {refused}"
            );
        }
        assert!(
            ChannelTarget::parse(
                ChannelKind::Webhook,
                None,
                Some("https://hooks.example.com/upcount?key=1")
            )
            .is_ok()
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn secrets_in_urls_are_not_shown() {
        assert_eq!(
            shown_target(
                ChannelKind::Webhook,
                "https://hooks.example.com/in?token=abc"
            ),
            "https://hooks.example.com/in?…"
        );
        assert_eq!(
            shown_target(
                ChannelKind::Slack,
                "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
            ),
            "https://hooks.slack.com/services/T0…"
        );
        assert_eq!(shown_target(ChannelKind::Email, "a@b.co"), "a@b.co");
    }
}
