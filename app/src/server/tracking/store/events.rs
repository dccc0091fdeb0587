//! What happened to a tracker or its source, for the chart's markers.

use super::TrackerView;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::TrackerId;

/// Something that happened to a tracker or its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// `added`, `paused`, `resumed`, `interval`, `failing`, `recovered` or `gone`.
    pub kind: String,
    pub detail: Option<String>,
}

/// The events of tracker `tracker_id` and of its source from `from` to `to`, oldest first:
/// the source's only since the tracker was added. At most 200, the latest.
pub async fn events(
    pool: &PgPool,
    tracker: &TrackerView,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query_as!(
        Event,
        r#"SELECT at AS "at!", kind AS "kind!", detail FROM (
             SELECT at, kind, detail FROM tracker_events
             WHERE tracker_id = $1 AND at >= $3 AND at <= $4
             UNION ALL
             SELECT at, kind, detail FROM source_events
             WHERE source_id = $2 AND at >= greatest($3, $5) AND at <= $4
             ORDER BY at DESC LIMIT 200
         ) AS e ORDER BY at"#,
        tracker.id as TrackerId,
        tracker.source.id,
        from,
        to,
        tracker.created_at,
    )
    .fetch_all(pool)
    .await
}
