//! `knowledge-ingest`: runs one knowledge item through the pipeline
//! (`studio_core::knowledge::pipeline`), and records on the item why it failed when it did.
//! `knowledge-embed`: gives a ready item's chunks the configured model's vectors
//! (`studio_core::knowledge::reembed`), after the model was changed.
//!
//! A file that cannot be read fails at once (the job is dead with the reason, the item shows
//! it). Anything else (database, storage, the model, a shutdown) is retried with backoff; the
//! item shows `queued` meanwhile and the reason once the attempts run out.

use std::sync::Arc;

use studio_core::knowledge::{
    pipeline::{self, Embedded, IngestError, Ingested, Pipeline},
    reembed::EmbedItem,
    repos::IngestItem,
};

use crate::{Handlers, JobContext, JobError};

/// Registers the handlers, which run items through `pipeline`.
pub fn add(handlers: &mut Handlers, pipeline: Pipeline) {
    let pipeline = Arc::new(pipeline);
    let ingest = pipeline.clone();
    handlers.job(move |ctx, job: IngestItem| run(ctx, job, ingest.clone()));
    handlers.job(move |ctx, job: EmbedItem| embed(ctx, job, pipeline.clone()));
}

async fn embed(ctx: JobContext, job: EmbedItem, pipeline: Arc<Pipeline>) -> Result<(), JobError> {
    let EmbedItem { item_id, model } = job;
    match pipeline.embed_missing(item_id, &model, &ctx.shutdown).await {
        Ok(Embedded::Done(chunks)) => {
            tracing::info!(item.id = %item_id, model, chunks, "knowledge item embedded again");
            Ok(())
        }
        Ok(Embedded::OtherModel) => {
            tracing::info!(item.id = %item_id, model, "the configured model changed again; skipped");
            Ok(())
        }
        Err(IngestError::Permanent(reason)) => Err(JobError::Permanent(reason)),
        Err(IngestError::Transient(err)) => {
            if ctx.job.attempts >= ctx.job.max_attempts {
                let reason = format!("could not be embedded with {model}: {err:#}");
                if let Err(mark) = pipeline::mark_failed(&ctx.pool, item_id, &reason).await {
                    tracing::warn!(error = %mark, "could not record the item's state");
                }
            }
            Err(JobError::Transient(err))
        }
    }
}

async fn run(ctx: JobContext, job: IngestItem, pipeline: Arc<Pipeline>) -> Result<(), JobError> {
    let IngestItem { item_id } = job;
    match pipeline.ingest(item_id, &ctx.shutdown).await {
        Ok(Ingested::Ready { chunks }) => {
            tracing::info!(item.id = %item_id, chunks, "knowledge item ready");
            Ok(())
        }
        Ok(Ingested::Gone) => {
            tracing::info!(item.id = %item_id, "knowledge item was removed; nothing to do");
            Ok(())
        }
        Err(err) => {
            let last_try = ctx.job.attempts >= ctx.job.max_attempts;
            let recorded = pipeline::record_failure(&ctx.pool, item_id, &err, last_try).await;
            match err {
                IngestError::Permanent(reason) => {
                    // Not recorded yet: try again, to show the owner why.
                    recorded.map_err(|err| JobError::Transient(err.into()))?;
                    Err(JobError::Permanent(reason))
                }
                IngestError::Transient(err) => {
                    if let Err(mark) = recorded {
                        tracing::warn!(error = %mark, "could not record the item's state");
                    }
                    Err(JobError::Transient(err))
                }
            }
        }
    }
}
