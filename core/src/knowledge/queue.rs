//! What starts the processing of an uploaded file: a job in the Postgres queue (the embedded
//! default), or, with `KNOWLEDGE_QUEUE=sqs`, the S3 `ObjectCreated` notification that the
//! bucket sends to the SQS queue `KNOWLEDGE_SQS_QUEUE_URL` (the `workers` crate consumes it).
//!
//! Web pages, pasted text and re-processing always go through the Postgres queue: they are
//! not uploads, and the notification their stored copy causes is ignored.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// Where upload notifications come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadQueue {
    /// The app queues a `knowledge-ingest` job once the file is stored.
    Jobs,
    /// Storage events arrive on this SQS queue.
    Sqs { queue_url: String },
}

impl UploadQueue {
    /// Whether finished uploads need a job (false when storage events start them).
    pub fn needs_jobs(&self) -> bool {
        matches!(self, Self::Jobs)
    }
}

/// The item an object's key belongs to, as far as a storage event needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectItem {
    pub id: Uuid,
    /// An uploaded file (the only kind whose storage events start processing).
    pub is_upload: bool,
    /// Processed already after the event happened: a repeated delivery.
    pub processed_since: bool,
}

/// `repositories/{repo}/{item}/original` to its item id.
pub fn item_of_key(key: &str) -> Option<Uuid> {
    let mut parts = key.split('/');
    let (Some("repositories"), Some(repository), Some(item), Some("original"), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    repository.parse::<Uuid>().ok()?;
    item.parse().ok()
}

/// The item stored under `key`, for an event about it that happened at `at`; `None` when no
/// item keeps its original there (removed since, or not ours).
pub async fn object_item(
    pool: &PgPool,
    key: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<Option<ObjectItem>> {
    let Some(id) = item_of_key(key) else {
        return Ok(None);
    };
    let row = sqlx::query!(
        r#"select kind, coalesce(status = 'ready' and processed_at >= $3, false) as "processed_since!"
           from knowledge_items where id = $1 and storage_key = $2"#,
        id,
        key,
        at
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| ObjectItem {
        id,
        is_upload: row.kind == "file",
        processed_since: row.processed_since,
    }))
}
