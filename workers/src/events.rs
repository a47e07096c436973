//! S3 event notifications for uploaded originals: what a message says, and what to do about
//! it. The SQS consumer ([`crate::sqs`]) and the Lambda handler share this.
//!
//! A message is either S3's `s3:TestEvent` (sent once when notifications are set up; ignored)
//! or `Records`, each an `ObjectCreated:*` event with a URL-encoded key. Delivery is at least
//! once: a repeated event for an item processed since is skipped, and processing itself
//! replaces an item's chunks, so running twice leaves what running once does.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use studio_core::knowledge::{
    pipeline::{self, IngestError, Ingested, Pipeline},
    queue,
};
use tokio_util::sync::CancellationToken;

/// One object written, as the event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Decoded.
    pub key: String,
    pub size: Option<u64>,
    pub time: DateTime<Utc>,
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `s3:TestEvent`: notifications work; nothing to do.
    Test,
    /// Objects written (other events, such as removals, are left out).
    Created(Vec<Created>),
}

#[derive(Deserialize)]
struct Message {
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "Records")]
    records: Option<Vec<Record>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_name: String,
    event_time: DateTime<Utc>,
    s3: Entity,
}

#[derive(Deserialize)]
struct Entity {
    object: Object,
}

#[derive(Deserialize)]
struct Object {
    key: String,
    size: Option<u64>,
}

/// Reads a message's body; an error says why it is not an S3 notification.
pub fn parse(body: &str) -> Result<Notice, String> {
    let message: Message =
        serde_json::from_str(body).map_err(|err| format!("not an S3 notification: {err}"))?;
    if message.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Notice::Test);
    }
    let records = message
        .records
        .ok_or_else(|| "not an S3 notification: no Records".to_owned())?;
    Ok(Notice::Created(
        records
            .into_iter()
            .filter(|record| record.event_name.starts_with("ObjectCreated:"))
            .map(|record| Created {
                key: decode_key(&record.s3.object.key),
                size: record.s3.object.size,
                time: record.event_time,
            })
            .collect(),
    ))
}

/// Keys arrive form-encoded: `+` for a space, `%XX` for the rest.
pub fn decode_key(raw: &str) -> String {
    percent_encoding::percent_decode_str(&raw.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// What to do with a message once handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Delete it: done, or nothing could ever be done.
    Done,
    /// Leave it to be delivered again after `after` (after the queue's last try, the queue's
    /// redrive policy moves it to the dead-letter queue).
    Retry { after: Duration, reason: String },
}

/// Delay before the `receive`-th delivery is tried again: `base`, doubled for each delivery
/// after the first, up to 64 times `base`.
pub fn backoff(base: Duration, receive: u32) -> Duration {
    base.saturating_mul(1 << receive.clamp(1, 7).saturating_sub(1))
}

/// One message of a batch, as an SQS event source hands them to a Lambda function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive: u32,
}

/// Messages of a batch handled at once.
pub const BATCH_CONCURRENCY: usize = 2;

/// The queue's `maxReceiveCount` as configured (`KNOWLEDGE_SQS_MAX_RECEIVES`, default 5).
pub fn max_receives_from_env() -> anyhow::Result<u32> {
    match std::env::var("KNOWLEDGE_SQS_MAX_RECEIVES") {
        Ok(raw) => raw.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            anyhow::anyhow!("KNOWLEDGE_SQS_MAX_RECEIVES must be a whole number from 1, got {raw:?}")
        }),
        Err(_) => Ok(5),
    }
}

/// What handling a message needs.
#[derive(Debug, Clone)]
pub struct EventHandler {
    pub pipeline: Pipeline,
    /// Uploads larger than this fail without being read (`KNOWLEDGE_MAX_UPLOAD_MB`).
    pub max_upload_bytes: u64,
    /// The queue's `maxReceiveCount`: the delivery that counts as the last try.
    pub max_receives: u32,
    /// Delay before the first delivery is tried again, doubled for each one after (up to 64
    /// times).
    pub retry_base: Duration,
}

impl EventHandler {
    /// What [`crate::upload_consumer`] and the Lambda function use: retries after 5 s, 10 s,
    /// 20 s and so on.
    pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(5);

    /// Items through `pipeline`, files up to `max_upload_bytes`, the receive count as
    /// configured (`KNOWLEDGE_SQS_MAX_RECEIVES`).
    pub fn from_env(pipeline: Pipeline, max_upload_bytes: u64) -> anyhow::Result<Self> {
        Ok(Self {
            pipeline,
            max_upload_bytes,
            max_receives: max_receives_from_env()?,
            retry_base: Self::DEFAULT_RETRY_BASE,
        })
    }

    fn retry_delay(&self, receive: u32) -> Duration {
        backoff(self.retry_base, receive)
    }

    /// Handles a batch, [`BATCH_CONCURRENCY`] messages at a time. Returns the ids of those to
    /// be delivered again (a Lambda function's partial batch failures); the others are done.
    pub async fn handle_batch(
        &self,
        batch: Vec<Delivery>,
        cancel: &CancellationToken,
    ) -> Vec<String> {
        let mut failed = Vec::new();
        for group in batch.chunks(BATCH_CONCURRENCY) {
            let handled = group
                .iter()
                .map(|delivery| self.handle(&delivery.body, delivery.receive, cancel));
            let outcomes = futures::future::join_all(handled).await;
            for (delivery, outcome) in group.iter().zip(outcomes) {
                if let Disposition::Retry { reason, .. } = outcome {
                    tracing::info!(
                        message = delivery.id,
                        receive = delivery.receive,
                        reason,
                        "an upload message will be tried again"
                    );
                    failed.push(delivery.id.clone());
                }
            }
        }
        failed
    }

    /// Handles message `body`, delivered for the `receive`-th time.
    pub async fn handle(
        &self,
        body: &str,
        receive: u32,
        cancel: &CancellationToken,
    ) -> Disposition {
        let created = match parse(body) {
            Ok(Notice::Test) => return Disposition::Done,
            Ok(Notice::Created(created)) => created,
            Err(reason) => {
                // Not ours to read: left for the dead-letter queue, where someone can look.
                tracing::warn!(reason, "an unreadable message on the upload queue");
                return Disposition::Retry {
                    after: self.retry_delay(receive),
                    reason,
                };
            }
        };
        let mut retry = None;
        for object in created {
            if let Err(reason) = self.object_created(&object, receive, cancel).await {
                retry = Some(reason);
            }
        }
        match retry {
            None => Disposition::Done,
            Some(reason) => Disposition::Retry {
                after: self.retry_delay(receive),
                reason,
            },
        }
    }

    /// One object: its item processed, or a reason to try again.
    async fn object_created(
        &self,
        object: &Created,
        receive: u32,
        cancel: &CancellationToken,
    ) -> Result<(), String> {
        let pool = &self.pipeline.pool;
        let item = queue::object_item(pool, &object.key, object.time)
            .await
            .map_err(|err| format!("looking up the item: {err}"))?;
        let Some(item) = item else {
            tracing::info!(key = object.key, "no item keeps this object; ignored");
            return Ok(());
        };
        // Web pages and pasted text are stored by their own jobs, which process them.
        if !item.is_upload {
            return Ok(());
        }
        if item.processed_since {
            tracing::info!(item.id = %item.id, "a repeated event for a processed item; ignored");
            return Ok(());
        }
        if object.size.is_some_and(|size| size > self.max_upload_bytes) {
            let reason = format!(
                "the file is larger than the {} MB allowed",
                self.max_upload_bytes / 1_000_000
            );
            return pipeline::mark_failed(pool, item.id, &reason)
                .await
                .map_err(|err| format!("recording the failure: {err}"));
        }
        match self.pipeline.ingest(item.id, cancel).await {
            Ok(Ingested::Ready { chunks }) => {
                tracing::info!(item.id = %item.id, chunks, "knowledge item ready");
                Ok(())
            }
            Ok(Ingested::Gone) => Ok(()),
            Err(err) => {
                let last_try = receive >= self.max_receives;
                let recorded = pipeline::record_failure(pool, item.id, &err, last_try).await;
                match err {
                    IngestError::Permanent(reason) => {
                        tracing::info!(item.id = %item.id, reason, "knowledge item failed");
                        recorded.map_err(|err| format!("recording the failure: {err}"))
                    }
                    IngestError::Transient(err) => {
                        if let Err(mark) = recorded {
                            tracing::warn!(error = %mark, "could not record the item's state");
                        }
                        Err(format!("{err:#}"))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_events_are_recognised() {
        let body = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-26T10:00:00.000Z","Bucket":"b","RequestId":"x","HostId":"y"}"#;
        assert_eq!(parse(body), Ok(Notice::Test));
    }

    #[test]
    fn created_records_are_read_with_their_keys_decoded() {
        let body = r#"{"Records":[
            {"eventVersion":"2.1","eventSource":"aws:s3","eventTime":"2026-11-26T10:00:00.000Z",
             "eventName":"ObjectCreated:Put",
             "s3":{"bucket":{"name":"b"},"object":{"key":"repositories/a/b/My+report+%28final%29%C3%A9.pdf","size":1234}}},
            {"eventVersion":"2.1","eventSource":"aws:s3","eventTime":"2026-11-26T10:00:01.000Z",
             "eventName":"ObjectRemoved:Delete",
             "s3":{"bucket":{"name":"b"},"object":{"key":"gone"}}},
            {"eventVersion":"2.1","eventSource":"aws:s3","eventTime":"2026-11-26T10:00:02.000Z",
             "eventName":"ObjectCreated:CompleteMultipartUpload",
             "s3":{"bucket":{"name":"b"},"object":{"key":"a%2Bb"}}}
        ]}"#;
        let Ok(Notice::Created(created)) = parse(body) else {
            panic!("not read");
        };
        assert_eq!(created.len(), 2);
        assert_eq!(created[0].key, "repositories/a/b/My report (final)é.pdf");
        assert_eq!(created[0].size, Some(1234));
        assert_eq!(created[0].time.to_rfc3339(), "2026-11-26T10:00:00+00:00");
        assert_eq!(created[1].key, "a+b");
        assert_eq!(created[1].size, None);
    }

    #[test]
    fn other_messages_are_refused_with_a_reason() {
        assert!(
            parse("hello")
                .unwrap_err()
                .starts_with("not an S3 notification")
        );
        assert_eq!(
            parse(r#"{"Message":"x"}"#),
            Err("not an S3 notification: no Records".to_owned())
        );
    }

    #[test]
    fn retries_back_off_and_level_off() {
        let delay = |receive: u32| backoff(EventHandler::DEFAULT_RETRY_BASE, receive).as_secs();
        let delays: Vec<u64> = (1..=9).map(delay).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 320, 320]);
        assert_eq!(delay(0), 5);
    }
}
