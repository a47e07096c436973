//! `assistant-run`: sends an assistant run's prompts (see `studio_core::assistants::run`).

use studio_core::{
    assistants::run::{self, RunAssistant, State},
    chat::turn::Engine,
    notifications, schedules,
};

use crate::{Handlers, JobContext, JobError};

/// Registers the run job; steps go through `engine`, as chat replies do. A scheduled run's
/// mail links to the run on `public_url`.
pub fn add(handlers: &mut Handlers, engine: Engine, public_url: url::Url) {
    handlers.waiting_job(move |_ctx: JobContext, job: RunAssistant| {
        let engine = engine.clone();
        let public_url = public_url.clone();
        async move {
            match run::execute(&engine, job.run_id).await {
                // Stopped with the process: taken up again, it resumes.
                Ok(State::Running) => Err(JobError::Transient(anyhow::anyhow!(
                    "the run was interrupted by a shutdown"
                ))),
                Ok(ended) => {
                    tracing::info!(run = %job.run_id, status = ended.as_str(), "assistant run ended");
                    // A schedule counts its runs' failures (and pauses after a few), and its
                    // owner is told how each ended.
                    schedules::store::ran(&engine.pool, job.run_id)
                        .await
                        .map_err(|err| JobError::Transient(err.into()))?;
                    notifications::run_ended(&engine.pool, job.run_id, &public_url)
                        .await
                        .map_err(|err| JobError::Transient(err.into()))?;
                    Ok(())
                }
                // Deleted meanwhile (with its assistant or its user): nothing to do.
                Err(sqlx::Error::RowNotFound) => {
                    tracing::info!(run = %job.run_id, "assistant run gone before it ran");
                    Ok(())
                }
                Err(err) => Err(JobError::Transient(err.into())),
            }
        }
    });
}
