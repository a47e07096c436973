//! `ping`: a job that does nothing but succeed. It proves a deployment's queue end to end
//! (enqueue one and watch it finish) and is the runner's test fixture.

use crate::{JobContext, JobError};

/// The job: no payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ping {}

impl studio_core::db::jobs::Job for Ping {
    const KIND: &'static str = "ping";
    /// A check that the queue works: tried once.
    const MAX_ATTEMPTS: i32 = 1;
}

/// Succeeds at once.
pub async fn run(ctx: JobContext, _: Ping) -> Result<(), JobError> {
    tracing::info!(job.id = %ctx.job.id, attempt = ctx.job.attempts, "ping");
    Ok(())
}
