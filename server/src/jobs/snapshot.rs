//! `service_snapshot` (every five minutes): records the admin console's overview figures
//! for its charts over time.

use apalis::prelude::BoxDynError;
use app::server::admin;
use serde::{Deserialize, Serialize};

use super::{ApalisQueue, BackgroundJob, Job, JobContext, Periodic};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSnapshot {}

impl BackgroundJob for ServiceSnapshot {
    const JOB_NAME: &'static str = "service_snapshot";
}

impl Job for ServiceSnapshot {
    type Context = JobContext;
    type Output = ();

    #[tracing::instrument(name = "service_snapshot", skip_all)]
    async fn run(self, context: &JobContext) -> Result<(), BoxDynError> {
        let queue = ApalisQueue::new(context.pool.clone());
        admin::record_snapshot(&context.pool, &queue, chrono::Utc::now()).await?;
        Ok(())
    }
}

impl Periodic for ServiceSnapshot {
    /// Record the admin console's figures every five minutes.
    const EVERY: std::time::Duration = std::time::Duration::from_secs(300);
}
