//! The AI Studio server: pages, server functions, health and metrics over HTTP, and in embedded
//! mode the job runner in the same process.

use anyhow::Context;
use server::{config::Config, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal outside development.
    let _ = dotenvy::dotenv();
    studio_core::telemetry::init();
    let config = Config::from_env().context("invalid configuration")?;
    run(config).await
}
