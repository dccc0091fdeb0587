//! `prune_samples` (hourly): deletes raw samples older than the plans of the workspaces
//! tracking them keep (30 days on Free, a year on Pro, three on Business); the hourly,
//! 3-hourly and daily rollups stay, so long ranges still chart.

use apalis::prelude::{BoxDynError, Data};
use app::server::tracking::store;
use serde::{Deserialize, Serialize};

use super::{BackgroundJob, JobContext};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneSamples {}

impl BackgroundJob for PruneSamples {
    const JOB_NAME: &'static str = "prune_samples";
}

#[tracing::instrument(name = "prune_samples", skip_all)]
pub async fn run(_job: PruneSamples, context: Data<JobContext>) -> Result<u64, BoxDynError> {
    let _timer = super::JobTimer::start(PruneSamples::JOB_NAME);
    let deleted = store::prune_raw_samples(&context.pool, chrono::Utc::now()).await?;
    if deleted > 0 {
        tracing::info!(deleted, "deleted raw samples past their plan's retention");
    }
    Ok(deleted)
}
