//! Item changes as they happen, for pages showing a repository. The database announces every
//! change of a `knowledge_items` row on the `knowledge_items` channel (whoever made it: this
//! server's workers or a worker service elsewhere); one listener per server forwards the
//! repository ids to the pages subscribed.

use sqlx::PgPool;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

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
        crate::db::follow_channel(&pool, CHANNEL, &shutdown, |payload| {
            if let Some(repository) = payload.and_then(|p| p.parse::<Uuid>().ok()) {
                // No page listening is not an error.
                let _ = self.sender.send(repository);
            }
        })
        .await;
    }
}
