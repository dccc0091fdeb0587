//! Containers, their items, watches and what each watch did with each item, in
//! PostgreSQL. Every watch query is scoped to a workspace; containers are shared and
//! never reached except through a watch (or a claim).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, PgPool};

use crate::domain::{
    TrackerId, WatchId, WorkspaceId,
    watch::{WatchItemState, WatchItemView, WatchView},
};
use crate::server::tracking::providers::{self, ContainerInfo, ContainerItem};

/// A container's id (`watch_containers.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct ContainerId(pub i64);

/// A claim on a container: read for the job holding it, until `lease` (which also tells
/// this claim from a later one). Travels in `read_container` jobs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ContainerClaim {
    pub id: ContainerId,
    pub lease: DateTime<Utc>,
}

/// A container as a read needs it.
#[derive(Debug, Clone)]
pub struct ContainerRow {
    pub id: ContainerId,
    pub kind: String,
    pub key: String,
    pub config: serde_json::Value,
    pub title: String,
    pub consecutive_failures: i32,
}

/// A watch as applying it needs it: the template and the container's title.
#[derive(Debug, Clone)]
pub struct WatchRow {
    pub id: WatchId,
    pub workspace_id: WorkspaceId,
    pub container_title: String,
    pub poll_every_secs: i32,
    pub interval_secs: Option<i32>,
    pub track_for_days: Option<i32>,
    pub label: Option<String>,
    pub alerts: serde_json::Value,
    pub min_score: Option<f64>,
    pub top_per_day: Option<i32>,
    pub created_by: Option<uuid::Uuid>,
}

/// An item of a container a watch has not dealt with yet.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub key: String,
    pub url: String,
    pub title: String,
    pub published_at: Option<DateTime<Utc>>,
    pub score: Option<f64>,
    pub first_seen_at: DateTime<Utc>,
    /// Skipped at the plan's limit before: tried again while there is room.
    pub skipped: bool,
}

/// The container of `kind` and `key`, when some watch ever followed it.
pub async fn find_container(
    executor: impl PgExecutor<'_>,
    kind: &str,
    key: &str,
) -> Result<Option<(ContainerId, bool)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id, last_read_at IS NOT NULL AS "read!" FROM watch_containers
           WHERE kind = $1 AND key = $2"#,
        kind,
        key,
    )
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|row| (ContainerId(row.id), row.read)))
}

/// Creates the container `info` describes, or refreshes its title and link.
pub async fn upsert_container(
    executor: impl PgExecutor<'_>,
    kind: &str,
    info: &ContainerInfo,
) -> Result<ContainerId, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "INSERT INTO watch_containers (kind, key, config, title, url)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kind, key) DO UPDATE
             SET config = EXCLUDED.config, title = EXCLUDED.title, url = EXCLUDED.url
         RETURNING id",
        kind,
        info.key,
        info.config,
        info.title,
        info.url,
    )
    .fetch_one(executor)
    .await?;
    Ok(ContainerId(id))
}

/// Claims up to `limit` due containers for `lease`.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<ContainerClaim>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"UPDATE watch_containers c SET leased_until = now() + make_interval(secs => $2)
           WHERE c.id IN (SELECT id FROM watch_containers
                          WHERE next_read_at <= now()
                            AND (leased_until IS NULL OR leased_until < now())
                          ORDER BY next_read_at LIMIT $1
                          FOR UPDATE SKIP LOCKED)
           RETURNING c.id, c.leased_until AS "lease!""#,
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ContainerClaim {
            id: ContainerId(row.id),
            lease: row.lease,
        })
        .collect())
}

/// Claims container `id` now for `lease`, whether due or not; `None` while another read
/// holds it.
pub async fn claim_now(
    pool: &PgPool,
    id: ContainerId,
    lease: std::time::Duration,
) -> Result<Option<ContainerClaim>, sqlx::Error> {
    let lease_until = sqlx::query_scalar!(
        r#"UPDATE watch_containers SET leased_until = now() + make_interval(secs => $2)
           WHERE id = $1 AND (leased_until IS NULL OR leased_until < now())
           RETURNING leased_until AS "lease!""#,
        id.0,
        lease.as_secs_f64(),
    )
    .fetch_optional(pool)
    .await?;
    Ok(lease_until.map(|lease| ContainerClaim { id, lease }))
}

/// The claimed container, while the claim holds.
pub async fn load_claimed(
    pool: &PgPool,
    claim: ContainerClaim,
) -> Result<Option<ContainerRow>, sqlx::Error> {
    sqlx::query_as!(
        ContainerRow,
        r#"SELECT id AS "id: _", kind, key, config, title, consecutive_failures
           FROM watch_containers WHERE id = $1 AND leased_until = $2"#,
        claim.id.0,
        claim.lease,
    )
    .fetch_optional(pool)
    .await
}

/// Saves what a read listed: new items, and the titles and scores of known ones.
pub async fn save_items(
    connection: &mut PgConnection,
    id: ContainerId,
    items: &[ContainerItem],
) -> Result<(), sqlx::Error> {
    let keys: Vec<String> = items.iter().map(|item| item.key.clone()).collect();
    let urls: Vec<String> = items.iter().map(|item| item.url.clone()).collect();
    let titles: Vec<String> = items.iter().map(|item| item.title.clone()).collect();
    let published: Vec<Option<DateTime<Utc>>> =
        items.iter().map(|item| item.published_at).collect();
    let scores: Vec<Option<f64>> = items.iter().map(|item| item.score).collect();
    sqlx::query!(
        "INSERT INTO container_items (container_id, key, url, title, published_at, score)
         SELECT $1::int8, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[],
                                  $6::float8[])
         ON CONFLICT (container_id, key) DO UPDATE
             SET url = EXCLUDED.url, title = EXCLUDED.title,
                 published_at = EXCLUDED.published_at, score = EXCLUDED.score,
                 last_seen_at = now()",
        id.0,
        &keys,
        &urls,
        &titles,
        &published as &[Option<DateTime<Utc>>],
        &scores as &[Option<f64>],
    )
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Records a successful read: no failures, read now.
pub async fn read_succeeded(
    connection: &mut PgConnection,
    claim: ContainerClaim,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE watch_containers SET last_read_at = now(), consecutive_failures = 0,
                                     last_error = NULL, last_error_at = NULL
         WHERE id = $1 AND leased_until = $2",
        claim.id.0,
        claim.lease,
    )
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Records a failed read and when to try again (`retry_in`), and gives the claim back.
pub async fn read_failed(
    pool: &PgPool,
    claim: ContainerClaim,
    error: &str,
    retry_in: std::time::Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE watch_containers
         SET consecutive_failures = consecutive_failures + 1, last_error = $3,
             last_error_at = now(), leased_until = NULL,
             next_read_at = CASE WHEN next_read_at IS NULL THEN NULL
                                 ELSE now() + make_interval(secs => $4) END
         WHERE id = $1 AND leased_until = $2",
        claim.id.0,
        claim.lease,
        error,
        retry_in.as_secs_f64(),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The watches of container `id` to apply after a read: the due ones that are not paused,
/// plus `also` (asked for now).
pub async fn watches_to_apply(
    executor: impl PgExecutor<'_>,
    id: ContainerId,
    also: Option<WatchId>,
) -> Result<Vec<WatchRow>, sqlx::Error> {
    sqlx::query_as!(
        WatchRow,
        r#"SELECT w.id AS "id: WatchId", w.workspace_id AS "workspace_id: WorkspaceId",
                  c.title AS container_title, w.poll_every_secs, w.interval_secs,
                  w.track_for_days, w.label, w.alerts, w.min_score, w.top_per_day,
                  w.created_by
           FROM watches w JOIN watch_containers c ON c.id = w.container_id
           WHERE w.container_id = $1 AND NOT w.paused
             AND (w.next_poll_at <= now() OR w.id = $2)
           ORDER BY w.created_at"#,
        id.0,
        also.map(WatchId::uuid),
    )
    .fetch_all(executor)
    .await
}

/// The items of the watch's container it has not dealt with, and those it skipped at the
/// plan's limit, oldest first.
pub async fn new_items(
    executor: impl PgExecutor<'_>,
    watch: WatchId,
) -> Result<Vec<NewItem>, sqlx::Error> {
    sqlx::query_as!(
        NewItem,
        r#"SELECT ci.key, ci.url, ci.title, ci.published_at, ci.score, ci.first_seen_at,
                  wi.state IS NOT NULL AS "skipped!"
           FROM watches w JOIN container_items ci ON ci.container_id = w.container_id
           LEFT JOIN watch_items wi ON wi.watch_id = w.id AND wi.item_key = ci.key
           WHERE w.id = $1 AND (wi.state IS NULL OR wi.state = 'skipped')
           ORDER BY ci.published_at NULLS FIRST, ci.first_seen_at, ci.key"#,
        watch.uuid(),
    )
    .fetch_all(executor)
    .await
}

/// The keys of the `n` best-scoring items the watch's container published in the 24 hours
/// before `now`: "the day's top N".
pub async fn day_top(
    executor: impl PgExecutor<'_>,
    watch: WatchId,
    n: i32,
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT ci.key
         FROM watches w JOIN container_items ci ON ci.container_id = w.container_id
         WHERE w.id = $1 AND ci.score IS NOT NULL
           AND coalesce(ci.published_at, ci.first_seen_at) > $3::timestamptz - interval '24 hours'
         ORDER BY ci.score DESC, ci.published_at, ci.key
         LIMIT $2",
        watch.uuid(),
        i64::from(n),
        now,
    )
    .fetch_all(executor)
    .await
}

/// Records what the watch did with an item, once: a second record of one item is
/// ignored, except that a skipped item may later be tracked (or fail).
pub async fn record_item(
    executor: impl PgExecutor<'_>,
    watch: WatchId,
    item: &NewItem,
    state: WatchItemState,
    tracker: Option<TrackerId>,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO watch_items (watch_id, item_key, state, tracker_id, url, title, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (watch_id, item_key) DO UPDATE
             SET state = EXCLUDED.state, tracker_id = EXCLUDED.tracker_id,
                 detail = EXCLUDED.detail, at = now()
             WHERE watch_items.state = 'skipped' AND EXCLUDED.state <> 'skipped'",
        watch.uuid(),
        item.key,
        state.key(),
        tracker.map(TrackerId::uuid),
        item.url,
        item.title,
        detail,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Marks every item the container lists now as there before watch `watch` began.
pub async fn record_existing(
    executor: impl PgExecutor<'_>,
    watch: WatchId,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO watch_items (watch_id, item_key, state, url, title)
         SELECT w.id, ci.key, 'existing', ci.url, ci.title
         FROM watches w JOIN container_items ci ON ci.container_id = w.container_id
         WHERE w.id = $1
         ON CONFLICT (watch_id, item_key) DO NOTHING",
        watch.uuid(),
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The watch looked now: next at its interval.
pub async fn watch_applied(
    executor: impl PgExecutor<'_>,
    watch: WatchId,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE watches SET last_polled_at = now(),
                            next_poll_at = now() + make_interval(secs => poll_every_secs)
         WHERE id = $1",
        watch.uuid(),
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Schedules container `id` at the earliest next look of its watches (none when every
/// watch is paused or gone) and gives the claim back.
pub async fn reschedule(executor: impl PgExecutor<'_>, id: ContainerId) -> Result<(), sqlx::Error> {
    schedule(executor, id, true).await
}

/// A new watch of container `container` for the workspace; `Err(existing)` when the
/// workspace already watches it.
#[allow(clippy::too_many_arguments)]
pub async fn insert_watch(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
    container: ContainerId,
    template: &Template,
    created_by: Option<uuid::Uuid>,
) -> Result<Result<WatchId, WatchId>, sqlx::Error> {
    let created = sqlx::query_scalar!(
        r#"INSERT INTO watches (workspace_id, container_id, poll_every_secs, interval_secs,
                                track_for_days, label, alerts, min_score, top_per_day,
                                created_by, next_poll_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                   now() + make_interval(secs => $3::int4))
           ON CONFLICT (workspace_id, container_id) DO NOTHING
           RETURNING id AS "id: WatchId""#,
        workspace_id as WorkspaceId,
        container.0,
        template.poll_every_secs,
        template.interval_secs,
        template.track_for_days,
        template.label.as_ref().map(|label| label.as_str()),
        serde_json::Value::Array(template.alerts.clone()),
        template.min_score,
        template.top_per_day,
        created_by,
    )
    .fetch_optional(&mut *connection)
    .await?;
    if let Some(id) = created {
        return Ok(Ok(id));
    }
    let existing = sqlx::query_scalar!(
        r#"SELECT id AS "id: WatchId" FROM watches WHERE workspace_id = $1 AND container_id = $2"#,
        workspace_id as WorkspaceId,
        container.0,
    )
    .fetch_one(&mut *connection)
    .await?;
    Ok(Err(existing))
}

/// What a watch makes its trackers from, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub poll_every_secs: i32,
    pub interval_secs: Option<i32>,
    pub track_for_days: Option<i32>,
    pub label: Option<crate::domain::watch::LabelPattern>,
    /// Each rule as `RuleSpec::to_json` writes it.
    pub alerts: Vec<serde_json::Value>,
    pub min_score: Option<f64>,
    pub top_per_day: Option<i32>,
}

/// Saves the template and the pause of watch `id` of the workspace; `false` when there is
/// no such watch. The next look moves to the new interval.
pub async fn update_watch(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
    id: WatchId,
    template: &Template,
    paused: bool,
) -> Result<bool, sqlx::Error> {
    let container = sqlx::query_scalar!(
        "UPDATE watches SET poll_every_secs = $3, interval_secs = $4, track_for_days = $5,
                            label = $6, alerts = $7, min_score = $8, paused = $9,
                            top_per_day = $10,
                            next_poll_at = coalesce(last_polled_at, created_at)
                                           + make_interval(secs => $3::int4)
         WHERE workspace_id = $1 AND id = $2
         RETURNING container_id",
        workspace_id as WorkspaceId,
        id.uuid(),
        template.poll_every_secs,
        template.interval_secs,
        template.track_for_days,
        template.label.as_ref().map(|label| label.as_str()),
        serde_json::Value::Array(template.alerts.clone()),
        template.min_score,
        paused,
        template.top_per_day,
    )
    .fetch_optional(&mut *connection)
    .await?;
    let Some(container) = container else {
        return Ok(false);
    };
    schedule_container(&mut *connection, ContainerId(container)).await?;
    Ok(true)
}

/// Schedules container `id` at the earliest next look of its active watches, keeping a
/// running read's claim.
pub async fn schedule_container(
    executor: impl PgExecutor<'_>,
    id: ContainerId,
) -> Result<(), sqlx::Error> {
    schedule(executor, id, false).await
}

/// Schedules container `id` at the earliest next look of its active watches, and gives
/// its claim back when `release`.
async fn schedule(
    executor: impl PgExecutor<'_>,
    id: ContainerId,
    release: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE watch_containers c
         SET next_read_at = (SELECT min(w.next_poll_at) FROM watches w
                             WHERE w.container_id = c.id AND NOT w.paused),
             leased_until = CASE WHEN $2 THEN NULL ELSE c.leased_until END
         WHERE c.id = $1",
        id.0,
        release,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The template and pause of watch `id` of the workspace.
pub async fn load_template(
    executor: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    id: WatchId,
) -> Result<Option<(Template, bool)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT poll_every_secs, interval_secs, track_for_days, label, alerts, min_score,
                top_per_day, paused
         FROM watches WHERE workspace_id = $1 AND id = $2",
        workspace_id as WorkspaceId,
        id.uuid(),
    )
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|row| {
        let template = Template {
            poll_every_secs: row.poll_every_secs,
            interval_secs: row.interval_secs,
            track_for_days: row.track_for_days,
            // Saved checked.
            label: row
                .label
                .and_then(|label| crate::domain::watch::LabelPattern::parse(&label).ok()),
            alerts: row.alerts.as_array().cloned().unwrap_or_default(),
            min_score: row.min_score,
            top_per_day: row.top_per_day,
        };
        (template, row.paused)
    }))
}

/// Deletes watch `id` of the workspace (its trackers stay); `false` when there is none.
pub async fn delete_watch(
    connection: &mut PgConnection,
    workspace_id: WorkspaceId,
    id: WatchId,
) -> Result<bool, sqlx::Error> {
    let container = sqlx::query_scalar!(
        "DELETE FROM watches WHERE workspace_id = $1 AND id = $2 RETURNING container_id",
        workspace_id as WorkspaceId,
        id.uuid(),
    )
    .fetch_optional(&mut *connection)
    .await?;
    let Some(container) = container else {
        return Ok(false);
    };
    schedule_container(&mut *connection, ContainerId(container)).await?;
    Ok(true)
}

/// What asking a watch to look now found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookNow {
    /// Its container, to read now.
    Read(ContainerId),
    NotFound,
    /// Asked less than a minute ago: again after this many seconds.
    TooSoon(i64),
}

/// A watch looks now at most this often.
pub const LOOK_NOW_EVERY: i64 = 60;

/// Takes a "look now" of watch `id`, at most once a minute.
pub async fn take_look_now(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: WatchId,
) -> Result<LookNow, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH watch AS (SELECT id, container_id, poll_now_at FROM watches
                          WHERE workspace_id = $1 AND id = $2 FOR UPDATE),
                taken AS (UPDATE watches w SET poll_now_at = now() FROM watch
                          WHERE w.id = watch.id
                            AND (watch.poll_now_at IS NULL
                                 OR watch.poll_now_at <= now() - make_interval(secs => $3))
                          RETURNING w.id)
           SELECT watch.container_id, EXISTS (SELECT 1 FROM taken) AS "taken!",
                  ceil(extract(epoch FROM watch.poll_now_at + make_interval(secs => $3)
                                          - now()))::bigint AS wait
           FROM watch"#,
        workspace_id as WorkspaceId,
        id.uuid(),
        LOOK_NOW_EVERY as f64,
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => LookNow::NotFound,
        Some(row) if row.taken => LookNow::Read(ContainerId(row.container_id)),
        Some(row) => LookNow::TooSoon(row.wait.unwrap_or(LOOK_NOW_EVERY).max(1)),
    })
}

/// The workspace's watches, newest first.
pub async fn list_watches(
    executor: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<Vec<WatchView>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT w.id AS "id: WatchId", c.kind, c.title, c.url, w.poll_every_secs,
                  w.interval_secs, w.track_for_days, w.label, w.alerts, w.min_score, w.paused,
                  w.top_per_day, w.created_at, c.last_read_at, c.last_error, w.next_poll_at,
                  (SELECT count(*) FROM watch_items wi
                   WHERE wi.watch_id = w.id AND wi.state = 'tracked'
                     AND wi.tracker_id IS NOT NULL) AS "trackers!",
                  (SELECT count(*) FROM watch_items wi
                   WHERE wi.watch_id = w.id AND wi.state = 'skipped') AS "skipped!"
           FROM watches w JOIN watch_containers c ON c.id = w.container_id
           WHERE w.workspace_id = $1
           ORDER BY w.created_at DESC, w.id"#,
        workspace_id as WorkspaceId,
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let spec = providers::container(&row.kind).map(|container| container.spec());
            WatchView {
                id: row.id,
                kind_label: spec.map_or_else(|| row.kind.clone(), |spec| spec.label.to_string()),
                yields: spec.map_or_else(|| "items".to_string(), |spec| spec.yields.to_string()),
                kind: row.kind,
                title: row.title,
                url: row.url,
                poll_every_secs: row.poll_every_secs,
                interval_secs: row.interval_secs,
                track_for_days: row.track_for_days,
                label: row.label,
                // Saved as `RuleSpec::to_json` writes them.
                alerts: row
                    .alerts
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|rule| serde_json::from_value(rule.clone()).ok())
                    .collect(),
                min_score: row.min_score,
                top_per_day: row.top_per_day,
                paused: row.paused,
                created_at: row.created_at,
                last_read_at: row.last_read_at,
                last_error: row.last_error,
                next_poll_at: row.next_poll_at,
                trackers: row.trackers,
                skipped: row.skipped,
            }
        })
        .collect())
}

/// Watch `id` of the workspace.
pub async fn get_watch(
    pool: &PgPool,
    workspace_id: WorkspaceId,
    id: WatchId,
) -> Result<Option<WatchView>, sqlx::Error> {
    Ok(list_watches(pool, workspace_id)
        .await?
        .into_iter()
        .find(|watch| watch.id == id))
}

/// Every item watch `id` of the workspace saw, newest first, with its tracker's first
/// metric: latest value and change over the last 7 days.
pub async fn watch_items(
    executor: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    id: WatchId,
) -> Result<Vec<WatchItemView>, sqlx::Error> {
    sqlx::query_as!(
        WatchItemView,
        r#"SELECT wi.item_key AS key, wi.url, wi.title, wi.state AS "state: WatchItemState",
                  wi.tracker_id AS "tracker_id: TrackerId", wi.detail, wi.at,
                  ci.published_at AS "published_at?", t.ends_at AS "ends_at?",
                  coalesce(t.ends_at <= now(), false) AS "ended!",
                  m.name AS "metric?", m.last_value AS "value?",
                  m.last_value - coalesce(
                      (SELECT s.value FROM samples s
                       WHERE s.metric_id = m.id AND s.t <= now() - interval '7 days'
                       ORDER BY s.t DESC LIMIT 1),
                      (SELECT s.value FROM samples s
                       WHERE s.metric_id = m.id AND s.t > now() - interval '7 days'
                       ORDER BY s.t LIMIT 1)) AS "change_7d?"
           FROM watch_items wi
           JOIN watches w ON w.id = wi.watch_id
           LEFT JOIN container_items ci
                  ON ci.container_id = w.container_id AND ci.key = wi.item_key
           LEFT JOIN trackers t ON t.id = wi.tracker_id
           LEFT JOIN LATERAL (SELECT sm.id, sm.name, sm.last_value FROM source_metrics sm
                              WHERE sm.source_id = t.source_id
                              ORDER BY sm.position, sm.name LIMIT 1) m ON true
           WHERE w.workspace_id = $1 AND wi.watch_id = $2
           ORDER BY wi.at DESC, ci.published_at DESC NULLS LAST, wi.item_key"#,
        workspace_id as WorkspaceId,
        id.uuid(),
    )
    .fetch_all(executor)
    .await
}

/// The workspace's watches.
pub async fn count_watches(
    executor: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM watches WHERE workspace_id = $1"#,
        workspace_id as WorkspaceId,
    )
    .fetch_one(executor)
    .await
}
