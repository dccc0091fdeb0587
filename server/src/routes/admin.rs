//! The admin console's buttons: `POST /admin/…`. Administrators only (403 for members,
//! to sign-in for visitors); each action is audited, then back to the console with a
//! notice.

use app::{
    api::flash::Flash,
    domain::{SourceId, UserId, WorkspaceId},
    server::{
        admin::{self, Actor, AdminError, SourceAction},
        auth::{self, CurrentUser, Impersonation},
        state::AppState,
    },
};
use axum::{
    Extension, Form,
    extract::{FromRequestParts, Path, State},
    http::{HeaderMap, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use super::forms::{either, no_such_action, redirect_with, unexpected};
use crate::{
    extract::Admin,
    jobs::{self, ProcessStripeEvent},
};

const CONSOLE: &str = "/admin";

/// Where the form was: the console (its search and filters kept) or a user's page, from
/// the `Referer` of the form; the console otherwise.
fn back_to(headers: &HeaderMap) -> String {
    headers
        .get(header::REFERER)
        .and_then(|value| value.to_str().ok())
        .and_then(|referer| url::Url::parse(referer).ok())
        .and_then(|url| {
            if url.path() == CONSOLE {
                Some(match url.query() {
                    Some(query) => format!("{CONSOLE}?{query}"),
                    None => CONSOLE.to_string(),
                })
            } else {
                let id = url.path().strip_prefix("/admin/users/")?;
                id.parse::<UserId>().ok().map(user_page)
            }
        })
        .unwrap_or_else(|| CONSOLE.to_string())
}

fn user_page(id: UserId) -> String {
    format!("/admin/users/{id}")
}

/// A press of one of the console's buttons: the administrator, the session their notice
/// goes to, and where the form was, to go back there.
pub struct Press {
    admin: CurrentUser,
    session: Session,
    back: String,
}

impl FromRequestParts<AppState> for Press {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Admin(admin) = Admin::from_request_parts(parts, state).await?;
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            admin,
            session,
            back: back_to(&parts.headers),
        })
    }
}

impl Press {
    fn actor(&self) -> Actor {
        Actor::from(&self.admin)
    }

    /// Back to where the form was, with the notice or the error.
    async fn done(&self, outcome: Result<String, AdminError>) -> Response {
        let (session, back) = (&self.session, self.back.as_str());
        match outcome {
            Ok(notice) => redirect_with(session, Flash::notice(notice), back).await,
            Err(AdminError::Database(error)) => unexpected(session, "admin", back, error).await,
            Err(error) => {
                let flash = Flash::for_form("admin").with_error(error.to_string());
                redirect_with(session, flash, back).await
            }
        }
    }
}

fn user_id(text: &str) -> Result<UserId, AdminError> {
    text.parse()
        .map_err(|_| AdminError::NotFound("There is no such user.".into()))
}

/// `POST /admin/users/{id}/suspend`, `/unsuspend`, `/delete` and `/view-as`.
pub async fn user_action(
    State(state): State<AppState>,
    press: Press,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let suspend = match action.as_str() {
        "suspend" => true,
        "unsuspend" => false,
        "delete" => {
            let deleted = async {
                let id = user_id(&id)?;
                let email =
                    admin::delete_user(&state.pool, &state.billing, &press.actor(), id).await?;
                Ok((id, email))
            }
            .await;
            return match deleted {
                Ok((id, email)) => {
                    let notice = format!("Deleted {email}, with the workspaces only they were in.");
                    // Their page is gone: back to the console.
                    let back = if press.back == user_page(id) {
                        CONSOLE
                    } else {
                        &press.back
                    };
                    redirect_with(&press.session, Flash::notice(notice), back).await
                }
                Err(error) => press.done(Err(error)).await,
            };
        }
        "view-as" => {
            let started = async {
                let id = user_id(&id)?;
                admin::start_view_as(&state.pool, &press.actor(), id).await?;
                Ok(id)
            }
            .await;
            return match started {
                Ok(id) => match press.session.insert(auth::VIEW_AS, id).await {
                    Ok(()) => Redirect::to("/dashboard").into_response(),
                    Err(error) => unexpected(&press.session, "admin", CONSOLE, error).await,
                },
                Err(error) => press.done(Err(error)).await,
            };
        }
        _ => return no_such_action(),
    };
    let outcome = async {
        let id = user_id(&id)?;
        admin::suspend_user(&state.pool, &press.actor(), id, suspend).await?;
        Ok(if suspend {
            "Suspended: the user is signed out, their tokens stop working and their trackers stop polling.".to_string()
        } else {
            "Unsuspended: the user can sign in again and their trackers poll again.".to_string()
        })
    }
    .await;
    press.done(outcome).await
}

#[derive(Debug, Default, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    plan: String,
}

/// `POST /admin/workspaces/{id}/plan` `plan=pro` (or `subscription`).
pub async fn set_plan(
    State(state): State<AppState>,
    press: Press,
    Path(id): Path<String>,
    form: Result<Form<PlanForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Form(form) = form.unwrap_or_default();
    let outcome = async {
        let id = id
            .parse::<WorkspaceId>()
            .map_err(|_| AdminError::NotFound("There is no such workspace.".into()))?;
        let plan = (form.plan != "subscription").then_some(form.plan.as_str());
        let applied =
            admin::set_plan(&state.pool, &press.actor(), id, plan, state.billing.grace()).await?;
        Ok(format!(
            "The workspace is on {} now (was {}); {} trackers paused, {} resumed.",
            applied.plan, applied.previous_plan, applied.paused, applied.resumed
        ))
    }
    .await;
    press.done(outcome).await
}

/// `POST /admin/sources/{id}/{pause|resume|poll-now|reset-backoff}`.
pub async fn source(
    State(state): State<AppState>,
    press: Press,
    Path((id, action)): Path<(SourceId, String)>,
) -> Response {
    let Some(action) = SourceAction::parse(&action) else {
        return no_such_action();
    };
    let outcome = admin::source_action(&state.pool, &press.actor(), id, action)
        .await
        .map(|()| format!("Source {id}: done."));
    press.done(outcome).await
}

/// `POST /admin/stripe-events/{id}/reprocess`: processes a stored event again.
pub async fn reprocess(
    State(state): State<AppState>,
    press: Press,
    Path(id): Path<String>,
) -> Response {
    let outcome = async {
        admin::reprocess_event(&state.pool, &press.actor(), &id).await?;
        if let Err(error) = jobs::enqueue_stripe_event(
            &state.pool,
            ProcessStripeEvent {
                event_id: id.clone(),
            },
        )
        .await
        {
            // Pending: the billing sweep queues it within minutes.
            tracing::warn!(error = %format!("{error:#}"), event = %id, "could not queue a re-processed event");
        }
        Ok(format!("Stripe event {id} will be processed again."))
    }
    .await;
    press.done(outcome).await
}

/// `POST /admin/jobs/{id}/retry` and `/discard`.
pub async fn job(
    State(state): State<AppState>,
    press: Press,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let Some(retry) = either(&action, "retry", "discard") else {
        return no_such_action();
    };
    let outcome = admin::job_action(&state.pool, &*state.jobs, &press.actor(), &id, retry)
        .await
        .map(|()| {
            if retry {
                format!("Job {id} will run again.")
            } else {
                format!("Job {id} was discarded.")
            }
        });
    press.done(outcome).await
}

/// `POST /admin/view-as/stop`: back to being the administrator.
pub async fn stop_view_as(
    State(state): State<AppState>,
    impersonation: Option<Extension<Impersonation>>,
    session: Session,
) -> Response {
    let Some(Extension(impersonation)) = impersonation else {
        return Redirect::to(CONSOLE).into_response();
    };
    if let Err(error) = session.remove::<Uuid>(auth::VIEW_AS).await {
        return unexpected(&session, "admin", CONSOLE, error).await;
    }
    if let Err(error) = admin::stop_view_as(
        &state.pool,
        &Actor::from(&impersonation.admin),
        &impersonation.target_email,
    )
    .await
    {
        tracing::error!(error = %error, "could not audit the end of a view-as");
    }
    let notice = format!(
        "You are yourself again (no longer viewing as {}).",
        impersonation.target_email
    );
    redirect_with(&session, Flash::notice(notice), CONSOLE).await
}
