//! Who is making a request: the signed-in user (from the session cookie) and their
//! workspace.

use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::{
    DigestFrequency, Role, UserId, WorkspaceId, WorkspaceRole,
    permission::{self, Action, Refusal},
};

/// Session key of the signed-in user's id.
pub const USER_ID: &str = "user_id";
/// Session key of the workspace the user acts in (when it is not their first).
pub const WORKSPACE_ID: &str = "workspace_id";
/// Session key of the one-shot messages for the next page (see `api::flash`).
pub const FLASH: &str = "flash";

/// The signed-in user and the workspace they act in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    /// Their role in that workspace.
    pub workspace_role: WorkspaceRole,
    /// Whether the user confirmed their email address (the link sent at sign-up).
    pub email_verified: bool,
    /// How often they get the digest email.
    pub digest: DigestFrequency,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// `Ok` when their role in the workspace allows `action` (the table in
    /// [`crate::domain::permission`]), else the refusal to show.
    pub fn may(&self, action: Action) -> Result<(), Refusal> {
        permission::check(self.workspace_role, action)
    }
}

/// Put into every request's extensions by the server's auth middleware: `None` when
/// nobody is signed in.
#[derive(Clone, Debug, Default)]
pub struct Auth(pub Option<CurrentUser>);

/// Loads the user whose id the session holds. A session pointing at a deleted user is
/// treated as signed out.
pub async fn current_user(
    pool: &sqlx::PgPool,
    session: &Session,
) -> Result<Option<CurrentUser>, AuthError> {
    let user_id = session
        .get::<Uuid>(USER_ID)
        .await
        .map_err(|error| AuthError::Session(error.to_string()))?;
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let workspace = session
        .get::<Uuid>(WORKSPACE_ID)
        .await
        .map_err(|error| AuthError::Session(error.to_string()))?
        .map(WorkspaceId);
    Ok(super::db::users::find_current_in(pool, UserId(user_id), workspace).await?)
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("session store: {0}")]
    Session(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The flash messages the auth middleware took out of the session for this request.
#[derive(Clone, Debug, Default)]
pub struct TakenFlash(pub Option<crate::domain::flash::Flash>);

/// Session key of the user an administrator is viewing as (read-only).
pub const VIEW_AS: &str = "view_as";

/// Put into a request's extensions while an administrator views the site as another
/// user: `Auth` then holds that user, and this the administrator.
#[derive(Clone, Debug)]
pub struct Impersonation {
    pub admin: CurrentUser,
    pub target_email: String,
}
