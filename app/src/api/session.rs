//! Who is signed in, and the one-shot messages for this page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::flash::Flash;
use crate::domain::Role;

/// What the pages know about the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub email: String,
    pub role: Role,
    pub workspace_name: String,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The signed-in user, or `None`.
#[server]
pub async fn get_viewer() -> Result<Option<Viewer>, ServerFnError> {
    use crate::server::auth::Auth;
    let axum::Extension(Auth(user)) = leptos_axum::extract::<axum::Extension<Auth>>().await?;
    Ok(user.map(|user| Viewer {
        email: user.email,
        role: user.role,
        workspace_name: user.workspace_name,
    }))
}

/// The messages the previous form submission left for this page, if any.
#[server]
pub async fn get_flash() -> Result<Option<Flash>, ServerFnError> {
    use crate::server::auth::TakenFlash;
    let flash = leptos_axum::extract::<Option<axum::Extension<TakenFlash>>>().await?;
    Ok(flash.and_then(|axum::Extension(TakenFlash(flash))| flash))
}
