//! `GET /api/v1/metrics`: a workspace's latest values in Prometheus's text format, for the
//! customer's Prometheus to scrape (a read token, as a bearer token or as the password of
//! HTTP basic auth).
//!
//! Two gauge families, a series per tracker (and metric):
//!
//! ```text
//! upcount_value{tracker="<id>",label="<label>",kind="github.repo",key="leptos-rs/leptos",metric="stars"} 19000
//! upcount_last_poll_timestamp_seconds{tracker="<id>",label="<label>",kind="github.repo",key="leptos-rs/leptos"} 1764547200
//! ```
//!
//! **No sample timestamps.** A sample with its own timestamp is only found by a query
//! within Prometheus's lookback (5 minutes) of that time, so a tracker polled every 15
//! minutes would vanish from instant queries and graphs for 10 minutes in 15; it also
//! opts the series out of staleness handling (a deleted tracker would linger for 5
//! minutes), and a source that stopped answering would send ever older timestamps, which
//! Prometheus refuses as out of bounds. Without them, each scrape records the latest
//! value at the scrape's time, like any gauge, and a tracker that goes away is marked
//! stale at the next scrape. How old a value is reads from
//! `upcount_last_poll_timestamp_seconds` (`time() - upcount_last_poll_timestamp_seconds`).
//!
//! **Paused and ended trackers are left out**: nothing is being tracked for them, so their
//! series end (stale) instead of repeating an old value, and they come back when the
//! tracker is resumed. Trackers whose source is failing or gone stay in, with their last
//! value and an ageing last poll, which is what an alert on staleness needs.
//!
//! Trackers with no value yet have no `upcount_value` series, and no
//! `upcount_last_poll_timestamp_seconds` before their first successful poll.

use app::{
    domain::exported_labels::exported_labels,
    server::{
        state::AppState,
        tracking::store::{ScrapedTracker, scrape_trackers},
    },
};
use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use super::errors::json_error;
use crate::{
    exposition::{self, Exposition, MetricType},
    extract::PromCaller,
};

/// The family of the latest values.
pub const VALUE: &str = "upcount_value";
/// The family of the last successful polls.
pub const LAST_POLL: &str = "upcount_last_poll_timestamp_seconds";

#[utoipa::path(
    get, path = "/api/v1/metrics", tag = "prometheus",
    security(("api_token" = []), ("basic_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Every tracker's latest values as `upcount_value` gauges, and `upcount_last_poll_timestamp_seconds`.",
            content_type = "text/plain; version=0.0.4", body = String),
    ),
)]
/// `GET /api/v1/metrics`.
pub async fn metrics(State(state): State<AppState>, PromCaller(caller): PromCaller) -> Response {
    match scrape_trackers(&state.pool, caller.workspace_id).await {
        Ok(trackers) => (
            [(header::CONTENT_TYPE, exposition::CONTENT_TYPE)],
            render(&trackers),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(error = %error, workspace.id = %caller.workspace_id, "could not read the values to scrape");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
        }
    }
}

/// The exposition of `trackers`: each family's help and type, then its samples, trackers
/// in the order given.
pub fn render(trackers: &[ScrapedTracker]) -> String {
    let mut out = Exposition::new();
    out.family(
        VALUE,
        MetricType::Gauge,
        "The latest value of each metric of each tracker of the workspace.",
    );
    for tracker in trackers {
        let id = tracker.id.to_string();
        for value in &tracker.values {
            let labels = exported_labels(
                &id,
                &tracker.label,
                tracker.kind.as_str(),
                &tracker.key,
                &value.metric,
                &value.labels,
            );
            let labels: Vec<(&str, &str)> = labels
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            out.sample(VALUE, &labels, value.value);
        }
    }
    out.family(
        LAST_POLL,
        MetricType::Gauge,
        "When the tracker's source was last polled successfully, in seconds since the Unix epoch.",
    );
    for tracker in trackers {
        let Some(at) = tracker.last_success_at else {
            continue;
        };
        let id = tracker.id.to_string();
        out.sample(
            LAST_POLL,
            &[
                ("tracker", &id),
                ("label", &tracker.label),
                ("kind", tracker.kind.as_str()),
                ("key", &tracker.key),
            ],
            at.timestamp_millis() as f64 / 1000.0,
        );
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use app::{
        domain::{ProviderKind, TrackerId},
        server::tracking::store::ScrapedValue,
    };
    use chrono::{TimeZone, Utc};

    use super::*;

    fn tracker(id: u128, label: &str, values: &[(&str, f64)]) -> ScrapedTracker {
        let at = Utc.timestamp_millis_opt(1_764_547_200_250).unwrap();
        ScrapedTracker {
            id: TrackerId(uuid::Uuid::from_u128(id)),
            label: label.to_string(),
            kind: "github.repo".parse::<ProviderKind>().unwrap(),
            key: "leptos-rs/leptos".to_string(),
            last_success_at: Some(at),
            values: values
                .iter()
                .map(|(metric, value)| ScrapedValue {
                    metric: metric.to_string(),
                    labels: Default::default(),
                    value: *value,
                    at,
                })
                .collect(),
        }
    }

    #[test]
    fn every_value_then_every_last_poll() {
        let mut never_polled = tracker(2, "new \"one\"\n\\", &[]);
        never_polled.last_success_at = None;
        let text = render(&[
            tracker(1, "Leptos", &[("stars", 19000.0), ("forks", 0.5)]),
            never_polled,
        ]);
        assert_eq!(
            text,
            "# HELP upcount_value The latest value of each metric of each tracker of the workspace.\n\
             # TYPE upcount_value gauge\n\
             upcount_value{tracker=\"00000000-0000-0000-0000-000000000001\",label=\"Leptos\",kind=\"github.repo\",key=\"leptos-rs/leptos\",metric=\"stars\"} 19000\n\
             upcount_value{tracker=\"00000000-0000-0000-0000-000000000001\",label=\"Leptos\",kind=\"github.repo\",key=\"leptos-rs/leptos\",metric=\"forks\"} 0.5\n\
             # HELP upcount_last_poll_timestamp_seconds When the tracker's source was last polled successfully, in seconds since the Unix epoch.\n\
             # TYPE upcount_last_poll_timestamp_seconds gauge\n\
             upcount_last_poll_timestamp_seconds{tracker=\"00000000-0000-0000-0000-000000000001\",label=\"Leptos\",kind=\"github.repo\",key=\"leptos-rs/leptos\"} 1764547200.25\n"
        );
    }

    #[test]
    fn labels_are_escaped() {
        let text = render(&[tracker(3, "a \"b\"\nc\\d", &[("stars", 1.0)])]);
        assert!(
            text.contains(r#"label="a \"b\"\nc\\d""#),
            "escaped label in {text}"
        );
    }

    #[test]
    fn an_empty_workspace_has_the_families_only() {
        let text = render(&[]);
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.lines().all(|line| line.starts_with('#')), "{text}");
    }
}
