//! `ping`: a job that does nothing but succeed. It proves a deployment's queue end to end
//! (enqueue one and watch it finish) and is the runner's test fixture.

use crate::{JobContext, JobError};

/// The job kind.
pub const KIND: &str = "ping";

/// Succeeds at once.
pub async fn run(ctx: JobContext) -> Result<(), JobError> {
    tracing::info!(job.id = %ctx.job.id, attempt = ctx.job.attempts, "ping");
    Ok(())
}
