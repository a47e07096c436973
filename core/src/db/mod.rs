//! Postgres: connection settings, the pool, migration status, and the job queue.

pub mod jobs;

use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgPool, postgres::PgPoolOptions};

/// Follows `LISTEN channel` until `shutdown`, reconnecting with backoff when the connection
/// drops. `on_event` gets `None` after every (re)connection (notifications may have been
/// missed meanwhile) and `Some(payload)` for each notification.
pub async fn follow_channel(
    pool: &PgPool,
    channel: &str,
    shutdown: &tokio_util::sync::CancellationToken,
    mut on_event: impl FnMut(Option<&str>),
) {
    let mut failures: i32 = 0;
    while !shutdown.is_cancelled() {
        let forward = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(channel).await?;
            on_event(None);
            loop {
                let notification = listener.recv().await?;
                on_event(Some(notification.payload()));
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            Err::<std::convert::Infallible, sqlx::Error>(err) = forward => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = %err, channel, "notifications lost; reconnecting");
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

/// A channel on which the database announces ids (a trigger's `pg_notify(name, id)`).
pub trait Channel {
    const NAME: &'static str;
}

/// The ids announced on channel `C` (whoever made the change: this process or another), for
/// the pages following them: one listener per server forwards them. Cheap to share behind an
/// `Arc`.
pub struct Announced<C> {
    sender: tokio::sync::broadcast::Sender<uuid::Uuid>,
    channel: std::marker::PhantomData<C>,
}

impl<C> Default for Announced<C> {
    fn default() -> Self {
        Self {
            sender: tokio::sync::broadcast::Sender::new(256),
            channel: std::marker::PhantomData,
        }
    }
}

impl<C: Channel> std::fmt::Debug for Announced<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announced")
            .field("channel", &C::NAME)
            .finish_non_exhaustive()
    }
}

impl<C: Channel> Announced<C> {
    /// Every id announced from now on. A receiver that lags is told so (`Lagged`) and should
    /// read again what it follows.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<uuid::Uuid> {
        self.sender.subscribe()
    }

    /// Listens until `shutdown`, reconnecting with backoff when the connection drops.
    pub async fn run(&self, pool: PgPool, shutdown: tokio_util::sync::CancellationToken) {
        follow_channel(&pool, C::NAME, &shutdown, |payload| {
            if let Some(id) = payload.and_then(|p| p.parse::<uuid::Uuid>().ok()) {
                // No page listening is not an error.
                let _ = self.sender.send(id);
            }
        })
        .await;
    }
}

/// How to reach Postgres. Shared by `server` and `workers`.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl DbConfig {
    /// Reads `DATABASE_URL` (required) and `DATABASE_MAX_CONNECTIONS` (default 10).
    pub fn from_env() -> anyhow::Result<Self> {
        let url = std::env::var("DATABASE_URL").context(
            "DATABASE_URL must be set (make run starts a local Postgres and sets it for you)",
        )?;
        let max_connections = match std::env::var("DATABASE_MAX_CONNECTIONS") {
            Ok(raw) => raw
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .context("DATABASE_MAX_CONNECTIONS must be a positive integer")?,
            Err(_) => 10,
        };
        Ok(Self {
            url: url.into(),
            max_connections,
            acquire_timeout: Duration::from_secs(5),
        })
    }
}

/// Opens the pool. Fails fast when the database is unreachable.
pub async fn connect(config: &DbConfig) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect(config.url.expose_secret())
        .await
        .context("could not connect to the database (check DATABASE_URL)")
}

/// Where the database stands against the migrations compiled into this binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Migrations this binary knows that the database has not applied successfully.
    pub pending: Vec<i64>,
    /// Migrations the database has applied that this binary does not know (a newer release ran).
    pub unknown: Vec<i64>,
}

impl MigrationStatus {
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Refuses to go on unless every migration this binary knows is applied: what the processes
/// that do not migrate (the worker service, the Lambda function) check at start.
pub async fn require_current_migrations(pool: &PgPool) -> anyhow::Result<()> {
    let status = migration_status(pool)
        .await
        .context("could not read the migration status")?;
    anyhow::ensure!(
        status.is_current(),
        "the database is missing migrations {:?}: start the server (it migrates) first",
        status.pending
    );
    Ok(())
}

/// Compares `_sqlx_migrations` with [`crate::MIGRATOR`].
pub async fn migration_status(pool: &PgPool) -> sqlx::Result<MigrationStatus> {
    let table_exists: bool =
        sqlx::query_scalar!(r#"select to_regclass('_sqlx_migrations') is not null as "exists!""#)
            .fetch_one(pool)
            .await?;
    let applied: Vec<i64> = if table_exists {
        sqlx::query_scalar("select version from _sqlx_migrations where success order by version")
            .fetch_all(pool)
            .await?
    } else {
        Vec::new()
    };
    let known: Vec<i64> = crate::MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect();
    Ok(MigrationStatus {
        pending: known
            .iter()
            .copied()
            .filter(|v| !applied.contains(v))
            .collect(),
        unknown: applied
            .iter()
            .copied()
            .filter(|v| !known.contains(v))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test(migrations = false)]
    async fn an_empty_database_has_every_migration_pending(pool: PgPool) -> sqlx::Result<()> {
        let status = migration_status(&pool).await?;
        assert!(!status.is_current());
        assert_eq!(status.pending.len(), crate::MIGRATOR.iter().count());
        Ok(())
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_migrated_database_is_current(pool: PgPool) -> sqlx::Result<()> {
        let status = migration_status(&pool).await?;
        assert!(status.is_current(), "{status:?}");
        assert!(status.unknown.is_empty());
        Ok(())
    }
}
