//! The OpenAPI 3.1 document of the REST API (`GET /api/v1/openapi.json`), generated from
//! the handlers' `#[utoipa::path]` annotations and the types they read and answer. Every
//! `/api/v1` route of `router.rs` is listed here (a test checks both ways), and every
//! operation carries the errors shared by the whole API ([`SharedErrors`]).

use serde::Serialize;
use serde_json::Value;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        Ref, RefOr, Response,
        content::ContentBuilder,
        response::ResponseBuilder,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::routes::{
    alerts, api, errors, export, prom, push, push_events, push_formats, scrape, share, sinks,
    trackers,
};

/// `{"trackers": [tracker, …]}`.
#[derive(Serialize, ToSchema)]
pub struct TrackersBody {
    #[schema(value_type = Vec<Object>)]
    pub trackers: Vec<Value>,
}

/// `{"tracker": {…}}`: its source, state, metrics and latest values.
#[derive(Serialize, ToSchema)]
pub struct TrackerBody {
    #[schema(value_type = Object)]
    pub tracker: Value,
}

/// `{"tracker": {…}, "created": bool}`.
#[derive(Serialize, ToSchema)]
pub struct CreatedTrackerBody {
    #[schema(value_type = Object)]
    pub tracker: Value,
    /// `false` when the workspace already tracked it.
    pub created: bool,
}

/// What adding a URL would track.
#[derive(Serialize, ToSchema)]
pub struct PreviewBody {
    pub kind: Value,
    pub provider: Value,
    pub title: Value,
    pub author: Value,
    pub url: Value,
    /// `{"name", "unit", "value"}` each.
    #[schema(value_type = Vec<Object>)]
    pub values: Vec<Value>,
    pub problems: Value,
    /// A JSON API's document, for picking values.
    pub document: Value,
}

/// `{"polling": true}`.
#[derive(Serialize, ToSchema)]
pub struct PollBody {
    pub polling: bool,
}

/// A shared tracker's links.
#[derive(Serialize, ToSchema)]
pub struct ShareLinks {
    pub token: String,
    pub page_url: String,
    pub badge_url: String,
}

/// `{"share": {"token", "page_url", "badge_url"}}`.
#[derive(Serialize, ToSchema)]
pub struct ShareBody {
    pub share: ShareLinks,
}

/// An export as JSON.
#[derive(Serialize, ToSchema)]
pub struct ExportJsonBody {
    #[schema(value_type = Object)]
    pub tracker: Value,
    pub from: String,
    pub to: String,
    #[schema(value_type = Vec<Object>)]
    pub metrics: Vec<Value>,
    /// `time`, each metric, `origin`.
    pub columns: Vec<String>,
    /// One array a row, in the order of `columns`.
    pub rows: Vec<Vec<Value>>,
}

/// A push source's kept events as JSON.
#[derive(Serialize, ToSchema)]
pub struct EventsJsonBody {
    #[schema(value_type = Object)]
    pub push_source: Value,
    pub from: String,
    pub to: String,
    /// `{"t", "type", "properties"}` each.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
}

/// `{"channels": [channel, …]}`.
#[derive(Serialize, ToSchema)]
pub struct ChannelsBody {
    #[schema(value_type = Vec<Object>)]
    pub channels: Vec<Value>,
}

/// `{"channel": {…}}`.
#[derive(Serialize, ToSchema)]
pub struct ChannelBody {
    #[schema(value_type = Object)]
    pub channel: Value,
}

/// `{"sent": true}`.
#[derive(Serialize, ToSchema)]
pub struct SentBody {
    pub sent: bool,
}

/// `{"events": [alert event, …]}`.
#[derive(Serialize, ToSchema)]
pub struct AlertEventsBody {
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
}

/// `{"alerts": [rule, …]}`.
#[derive(Serialize, ToSchema)]
pub struct AlertsBody {
    #[schema(value_type = Vec<Object>)]
    pub alerts: Vec<Value>,
}

/// `{"alert": {…}}`.
#[derive(Serialize, ToSchema)]
pub struct AlertBody {
    #[schema(value_type = Object)]
    pub alert: Value,
}

/// An alert rule's fields: `metric`, `condition` (`above`, `below`, `change`, …) and its
/// threshold or window, `channels` (ids), and for a change `paused`.
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct RuleFields(Value);

/// `{"push_sources": [push source, …]}`.
#[derive(Serialize, ToSchema)]
pub struct PushSourcesBody {
    #[schema(value_type = Vec<Object>)]
    pub push_sources: Vec<Value>,
}

/// `{"push_source": {…}}` (with its `token` only when just made).
#[derive(Serialize, ToSchema)]
pub struct PushSourceBody {
    #[schema(value_type = Object)]
    pub push_source: Value,
}

/// `{"sinks": [sink, …]}`.
#[derive(Serialize, ToSchema)]
pub struct SinksBody {
    #[schema(value_type = Vec<Object>)]
    pub sinks: Vec<Value>,
}

/// `{"sink": {…}}`.
#[derive(Serialize, ToSchema)]
pub struct SinkBody {
    #[schema(value_type = Object)]
    pub sink: Value,
}

/// One point of `POST /api/v1/push`.
#[derive(Serialize, ToSchema)]
pub struct PushPoint {
    /// The series' name.
    pub metric: String,
    pub value: f64,
    /// RFC 3339 (default: now).
    pub t: Option<String>,
    /// Each distinct label set is its own series.
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// `gauge` (default), `counter` or `delta`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// One event of `POST /api/v1/events`.
#[derive(Serialize, ToSchema)]
pub struct PushEvent {
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339 (default: now).
    pub t: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Value>,
}

/// Prometheus's success shape: `{"status": "success", "data": …}`.
#[derive(Serialize, ToSchema)]
pub struct PromSuccessBody {
    /// Always `success`.
    pub status: String,
    pub data: Value,
}

/// `query` and `time` as a form.
#[derive(Serialize, ToSchema)]
pub struct PromQueryForm {
    pub query: String,
    pub time: Option<String>,
}

/// `query`, `start`, `end`, `step` as a form.
#[derive(Serialize, ToSchema)]
pub struct PromRangeForm {
    pub query: String,
    pub start: String,
    pub end: String,
    pub step: String,
}

/// `match[]` as a form.
#[derive(Serialize, ToSchema)]
pub struct PromLabelsForm {
    #[serde(rename = "match[]")]
    pub matches: Option<Vec<String>>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Upcount REST API",
        description = "Trackers, their series and exports, alerts, push sources and pushes, sinks, and a Prometheus-compatible query API. Errors are `{\"error\", \"code\"?}` (the query API: Prometheus's own shape).",
    ),
    paths(
        api::me, api::update_workspace, scrape::metrics,
        trackers::list, trackers::create, trackers::show, trackers::update, trackers::delete,
        trackers::preview, trackers::series, trackers::poll_now,
        export::export_csv, export::export_json, share::share, share::unshare,
        alerts::list_channels, alerts::create_channel, alerts::delete_channel, alerts::test_channel,
        alerts::list_events, alerts::list_rules, alerts::create_rule, alerts::update_rule,
        alerts::delete_rule,
        prom::query, prom::query_post, prom::query_range, prom::query_range_post,
        prom::series, prom::series_post, prom::labels, prom::labels_post, prom::label_values,
        prom::buildinfo, prom::metadata,
        push::list_sources, push::create_source, push::update_source, push::delete_source,
        push_events::export_events_csv, push_events::export_events_json,
        push_events::push_events, push::push_json,
        push_formats::influx, push_formats::influx_v1_write, push_formats::influx_v2_write,
        push_formats::prometheus, push_formats::prometheus_put,
        push_formats::pushgateway, push_formats::pushgateway_put,
        sinks::list_sinks, sinks::create_sink, sinks::delete_sink, sinks::test_sink,
    ),
    components(schemas(errors::ErrorBody, errors::UpgradeRequiredBody, errors::PromErrorBody)),
    modifiers(&SecuritySchemes, &SharedErrors),
    tags(
        (name = "account", description = "Who is calling; the workspace."),
        (name = "trackers", description = "Trackers, their series, exports and sharing."),
        (name = "alerts", description = "Alert channels, rules and events."),
        (name = "push", description = "Push sources, and pushing numbers and events into them."),
        (name = "sinks", description = "Forwarding new samples to InfluxDB, Graphite or a webhook."),
        (name = "prometheus", description = "The scrape endpoint and the Prometheus-compatible query API."),
    ),
)]
pub struct ApiDoc;

/// How callers authenticate.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |format: &str, description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format(format)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "api_token",
            bearer(
                "upc_…",
                "An API token (read or read-write), made on the account page. A read-only token gets 403 on changes.",
            ),
        );
        components.add_security_scheme(
            "basic_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "HTTP basic auth with an API token as the password (any user name), as Prometheus and Grafana send it.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::router::SESSION_COOKIE,
                "The browser's session cookie; changes must come from Upcount's own pages (Origin checked).",
            ))),
        );
        components.add_security_scheme(
            "push_token",
            bearer(
                "upp_…",
                "A push source's own token, shown once when it is made.",
            ),
        );
        components.add_security_scheme(
            "push_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "HTTP basic auth with the push token as the password (Telegraf's v1 `password`).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "influx_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token upp_…`, InfluxDB v2's scheme.",
            ))),
        );
        components.add_security_scheme(
            "influx_p",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "p",
                "The push token as InfluxDB v1's `p` query parameter.",
            ))),
        );
    }
}

/// The answers any operation may give besides its own: 401 (no or a bad token), 403 (a
/// read-only token, a cross-site request, an administrator viewing as someone), 500 and
/// 503 (the database is unreachable, or the request took too long).
struct SharedErrors;

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

impl Modify for SharedErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let shared = [
            ("401", "No credentials, or unknown or revoked ones."),
            (
                "403",
                "A read-only token asking for a change, a cross-site request, or an administrator viewing as someone.",
            ),
            ("500", "Something went wrong on Upcount's side."),
            (
                "503",
                "The database cannot be reached, or the request took too long; try again in a moment.",
            ),
        ];
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for (status, description) in shared {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
}
