//! The axum host. `main.rs` only reads the configuration and calls [`run`]; tests build the
//! same router with [`routes::router`].

pub mod assets;
pub mod config;
pub mod csp;
pub mod edge;
pub mod health;
pub mod http_layers;
pub mod metrics;
pub mod routes;
pub mod sessions;
pub mod text_input;

use std::time::Duration;

use anyhow::Context;
use app::ssr::AppState;
use studio_core::llm::{
    RetryPolicy,
    registry::{EnvironmentKeys, Registry},
};
use tokio_util::sync::CancellationToken;
use workers::Runner;

use crate::config::Config;

/// Connects, migrates, starts the embedded workers and serves until SIGTERM, then drains.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let metrics = metrics::install().context("could not install the metrics recorder")?;
    let pool = studio_core::db::connect(&config.db).await?;
    studio_core::MIGRATOR
        .run(&pool)
        .await
        .context("could not apply database migrations")?;

    // A key file is made only where nobody else reaches the site (the embedded default): a
    // deployment without SECRETS_KEY would lose its provider keys with its disk.
    let keys = EnvironmentKeys::from_env(config.site.is_local())
        .context("could not load the secrets key")?;
    let sealed = studio_core::models::seal_stored_keys(&pool, &keys.secrets)
        .await
        .context("could not seal the stored provider keys")?;
    if sealed > 0 {
        tracing::info!(sealed, "provider keys stored in plain text were sealed");
    }
    studio_core::models::register_builtin(&pool, &keys.local_model)
        .await
        .context("could not register the built-in model")?;
    let interrupted = studio_core::chat::recover_interrupted(&pool)
        .await
        .context("could not mark interrupted replies")?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "replies cut off by the last shutdown were marked stopped"
        );
    }
    let shutdown = CancellationToken::new();
    let pipeline =
        studio_core::knowledge::pipeline::Pipeline::start(pool.clone(), &config.knowledge).await?;
    let knowledge = std::sync::Arc::new(app::ssr::Knowledge {
        max_upload_bytes: config.knowledge.max_upload_bytes,
        upload_queue: config.knowledge.upload_queue.clone(),
        upload_origin: pipeline
            .storage
            .upload_origin()
            .await
            .context("could not sign an upload URL for the bucket")?,
        ..app::ssr::Knowledge::new(pipeline.clone())
    });
    tokio::spawn({
        let (knowledge, pool, shutdown) = (knowledge.clone(), pool.clone(), shutdown.clone());
        async move { knowledge.events.run(pool, shutdown).await }
    });
    let bell = std::sync::Arc::new(studio_core::notifications::Bell::default());
    tokio::spawn({
        let (bell, pool, shutdown) = (bell.clone(), pool.clone(), shutdown.clone());
        async move { bell.run(pool, shutdown).await }
    });
    let generations = std::sync::Arc::new(studio_core::chat::live::Generations::default());
    let llm = std::sync::Arc::new(Registry::new(keys, RetryPolicy::default()));
    let state = AppState {
        leptos_options: config.leptos.clone(),
        pool: pool.clone(),
        accounts: config.accounts.clone(),
        oidc: std::sync::Arc::new(studio_core::accounts::oidc::Oidc::new(config.oidc.clone())?),
        llm,
        generations: generations.clone(),
        shutdown: shutdown.clone(),
        knowledge,
        guards: std::sync::Arc::new(studio_core::limits::Guards::new(config.limits.clone())),
        bell: bell.clone(),
    };
    match studio_core::accounts::setup::issue_link(&pool, &config.accounts).await {
        Ok(Some(link)) => tracing::info!(
            link,
            "no administrator yet: open this one-time link to create the first administrator"
        ),
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "could not issue the setup link"),
    }
    let operations = routes::Operations {
        site: config.site.clone(),
        metrics: metrics.clone(),
        token: config.metrics_token.clone(),
        metrics_elsewhere: config.metrics_addr.is_some(),
    };
    if let Some(addr) = config.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("could not listen on METRICS_ADDR {addr}"))?;
        let metrics_router = routes::metrics_router(state.clone(), metrics);
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, metrics_router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "the metrics listener failed");
            }
        });
    } else if config.metrics_token.is_none() && !config.site.is_local() {
        tracing::warn!(
            "/metrics is not served: set METRICS_TOKEN or METRICS_ADDR to reach it from another machine"
        );
    }
    // Jobs that call models (titles, assistant runs) share the server's live replies.
    let engine = state.turns();
    let router = routes::router(state, &operations);

    let uploads = if config.embedded_workers {
        workers::upload_consumer(pipeline.clone(), &config.knowledge, &config.runner)
            .await?
            .map(|consumer| tokio::spawn(consumer.run(shutdown.child_token())))
    } else {
        None
    };
    let mailer = studio_core::mail::Mailer::new(&config.mail)?;
    let public_url = config.site.public_url().clone();
    let runner = config.embedded_workers.then(|| {
        tokio::spawn(workers::schedules::tick_until(
            pool.clone(),
            public_url.clone(),
            shutdown.child_token(),
        ));
        let runner = Runner::new(
            pool.clone(),
            workers::handlers(pipeline, mailer, engine, public_url),
            config.runner.clone(),
        );
        tokio::spawn(runner.run(shutdown.child_token()))
    });

    let listener = tokio::net::TcpListener::bind(&config.leptos.site_addr)
        .await
        .with_context(|| format!("could not listen on {}", config.leptos.site_addr))?;
    // Listening for the signal before saying so: one sent the moment after is handled.
    let requested = studio_core::shutdown::signal();
    tracing::info!(
        address = %config.leptos.site_addr,
        embedded_workers = config.embedded_workers,
        startup_ms = started.elapsed().as_millis() as u64,
        "serving"
    );

    let signal = {
        let shutdown = shutdown.clone();
        async move {
            requested.await;
            tracing::info!("shutdown requested; draining requests and jobs");
            shutdown.cancel();
        }
    };
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(signal)
        .await
        .context("the HTTP server failed")?;

    // Replies being written were stopped by the signal; let them save what they have.
    shutdown.cancel();
    let deadline = tokio::time::Instant::now() + config.shutdown_grace;
    while generations.running() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Some(runner) = runner
        && tokio::time::timeout(config.shutdown_grace, runner)
            .await
            .is_err()
    {
        tracing::warn!(
            grace_secs = config.shutdown_grace.as_secs(),
            "jobs still running at the end of the grace period; their leases will expire and another worker will retry them"
        );
    }
    if let Some(uploads) = uploads
        && tokio::time::timeout(config.shutdown_grace, uploads)
            .await
            .is_err()
    {
        tracing::warn!(
            "uploads still in hand at the end of the grace period; SQS will deliver them again"
        );
    }
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// How long the process waits for in-flight work after SIGTERM, unless configured.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
