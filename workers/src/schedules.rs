//! The schedule ticker (see `studio_core::schedules::tick`): every [`TICK_EVERY`], starts the
//! runs whose occurrence has come, and ends the assistant runs whose job gave up (so no run
//! stays "running" for ever). Every process that runs jobs ticks; the database makes sure
//! each occurrence starts once. `worker tick` runs one tick, for a timer outside (an
//! EventBridge rule running the worker task in AWS).

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use studio_core::{
    assistants::run,
    schedules::{
        self,
        tick::{Ticked, tick},
    },
};
use tokio_util::sync::CancellationToken;
use url::Url;

/// How often due schedules are looked for: an occurrence starts at most this late.
pub const TICK_EVERY: Duration = Duration::from_secs(20);

/// One tick now; what it did. Mail about runs that ended links to them on `public_url`.
pub async fn tick_once(pool: &PgPool, public_url: &Url) -> sqlx::Result<Ticked> {
    for run in run::fail_abandoned(pool).await? {
        tracing::warn!(run = %run, "an assistant run's job gave up; the run failed");
        schedules::store::ran(pool, run).await?;
        studio_core::notifications::run_ended(pool, run, public_url).await?;
    }
    let ticked = tick(pool, Utc::now()).await?;
    if ticked != Ticked::default() {
        tracing::info!(
            started = ticked.started,
            skipped = ticked.skipped,
            failed = ticked.failed,
            "schedules ticked"
        );
    }
    Ok(ticked)
}

/// Ticks every [`TICK_EVERY`] until `shutdown`.
pub async fn tick_until(pool: PgPool, public_url: Url, shutdown: CancellationToken) {
    loop {
        if let Err(err) = tick_once(&pool, &public_url).await {
            tracing::warn!(error = %err, "could not tick the schedules; trying again");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(TICK_EVERY) => {}
        }
    }
}
