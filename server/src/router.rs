//! Every route of the web process, and the layers around them.

use std::{any::Any, convert::Infallible, path::Path, time::Duration};

use app::{App, server::state::AppState, shell};
use axum::{
    Router,
    body::Body,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header},
    middleware::{self, Next},
    response::IntoResponse,
    routing::get,
};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    decompression::RequestDecompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use tracing::Span;

use crate::{
    middleware::{auth as auth_layer, csrf},
    routes::{
        account, admin, alert_forms, alerts, api, auth, billing, docs, email, export, health,
        member_forms, members, prom, push, push_events, push_formats, rule_forms, scrape, share,
        sink_forms, sinks, streams, trackers, watch_forms, watches, workspaces,
    },
};
use app::server::session_store::PgSessionStore;
use axum::routing::{MethodRouter, any, delete, patch, post};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

/// Sessions last 30 days from the last request (rolling).
pub const SESSION_LIFETIME: time::Duration = time::Duration::days(30);
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "upcount_session";

/// Files whose names change with their content (`/pkg/*` is hashed by cargo-leptos,
/// `/vendor/*` carries the library's version): cache them for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Other files of the site root (the favicon): cache them for an hour.
const SHORT_LIVED: &str = "public, max-age=3600";

/// Builds the application's router around `state`.
pub fn build(state: AppState) -> Router {
    let options = state.leptos_options.clone();
    let site_root = Path::new(options.site_root.as_ref()).to_path_buf();
    let routes = generate_route_list(App);

    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let render = {
        let options = options.clone();
        move || shell(options.clone())
    };
    // Paths no route or file matches: the app renders its 404 page (status 404).
    let not_found = {
        let state = state.clone();
        tower::service_fn(move |request: Request<Body>| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(render_page(&state, request).await) }
        })
    };

    let sessions = SessionManagerLayer::new(PgSessionStore::new(state.pool.clone()))
        .with_name(SESSION_COOKIE)
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.web.secure_cookies)
        // Saved when changed; a signed-in session's 30 days start again once a day
        // (middleware::auth::renew), so they run from the last day of use.
        .with_expiry(Expiry::OnInactivity(SESSION_LIFETIME));

    // Everything that may read the session: pages, forms, server functions, the API.
    // Outermost first: the CSRF check, then the session, then who is signed in.
    let dynamic = Router::new()
        .route("/sign-in", post(auth::sign_in))
        .route("/sign-up", post(auth::sign_up))
        .route("/sign-out", post(auth::sign_out))
        .route("/verify-email", post(email::verify_email))
        .route("/verify-email/resend", post(email::resend_verification))
        .route("/forgot-password", post(email::forgot_password))
        .route("/reset-password", post(email::reset_password))
        .route("/billing/checkout", post(billing::checkout))
        .route("/admin/users/{id}/{action}", post(admin::user_action))
        .route("/admin/view-as/stop", post(admin::stop_view_as))
        .route("/admin/workspaces/{id}/plan", post(admin::set_plan))
        .route("/admin/sources/{id}/{action}", post(admin::source))
        .route(
            "/admin/stripe-events/{id}/reprocess",
            post(admin::reprocess),
        )
        .route("/admin/jobs/{id}/{action}", post(admin::job))
        .route("/billing/portal", post(billing::portal))
        .route("/account/password", post(account::change_password))
        .route("/account/delete", post(account::delete_account))
        .route("/account/digest", post(account::set_digest))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/api/v1/openapi.json", get(docs::openapi_json))
        .route("/api/v1/me", get(api::me))
        .route(
            "/api/v1/workspace",
            patch(api::update_workspace).delete(api::delete_workspace),
        )
        .route("/api/v1/workspace/members", get(members::list))
        .route(
            "/api/v1/workspace/members/{user_id}",
            patch(members::update).delete(members::remove),
        )
        .route("/api/v1/workspace/audit", get(members::audit))
        .route(
            "/api/v1/workspace/invitations",
            get(members::list_invitations).post(members::invite),
        )
        .route(
            "/api/v1/workspace/invitations/{id}",
            delete(members::revoke_invitation),
        )
        .route(
            "/api/v1/workspace/invitations/{id}/resend",
            post(members::resend_invitation),
        )
        .route("/api/v1/workspace/transfer", post(members::transfer))
        // The workspace's latest values for its own Prometheus (the process's own
        // operational metrics are `/metrics`, below).
        .route("/api/v1/metrics", get(scrape::metrics))
        .route(
            "/api/v1/trackers",
            get(trackers::list).post(trackers::create),
        )
        .route(
            "/api/v1/trackers/{id}",
            get(trackers::show)
                .patch(trackers::update)
                .delete(trackers::delete),
        )
        .route("/api/v1/trackers/preview", post(trackers::preview))
        // A long series is a large answer asked for often (zooming): compressed fast.
        .route(
            "/api/v1/trackers/{id}/series",
            get(trackers::series)
                .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest)),
        )
        .route("/api/v1/trackers/{id}/poll", post(trackers::poll_now))
        .route(
            "/api/v1/trackers/{id}/streams",
            get(streams::tracker_streams),
        )
        .route(
            "/api/v1/trackers/{id}/stream-stats",
            get(streams::tracker_stream_stats),
        )
        .route("/api/v1/streams", get(streams::ranking))
        .route("/api/v1/watches", get(watches::list).post(watches::create))
        .route(
            "/api/v1/watches/{id}",
            get(watches::show)
                .patch(watches::update)
                .delete(watches::delete),
        )
        .route("/api/v1/watches/{id}/poll", post(watches::look_now))
        .route("/api/v1/trackers/{id}/export.csv", get(export::export_csv))
        .route(
            "/api/v1/trackers/{id}/export.json",
            get(export::export_json),
        )
        .route(
            "/api/v1/trackers/{id}/share",
            post(share::share).delete(share::unshare),
        )
        .route(
            "/api/v1/channels",
            get(alerts::list_channels).post(alerts::create_channel),
        )
        .route("/api/v1/channels/{id}", delete(alerts::delete_channel))
        .route("/api/v1/alert-events", get(alerts::list_events))
        .route(
            "/api/v1/trackers/{id}/alerts",
            get(alerts::list_rules).post(alerts::create_rule),
        )
        .route(
            "/api/v1/alerts/{id}",
            patch(alerts::update_rule).delete(alerts::delete_rule),
        )
        .route("/api/v1/channels/{id}/test", post(alerts::test_channel))
        // Prometheus's HTTP API under a prefix, so a client's base URL is
        // `…/api/v1/prom`; Grafana POSTs its queries as forms.
        .route(
            "/api/v1/prom/api/v1/query",
            get(prom::query).post(prom::query_post),
        )
        .route(
            "/api/v1/prom/api/v1/query_range",
            get(prom::query_range).post(prom::query_range_post),
        )
        .route(
            "/api/v1/prom/api/v1/series",
            get(prom::series).post(prom::series_post),
        )
        .route(
            "/api/v1/prom/api/v1/labels",
            get(prom::labels).post(prom::labels_post),
        )
        .route(
            "/api/v1/prom/api/v1/label/{name}/values",
            get(prom::label_values),
        )
        .route("/api/v1/prom/api/v1/status/buildinfo", get(prom::buildinfo))
        .route("/api/v1/prom/api/v1/metadata", get(prom::metadata))
        .route(
            "/api/v1/push-sources",
            get(push::list_sources).post(push::create_source),
        )
        .route(
            "/api/v1/push-sources/{id}",
            patch(push::update_source).delete(push::delete_source),
        )
        .route(
            "/api/v1/push-sources/{id}/events.csv",
            get(push_events::export_events_csv),
        )
        .route(
            "/api/v1/push-sources/{id}/events.json",
            get(push_events::export_events_json),
        )
        // Up to 5,000 events a request, as a push holds up to 5,000 points.
        .route(
            "/api/v1/events",
            post(push_events::push_events)
                .layer(DefaultBodyLimit::max(app::server::push::MAX_BODY_BYTES)),
        )
        // A push holds up to 5,000 points: a larger body than other requests may send.
        .route(
            "/api/v1/push",
            post(push::push_json).layer(DefaultBodyLimit::max(app::server::push::MAX_BODY_BYTES)),
        )
        // InfluxDB's and the Pushgateway's shapes, so their clients push unchanged (see
        // `routes::push_formats`); Telegraf gzips its bodies.
        .route("/api/v1/push/influx", pushed(post(push_formats::influx)))
        .route(
            "/api/v1/push/influx/write",
            pushed(post(push_formats::influx)),
        )
        .route(
            "/api/v1/push/influx/api/v2/write",
            pushed(post(push_formats::influx)),
        )
        // What InfluxDB clients ask besides writing: Telegraf's `CREATE DATABASE` at start.
        .route("/api/v1/push/influx/ping", get(push_formats::influx_ping))
        .route(
            "/api/v1/push/influx/query",
            get(push_formats::influx_query_get).post(push_formats::influx_query),
        )
        .route(
            "/api/v1/push/prometheus",
            pushed(post(push_formats::prometheus).put(push_formats::prometheus)),
        )
        .route(
            "/api/v1/push/prometheus/metrics/{*grouping}",
            pushed(post(push_formats::pushgateway).put(push_formats::pushgateway)),
        )
        .route(
            "/api/v1/sinks",
            get(sinks::list_sinks).post(sinks::create_sink),
        )
        .route("/api/v1/sinks/{id}", delete(sinks::delete_sink))
        .route("/api/v1/sinks/{id}/test", post(sinks::test_sink))
        .route("/badge/{file}", get(share::badge))
        .route("/workspaces", post(workspaces::create))
        .route("/workspaces/switch", post(workspaces::switch))
        .route("/workspaces/leave", post(workspaces::leave))
        .route("/workspaces/delete", post(workspaces::delete))
        .route("/members/invitations", post(member_forms::invite))
        .route(
            "/members/invitations/{id}/{action}",
            post(member_forms::invitation_action),
        )
        .route("/members/transfer", post(member_forms::transfer))
        .route("/members/{user_id}/role", post(member_forms::change_role))
        .route("/members/{user_id}/remove", post(member_forms::remove))
        .route("/invitations/{token}", post(member_forms::accept))
        .route("/dashboard/trackers", post(trackers::add_from_form))
        .route("/dashboard/push-sources", post(push::create_from_form))
        .route("/trackers/{id}/poll", post(trackers::poll_now_from_form))
        .route("/alerts/channels", post(alert_forms::add_channel))
        .route(
            "/alerts/channels/{id}/{action}",
            post(alert_forms::channel_action),
        )
        .route("/watches", post(watch_forms::add_watch))
        .route("/watches/{id}/{action}", post(watch_forms::watch_action))
        .route("/alerts/sinks", post(sink_forms::add_sink))
        .route("/alerts/sinks/{id}/{action}", post(sink_forms::sink_action))
        .route("/trackers/{id}/alerts", post(rule_forms::add_rule))
        .route("/alerts/{id}/edit", post(rule_forms::edit_rule))
        .route("/alerts/{id}/pause", post(rule_forms::pause_rule))
        .route("/alerts/{id}/resume", post(rule_forms::resume_rule))
        .route("/alerts/{id}/delete", post(rule_forms::delete_rule))
        .route(
            "/dashboard/trackers/{id}/{action}",
            post(trackers::sharing_from_form),
        )
        .route("/api/v1/{*rest}", any(api::not_found))
        .leptos_routes_with_context(&state, routes, context, render)
        .fallback_service(
            ServiceBuilder::new()
                .layer(middleware::map_response(cache_briefly_when_found))
                .service(ServeDir::new(&site_root).fallback(not_found)),
        )
        .layer(middleware::from_fn(retry_stalled_render))
        // Pages carry the signed-in user's details: no shared cache may keep them.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth_layer::load,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(state.clone(), csrf::check));

    // Stripe stand-in pages and API (only when asked for, `UPCOUNT_STRIPE_STANDIN`):
    // outside the CSRF check and the session, as Stripe is.
    let standin = if state.billing.is_standin() {
        crate::stripe_standin::router(state.clone())
    } else {
        Router::new()
    };
    // Signed by Stripe, not by a browser: no session, no CSRF check. A 404 while payments
    // are off: nothing can arrive that changes a plan.
    let webhooks = if state.billing.is_enabled() {
        Router::new().route("/webhooks/stripe", post(billing::webhook))
    } else {
        Router::new().route("/webhooks/stripe", post(billing::webhook_off))
    };

    let request_timeout = state.web.request_timeout;
    let https = state.web.secure_cookies;
    Router::new()
        .route("/healthz", get(health::healthz))
        // The API's reference: public, like the site's other documentation.
        .route("/docs/api", get(docs::api_reference))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::metrics::endpoint))
        .merge(webhooks)
        .nest_service(
            "/pkg",
            immutable_files(&site_root.join(options.site_pkg_dir.as_ref())),
        )
        .nest_service("/vendor", immutable_files(&site_root.join("vendor")))
        .merge(dynamic)
        .with_state(state)
        .merge(standin)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(log_response)
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(middleware::from_fn_with_state(
                    request_timeout,
                    crate::middleware::timeout::limit,
                ))
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(middleware::from_fn(crate::metrics::track_http))
                .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
                .layer(security_header(
                    header::REFERRER_POLICY,
                    "strict-origin-when-cross-origin",
                ))
                .layer(CompressionLayer::new())
                .layer(middleware::map_response(no_cookies_on_public_responses))
                .layer(middleware::map_response_with_state(
                    https,
                    strict_transport_security,
                )),
        )
}

/// How long a page may take to render before it is rendered again.
const RENDER_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest page body buffered while waiting for a render.
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// Renders of one page request, the first included.
const RENDER_ATTEMPTS: usize = 3;

/// Works around a race in Leptos's server-side `<Suspense>` (leptos-rs/leptos#4851,
/// #4673, #4698; still seen with leptos 0.8.23): very rarely a page's render never
/// finishes, before its headers or (seen once in the suite) after them, mid-body. The
/// whole page is awaited here, so nothing has been sent yet when it stalls: a page that
/// takes longer than [`RENDER_TIMEOUT`] is rendered again (page loads are safe to repeat); after
/// [`RENDER_ATTEMPTS`] the visitor gets a 503 asking to reload instead of a hung request.
/// API calls, forms and badges never go through Leptos and pass straight on.
async fn retry_stalled_render(request: Request<Body>, next: Next) -> Response<Body> {
    let path = request.uri().path();
    if request.method() != Method::GET || path.starts_with("/api/") || path.starts_with("/badge/") {
        return next.run(request).await;
    }
    let (parts, _) = request.into_parts();
    for attempt in 1..=RENDER_ATTEMPTS {
        let request = Request::from_parts(parts.clone(), Body::empty());
        // The whole page, body included: a render can also stall after its headers.
        let render = async {
            let (head, body) = next.clone().run(request).await.into_parts();
            axum::body::to_bytes(body, MAX_PAGE_BYTES)
                .await
                .map(|bytes| Response::from_parts(head, Body::from(bytes)))
        };
        match tokio::time::timeout(RENDER_TIMEOUT, render).await {
            Ok(Ok(response)) => return response,
            Ok(Err(error)) => {
                tracing::error!(error = %error, path = %parts.uri.path(), "a page could not be rendered");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "This page could not be rendered. Please reload it.",
                )
                    .into_response();
            }
            Err(_) => {
                metrics::counter!("upcount_page_render_stalls_total").increment(1);
                tracing::warn!(path = %parts.uri.path(), attempt, "page render stalled; rendering it again");
            }
        }
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
        "This page took too long to render. Please reload it.",
    )
        .into_response()
}

/// Serves `dir` with a year-long cache. Precompressed siblings (`x.js.br`, `x.js.gz`,
/// written by `cargo leptos build --release --precompress` and by `make` for ECharts) are
/// sent as they are; other files are compressed on the fly by the compression layer.
fn immutable_files(dir: &Path) -> Router {
    Router::new()
        .fallback_service(ServeDir::new(dir).precompressed_br().precompressed_gzip())
        .layer(middleware::map_response(cache_forever_when_found))
}

/// Renders the app for `request` (its path picks the page), whole, before answering.
/// Handlers use it to answer a form with a page directly; unknown paths get the 404 page.
pub async fn render_page(state: &AppState, request: Request<Body>) -> Response<Body> {
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let render = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    leptos_axum::render_app_async_with_context(context, render)(request).await
}

async fn cache_briefly_when_found<B>(mut response: Response<B>) -> Response<B> {
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(SHORT_LIVED));
    }
    response
}

async fn cache_forever_when_found(mut response: Response<Body>) -> Response<Body> {
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
        // The body depends on Accept-Encoding (precompressed siblings), so tell caches.
        if !headers.contains_key(header::VARY) {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
    }
    response
}

/// A bug must not cost the user the connection: log it, answer 500 without details.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    let mut response = Response::new(Body::from(
        "Something went wrong on our side. Please try again in a moment.",
    ));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A response any cache may keep (badges, site files) must not carry a cookie: a shared
/// cache would hand one visitor's session to the next. A session renewal skips them.
async fn no_cookies_on_public_responses(mut response: Response<Body>) -> Response<Body> {
    let public = response
        .headers()
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            value
                .split(',')
                .any(|directive| directive.trim().eq_ignore_ascii_case("public"))
        });
    if public {
        response.headers_mut().remove(header::SET_COOKIE);
    }
    response
}

/// Browsers remember to reach the site over https only: sent when its public URL is https.
async fn strict_transport_security(
    axum::extract::State(https): axum::extract::State<bool>,
    mut response: Response<Body>,
) -> Response<Body> {
    if https {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    // The route template only: paths and query strings may carry share and badge tokens.
    tracing::info_span!(
        "request",
        method = crate::metrics::method_label(request.method()),
        route = %crate::metrics::route_template(request.extensions()),
        request_id,
    )
}

fn log_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = (latency.as_secs_f64() * 1_000.0 * 10.0).round() / 10.0;
    if response.status().is_server_error() {
        tracing::error!(status, latency_ms, "request failed");
    } else {
        tracing::info!(status, latency_ms, "request");
    }
}

/// A push route of another program's shape: bodies up to the push limit, after gzip (as
/// Telegraf sends them) is undone.
fn pushed(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route
        .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(
            app::server::push::MAX_BODY_BYTES,
        ))
        .layer(RequestDecompressionLayer::new())
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use tower::ServiceExt;

    use super::*;

    fn app(stalls: usize) -> (Router, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let router = Router::new()
            .route(
                "/page",
                get(move || {
                    let counter = counter.clone();
                    async move {
                        if counter.fetch_add(1, Ordering::SeqCst) < stalls {
                            std::future::pending::<()>().await;
                        }
                        "rendered"
                    }
                }),
            )
            .layer(middleware::from_fn(retry_stalled_render));
        (router, calls)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_page_render_is_tried_again() {
        let (router, calls) = app(1);
        let response = router
            .oneshot(Request::get("/page").body(Body::empty()).expect("request"))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_render_that_keeps_stalling_ends_in_a_503() {
        let (router, calls) = app(usize::MAX);
        let response = router
            .oneshot(Request::get("/page").body(Body::empty()).expect("request"))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(calls.load(Ordering::SeqCst), RENDER_ATTEMPTS);
    }
}
