//! Item changes as they happen, for pages showing a repository. The database announces every
//! change of a `knowledge_items` row on the `knowledge_items` channel (whoever made it: this
//! server's workers or a worker service elsewhere); one listener per server forwards the
//! repository ids to the pages subscribed.

use std::time::Duration;

use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::jobs;

/// The channel the migration's trigger notifies.
pub const CHANNEL: &str = "knowledge_items";

/// Repository ids whose items changed. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct ItemEvents {
    sender: broadcast::Sender<Uuid>,
}

impl Default for ItemEvents {
    fn default() -> Self {
        Self {
            sender: broadcast::Sender::new(256),
        }
    }
}

impl ItemEvents {
    /// Every change from now on. A receiver that lags is told so (`Lagged`) and should reload.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }

    /// Listens until `shutdown`, reconnecting with backoff when the connection drops.
    pub async fn run(&self, pool: PgPool, shutdown: CancellationToken) {
        let mut failures: i32 = 0;
        while !shutdown.is_cancelled() {
            tokio::select! {
                () = shutdown.cancelled() => return,
                Err(err) = self.forward(&pool) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %err, "knowledge item events lost; reconnecting");
                }
            }
            let delay = jobs::backoff(
                failures,
                Duration::from_millis(500),
                Duration::from_secs(30),
            );
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    async fn forward(&self, pool: &PgPool) -> sqlx::Result<std::convert::Infallible> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        loop {
            let notification = listener.recv().await?;
            if let Ok(repository) = notification.payload().parse::<Uuid>() {
                // No page listening is not an error.
                let _ = self.sender.send(repository);
            }
        }
    }
}
