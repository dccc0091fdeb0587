//! The admin console's data. Every function answers 403 to anyone but an administrator
//! (401 when signed out); the endpoints are fixed (`/api/admin/…`) so a test can walk
//! them all.

use leptos::prelude::*;

pub use crate::domain::console::*;

/// The signed-in administrator; 401 or 403 (set on the response) for anyone else.
#[cfg(feature = "ssr")]
pub async fn require_admin() -> Result<crate::server::auth::CurrentUser, ServerFnError> {
    use crate::server::auth::Auth;
    let axum::Extension(Auth(user)) = leptos_axum::extract::<axum::Extension<Auth>>().await?;
    // Called for a page, the page decides its status (403, or the way to sign in); called
    // as `POST /api/admin/…`, the status is this.
    let uri = leptos_axum::extract::<axum::http::Uri>().await?;
    let status = |status| {
        if uri.path().starts_with("/api/") {
            expect_context::<leptos_axum::ResponseOptions>().set_status(status);
        }
    };
    match user {
        Some(user) if user.is_admin() => Ok(user),
        Some(_) => {
            status(axum::http::StatusCode::FORBIDDEN);
            Err(ServerFnError::new("Administrators only."))
        }
        None => {
            status(axum::http::StatusCode::UNAUTHORIZED);
            Err(ServerFnError::new("Sign in first."))
        }
    }
}

/// The console: users matching `query`, sources by `provider` and `state`, jobs, Stripe
/// events and the audit log.
#[server(endpoint = "admin/console")]
pub async fn admin_console(
    query: String,
    provider: String,
    state: String,
) -> Result<Console, ServerFnError> {
    use crate::server::{admin, state::AppState};
    require_admin().await?;
    let app = expect_context::<AppState>();
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not read the admin console");
        ServerFnError::new("Could not load the console. Please try again.")
    };
    let pool = &app.pool;
    let users = admin::find_users(pool, &query).await.map_err(failed)?;
    let sources = admin::sources(pool, &provider, &state)
        .await
        .map_err(failed)?;
    let events = admin::stripe_events(pool).await.map_err(failed)?;
    let audit = admin::audit_log(pool).await.map_err(failed)?;
    let (job_counts, failed_jobs) = admin::jobs(&*app.jobs).await.map_err(failed)?;
    Ok(Console {
        users,
        sources,
        events,
        audit,
        job_counts,
        failed_jobs,
        source_providers: crate::server::tracking::providers::MODULES
            .iter()
            .map(|module| module.name.to_string())
            .collect(),
    })
}

/// The overview figures and their last week, refreshed by the console every 30 s.
#[server(endpoint = "admin/live")]
pub async fn admin_live() -> Result<Live, ServerFnError> {
    use crate::server::{admin, state::AppState};
    require_admin().await?;
    let app = expect_context::<AppState>();
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not read the admin overview");
        ServerFnError::new("Could not load the overview. Please try again.")
    };
    let now = chrono::Utc::now();
    Ok(Live {
        overview: admin::overview(&app.pool, &*app.jobs, now)
            .await
            .map_err(failed)?,
        history: admin::history(&app.pool, now).await.map_err(failed)?,
        providers: admin::providers(&app.pool, now, app.engine.config())
            .await
            .map_err(failed)?,
    })
}

/// One user's page: their workspaces with plan, billing state, trackers and tokens,
/// their sign-in history and the admin actions on them.
#[server(endpoint = "admin/user")]
pub async fn admin_user(id: String) -> Result<Option<ConsoleUserPage>, ServerFnError> {
    use crate::server::{admin, state::AppState};
    require_admin().await?;
    let Ok(id) = uuid::Uuid::parse_str(id.trim()) else {
        return Ok(None);
    };
    let app = expect_context::<AppState>();
    admin::user_page(&app, id, chrono::Utc::now())
        .await
        .map_err(|error| {
            tracing::error!(error = %error, "could not read a user for the admin console");
            ServerFnError::new("Could not load this user. Please try again.")
        })
}

/// The outbox: the latest messages (sent, logged, queued or failed) with their text, and
/// the addresses that refused mail for good.
#[server(endpoint = "admin/outbox")]
pub async fn admin_outbox() -> Result<crate::domain::outbox::Outbox, ServerFnError> {
    use crate::server::{email, state::AppState};
    require_admin().await?;
    let app = expect_context::<AppState>();
    let failed = |error: sqlx::Error| {
        tracing::error!(error = %error, "could not read the outbox");
        ServerFnError::new("Could not load the outbox. Please try again.")
    };
    Ok(crate::domain::outbox::Outbox {
        delivery: match &app.web.email_delivery {
            Some(target) => format!("Sent through {target}."),
            None => {
                "No UPCOUNT_SMTP_URL: messages are written to the log and listed here, not sent."
                    .to_string()
            }
        },
        messages: email::recent(&app.pool, 200).await.map_err(failed)?,
        suppressed: email::suppressed(&app.pool).await.map_err(failed)?,
    })
}
