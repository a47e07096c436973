//! The upload handler as an AWS Lambda function (`--features lambda`): an SQS event source
//! mapping on the upload queue, with `ReportBatchItemFailures` turned on, hands it S3 upload
//! notifications in batches. Each message is handled as the worker service handles it
//! (`workers::events`); those to be tried again are reported as the batch's item failures, so
//! only they come back, and the queue's redrive policy ends them in the dead-letter queue.
//!
//! Configured like the worker (`DATABASE_URL`, storage, embeddings, `KNOWLEDGE_*`). Give the
//! function a timeout above the slowest item and the queue a visibility timeout of at least
//! six times the function's, as AWS advises for SQS event sources.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use tokio_util::sync::CancellationToken;
use workers::events::{Delivery, EventHandler};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    studio_core::telemetry::init();
    let handler = Arc::new(start().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = handler.clone();
        async move { Ok::<_, lambda_runtime::Error>(respond(&handler, event.payload).await) }
    }))
    .await
}

async fn start() -> anyhow::Result<EventHandler> {
    let db = studio_core::db::DbConfig::from_env()?;
    let pool = studio_core::db::connect(&db).await?;
    studio_core::db::require_current_migrations(&pool).await?;
    let knowledge = studio_core::knowledge::config::KnowledgeConfig::from_env()?;
    let pipeline = studio_core::knowledge::pipeline::Pipeline::start(pool, &knowledge).await?;
    EventHandler::from_env(pipeline, knowledge.max_upload_bytes)
}

async fn respond(handler: &EventHandler, event: SqsEvent) -> SqsBatchResponse {
    let batch = event
        .records
        .into_iter()
        .map(|message| Delivery {
            id: message.message_id.unwrap_or_default(),
            receive: message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|count| count.parse().ok())
                .unwrap_or(1),
            body: message.body.unwrap_or_default(),
        })
        .collect();
    // Lambda ends the function at its timeout; nothing else stops it.
    let failed = handler.handle_batch(batch, &CancellationToken::new()).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}
