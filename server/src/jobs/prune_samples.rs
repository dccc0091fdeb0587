//! `prune_samples` (hourly): deletes raw samples older than the plans of the workspaces
//! tracking them keep (30 days on Free, a year on Pro, three on Business); the hourly,
//! 3-hourly and daily rollups stay, so long ranges still chart. A plan whose retention
//! shrank keeps the old one for 30 days. Sources no tracker has used for 30 days go too.

use apalis::prelude::BoxDynError;
use app::server::tracking::store;
use serde::{Deserialize, Serialize};

use super::{BackgroundJob, Job, JobContext, Periodic};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneSamples {}

impl BackgroundJob for PruneSamples {
    const JOB_NAME: &'static str = "prune_samples";
}

impl Job for PruneSamples {
    type Context = JobContext;
    /// Raw samples deleted.
    type Output = u64;

    #[tracing::instrument(name = "prune_samples", skip_all)]
    async fn run(self, context: &JobContext) -> Result<u64, BoxDynError> {
        let now = chrono::Utc::now();
        let deleted = store::prune_raw_samples(&context.pool, now).await?;
        if deleted > 0 {
            tracing::info!(deleted, "deleted raw samples past their plan's retention");
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

impl Periodic for PruneSamples {
    /// Prune raw samples past their retention every hour.
    const EVERY: std::time::Duration = std::time::Duration::from_secs(3_600);
}
