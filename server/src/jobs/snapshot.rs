//! `service_snapshot` (every five minutes): records the admin console's overview figures
//! for its charts over time.

use std::time::Duration;

use app::server::admin;

use super::{ApalisQueue, JobContext};

periodic_job! {
    /// Records the admin console's figures every five minutes.
    pub struct ServiceSnapshot = "service_snapshot", every Duration::from_secs(300);
    async fn run(context: &JobContext) -> Result<(), BoxDynError> {
        let queue = ApalisQueue::new(context.pool.clone());
        admin::record_snapshot(&context.pool, &queue, chrono::Utc::now()).await?;
        Ok(())
    }
}
