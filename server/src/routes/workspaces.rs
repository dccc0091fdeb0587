//! A person's workspaces: `POST /workspaces/switch` (the header's switcher) and
//! `POST /workspaces` (the account page's "Create workspace"). The workspace someone acts
//! in is part of their session ([`app::server::auth::WORKSPACE_ID`]); a session whose
//! workspace they no longer belong to falls back to their first.

use app::{
    api::flash::Flash,
    domain::{NextPath, WorkspaceId},
    server::{
        auth::{Auth, WORKSPACE_ID},
        db,
        state::AppState,
    },
};
use axum::{
    Extension, Form,
    extract::{State, rejection::FormRejection},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::forms::{redirect_with, unexpected};

const DASHBOARD: &str = "/dashboard";
const ACCOUNT: &str = "/account";

#[derive(Debug, Default, Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    workspace: String,
}

/// `POST /workspaces/switch` with `workspace`: act in that workspace from now on (one the
/// user belongs to), on to its dashboard.
pub async fn switch(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<SwitchForm>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(DASHBOARD)).into_response();
    };
    let Form(form) = form.unwrap_or_default();
    let not_yours = || Flash::notice("You are not a member of that workspace.");
    let Ok(workspace) = form.workspace.trim().parse::<WorkspaceId>() else {
        return redirect_with(&session, not_yours(), DASHBOARD).await;
    };
    let memberships = match db::workspaces::memberships(&state.pool, user.id).await {
        Ok(memberships) => memberships,
        Err(error) => return unexpected(&session, "workspace", DASHBOARD, error).await,
    };
    let Some(chosen) = memberships
        .into_iter()
        .find(|membership| membership.workspace_id == workspace)
    else {
        return redirect_with(&session, not_yours(), DASHBOARD).await;
    };
    enter(&session, workspace).await;
    let notice = format!(
        "Now in {} (as {}).",
        chosen.name,
        chosen.role.label().to_lowercase()
    );
    redirect_with(&session, Flash::notice(notice), DASHBOARD).await
}

#[derive(Debug, Default, Deserialize)]
pub struct NewWorkspaceForm {
    #[serde(default)]
    name: String,
}

/// `POST /workspaces` with `name`: a new workspace on the Free plan, owned by the user,
/// who now acts in it.
pub async fn create(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<NewWorkspaceForm>, FormRejection>,
) -> Response {
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(ACCOUNT)).into_response();
    };
    let Form(form) = form.unwrap_or_default();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        let flash = Flash::for_form("new-workspace")
            .with_value("name", &form.name)
            .with_field_error(
                "name",
                "Give the workspace a name of 1 to 100 characters, without control characters.",
            );
        return redirect_with(&session, flash, ACCOUNT).await;
    }
    match db::workspaces::create_owned(&state.pool, user.id, name).await {
        Ok(workspace) => {
            tracing::info!(workspace.id = %workspace, user.id = %user.id, "workspace created");
            enter(&session, workspace).await;
            let notice = format!("Created {name}: you are its owner, on the Free plan.");
            redirect_with(&session, Flash::notice(notice), DASHBOARD).await
        }
        Err(error) => unexpected(&session, "new-workspace", ACCOUNT, error).await,
    }
}

/// Makes `workspace` the session's, under a new session id.
pub(super) async fn enter(session: &Session, workspace: WorkspaceId) {
    if let Err(error) = session.cycle_id().await {
        tracing::warn!(error = %error, "could not rotate the session id");
    }
    if let Err(error) = session.insert(WORKSPACE_ID, workspace.uuid()).await {
        tracing::error!(error = %error, "could not store the session's workspace");
    }
}

/// `POST /workspaces/leave`: leave the workspace the session acts in (not as its last
/// owner), back to the user's first remaining one.
pub async fn leave(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
) -> Response {
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(ACCOUNT)).into_response();
    };
    let outcome = db::members::remove(&state.pool, user.workspace_id, user.id, user.id).await;
    match outcome {
        Ok(()) => {
            if let Err(error) = session.remove::<uuid::Uuid>(WORKSPACE_ID).await {
                tracing::warn!(error = %error, "could not forget the session's workspace");
            }
            let notice = format!("You left {}.", user.workspace_name);
            redirect_with(&session, Flash::notice(notice), DASHBOARD).await
        }
        Err(db::members::MemberRefusal::Database(error)) => {
            unexpected(&session, "new-workspace", ACCOUNT, error).await
        }
        Err(refusal) => {
            let flash = Flash::for_form("new-workspace").with_error(refusal.to_string());
            redirect_with(&session, flash, ACCOUNT).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteWorkspaceForm {
    #[serde(default)]
    confirm: String,
}

/// Why a workspace could not be deleted.
pub(crate) enum Deletion {
    /// Stripe could not cancel its subscription: nothing was deleted.
    StripeUnavailable,
    Database(sqlx::Error),
}

/// What the owner is told when Stripe could not cancel the subscription.
pub(crate) const STRIPE_UNAVAILABLE: &str = "Its subscription could not be cancelled at \
    Stripe just now, so nothing was deleted. Please try again in a moment.";

/// Deletes `workspace` (checked by the caller) after cancelling its subscription: never
/// charged again, so Stripe first, and nothing is deleted when it cannot be reached.
pub(crate) async fn cancel_and_delete(
    state: &AppState,
    workspace: WorkspaceId,
) -> Result<(), Deletion> {
    if let Err(error) = state
        .billing
        .cancel_before_deleting_workspace(&state.pool, workspace)
        .await
    {
        tracing::error!(error = %error, workspace.id = %workspace, "could not cancel a subscription before deleting a workspace");
        return Err(Deletion::StripeUnavailable);
    }
    db::workspaces::delete(&state.pool, workspace)
        .await
        .map_err(Deletion::Database)
}

/// `POST /workspaces/delete` with `confirm` (the workspace's name, typed): an owner
/// deletes the workspace the session acts in, after its subscription is cancelled at
/// Stripe, with its trackers, alerts, tokens and invitations.
pub async fn delete(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    session: Session,
    form: Result<Form<DeleteWorkspaceForm>, FormRejection>,
) -> Response {
    const MEMBERS: &str = "/members";
    let Some(user) = auth.0 else {
        return Redirect::to(&NextPath::sign_in_url(MEMBERS)).into_response();
    };
    let Form(form) = form.unwrap_or_default();
    let refused = |message: String| Flash::for_form("delete-workspace").with_error(message);
    let name = match db::workspaces::check_deletion(
        &state.pool,
        user.workspace_id,
        user.id,
        &form.confirm,
    )
    .await
    {
        Ok(name) => name,
        Err(db::workspaces::DeleteRefusal::Database(error)) => {
            return unexpected(&session, "delete-workspace", MEMBERS, error).await;
        }
        Err(refusal) => {
            return redirect_with(&session, refused(refusal.to_string()), MEMBERS).await;
        }
    };
    match cancel_and_delete(&state, user.workspace_id).await {
        Ok(()) => {}
        Err(Deletion::StripeUnavailable) => {
            return redirect_with(&session, refused(STRIPE_UNAVAILABLE.to_string()), MEMBERS).await;
        }
        Err(Deletion::Database(error)) => {
            return unexpected(&session, "delete-workspace", MEMBERS, error).await;
        }
    }
    tracing::info!(workspace.id = %user.workspace_id, user.id = %user.id, "workspace deleted");
    if let Err(error) = session.remove::<uuid::Uuid>(WORKSPACE_ID).await {
        tracing::warn!(error = %error, "could not forget the deleted workspace");
    }
    let notice = format!("{name} was deleted, with everything in it.");
    redirect_with(&session, Flash::notice(notice), DASHBOARD).await
}
