//! The outbox's words: what a message is about ([`EmailKind`]) and where it stands
//! ([`OutboxState`]). Stored as text (`email_outbox.kind`, `email_outbox.state`), written
//! in JSON by key; the admin console's outbox shows both.

use serde::{Deserialize, Serialize};

/// What a message is about: one template each (`server::email::templates`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum EmailKind {
    /// The link that confirms a new account's address.
    VerifyEmail,
    /// The link that sets a new password.
    ResetPassword,
    /// Someone tried to sign up with an address that has an account.
    SignUpAttempt,
    /// An alert rule fired (a delivery to an email channel), or a channel's test.
    Alert,
    /// A workspace's alert channel keeps failing (to its owner, once per spell).
    ChannelFailing,
    /// A user's daily or weekly digest of their workspace's trackers.
    Digest,
    /// An invitation into a workspace.
    Invitation,
}

impl EmailKind {
    /// The key in JSON and the database: `verify_email`, `reset_password`, ….
    pub fn key(self) -> &'static str {
        match self {
            EmailKind::VerifyEmail => "verify_email",
            EmailKind::ResetPassword => "reset_password",
            EmailKind::SignUpAttempt => "sign_up_attempt",
            EmailKind::Alert => "alert",
            EmailKind::ChannelFailing => "channel_failing",
            EmailKind::Digest => "digest",
            EmailKind::Invitation => "invitation",
        }
    }
}

/// Where a message stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum OutboxState {
    /// Waiting to be sent (again, after a temporary failure, at its next attempt).
    #[default]
    Queued,
    /// Accepted by the SMTP server.
    Sent,
    /// Given up: refused for good, suppressed, or still failing after a day.
    Failed,
    /// Written to the log instead: no SMTP server is configured.
    Logged,
}

impl OutboxState {
    /// The key in JSON and the database: `queued`, `sent`, `failed`, `logged`.
    pub fn key(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Logged => "logged",
        }
    }

    /// Whether the message is done with, one way or the other.
    pub fn is_final(self) -> bool {
        !matches!(self, OutboxState::Queued)
    }
}

/// One message as the admin console's outbox lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: String,
    pub kind: EmailKind,
    pub to: String,
    pub subject: String,
    pub state: OutboxState,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// When it was queued, `YYYY-MM-DD HH:MM:SS` UTC.
    pub created_at: String,
    /// When it was sent or logged.
    pub sent_at: Option<String>,
    pub text_body: String,
}

/// An address that refused mail for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressedAddress {
    pub address: String,
    pub reason: String,
    pub created_at: String,
}

/// The admin console's outbox page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    /// Where mail goes: the SMTP server (without its password), or "the log".
    pub delivery: String,
    pub messages: Vec<OutboxMessage>,
    pub suppressed: Vec<SuppressedAddress>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_their_json() {
        for kind in [
            EmailKind::VerifyEmail,
            EmailKind::ResetPassword,
            EmailKind::SignUpAttempt,
            EmailKind::Digest,
        ] {
            assert_eq!(
                serde_json::to_string(&kind).expect("json"),
                format!("\"{}\"", kind.key())
            );
        }
        for state in [
            OutboxState::Queued,
            OutboxState::Sent,
            OutboxState::Failed,
            OutboxState::Logged,
        ] {
            assert_eq!(
                serde_json::to_string(&state).expect("json"),
                format!("\"{}\"", state.key())
            );
        }
        assert!(!OutboxState::Queued.is_final());
        assert!(OutboxState::Logged.is_final());
    }
}
