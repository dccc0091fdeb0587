//! The OpenAPI 3.1 document of the REST API (`GET /api/v1/openapi.json`), generated from
//! the handlers' `#[utoipa::path]` annotations and the types they read and answer. Every
//! `/api/v1` route of `router.rs` is listed here (a test checks both ways), and every
//! operation carries the errors shared by the whole API ([`SharedErrors`]).

use app::{
    domain::{ProviderKind, PushSourceId, TrackerId},
    server::{
        alerts::{
            channels::{ChannelView, NewChannel},
            events::EventView,
            rules::RuleView,
        },
        push::{CreatedPushSource, PushSourceView},
        sinks::store::{NewSink, SinkView},
        tracking::store::{MetricView, TrackerView},
    },
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        PathItem, Ref, RefOr, Response,
        content::ContentBuilder,
        path::Operation,
        response::ResponseBuilder,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::routes::{
    alerts, api, errors, export, members, prom, push, push_events, push_formats, scrape, share,
    sinks, streams, trackers, watches,
};

/// `{"trackers": [tracker, …]}`.
#[derive(Serialize, ToSchema)]
pub struct TrackersBody {
    /// Newest first.
    pub trackers: Vec<TrackerView>,
}

/// `{"tracker": {…}}`: its source, state, metrics and latest values.
#[derive(Serialize, ToSchema)]
pub struct TrackerBody {
    pub tracker: TrackerView,
}

/// `{"tracker": {…}, "created": bool}`.
#[derive(Serialize, ToSchema)]
pub struct CreatedTrackerBody {
    pub tracker: TrackerView,
    /// `false` when the workspace already tracked it.
    pub created: bool,
}

/// What adding a URL would track.
#[derive(Serialize, ToSchema)]
pub struct PreviewBody {
    /// The provider kind (`github.repo`, `json`).
    pub kind: ProviderKind,
    /// The provider's name for people.
    pub provider: String,
    pub title: String,
    pub author: Option<String>,
    /// The thing itself.
    pub url: String,
    /// Every metric polling would record, with its current value.
    pub values: Vec<PreviewValue>,
    /// Metrics that could not be read, and why.
    pub problems: Vec<String>,
    /// For a JSON API: the document fetched, any JSON, to pick values from with JMESPath;
    /// `null` for other providers (or a document that is not JSON).
    pub document: Option<Value>,
}

/// One metric of a preview.
#[derive(Serialize, ToSchema)]
pub struct PreviewValue {
    pub name: String,
    pub unit: String,
    /// `null` when it could not be read.
    pub value: Option<f64>,
}

impl PreviewBody {
    pub fn new(found: app::domain::preview::Preview) -> Self {
        // A document that is not JSON is left out rather than refused.
        let document = found
            .document
            .as_deref()
            .and_then(|text| serde_json::from_str::<Value>(text).ok());
        PreviewBody {
            kind: found.kind,
            provider: found.provider,
            title: found.title,
            author: found.author,
            url: found.url,
            values: found
                .values
                .into_iter()
                .map(|(name, unit, value)| PreviewValue { name, unit, value })
                .collect(),
            problems: found.problems,
            document,
        }
    }
}

/// `{"polling": true}`.
#[derive(Serialize, ToSchema)]
pub struct PollBody {
    pub polling: bool,
}

/// A shared tracker's links.
#[derive(Serialize, ToSchema)]
pub struct ShareLinks {
    /// The share's unguessable token.
    pub token: String,
    /// The public read-only page (`/s/{token}`).
    pub page_url: String,
    /// The live SVG badge (`/badge/{token}.svg`).
    pub badge_url: String,
}

/// `{"share": {"token", "page_url", "badge_url"}}`.
#[derive(Serialize, ToSchema)]
pub struct ShareBody {
    pub share: ShareLinks,
}

/// An export as JSON: its head (the tracker, the range, the metrics and the columns),
/// then the rows. Streamed: the server writes the head as [`ExportHead`] and each row as
/// it is read.
#[derive(Serialize, ToSchema)]
pub struct ExportJsonBody {
    #[serde(flatten)]
    pub head: ExportHead,
    /// One array a row, in the order of `columns`: the time (RFC 3339), each metric's
    /// value (a number, or `null` when the metric has none at that time), and the
    /// origin (`observed`, or `upstream` for history read from the upstream).
    pub rows: Vec<Vec<Value>>,
}

/// The head of a JSON export: everything but its rows.
#[derive(Serialize, ToSchema)]
pub struct ExportHead {
    pub tracker: ExportTracker,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The metrics exported, in the order of their columns.
    pub metrics: Vec<MetricView>,
    /// `time`, each metric's name, `origin`.
    pub columns: Vec<String>,
}

/// The tracker an export is of.
#[derive(Serialize, ToSchema)]
pub struct ExportTracker {
    pub id: TrackerId,
    pub label: String,
    /// Its source's provider kind.
    pub kind: ProviderKind,
    /// Its source's key at the provider.
    pub key: String,
}

/// A push source's kept events as JSON: its head, then the events. Streamed: the server
/// writes the head as [`EventsHead`] and each event as an [`EventRow`] as it is read.
#[derive(Serialize, ToSchema)]
pub struct EventsJsonBody<'a> {
    #[serde(flatten)]
    pub head: EventsHead,
    /// Oldest first.
    pub events: Vec<EventRow<'a>>,
}

/// The head of a JSON events export: the push source and the range.
#[derive(Serialize, ToSchema)]
pub struct EventsHead {
    pub push_source: EventsPushSource,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The push source an events export is of.
#[derive(Serialize, ToSchema)]
pub struct EventsPushSource {
    pub id: PushSourceId,
    pub name: String,
    pub tracker_id: TrackerId,
}

/// One kept event.
#[derive(Serialize, ToSchema)]
pub struct EventRow<'a> {
    /// When it happened (RFC 3339).
    pub t: String,
    /// Its type (`signup`).
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// Its properties as pushed: any JSON object.
    #[schema(value_type = Object)]
    pub properties: &'a Value,
}

/// `{"channels": [channel, …]}`.
#[derive(Serialize, ToSchema)]
pub struct ChannelsBody {
    pub channels: Vec<ChannelView>,
}

/// `{"channel": {…}}`: a channel just made, with a webhook's signing `secret` this once.
#[derive(Serialize, ToSchema)]
pub struct ChannelBody {
    pub channel: NewChannel,
}

/// `{"sent": true}`.
#[derive(Serialize, ToSchema)]
pub struct SentBody {
    pub sent: bool,
}

/// `{"events": [alert event, …]}`.
#[derive(Serialize, ToSchema)]
pub struct AlertEventsBody {
    /// Newest first.
    pub events: Vec<EventView>,
}

/// `{"alerts": [rule, …]}`.
#[derive(Serialize, ToSchema)]
pub struct AlertsBody {
    /// Oldest first.
    pub alerts: Vec<RuleView>,
}

/// `{"alert": {…}}`.
#[derive(Serialize, ToSchema)]
pub struct AlertBody {
    pub alert: RuleView,
}

/// An alert rule's fields: `metric`, `condition` (`above`, `below`, `change`, …) and its
/// threshold or window, `channels` (ids), and for a change `paused`.
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct RuleFields(Value);

/// `{"push_sources": [push source, …]}`.
#[derive(Serialize, ToSchema)]
pub struct PushSourcesBody {
    pub push_sources: Vec<PushSourceView>,
}

/// `{"push_source": {…}}`.
#[derive(Serialize, ToSchema)]
pub struct PushSourceBody {
    pub push_source: PushSourceView,
}

/// `{"push_source": {"id", "tracker_id", "token"}}`: the token shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedPushSourceBody {
    pub push_source: CreatedPushSource,
}

/// `{"sinks": [sink, …]}`.
#[derive(Serialize, ToSchema)]
pub struct SinksBody {
    pub sinks: Vec<SinkView>,
}

/// `{"sink": {…}}`: a sink just made, with a webhook's signing `secret` this once.
#[derive(Serialize, ToSchema)]
pub struct SinkBody {
    pub sink: NewSink,
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
    /// Each endpoint's own, as Prometheus answers it: `{"resultType", "result"}` for the
    /// queries, a list of label sets for `series`, a list of strings for `labels` and
    /// label values, an object for `buildinfo` and `metadata`.
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

/// InfluxDB's query parameters as a form, as Telegraf's `outputs.influxdb` posts them.
#[derive(Serialize, ToSchema)]
pub struct InfluxQueryForm {
    /// InfluxQL: only `CREATE DATABASE …` statements.
    pub q: Option<String>,
    /// The push token, as InfluxDB v1's `p`.
    pub p: Option<String>,
    /// InfluxDB's user name: accepted and ignored.
    pub u: Option<String>,
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
        api::me, api::update_workspace, api::delete_workspace, scrape::metrics,
        trackers::list, trackers::create, trackers::show, trackers::update, trackers::delete,
        trackers::preview, trackers::series, trackers::poll_now,
        export::export_csv, export::export_json, streams::tracker_streams, streams::tracker_stream_stats, streams::ranking, share::share, share::unshare,
        alerts::list_channels, alerts::create_channel, alerts::delete_channel, alerts::test_channel,
        alerts::list_events, alerts::list_rules, alerts::create_rule, alerts::update_rule,
        alerts::delete_rule,
        prom::query, prom::query_post, prom::query_range, prom::query_range_post,
        prom::series, prom::series_post, prom::labels, prom::labels_post, prom::label_values,
        prom::buildinfo, prom::metadata,
        push::list_sources, push::create_source, push::update_source, push::delete_source,
        push_events::export_events_csv, push_events::export_events_json,
        push_events::push_events, push::push_json,
        push_formats::influx, push_formats::influx_ping, push_formats::influx_query_get,
        push_formats::influx_query, push_formats::prometheus, push_formats::pushgateway,
        sinks::list_sinks, sinks::create_sink, sinks::delete_sink, sinks::test_sink,
        members::list, members::update, members::remove, members::audit,
        members::list_invitations, members::invite, members::resend_invitation,
        members::revoke_invitation, members::transfer,
        watches::list, watches::create, watches::show, watches::update, watches::delete,
        watches::look_now,
    ),
    components(schemas(errors::ErrorBody, errors::UpgradeRequiredBody, errors::PromErrorBody)),
    modifiers(&SecuritySchemes, &Aliases, &SharedErrors),
    tags(
        (name = "account", description = "Who is calling; the workspace."),
        (name = "workspace", description = "The workspace's members, their roles, and the audit trail of changes."),
        (name = "trackers", description = "Trackers, their series, exports and sharing."),
        (name = "alerts", description = "Alert channels, rules and events."),
        (name = "push", description = "Push sources, and pushing numbers and events into them."),
        (name = "watches", description = "Watches: a channel, user or organisation whose new videos, posts and repositories become trackers by themselves."),
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

/// One handler served at a second path or method, as the clients that use it expect.
struct Alias {
    /// The documented operation: its path, and `post` (every alias today is of a `POST`).
    path: &'static str,
    /// Where it is served too, and by which method.
    alias_path: &'static str,
    alias_method: Method,
    operation_id: &'static str,
    summary: &'static str,
}

#[derive(Clone, Copy)]
enum Method {
    Post,
    Put,
}

impl Method {
    fn of(self, item: &mut PathItem) -> &mut Option<Operation> {
        match self {
            Method::Post => &mut item.post,
            Method::Put => &mut item.put,
        }
    }
}

/// InfluxDB's write paths, as Telegraf's outputs send to them, and the Pushgateway's `PUT`:
/// the same handler and answers as the documented operation.
const ALIASES: &[Alias] = &[
    Alias {
        path: "/api/v1/push/influx",
        alias_path: "/api/v1/push/influx/write",
        alias_method: Method::Post,
        operation_id: "influx_v1_write",
        summary: "InfluxDB v1's `/write`, as Telegraf's `outputs.influxdb` sends it.",
    },
    Alias {
        path: "/api/v1/push/influx",
        alias_path: "/api/v1/push/influx/api/v2/write",
        alias_method: Method::Post,
        operation_id: "influx_v2_write",
        summary: "InfluxDB v2's `/api/v2/write`, as Telegraf's `outputs.influxdb_v2` sends it.",
    },
    Alias {
        path: "/api/v1/push/prometheus",
        alias_path: "/api/v1/push/prometheus",
        alias_method: Method::Put,
        operation_id: "prometheus_put",
        summary: "As `POST` (the Pushgateway's \"replace\" is a push here).",
    },
    Alias {
        path: "/api/v1/push/prometheus/metrics/{grouping}",
        alias_path: "/api/v1/push/prometheus/metrics/{grouping}",
        alias_method: Method::Put,
        operation_id: "pushgateway_put",
        summary: "`PUT` at the Pushgateway's path: as `POST`.",
    },
];

/// Adds [`ALIASES`] to the document.
struct Aliases;

impl Modify for Aliases {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for alias in ALIASES {
            let Some(mut operation) = openapi
                .paths
                .paths
                .get(alias.path)
                .and_then(|item| item.post.clone())
            else {
                continue;
            };
            operation.operation_id = Some(alias.operation_id.to_string());
            operation.summary = Some(alias.summary.to_string());
            operation.description = None;
            let item = openapi
                .paths
                .paths
                .entry(alias.alias_path.to_string())
                .or_default();
            *alias.alias_method.of(item) = Some(operation);
        }
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
