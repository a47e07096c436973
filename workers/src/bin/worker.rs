//! The standalone worker service: runs the job runner against the queue until SIGTERM.

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use workers::{Runner, RunnerConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal outside development.
    let _ = dotenvy::dotenv();
    studio_core::telemetry::init();
    let db = studio_core::db::DbConfig::from_env()?;
    let config = RunnerConfig::from_env()?;
    let pool = studio_core::db::connect(&db).await?;
    let status = studio_core::db::migration_status(&pool)
        .await
        .context("could not read the migration status")?;
    anyhow::ensure!(
        status.is_current(),
        "the database is missing migrations {:?}: start the server (it migrates) first",
        status.pending
    );

    let shutdown = CancellationToken::new();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            studio_core::shutdown::signal().await;
            tracing::info!("shutdown requested; finishing jobs in hand");
            shutdown.cancel();
        }
    });
    Runner::new(pool, workers::handlers(), config)
        .run(shutdown)
        .await;
    Ok(())
}
