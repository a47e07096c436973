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
    pipeline::{self, IngestError, Ingested, Pipeline},
    reembed::{self, EMBED_JOB, Embedded},
    repos::INGEST_JOB,
};
use uuid::Uuid;

use crate::{Handlers, JobContext, JobError};

/// Registers the handlers, which run items through `pipeline`.
pub fn add(handlers: &mut Handlers, pipeline: Pipeline) {
    let pipeline = Arc::new(pipeline);
    let ingest = pipeline.clone();
    handlers.add(INGEST_JOB, move |ctx| run(ctx, ingest.clone()));
    handlers.add(EMBED_JOB, move |ctx| embed(ctx, pipeline.clone()));
}

#[derive(serde::Deserialize)]
struct EmbedPayload {
    item_id: Uuid,
    model: String,
}

async fn embed(ctx: JobContext, pipeline: Arc<Pipeline>) -> Result<(), JobError> {
    let EmbedPayload { item_id, model } = serde_json::from_value(ctx.job.payload.clone())
        .map_err(|err| JobError::Permanent(format!("bad payload: {err}")))?;
    match reembed::embed_missing(&pipeline, item_id, &model, &ctx.shutdown).await {
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

#[derive(serde::Deserialize)]
struct Payload {
    item_id: Uuid,
}

async fn run(ctx: JobContext, pipeline: Arc<Pipeline>) -> Result<(), JobError> {
    let Payload { item_id } = serde_json::from_value(ctx.job.payload.clone())
        .map_err(|err| JobError::Permanent(format!("bad payload: {err}")))?;
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
