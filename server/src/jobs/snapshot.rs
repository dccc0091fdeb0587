//! `service_snapshot` (every five minutes): records the admin console's overview figures
//! for its charts over time.

use apalis::prelude::{BoxDynError, Data};
use app::server::admin;
use serde::{Deserialize, Serialize};

use super::{BackgroundJob, JobContext, Periodic};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSnapshot {}

impl BackgroundJob for ServiceSnapshot {
    const JOB_NAME: &'static str = "service_snapshot";
}

impl Periodic for ServiceSnapshot {
    /// Record the admin console's figures every five minutes.
    const EVERY: std::time::Duration = std::time::Duration::from_secs(300);
}

#[tracing::instrument(name = "service_snapshot", skip_all)]
pub async fn run(_job: ServiceSnapshot, context: Data<JobContext>) -> Result<(), BoxDynError> {
    let _timer = super::JobTimer::start(ServiceSnapshot::JOB_NAME);
    admin::record_snapshot(&context.pool, chrono::Utc::now()).await?;
    Ok(())
}
