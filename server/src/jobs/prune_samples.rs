//! `prune_samples` (hourly): deletes raw samples older than the plans of the workspaces
//! tracking them keep (30 days on Free, a year on Pro, three on Business); the hourly,
//! 3-hourly and daily rollups stay, so long ranges still chart. A plan whose retention
//! shrank keeps the old one for 30 days. The raw events of push sources
//! (`POST /api/v1/events`) go by the same retention, their counts staying in their series.
//! Twitch channels' stream polls go by the same retention, kept at least 90 days (the
//! Streams tab's longest range). Sources no tracker has used for 30 days go too.

use std::time::Duration;

use app::server::{push, tracking::store};

use super::JobContext;

periodic_job! {
    /// Prunes raw samples past their retention every hour.
    pub struct PruneSamples = "prune_samples", every Duration::from_secs(3_600);
    /// Reports the raw samples deleted.
    async fn run(context: &JobContext) -> Result<u64, BoxDynError> {
        let now = chrono::Utc::now();
        let deleted = store::prune_raw_samples(&context.pool, now).await?;
        if deleted > 0 {
            tracing::info!(deleted, "deleted raw samples past their plan's retention");
        }
        let events = push::prune_events(&context.pool, now).await?;
        if events > 0 {
            tracing::info!(
                deleted = events,
                "deleted raw events past their plan's retention"
            );
        }
        let polls = store::prune_stream_polls(&context.pool, now).await?;
        if polls > 0 {
            tracing::info!(
                deleted = polls,
                "deleted stream polls past their plan's retention"
            );
        }
        let orphans = store::delete_orphaned_sources(&context.pool, now).await?;
        if orphans > 0 {
            tracing::info!(
                sources = orphans,
                "deleted sources no tracker has used for 30 days"
            );
        }
        Ok(deleted)
    }
}
