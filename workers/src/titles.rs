//! `chat-title`: a conversation's title from its model after the first reply (see
//! `studio_core::chat::titles`).

use std::sync::Arc;

use studio_core::{
    chat::titles::{self, Titled, WriteTitle},
    llm::registry::Registry,
};

use crate::{Handlers, JobContext, JobError};

/// Registers the title job; the model's provider comes from `llm`.
pub fn add(handlers: &mut Handlers, llm: Arc<Registry>) {
    handlers.waiting_job(move |ctx: JobContext, job: WriteTitle| {
        let llm = llm.clone();
        async move {
            match titles::write_title(&ctx.pool, &llm, &job).await {
                Ok(Titled::Written(title)) => {
                    tracing::info!(conversation = %job.conversation_id, chars = title.chars().count(), "conversation titled");
                    Ok(())
                }
                Ok(Titled::Left) => Ok(()),
                Err(err) if err.is_transient() => Err(JobError::Transient(err.into())),
                Err(err) => Err(JobError::Permanent(err.to_string())),
            }
        }
    });
}
