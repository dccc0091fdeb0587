//! Reading a container and applying its watches: the container is read once for every
//! watch that is due, its items saved, and each item a watch has not dealt with becomes a
//! tracker from the watch's template (or is listed as skipped when the plan's tracker
//! limit is reached, or as failed when it cannot be tracked). An item a watch dealt with
//! is never dealt with again, so a tracker the workspace deleted is not added back; only
//! a skipped item is tried again at each read, and tracked once there is room.

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::store::{self, ContainerClaim, NewItem, WatchRow};
use crate::domain::{
    RuleSpec, TrackerId, UserId, WatchId,
    watch::{LabelPattern, WatchItemState},
};
use crate::server::tracking::{
    Engine, FetchError,
    engine::{TrackError, TrackRequest},
    providers::{self, ContainerRef},
    service::{self, AddTracker, ServiceError},
};

/// How long a claim on a container holds: a read makes a tracker per new item, each
/// with an existence check and a first sample.
pub const LEASE: Duration = Duration::from_secs(300);

/// An item waits this long after it appeared before a watch with a `min_score` judges
/// its score.
pub const SCORE_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// How long an item may climb into a watch's day's top N.
const DAY: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The longest wait between two reads of a failing container.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3_600);

/// What one read did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadReport {
    /// Items the container listed.
    pub listed: usize,
    /// Watches applied.
    pub watches: usize,
    /// Trackers made, items skipped at the plan's limit, items that failed.
    pub tracked: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Why the read failed, when it did.
    pub error: Option<String>,
}

/// Reads the claimed container and applies its due watches (and `also`, asked to look
/// now). The claim is given back whatever happens upstream; only a database failure is an
/// `Err`.
pub async fn read_container(
    pool: &PgPool,
    engine: &Engine,
    claim: ContainerClaim,
    also: Option<WatchId>,
) -> Result<ReadReport, sqlx::Error> {
    let mut report = ReadReport::default();
    let Some(container) = store::load_claimed(pool, claim).await? else {
        // Another read took it over.
        return Ok(report);
    };
    let listed = match providers::container(&container.kind) {
        None => Err(FetchError::Invalid(format!(
            "no container kind `{}` is known",
            container.kind
        ))),
        Some(kind) => {
            let reference = ContainerRef {
                key: container.key.clone(),
                config: container.config.clone(),
            };
            engine.container_items(kind.as_ref(), &reference).await
        }
    };
    let items = match listed {
        Ok(items) => items,
        Err(error) => {
            let retry_in = backoff(container.consecutive_failures + 1, &error);
            tracing::info!(
                container = container.id.0,
                kind = %container.kind,
                outcome = error.code(),
                error = %error,
                "reading a watched container failed"
            );
            store::read_failed(pool, claim, &error.to_string(), retry_in).await?;
            report.error = Some(error.to_string());
            return Ok(report);
        }
    };
    report.listed = items.len();
    let mut transaction = pool.begin().await?;
    store::save_items(&mut transaction, container.id, &items).await?;
    store::read_succeeded(&mut transaction, claim).await?;
    transaction.commit().await?;

    for watch in store::watches_to_apply(pool, container.id, also).await? {
        apply(pool, engine, &watch, &mut report).await?;
        store::watch_applied(pool, watch.id).await?;
        report.watches += 1;
    }
    store::reschedule(pool, container.id).await?;
    Ok(report)
}

/// The wait before reading a failing container again: a rate limit's own, else doubling
/// from a minute up to six hours.
fn backoff(failures: i32, error: &FetchError) -> Duration {
    if let FetchError::RateLimited {
        retry_after: Some(wait),
        ..
    }
    | FetchError::Throttled {
        retry_after: wait, ..
    } = error
    {
        return (*wait).max(Duration::from_secs(1));
    }
    let doublings = u32::try_from(failures.clamp(1, 16) - 1).unwrap_or(0);
    Duration::from_secs(60)
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_BACKOFF)
}

/// Makes trackers of the items `watch` has not dealt with.
async fn apply(
    pool: &PgPool,
    engine: &Engine,
    watch: &WatchRow,
    report: &mut ReadReport,
) -> Result<(), sqlx::Error> {
    let label = watch
        .label
        .as_deref()
        .and_then(|label| LabelPattern::parse(label).ok());
    let rules: Vec<RuleSpec> = watch
        .alerts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|rule| RuleSpec::from_json(rule).ok())
        .collect();
    let now = Utc::now();
    let day_top = match watch.top_per_day {
        Some(n) => Some(store::day_top(pool, watch.id, n, now).await?),
        None => None,
    };
    // Once the plan's limit is reached, the rest of this read's items are skipped too.
    let mut full: Option<String> = None;
    for item in store::new_items(pool, watch.id).await? {
        if let Some(message) = &full {
            record_skipped(pool, watch.id, &item, message, report).await?;
            continue;
        }
        // An item skipped at the limit met the template's score rules then.
        if let (Some(top), Some(n), false) = (&day_top, watch.top_per_day, item.skipped)
            && !top.contains(&item.key)
        {
            // Not (yet) among the day's best: it may still climb until a day has passed.
            if now - item.published_at.unwrap_or(item.first_seen_at) < DAY {
                continue;
            }
            let detail = format!("it was not among the day's top {n} when a day had passed");
            record_failed(pool, watch.id, &item, &detail).await?;
            report.failed += 1;
            continue;
        }
        if let (Some(min_score), false) = (watch.min_score, item.skipped) {
            // Judged an hour after it appeared; until then, it waits.
            if now - item.first_seen_at < SCORE_AFTER {
                continue;
            }
            if item.score.unwrap_or(f64::NEG_INFINITY) < min_score {
                let detail = format!(
                    "its score was {} an hour after it appeared, below {min_score}",
                    item.score
                        .map_or("unknown".to_string(), |score| score.to_string())
                );
                record_failed(pool, watch.id, &item, &detail).await?;
                report.failed += 1;
                continue;
            }
        }
        let request = AddTracker {
            what: TrackRequest {
                url: Some(item.url.clone()),
                ..TrackRequest::default()
            },
            label: Some(match &label {
                Some(pattern) => {
                    pattern.render(&item.title, &watch.container_title, item.published_at)
                }
                None => item.title.chars().take(service::MAX_LABEL_CHARS).collect(),
            }),
            interval_secs: watch.interval_secs.map(i64::from),
            ends_at: watch
                .track_for_days
                .map(|days| now + chrono::TimeDelta::days(i64::from(days))),
            created_by: watch.created_by.map(UserId),
        };
        match service::add_tracker_for_watch(pool, engine, watch.workspace_id, &request).await {
            Ok((_, tracker)) => {
                store::record_item(
                    pool,
                    watch.id,
                    &item,
                    WatchItemState::Tracked,
                    Some(tracker.id),
                    None,
                )
                .await?;
                copy_rules(pool, watch, tracker.id, &rules).await?;
                report.tracked += 1;
            }
            Err(ServiceError::UpgradeRequired(limit)) => {
                record_skipped(pool, watch.id, &item, &limit.message, report).await?;
                full = Some(limit.message);
            }
            Err(ServiceError::Database(error)) => return Err(error),
            Err(error) if retry_later(&error) => {
                // The upstream may answer next time: the item stays new.
                tracing::info!(watch = %watch.id, item = %item.key, error = %error,
                               "a watched item could not be tracked yet");
            }
            Err(error) => {
                record_failed(pool, watch.id, &item, &error.to_string()).await?;
                report.failed += 1;
            }
        }
    }
    Ok(())
}

/// Whether adding the item failed for a reason that may pass.
fn retry_later(error: &ServiceError) -> bool {
    match error {
        ServiceError::Track(TrackError::Fetch(fetch)) => {
            fetch.is_transient() || matches!(fetch, FetchError::Throttled { .. })
        }
        ServiceError::Throttled(_) => true,
        _ => false,
    }
}

/// Lists `item` as skipped at the plan's limit, and counts it; an item skipped before
/// stays as it was.
async fn record_skipped(
    pool: &PgPool,
    watch: WatchId,
    item: &NewItem,
    why: &str,
    report: &mut ReadReport,
) -> Result<(), sqlx::Error> {
    if item.skipped {
        return Ok(());
    }
    store::record_item(pool, watch, item, WatchItemState::Skipped, None, Some(why)).await?;
    report.skipped += 1;
    Ok(())
}

async fn record_failed(
    pool: &PgPool,
    watch: WatchId,
    item: &NewItem,
    why: &str,
) -> Result<(), sqlx::Error> {
    store::record_item(pool, watch, item, WatchItemState::Failed, None, Some(why)).await
}

/// Copies the watch's alert rules onto its new tracker. A rule that no longer fits (a
/// channel deleted since, the plan's rule limit) is logged and left out: the tracker is
/// made all the same.
async fn copy_rules(
    pool: &PgPool,
    watch: &WatchRow,
    tracker: TrackerId,
    rules: &[RuleSpec],
) -> Result<(), sqlx::Error> {
    for rule in rules {
        let made = crate::server::alerts::rules::create_rule(
            pool,
            watch.workspace_id,
            tracker,
            rule,
            watch.created_by.map(UserId),
        )
        .await?;
        if let Err(refusal) = made {
            tracing::info!(watch = %watch.id, tracker = %tracker, refusal = %refusal.message(),
                           "a watch's alert rule was not copied");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_reads_back_off_doubling_up_to_six_hours() {
        let outage = FetchError::Unavailable("down".into());
        assert_eq!(backoff(1, &outage), Duration::from_secs(60));
        assert_eq!(backoff(3, &outage), Duration::from_secs(240));
        assert_eq!(backoff(30, &outage), MAX_BACKOFF);
        let limited = FetchError::RateLimited {
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(900)),
        };
        assert_eq!(backoff(1, &limited), Duration::from_secs(900));
    }
}
