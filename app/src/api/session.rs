//! Who is signed in, and the one-shot messages for this page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::flash::Flash;
use crate::domain::{DigestFrequency, Role, WorkspaceRole, permission::Action};

/// What the pages know about the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub email: String,
    pub role: Role,
    pub workspace_name: String,
    /// Their role in that workspace.
    pub workspace_role: WorkspaceRole,
    /// Every workspace they belong to, for the header's switcher.
    #[serde(default)]
    pub workspaces: Vec<WorkspaceChoice>,
    /// A payment problem to show on every page (past due, or Free limits after the grace
    /// period), with the date it matters.
    #[serde(default)]
    pub billing_alert: Option<String>,
    /// Set while an administrator views the site as this user: the administrator's email.
    #[serde(default)]
    pub viewed_by: Option<String>,
    /// Whether the user confirmed their email address. Until then a banner asks them to,
    /// and they cannot add email alert channels to other addresses.
    #[serde(default)]
    pub email_verified: bool,
    /// How often they get the digest email (the account page's choice).
    #[serde(default)]
    pub digest: DigestFrequency,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether their role in the workspace allows `action` (pages hide what it does not).
    pub fn may(&self, action: Action) -> bool {
        crate::domain::permission::allows(self.workspace_role, action)
    }
}

/// A workspace in the header's switcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceChoice {
    pub id: String,
    pub name: String,
    pub role: WorkspaceRole,
    /// The one the user acts in now.
    pub current: bool,
}

/// The signed-in user, or `None`.
#[server]
pub async fn get_viewer() -> Result<Option<Viewer>, ServerFnError> {
    use crate::server::auth::Auth;
    use crate::server::{auth::Impersonation, billing::standing::Standing, state::AppState};
    let axum::Extension(Auth(user)) = leptos_axum::extract::<axum::Extension<Auth>>().await?;
    let impersonation = leptos_axum::extract::<Option<axum::Extension<Impersonation>>>().await?;
    let Some(user) = user else {
        return Ok(None);
    };
    let state = expect_context::<AppState>();
    // A page must not fail because billing cannot be read: no banner then.
    let billing_alert = match crate::server::billing::store::billing_row(&state.pool, user.workspace_id).await {
        Ok(row) => match row.state.at(chrono::Utc::now(), state.billing.grace()).1 {
            Standing::PastDue { grace_ends_at } => Some(format!(
                "A payment failed. Everything keeps working until {}; please update your card to keep your plan.",
                grace_ends_at.format("%Y-%m-%d")
            )),
            Standing::Lapsed => Some(
                "A payment failed and the grace period is over: Free limits apply until the invoice is paid."
                    .into(),
            ),
            _ => None,
        },
        Err(error) => {
            tracing::warn!(error = %error, "could not read the billing state for the banner");
            None
        }
    };
    let workspaces = match crate::server::db::workspaces::memberships(&state.pool, user.id).await {
        Ok(memberships) => memberships
            .into_iter()
            .map(|membership| WorkspaceChoice {
                current: membership.workspace_id == user.workspace_id,
                id: membership.workspace_id.to_string(),
                name: membership.name,
                role: membership.role,
            })
            .collect(),
        Err(error) => {
            tracing::warn!(error = %error, "could not list the user's workspaces for the switcher");
            Vec::new()
        }
    };
    Ok(Some(Viewer {
        email: user.email,
        workspace_role: user.workspace_role,
        workspaces,
        email_verified: user.email_verified,
        digest: user.digest,
        role: user.role,
        workspace_name: user.workspace_name,
        billing_alert,
        viewed_by: impersonation.map(|axum::Extension(impersonation)| impersonation.admin.email),
    }))
}

/// The messages the previous form submission left for this page, if any.
#[server]
pub async fn get_flash() -> Result<Option<Flash>, ServerFnError> {
    use crate::server::auth::TakenFlash;
    let flash = leptos_axum::extract::<Option<axum::Extension<TakenFlash>>>().await?;
    Ok(flash.and_then(|axum::Extension(TakenFlash(flash))| flash))
}
