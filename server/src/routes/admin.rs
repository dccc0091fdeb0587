//! The admin console's buttons: `POST /admin/…`. Administrators only (403 for members,
//! to sign-in for visitors); each action is audited, then back to the console with a
//! notice.

use app::{
    api::flash::Flash,
    domain::{SourceId, UserId, WorkspaceId},
    server::{
        admin::{self, Actor, AdminError, SourceAction},
        auth::{self, Impersonation},
        state::AppState,
    },
};
use axum::{
    Extension, Form,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use uuid::Uuid;

use super::forms::{redirect_with, unexpected};
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

async fn done(
    session: &tower_sessions::Session,
    headers: &HeaderMap,
    outcome: Result<String, AdminError>,
) -> Response {
    let back = back_to(headers);
    match outcome {
        Ok(notice) => redirect_with(session, Flash::notice(notice), &back).await,
        Err(AdminError::Database(error)) => unexpected(session, "admin", &back, error).await,
        Err(error) => {
            let flash = Flash::for_form("admin").with_error(error.to_string());
            redirect_with(session, flash, &back).await
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
    Admin(admin): Admin,
    session: tower_sessions::Session,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let suspend = match action.as_str() {
        "suspend" => true,
        "unsuspend" => false,
        "delete" => {
            let deleted = async {
                let id = user_id(&id)?;
                let email =
                    admin::delete_user(&state.pool, &state.billing, &Actor::from(&admin), id)
                        .await?;
                Ok((id, email))
            }
            .await;
            return match deleted {
                Ok((id, email)) => {
                    let notice = format!("Deleted {email}, with the workspaces only they were in.");
                    // Their page is gone: back to the console.
                    let mut back = back_to(&headers);
                    if back == user_page(id) {
                        back = CONSOLE.to_string();
                    }
                    redirect_with(&session, Flash::notice(notice), &back).await
                }
                Err(error) => done(&session, &headers, Err(error)).await,
            };
        }
        "view-as" => {
            let started = async {
                let id = user_id(&id)?;
                admin::start_view_as(&state.pool, &Actor::from(&admin), id).await?;
                Ok(id)
            }
            .await;
            return match started {
                Ok(id) => match session.insert(auth::VIEW_AS, id).await {
                    Ok(()) => Redirect::to("/dashboard").into_response(),
                    Err(error) => unexpected(&session, "admin", CONSOLE, error).await,
                },
                Err(error) => done(&session, &headers, Err(error)).await,
            };
        }
        _ => return (StatusCode::NOT_FOUND, "No such action.").into_response(),
    };
    let outcome = async {
        let id = user_id(&id)?;
        admin::suspend_user(&state.pool, &Actor::from(&admin), id, suspend).await?;
        Ok(if suspend {
            "Suspended: the user is signed out, their tokens stop working and their trackers stop polling.".to_string()
        } else {
            "Unsuspended: the user can sign in again and their trackers poll again.".to_string()
        })
    }
    .await;
    done(&session, &headers, outcome).await
}

#[derive(Debug, Default, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    plan: String,
}

/// `POST /admin/workspaces/{id}/plan` `plan=pro` (or `subscription`).
pub async fn set_plan(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: tower_sessions::Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<PlanForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Form(form) = form.unwrap_or_default();
    let outcome = async {
        let id = id
            .parse::<WorkspaceId>()
            .map_err(|_| AdminError::NotFound("There is no such workspace.".into()))?;
        let plan = (form.plan != "subscription").then_some(form.plan.as_str());
        let applied = admin::set_plan(
            &state.pool,
            &Actor::from(&admin),
            id,
            plan,
            state.billing.grace(),
        )
        .await?;
        Ok(format!(
            "The workspace is on {} now (was {}); {} trackers paused, {} resumed.",
            applied.plan, applied.previous_plan, applied.paused, applied.resumed
        ))
    }
    .await;
    done(&session, &headers, outcome).await
}

/// `POST /admin/sources/{id}/{pause|resume|poll-now|reset-backoff}`.
pub async fn source(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: tower_sessions::Session,
    headers: HeaderMap,
    Path((id, action)): Path<(SourceId, String)>,
) -> Response {
    let Some(action) = SourceAction::parse(&action) else {
        return (StatusCode::NOT_FOUND, "No such action.").into_response();
    };
    let outcome = admin::source_action(&state.pool, &Actor::from(&admin), id, action)
        .await
        .map(|()| format!("Source {id}: done."));
    done(&session, &headers, outcome).await
}

/// `POST /admin/stripe-events/{id}/reprocess`: processes a stored event again.
pub async fn reprocess(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: tower_sessions::Session,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let outcome = async {
        admin::reprocess_event(&state.pool, &Actor::from(&admin), &id).await?;
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
    done(&session, &headers, outcome).await
}

/// `POST /admin/jobs/{id}/retry` and `/discard`.
pub async fn job(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: tower_sessions::Session,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let retry = match action.as_str() {
        "retry" => true,
        "discard" => false,
        _ => return (StatusCode::NOT_FOUND, "No such action.").into_response(),
    };
    let outcome = admin::job_action(&state.pool, &*state.jobs, &Actor::from(&admin), &id, retry)
        .await
        .map(|()| {
            if retry {
                format!("Job {id} will run again.")
            } else {
                format!("Job {id} was discarded.")
            }
        });
    done(&session, &headers, outcome).await
}

/// `POST /admin/view-as/stop`: back to being the administrator.
pub async fn stop_view_as(
    State(state): State<AppState>,
    impersonation: Option<Extension<Impersonation>>,
    session: tower_sessions::Session,
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
