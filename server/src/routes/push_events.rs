//! Events: `POST /api/v1/events` (authenticated by a push source's token, as
//! `POST /api/v1/push` is; counted into its `events_total{type="…"}` series and kept
//! raw), and `GET /api/v1/push-sources/{id}/events.csv` and `events.json`, the kept
//! events of one of the caller's workspace's push sources in a time range, streamed a
//! page at a time (no connection held while the client reads).

use app::{
    domain::{PushSourceId, push::events},
    server::{
        push::{self, EventCursor, StoredEvent},
        state::AppState,
    },
};
use axum::{
    body::{Body, Bytes},
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{SinkExt, channel::mpsc};
use serde::Deserialize;
use sqlx::PgPool;

use super::{
    errors::{ApiError, ApiQuery, ErrorBody},
    export::{CHUNK, CsvChunk, Format, fail, file_stem, open_json},
    push::{
        PushRefusedBody, answer, bearer_token, no_such_push_source, push_body, push_source_of,
        unreadable_body,
    },
    trackers::time_param,
};
use crate::{
    extract::{ApiCaller, ApiPath},
    openapi::{EventRow, EventsHead, EventsJsonBody, EventsPushSource, PushEvent},
};

/// Events read per page of an export.
const PAGE: i64 = 2_000;

#[utoipa::path(
    post, path = "/api/v1/events", tag = "push",
    security(("push_token" = [])),
    request_body(content = Vec<PushEvent>, description = "Up to 5,000 events; any content type.", content_type = "application/json"),
    responses(
        (status = 200, description = "What was stored, what was already there, and every line refused with why.", body = app::server::push::PushAnswer),
        (status = 400, description = "Every point was refused, or the body could not be read at all: nothing stored.", body = PushRefusedBody),
        (status = 409, description = "The push source's tracker is paused or ended.", body = ErrorBody),
        (status = 413, description = "A body over the push limit.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/events` with `Authorization: Bearer upp_…`: a JSON array of events (see
/// `app::domain::push::events`), answered as a push is.
pub async fn push_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let source = push_source_of(&state, bearer_token(&headers)).await?;
    let body = push_body(body)?;
    let batch = match events::parse(&body) {
        Ok(batch) => batch,
        Err(message) => return Ok(unreadable_body(&message)),
    };
    Ok(answer(
        push::store_events(&state.pool, &source, batch, now).await,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// RFC 3339, inclusive (default: the first kept event).
    from: Option<String>,
    /// RFC 3339, inclusive (default: now).
    to: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/push-sources/{id}/events.csv", tag = "push",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The push source's id."), EventsParams),
    responses(
        (status = 200, description = "`t`, `type`, the properties as JSON: one row per kept event.", content_type = "text/csv", body = String),
        (status = 400, description = "A time out of range, or a query string that cannot be read.", body = ErrorBody),
        (status = 404, description = "No such push source in this workspace.", body = ErrorBody),
        (status = 422, description = "A bad time, or `from` after `to`.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/push-sources/{id}/events.csv` (`from`, `to`: RFC 3339, both inclusive;
/// all kept events by default).
pub async fn export_events_csv(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<PushSourceId>,
    ApiQuery(params): ApiQuery<EventsParams>,
) -> Result<Response, ApiError> {
    export_events(state, caller, id, params, Format::Csv).await
}

#[utoipa::path(
    get, path = "/api/v1/push-sources/{id}/events.json", tag = "push",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The push source's id."), EventsParams),
    responses(
        (status = 200, description = "The push source, the range and its kept events.", body = EventsJsonBody),
        (status = 400, description = "A time out of range, or a query string that cannot be read.", body = ErrorBody),
        (status = 404, description = "No such push source in this workspace.", body = ErrorBody),
        (status = 422, description = "A bad time, or `from` after `to`.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/push-sources/{id}/events.json`: as the CSV, as JSON.
pub async fn export_events_json(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<PushSourceId>,
    ApiQuery(params): ApiQuery<EventsParams>,
) -> Result<Response, ApiError> {
    export_events(state, caller, id, params, Format::Json).await
}

async fn export_events(
    state: AppState,
    caller: ApiCaller,
    id: PushSourceId,
    params: EventsParams,
    format: Format,
) -> Result<Response, ApiError> {
    let source = push::get_push_source(&state.pool, caller.workspace_id, id)
        .await?
        .ok_or_else(no_such_push_source)?;
    let to = time_param("to", params.to.as_deref(), Utc::now())?;
    let from = time_param("from", params.from.as_deref(), DateTime::<Utc>::UNIX_EPOCH)?;
    if from > to {
        return Err(ApiError::invalid("`from` must not be after `to`"));
    }
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let head = EventsHead {
        push_source: EventsPushSource {
            id: source.id,
            name: source.name.clone(),
            tracker_id: source.tracker_id,
        },
        from,
        to,
    };
    tokio::spawn(stream_events(Stream {
        pool: state.pool.clone(),
        workspace_id: caller.workspace_id,
        id,
        from,
        to,
        format,
        head,
        sender,
    }));
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
    };
    let file_name = format!("{}-events.{extension}", file_stem(&source.name));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(receiver),
    )
        .into_response())
}

/// What one export streams.
struct Stream {
    pool: PgPool,
    workspace_id: app::domain::WorkspaceId,
    id: PushSourceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    format: Format,
    head: EventsHead,
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

/// Writes the events into the body page by page: CSV `time,type,properties` (the
/// properties as JSON), or JSON `{"push_source", "from", "to", "events": [{"t", "type",
/// "properties"}]}`. A database error mid-way ends the body with an error, so the client
/// sees a failed download, never a silently short file.
async fn stream_events(mut stream: Stream) {
    let mut out = Vec::with_capacity(CHUNK * 2);
    let mut csv = CsvChunk::default();
    match stream.format {
        Format::Csv => csv.write(
            &["time".into(), "type".into(), "properties".into()],
            &mut out,
        ),
        Format::Json => open_json(&stream.head, "events", &mut out),
    }
    let mut after: Option<EventCursor> = None;
    let mut first = true;
    loop {
        let page = match push::events_page(
            &stream.pool,
            stream.workspace_id,
            stream.id,
            stream.from,
            stream.to,
            after,
            PAGE,
        )
        .await
        {
            Ok(page) => page,
            Err(error) => return fail(&mut stream.sender, error).await,
        };
        let last_page = page.len() < PAGE as usize;
        after = page.last().map(|event| (event.t, event.id)).or(after);
        for event in &page {
            write_event(&mut csv, &mut out, stream.format, event, &mut first);
        }
        if last_page {
            csv.drain_into(&mut out);
            if stream.format == Format::Json {
                out.extend_from_slice(b"]}");
            }
            let _ = stream.sender.send(Ok(Bytes::from(out))).await;
            return;
        }
        csv.drain_into(&mut out);
        if out.len() >= CHUNK
            && stream
                .sender
                .send(Ok(Bytes::from(std::mem::take(&mut out))))
                .await
                .is_err()
        {
            // The client went away.
            return;
        }
    }
}

fn write_event(
    csv: &mut CsvChunk,
    out: &mut Vec<u8>,
    format: Format,
    event: &StoredEvent,
    first: &mut bool,
) {
    match format {
        Format::Csv => csv.write(
            &[
                event.t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                event.kind.clone(),
                event.properties.to_string(),
            ],
            out,
        ),
        Format::Json => {
            if !*first {
                out.push(b',');
            }
            let row = EventRow {
                t: event.t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                kind: &event.kind,
                properties: &event.properties,
            };
            // Cannot fail: string keys only.
            if let Ok(row) = serde_json::to_vec(&row) {
                out.extend_from_slice(&row);
            }
        }
    }
    *first = false;
}
