//! `knowledge-ingest`: runs one knowledge item through the pipeline
//! (`studio_core::knowledge::pipeline`), and records on the item why it failed when it did.
//!
//! A file that cannot be read fails at once (the job is dead with the reason, the item shows
//! it). Anything else (database, storage, the model, a shutdown) is retried with backoff; the
//! item shows `queued` meanwhile and the reason once the attempts run out.

use std::sync::Arc;

use studio_core::knowledge::{
    pipeline::{self, IngestError, Ingested, Pipeline},
    repos::INGEST_JOB,
};
use uuid::Uuid;

use crate::{Handlers, JobContext, JobError};

/// Registers the handler, which runs items through `pipeline`.
pub fn add(handlers: &mut Handlers, pipeline: Pipeline) {
    let pipeline = Arc::new(pipeline);
    handlers.add(INGEST_JOB, move |ctx| run(ctx, pipeline.clone()));
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
        Err(IngestError::Permanent(reason)) => {
            pipeline::mark_failed(&ctx.pool, item_id, &reason)
                .await
                .map_err(|err| JobError::Transient(err.into()))?;
            Err(JobError::Permanent(reason))
        }
        Err(IngestError::Transient(err)) => {
            let last = ctx.job.attempts >= ctx.job.max_attempts;
            let marked = if last {
                let reason = format!("processing kept failing: {err:#}");
                pipeline::mark_failed(&ctx.pool, item_id, &reason).await
            } else {
                pipeline::mark_retrying(&ctx.pool, item_id).await
            };
            if let Err(mark) = marked {
                tracing::warn!(error = %mark, "could not record the item's state");
            }
            Err(JobError::Transient(err))
        }
    }
}
