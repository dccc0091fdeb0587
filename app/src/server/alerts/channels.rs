//! A workspace's alert channels: making one (a webhook's signing secret is made with it
//! and shown once), listing, reading and deleting them, always within the workspace.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::domain::{
    ChannelId, ChannelKind, ChannelTarget, UserId, WorkspaceId, alert_channel::shown_target,
};
use crate::server::tokens::random_base62;

/// A channel as the API and the pages show it: never its secret, and a Slack or Discord
/// URL only in part.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub id: ChannelId,
    pub kind: ChannelKind,
    /// The address, or the URL as [`shown_target`] shows it.
    pub target: String,
    /// Failing since then: deliveries kept failing for good.
    pub failing_since: Option<DateTime<Utc>>,
    /// Why the last delivery failed.
    pub last_error: Option<String>,
    /// For an email channel whose address refused mail for good: the mail server's
    /// answer. Nothing more is sent to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A channel as a delivery needs it.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub kind: ChannelKind,
    pub target: String,
    pub secret: Option<String>,
}

/// A new channel, with its secret when it is a webhook (the only time it is shown).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewChannel {
    #[serde(flatten)]
    pub channel: ChannelView,
    /// A webhook's signing secret (`whsec_…`), shown this once; absent for other kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A webhook's signing secret: `whsec_` and 40 base62 characters (about 238 bits).
fn new_secret() -> String {
    format!("whsec_{}", random_base62(40))
}

/// Whether an email channel may go to an address: email alerts go only to confirmed
/// addresses of the workspace's members, and to the adder's own address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTarget {
    Allowed,
    /// The adder has not confirmed their own address yet (and the target is not theirs).
    ConfirmYoursFirst,
    /// The address belongs to nobody in the workspace with a confirmed address.
    NotAConfirmedMember,
}

impl EmailTarget {
    /// Why the address is refused, for the form and the API.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Self::Allowed => None,
            Self::ConfirmYoursFirst => Some(CONFIRM_FIRST),
            Self::NotAConfirmedMember => Some(MEMBERS_ONLY),
        }
    }
}

/// Where `user` may send `workspace`'s alerts by email: to their own address, and to any
/// member's confirmed address; never to a stranger's (a channel's test button would let
/// anyone mail anyone).
pub async fn may_email(
    pool: &PgPool,
    workspace: WorkspaceId,
    user: Option<UserId>,
    address: &str,
) -> Result<EmailTarget, sqlx::Error> {
    let Some(user) = user else {
        return Ok(EmailTarget::ConfirmYoursFirst);
    };
    let row = sqlx::query!(
        r#"SELECT lower(email) = lower($2) AS "own!", email_verified_at IS NOT NULL AS "confirmed!",
                  EXISTS (SELECT 1 FROM workspace_members m JOIN users u ON u.id = m.user_id
                          WHERE m.workspace_id = $3 AND lower(u.email) = lower($2)
                            AND u.email_verified_at IS NOT NULL) AS "member!"
           FROM users WHERE id = $1"#,
        user as UserId,
        address,
        workspace as WorkspaceId,
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(row) if row.own || row.member => EmailTarget::Allowed,
        Some(row) if row.confirmed => EmailTarget::NotAConfirmedMember,
        _ => EmailTarget::ConfirmYoursFirst,
    })
}

/// The addresses an email channel of `workspace` made by `user` may go to, for the form
/// to suggest: every member's confirmed address, and the user's own.
pub async fn member_addresses(
    pool: &PgPool,
    workspace: WorkspaceId,
    user: UserId,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT u.email FROM workspace_members m JOIN users u ON u.id = m.user_id
         WHERE m.workspace_id = $1 AND (u.email_verified_at IS NOT NULL OR u.id = $2)
         ORDER BY u.id = $2 DESC, u.email",
        workspace as WorkspaceId,
        user as UserId,
    )
    .fetch_all(pool)
    .await
}

/// What an unverified user is told when adding someone else's address.
pub const CONFIRM_FIRST: &str = "Confirm your own email address first (the link we sent you): until then, email alerts can go only to your own address.";

/// What a user is told when adding an address nobody in the workspace has confirmed.
pub const MEMBERS_ONLY: &str = "Email alerts go only to confirmed addresses of this workspace's members: invite this address to the workspace (Members), and add the channel once they have joined and confirmed it.";

/// Makes a channel; `None` when the workspace already has this one (same kind and
/// target).
pub async fn create_channel(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    kind: ChannelKind,
    target: &ChannelTarget,
) -> Result<Option<NewChannel>, sqlx::Error> {
    let secret = (kind == ChannelKind::Webhook).then(new_secret);
    let row = sqlx::query!(
        r#"INSERT INTO alert_channels (workspace_id, kind, target, secret)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (workspace_id, kind, target) DO NOTHING
           RETURNING id AS "id: ChannelId", created_at"#,
        workspace_id as WorkspaceId,
        kind as ChannelKind,
        target.as_str(),
        secret.as_deref(),
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| NewChannel {
        channel: ChannelView {
            id: row.id,
            kind,
            target: shown_target(kind, target.as_str()),
            failing_since: None,
            last_error: None,
            suppressed: None,
            created_at: row.created_at,
        },
        secret,
    }))
}

/// The workspace's channels, oldest first.
pub async fn list_channels(
    pool: &PgPool,
    workspace_id: WorkspaceId,
) -> Result<Vec<ChannelView>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT c.id AS "id: ChannelId", c.kind AS "kind: ChannelKind", c.target,
                  c.failing_since, c.last_error, c.created_at, x.reason AS "suppressed?"
           FROM alert_channels c
           LEFT JOIN email_suppressions x ON c.kind = 'email' AND x.address = lower(c.target)
           WHERE c.workspace_id = $1 ORDER BY c.created_at, c.id"#,
        workspace_id as WorkspaceId,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ChannelView {
            id: row.id,
            kind: row.kind,
            target: shown_target(row.kind, &row.target),
            failing_since: row.failing_since,
            last_error: row.last_error,
            suppressed: row.suppressed,
            created_at: row.created_at,
        })
        .collect())
}

/// One channel of the workspace, as a delivery needs it.
pub async fn get_channel(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: ChannelId,
) -> Result<Option<Channel>, sqlx::Error> {
    sqlx::query_as!(
        Channel,
        r#"SELECT id AS "id: ChannelId", workspace_id AS "workspace_id: WorkspaceId",
                  kind AS "kind: ChannelKind", target, secret
           FROM alert_channels WHERE workspace_id = $1 AND id = $2"#,
        workspace_id as WorkspaceId,
        id as ChannelId,
    )
    .fetch_optional(pool)
    .await
}

/// Deletes a channel of the workspace (its pending deliveries go with it); whether it
/// was there.
pub async fn delete_channel(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: ChannelId,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM alert_channels WHERE workspace_id = $1 AND id = $2",
        workspace_id as WorkspaceId,
        id as ChannelId,
    )
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Which of `ids` are channels of the workspace: the others are refused by name.
pub async fn own_channels(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    ids: &[ChannelId],
) -> Result<Vec<ChannelId>, sqlx::Error> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.uuid()).collect();
    sqlx::query_scalar!(
        r#"SELECT id AS "id: ChannelId" FROM alert_channels
           WHERE workspace_id = $1 AND id = ANY($2)"#,
        workspace_id as WorkspaceId,
        &ids,
    )
    .fetch_all(pool)
    .await
}
