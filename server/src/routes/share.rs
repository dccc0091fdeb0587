//! Public sharing: the owner shares a tracker (`POST /api/v1/trackers/{id}/share`) and gets
//! an unguessable link to a read-only page (`/s/{token}`, a Leptos page) and a live SVG
//! badge (`/badge/{token}.svg`) to embed in a README. `DELETE …/share` revokes both at once.

use app::{
    domain::TrackerId,
    server::{state::AppState, tracking::store},
};
use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::errors::{ApiError, ErrorBody};
use crate::{
    extract::{ApiPath, ApiWriter},
    openapi::{ShareBody, ShareLinks},
};

fn links(state: &AppState, token: &str) -> ShareLinks {
    let origin = &state.web.public_origin;
    ShareLinks {
        token: token.to_string(),
        page_url: format!("{origin}/s/{token}"),
        badge_url: format!("{origin}/badge/{token}.svg"),
    }
}

#[utoipa::path(
    post, path = "/api/v1/trackers/{id}/share", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id.")),
    responses(
        (status = 200, description = "Shared: its public page and badge.", body = ShareBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/trackers/{id}/share`: shares the tracker (the same link when it already
/// is) and answers its links.
pub async fn share(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<TrackerId>,
) -> Result<Response, ApiError> {
    let token = store::share_tracker(&state.pool, caller.workspace_id, id, caller.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(ShareBody {
        share: links(&state, &token),
    })
    .into_response())
}

#[utoipa::path(
    delete, path = "/api/v1/trackers/{id}/share", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id.")),
    responses(
        (status = 204, description = "No longer shared."),
        (status = 404, description = "No such tracker in this workspace, or not shared.", body = ErrorBody),
    ),
)]
/// `DELETE /api/v1/trackers/{id}/share`: the page and the badge answer 404 from now on.
pub async fn unshare(
    State(state): State<AppState>,
    ApiWriter(caller): ApiWriter,
    ApiPath(id): ApiPath<TrackerId>,
) -> Result<Response, ApiError> {
    if store::unshare_tracker(&state.pool, caller.workspace_id, id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found())
    }
}

/// `GET /badge/{token}.svg`: the tracker's label and its first metric's latest value,
/// cached by browsers and CDNs for five minutes.
pub async fn badge(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "Not found",
        )
            .into_response()
    };
    let Some(token) = file.strip_suffix(".svg") else {
        return not_found();
    };
    if token.is_empty() || token.len() > 64 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return not_found();
    }
    let tracker = match store::shared_tracker(&state.pool, token).await {
        Ok(Some(tracker)) => tracker,
        Ok(None) => return not_found(),
        Err(error) => {
            tracing::error!(error = %error, "could not draw a badge");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CACHE_CONTROL, "no-store")],
                "Please try again later.",
            )
                .into_response();
        }
    };
    let metric = tracker.metrics.first();
    let value = match metric.and_then(|metric| metric.latest) {
        Some(value) => {
            let unit = metric
                .map(|metric| metric.unit.as_str())
                .unwrap_or_default();
            let shown = compact_number(value);
            if unit.is_empty() {
                shown
            } else {
                format!("{shown} {unit}")
            }
        }
        None => "no data yet".to_string(),
    };
    let svg = render_badge(&tracker.label, &value);
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        svg,
    )
        .into_response()
}

/// 19000 → 19k, 1_534_000 → 1.53M, 0.97 → 0.97.
pub fn compact_number(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e12 {
        (value / 1e12, "T")
    } else if magnitude >= 1e9 {
        (value / 1e9, "B")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e4 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.abs() >= 100.0 || scaled.fract() == 0.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{suffix}")
}

fn escape(text: &str) -> String {
    text.chars()
        .take(60)
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c if c.is_control() => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// A flat two-part badge (label | value) in the style READMEs are used to.
fn render_badge(label: &str, value: &str) -> String {
    // Verdana 11px averages about 7 px a character.
    let width = |text: &str| 10 + 7 * text.chars().count().min(60) as u32;
    let (label_width, value_width) = (width(label), width(value));
    let total = label_width + value_width;
    let (label, value) = (escape(label), escape(value));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {value}"><title>{label}: {value}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{label_width}" height="20" fill="#555"/><rect x="{label_width}" width="{value_width}" height="20" fill="#3b5bdb"/><rect width="{total}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="{label_x}" y="14">{label}</text><text x="{value_x}" y="14">{value}</text></g></svg>"##,
        label_x = label_width / 2,
        value_x = label_width + value_width / 2,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact() {
        assert_eq!(compact_number(19_000.0), "19k");
        assert_eq!(compact_number(1_534_000.0), "1.53M");
        assert_eq!(compact_number(0.97), "0.97");
        assert_eq!(compact_number(111.0), "111");
        assert_eq!(compact_number(12_345.0), "12.3k");
        assert_eq!(compact_number(5_000_000_000.0), "5B");
    }

    #[test]
    fn badges_escape_what_they_show() {
        let svg = render_badge("<script>&\"", "1");
        assert!(svg.contains("&lt;script&gt;&amp;&quot;"));
        assert!(!svg.contains("<script>"));
    }
}
