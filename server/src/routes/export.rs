//! `GET /api/v1/trackers/{id}/export.csv` and `export.json`: a tracker's samples in a time
//! range, one row per poll time with a column per metric, streamed from PostgreSQL to the
//! client in chunks: memory stays flat however many rows there are, and no database
//! connection is held while the client reads (see `tracking::export`).

use app::{
    domain::{MetricId, Origin, TrackerId},
    server::{
        state::AppState,
        tracking::{
            export::ExportRows,
            store::{self, TrackerView},
        },
    },
};
use axum::{
    body::Body,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{SinkExt, channel::mpsc};
use serde::Deserialize;
use sqlx::PgPool;

use super::{
    errors::{ApiError, ApiQuery, ErrorBody},
    trackers::time_param,
};
use crate::extract::{ApiCaller, ApiPath};
use crate::openapi::{ExportHead, ExportJsonBody, ExportTracker};

/// Bytes gathered before a chunk is sent.
pub(super) const CHUNK: usize = 64 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Comma-separated metric names; all of the tracker's when left out.
    metrics: Option<String>,
    /// RFC 3339, inclusive (default: the first sample).
    from: Option<String>,
    /// RFC 3339, inclusive (default: now).
    to: Option<String>,
}

/// What the export is written as: `export.csv` or `export.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

#[utoipa::path(
    get, path = "/api/v1/trackers/{id}/export.csv", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id."), ExportParams),
    responses(
        (status = 200, description = "`time`, one column per metric, `origin`; one row per sample time.", content_type = "text/csv", body = String),
        (status = 400, description = "A time out of range, or a query string that cannot be read.", body = ErrorBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
        (status = 422, description = "A bad time, an unknown metric, or `from` after `to`.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/trackers/{id}/export.csv`: every sample in the range, streamed.
pub async fn export_csv(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<TrackerId>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    export(state, caller, id, params, Format::Csv).await
}

#[utoipa::path(
    get, path = "/api/v1/trackers/{id}/export.json", tag = "trackers",
    security(("api_token" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "The tracker's id."), ExportParams),
    responses(
        (status = 200, description = "The same rows as the CSV, with the tracker and its metrics.", body = ExportJsonBody),
        (status = 400, description = "A time out of range, or a query string that cannot be read.", body = ErrorBody),
        (status = 404, description = "No such tracker in this workspace.", body = ErrorBody),
        (status = 422, description = "A bad time, an unknown metric, or `from` after `to`.", body = ErrorBody),
    ),
)]
/// `GET /api/v1/trackers/{id}/export.json`: the CSV's rows as JSON arrays, streamed.
pub async fn export_json(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<TrackerId>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    export(state, caller, id, params, Format::Json).await
}

async fn export(
    state: AppState,
    caller: ApiCaller,
    id: TrackerId,
    params: ExportParams,
    format: Format,
) -> Result<Response, ApiError> {
    let tracker = store::get_tracker(&state.pool, caller.workspace_id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let to = time_param("to", params.to.as_deref(), Utc::now())?;
    let from = time_param("from", params.from.as_deref(), DateTime::<Utc>::UNIX_EPOCH)?;
    if from > to {
        return Err(ApiError::invalid("`from` must not be after `to`"));
    }
    let metrics = match params.metrics.as_deref() {
        None | Some("") => tracker.metrics.clone(),
        Some(names) => {
            let mut chosen = Vec::new();
            // A pushed series' labels may hold commas: `signups{plan="pro",region="eu"}`.
            for name in app::domain::push::series::split_series_names(names) {
                let metric = tracker
                    .metrics
                    .iter()
                    .find(|metric| metric.name == name)
                    .ok_or_else(|| {
                        let known: Vec<&str> =
                            tracker.metrics.iter().map(|m| m.name.as_str()).collect();
                        ApiError::invalid(format!(
                            "this tracker has no metric `{name}`; its metrics: {}",
                            known.join(", ")
                        ))
                    })?;
                if !chosen
                    .iter()
                    .any(|known: &store::MetricView| known.id == metric.id)
                {
                    chosen.push(metric.clone());
                }
            }
            chosen
        }
    };
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(stream_rows(
        state.pool.clone(),
        tracker.clone(),
        metrics,
        from,
        to,
        format,
        sender,
    ));
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
    };
    let file_name = format!("{}.{extension}", file_stem(&tracker.label));
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

/// A file name from a label: letters, digits, `-` and `_` only.
pub(super) fn file_stem(label: &str) -> String {
    let stem: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_matches('-').chars().take(80).collect::<String>();
    if stem.is_empty() {
        "tracker".into()
    } else {
        stem
    }
}

/// Writes the start of a streamed JSON body: `head`'s fields (an object), then the list
/// `list`, left open for its items (the caller closes it with `]}`).
pub(super) fn open_json(head: &impl serde::Serialize, list: &str, out: &mut Vec<u8>) {
    let head = serde_json::to_string(head).unwrap_or_else(|_| "{}".to_string());
    let fields = head.strip_suffix('}').unwrap_or(&head);
    out.extend_from_slice(fields.as_bytes());
    if fields != "{" {
        out.push(b',');
    }
    out.extend_from_slice(format!("\"{list}\":[").as_bytes());
}

/// Logs a database error and ends the body with an error.
pub(super) async fn fail(
    sender: &mut mpsc::Sender<Result<Bytes, std::io::Error>>,
    error: sqlx::Error,
) {
    tracing::error!(error = %error, "export failed");
    let _ = sender
        .send(Err(std::io::Error::other("the export failed")))
        .await;
}

/// Writes the rows into `sender` chunk by chunk. A database error mid-way ends the body
/// with an error, so the client sees a failed download, never a silently short file.
async fn stream_rows(
    pool: PgPool,
    tracker: TrackerView,
    metrics: Vec<store::MetricView>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    format: Format,
    mut sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let ids: Vec<MetricId> = metrics.iter().map(|metric| metric.id).collect();
    // Rows before the backfill's boundary came from the upstream's history.
    let before = match store::history_before(&pool, tracker.source.id).await {
        Ok(before) => before,
        Err(error) => return fail(&mut sender, error).await,
    };
    let mut out = Vec::with_capacity(CHUNK * 2);
    let mut csv = CsvChunk::default();
    let mut columns = vec!["time".to_string()];
    columns.extend(metrics.iter().map(|metric| metric.name.clone()));
    columns.push("origin".to_string());
    match format {
        Format::Csv => csv.write(&columns, &mut out),
        Format::Json => {
            let head = ExportHead {
                tracker: ExportTracker {
                    id: tracker.id,
                    label: tracker.label,
                    kind: tracker.source.kind,
                    key: tracker.source.key,
                },
                from,
                to,
                metrics,
                columns,
            };
            open_json(&head, "rows", &mut out);
        }
    }
    let mut rows = ExportRows::new(pool, ids, from, to);
    let mut first_row = true;
    loop {
        match rows.next_row().await {
            Ok(Some((time, values))) => {
                let origin = match before {
                    Some(before) if time < before => Origin::Upstream,
                    _ => Origin::Observed,
                };
                let row = Row {
                    time,
                    values: &values,
                    origin,
                };
                write_row(&mut csv, &mut out, format, &row, &mut first_row);
            }
            Ok(None) => {
                csv.drain_into(&mut out);
                if format == Format::Json {
                    out.extend_from_slice(b"]}");
                }
                let _ = sender.send(Ok(Bytes::from(out))).await;
                return;
            }
            Err(error) => return fail(&mut sender, error).await,
        }
        // Waiting here on a slow client holds no database connection; one that stops
        // reading is cut off by the server's write timeout, which ends this task.
        if out.len() >= CHUNK
            && sender
                .send(Ok(Bytes::from(std::mem::take(&mut out))))
                .await
                .is_err()
        {
            // The client went away.
            return;
        }
    }
}

/// One row of an export: a time, a value per metric, and where they came from.
struct Row<'a> {
    time: DateTime<Utc>,
    values: &'a [Option<f64>],
    origin: Origin,
}

fn write_row(
    csv: &mut CsvChunk,
    out: &mut Vec<u8>,
    format: Format,
    row: &Row<'_>,
    first_row: &mut bool,
) {
    let time = row.time.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let origin = row.origin.key();
    match format {
        Format::Csv => {
            let mut record = vec![time];
            record.extend(
                row.values
                    .iter()
                    .map(|value| value.map(|value| value.to_string()).unwrap_or_default()),
            );
            record.push(origin.to_string());
            csv.write(&record, out);
        }
        Format::Json => {
            if !*first_row {
                out.push(b',');
            }
            let row = serde_json::json!(
                [time]
                    .into_iter()
                    .map(serde_json::Value::from)
                    .chain(row.values.iter().map(|value| serde_json::json!(value)))
                    .chain([serde_json::Value::from(origin)])
                    .collect::<Vec<_>>()
            );
            out.extend_from_slice(row.to_string().as_bytes());
        }
    }
    *first_row = false;
}

/// CSV records on their way into a chunk: one writer for many records (quoting and
/// escaping as the csv crate does), its bytes moved out every [`CsvChunk::RECORDS`].
#[derive(Default)]
pub(super) struct CsvChunk {
    writer: Option<csv::Writer<Vec<u8>>>,
    records: usize,
}

impl CsvChunk {
    const RECORDS: usize = 256;

    pub(super) fn write(&mut self, record: &[String], out: &mut Vec<u8>) {
        let writer = self
            .writer
            .get_or_insert_with(|| csv::Writer::from_writer(Vec::new()));
        if writer.write_record(record).is_ok() {
            self.records += 1;
        }
        if self.records >= Self::RECORDS {
            self.drain_into(out);
        }
    }

    /// Moves every record written so far into `out`.
    pub(super) fn drain_into(&mut self, out: &mut Vec<u8>) {
        self.records = 0;
        if let Some(Ok(mut bytes)) = self.writer.take().map(csv::Writer::into_inner) {
            out.append(&mut bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use app::domain::ProviderKind;
    use app::server::tracking::store::MetricView;

    use super::*;

    /// What the stream writes is what the document's `ExportJsonBody` describes.
    #[test]
    fn a_streamed_json_export_is_its_documented_body() {
        let at = |secs| DateTime::from_timestamp(secs, 0).expect("a time");
        let metric = MetricView {
            id: MetricId(7),
            name: "stars".into(),
            kind: "gauge".into(),
            unit: "stars".into(),
            latest: Some(2.0),
            latest_at: Some(at(1_700_000_000)),
            family: "stars".into(),
            labels: Default::default(),
        };
        let head = || ExportHead {
            tracker: ExportTracker {
                id: TrackerId(uuid::Uuid::nil()),
                label: "Leptos".into(),
                kind: "github.repo".parse::<ProviderKind>().expect("a kind"),
                key: "leptos-rs/leptos".into(),
            },
            from: at(0),
            to: at(1_700_000_000),
            metrics: vec![metric.clone()],
            columns: vec!["time".into(), "stars".into(), "origin".into()],
        };
        for rows in [
            vec![],
            vec![
                (at(1_600_000_000), vec![Some(1.5)]),
                (at(1_600_000_060), vec![None]),
            ],
        ] {
            let mut out = Vec::new();
            open_json(&head(), "rows", &mut out);
            let mut first = true;
            for (time, values) in &rows {
                let row = Row {
                    time: *time,
                    values,
                    origin: Origin::Observed,
                };
                write_row(
                    &mut CsvChunk::default(),
                    &mut out,
                    Format::Json,
                    &row,
                    &mut first,
                );
            }
            out.extend_from_slice(b"]}");
            let streamed: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
            let documented = serde_json::to_value(ExportJsonBody {
                head: head(),
                rows: rows
                    .iter()
                    .map(|(time, values)| {
                        let mut row = vec![serde_json::Value::from(
                            time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                        )];
                        row.extend(values.iter().map(|value| serde_json::json!(value)));
                        row.push("observed".into());
                        row
                    })
                    .collect(),
            })
            .expect("serializes");
            assert_eq!(streamed, documented);
        }
    }
}
