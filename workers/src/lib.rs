//! Background work: the job runner that drains the queue, and the job handlers; with uploads
//! notified through SQS, the consumer of those notifications.
//!
//! The server runs a [`Runner`] (and the SQS consumer, when configured) in-process in embedded
//! mode; the `worker` binary runs the same as its own service.

pub mod assistants;
pub mod config;
pub mod events;
pub mod knowledge;
pub mod mail;
pub mod ping;
pub mod runner;
pub mod schedules;
pub mod sqs;
pub mod titles;

pub use config::RunnerConfig;
pub use runner::{Handlers, JobContext, JobError, Outcome, Runner};

/// Every job handler this crate provides, ready to give to a [`Runner`]. Knowledge items go
/// through `pipeline`; mail goes out through `mailer` (`None`: held in the outbox), its links
/// on `public_url` (the site's canonical address); titles and assistant runs call models
/// through `engine` (see [`turn_engine`]).
pub fn handlers(
    pipeline: studio_core::knowledge::pipeline::Pipeline,
    mailer: Option<studio_core::mail::Mailer>,
    engine: studio_core::chat::turn::Engine,
    public_url: url::Url,
) -> Handlers {
    let mut handlers = Handlers::default();
    handlers.job(ping::run);
    knowledge::add(&mut handlers, pipeline);
    mail::add(&mut handlers, mailer);
    titles::add(&mut handlers, engine.llm.clone());
    assistants::add(&mut handlers, engine, public_url);
    handlers
}

/// The turn engine in this process (see `studio_core::chat::turn`): replies are written here,
/// as in the server, with the same checks and limits, their usage and cost recorded. Runs and
/// schedules start turns through it.
pub fn turn_engine(
    pipeline: &studio_core::knowledge::pipeline::Pipeline,
    keys: studio_core::llm::registry::EnvironmentKeys,
    limits: studio_core::limits::LimitsConfig,
    shutdown: tokio_util::sync::CancellationToken,
) -> studio_core::chat::turn::Engine {
    use std::sync::Arc;

    use studio_core::{
        chat::live::Generations,
        limits::Guards,
        llm::{RetryPolicy, registry::Registry},
    };
    studio_core::chat::turn::Engine {
        pool: pipeline.pool.clone(),
        llm: Arc::new(Registry::new(keys, RetryPolicy::default())),
        generations: Arc::new(Generations::default()),
        guards: Arc::new(Guards::new(limits)),
        embedder: pipeline.embedder.clone(),
        shutdown,
    }
}

/// The consumer of upload notifications when they come through SQS (`KNOWLEDGE_QUEUE=sqs`);
/// `None` with the Postgres queue, whose jobs the [`Runner`] takes. The queue's redrive policy
/// allows `KNOWLEDGE_SQS_MAX_RECEIVES` deliveries (default 5).
pub async fn upload_consumer(
    pipeline: studio_core::knowledge::pipeline::Pipeline,
    knowledge: &studio_core::knowledge::config::KnowledgeConfig,
    runner: &RunnerConfig,
) -> anyhow::Result<Option<sqs::SqsConsumer>> {
    use studio_core::knowledge::queue::UploadQueue;

    let UploadQueue::Sqs { queue_url } = &knowledge.upload_queue else {
        return Ok(None);
    };
    let handler = events::EventHandler::from_env(pipeline, knowledge.max_upload_bytes)?;
    let config = sqs::SqsConfig::from_env(queue_url.clone(), runner)?;
    let aws = aws_config::load_from_env().await;
    Ok(Some(sqs::SqsConsumer::new(&aws, config, handler)))
}
