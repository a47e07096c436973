//! The standalone worker service: runs the job runner against the queue (and, with
//! `KNOWLEDGE_QUEUE=sqs`, takes upload notifications from SQS) until SIGTERM.
//!
//! `worker ping` instead enqueues one `ping` job and waits for some worker (this deployment's
//! servers or worker services) to finish it: a check that the queue works end to end.
//! `worker tick` starts the scheduled runs that are due, once, and exits (for a timer
//! outside, such as an EventBridge rule); the service itself ticks every 20 seconds.

use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::PgPool;
use studio_core::db::jobs;
use tokio_util::sync::CancellationToken;
use workers::{Runner, RunnerConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal outside development.
    let _ = dotenvy::dotenv();
    studio_core::telemetry::init();
    let command = std::env::args().nth(1);
    match command.as_deref() {
        None | Some("ping" | "tick") => {}
        Some(other) => anyhow::bail!("unknown command {other:?}; usage: worker [ping | tick]"),
    }
    let db = studio_core::db::DbConfig::from_env()?;
    let config = RunnerConfig::from_env()?;
    let knowledge = studio_core::knowledge::config::KnowledgeConfig::from_env()?;
    let pool = studio_core::db::connect(&db).await?;
    studio_core::db::require_current_migrations(&pool).await?;

    match command.as_deref() {
        Some("ping") => return ping(&pool).await,
        // One tick of the schedules, for a timer outside (an EventBridge rule).
        Some("tick") => {
            let public_url = workers::config::public_url_from_env()?;
            workers::schedules::tick_once(&pool, &public_url).await?;
            return Ok(());
        }
        _ => {}
    }

    let shutdown = CancellationToken::new();
    let requested = studio_core::shutdown::signal();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            requested.await;
            tracing::info!("shutdown requested; finishing jobs in hand");
            shutdown.cancel();
        }
    });
    let pipeline =
        studio_core::knowledge::pipeline::Pipeline::start(pool.clone(), &knowledge).await?;
    let uploads = workers::upload_consumer(pipeline.clone(), &knowledge, &config)
        .await?
        .map(|consumer| tokio::spawn(consumer.run(shutdown.clone())));
    let mailer = studio_core::mail::Mailer::new(&studio_core::mail::MailConfig::from_env()?)?;
    // The same keys and limits as the server's: titles and assistant runs call the models it
    // set up.
    let keys = studio_core::llm::registry::EnvironmentKeys::from_env(false)?;
    let engine = workers::turn_engine(
        &pipeline,
        keys,
        studio_core::limits::LimitsConfig::from_env()?,
        shutdown.clone(),
    );
    let public_url = workers::config::public_url_from_env()?;
    tokio::spawn(workers::schedules::tick_until(
        pool.clone(),
        public_url.clone(),
        shutdown.clone(),
    ));
    Runner::new(
        pool,
        workers::handlers(pipeline, mailer, engine, public_url),
        config,
    )
    .run(shutdown)
    .await;
    if let Some(uploads) = uploads {
        uploads.await.context("the SQS consumer failed")?;
    }
    Ok(())
}

/// Enqueues a `ping` job and waits up to 30 s for a worker to finish it.
async fn ping(pool: &PgPool) -> anyhow::Result<()> {
    let started = Instant::now();
    let id = jobs::enqueue_job(pool, &workers::ping::Ping {})
        .await
        .context("could not enqueue the ping job")?
        .id();
    tracing::info!(job.id = %id, "ping enqueued; waiting for a worker");
    while started.elapsed() < Duration::from_secs(30) {
        let job = jobs::find(pool, id)
            .await?
            .context("the ping job disappeared")?;
        match job.status.as_str() {
            "succeeded" => {
                tracing::info!(job.id = %id, duration_ms = started.elapsed().as_millis() as u64, "ping answered: the queue works");
                return Ok(());
            }
            "dead" => anyhow::bail!(
                "the ping job failed: {}",
                job.last_error.unwrap_or_default()
            ),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    anyhow::bail!(
        "no worker finished the ping job within 30 s: is a server with EMBEDDED_WORKERS=true or a worker service running?"
    )
}
