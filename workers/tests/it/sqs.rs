//! Uploads through S3 and SQS, on moto: the bucket notifies the queue, the consumer processes
//! the item and deletes the message; a repeated event adds nothing; a poison file fails with
//! its reason; an item that keeps failing ends in the dead-letter queue.

use std::time::Duration;

use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use sqlx::PgPool;
use studio_core::knowledge::{
    pipeline::Pipeline,
    repos::{self, ItemKind, NewItem},
    s3::{S3Storage, testing},
    storage::{self, Storage},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use workers::{
    events::EventHandler,
    sqs::{SqsConfig, SqsConsumer},
};

use super::knowledge::{item_state, owner_with_repository};

/// A bucket whose `ObjectCreated` events go to a queue of their own, with a dead-letter queue
/// taking what was received `max_receives` times.
struct Wiring {
    s3: S3Storage,
    sqs: aws_sdk_sqs::Client,
    queue: String,
    dead: String,
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap()
}

async fn wiring(max_receives: u32) -> Wiring {
    let config = testing::moto_config().await;
    let s3 = testing::bucket(&config).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = s3.bucket().to_owned();
    let dead = sqs
        .create_queue()
        .queue_name(format!("{name}-dead"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let redrive = serde_json::json!({
        "deadLetterTargetArn": queue_arn(&sqs, &dead).await,
        "maxReceiveCount": max_receives.to_string(),
    });
    let queue = sqs
        .create_queue()
        .queue_name(format!("{name}-uploads"))
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    s3.client()
        .put_bucket_notification_configuration()
        .bucket(&name)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(queue_arn(&sqs, &queue).await)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    Wiring {
        s3,
        sqs,
        queue,
        dead,
    }
}

impl Wiring {
    fn pipeline(&self, pool: &PgPool) -> Pipeline {
        Pipeline {
            storage: Storage::S3(self.s3.clone()),
            ..super::knowledge::pipeline(pool)
        }
    }

    async fn consumer(&self, handler: EventHandler) -> SqsConsumer {
        let config = SqsConfig {
            queue_url: self.queue.clone(),
            concurrency: 2,
            wait: Duration::from_secs(1),
            visibility: Duration::from_secs(6),
        };
        SqsConsumer::new(&testing::moto_config().await, config, handler)
    }

    /// Messages waiting (visible or not) in `queue`.
    async fn depth(&self, queue: &str) -> u64 {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        let read = |name: QueueAttributeName| -> u64 {
            attributes
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        read(QueueAttributeName::ApproximateNumberOfMessages)
            + read(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    }

    /// Takes every message off the queue (for the test to look at and send again).
    async fn drain(&self) -> Vec<String> {
        let mut bodies = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return bodies;
            }
            for message in messages {
                bodies.push(message.body().unwrap_or_default().to_owned());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// A file item waiting for its upload, and the upload itself landing in the bucket.
async fn upload(pool: &PgPool, storage: &Storage, name: &str, bytes: &[u8]) -> Uuid {
    let (owner, repository) = owner_with_repository(pool).await;
    let id = Uuid::new_v4();
    let key = storage::original_key(repository, id);
    repos::add_pending_upload(
        pool,
        owner,
        repository,
        &NewItem {
            id,
            kind: ItemKind::File,
            name: name.into(),
            storage_key: Some(key.clone()),
            size_bytes: bytes.len() as i64,
        },
    )
    .await
    .unwrap();
    storage.put(&key, bytes).await.unwrap();
    id
}

/// Runs `consumer` until `done` holds (checked every 200 ms) or 60 s pass.
async fn run_until<F, Fut>(consumer: SqsConsumer, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let stop = CancellationToken::new();
    let running = tokio::spawn(consumer.run(stop.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not done within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.cancel();
    running.await.unwrap();
}

fn handler(pipeline: Pipeline, max_receives: u32) -> EventHandler {
    EventHandler {
        pipeline,
        max_upload_bytes: 1_000_000,
        max_receives,
        retry_base: Duration::from_secs(1),
    }
}

const TEXT: &str = "Photosynthesis turns light into sugar.\n\nThe Calvin cycle fixes carbon.";

async fn chunk_count(pool: &PgPool, item: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from knowledge_chunks where item_id = $1")
        .bind(item)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn an_upload_is_processed_from_its_event_and_a_repeat_adds_nothing(pool: PgPool) {
    let wiring = wiring(3).await;
    let pipeline = wiring.pipeline(&pool);
    let item = upload(
        &pool,
        &pipeline.storage,
        "notes + plans (v2).md",
        TEXT.as_bytes(),
    )
    .await;

    // What S3 sent: the test event when notifications were set up, then the upload's.
    let bodies = wiring.drain().await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies[0].contains("s3:TestEvent"), "{}", bodies[0]);
    let created = &bodies[1];
    assert!(created.contains("ObjectCreated:"), "{created}");
    // Every message delivered twice.
    for body in [&bodies[0], created, &bodies[0], created] {
        wiring
            .sqs
            .send_message()
            .queue_url(&wiring.queue)
            .message_body(body.as_str())
            .send()
            .await
            .unwrap();
    }

    let consumer = wiring.consumer(handler(pipeline, 3)).await;
    run_until(consumer, || async {
        wiring.depth(&wiring.queue).await == 0
    })
    .await;

    let (status, error, chunks) = item_state(&pool, item).await;
    assert_eq!((status.as_str(), error), ("ready", None));
    assert!(chunks >= 1);
    assert_eq!(chunk_count(&pool, item).await, i64::from(chunks));
    assert_eq!(wiring.depth(&wiring.dead).await, 0);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_poison_file_fails_with_its_reason_and_leaves_the_queue(pool: PgPool) {
    let wiring = wiring(3).await;
    let pipeline = wiring.pipeline(&pool);
    // A PNG's signature under a PDF's name.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    let poison = upload(&pool, &pipeline.storage, "report.pdf", png).await;
    let large = upload(&pool, &pipeline.storage, "big.txt", &vec![b'a'; 1_000_001]).await;

    let consumer = wiring.consumer(handler(pipeline, 3)).await;
    run_until(consumer, || async {
        wiring.depth(&wiring.queue).await == 0
    })
    .await;

    let (status, error, _) = item_state(&pool, poison).await;
    assert_eq!(status, "failed");
    assert!(error.as_deref().unwrap().contains("png"), "{error:?}");
    let (status, error, _) = item_state(&pool, large).await;
    assert_eq!(status, "failed");
    assert_eq!(
        error.as_deref(),
        Some("the file is larger than the 1 MB allowed")
    );
    assert_eq!(wiring.depth(&wiring.dead).await, 0);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn an_item_that_keeps_failing_ends_in_the_dead_letter_queue(pool: PgPool) {
    let wiring = wiring(2).await;
    let uploads = wiring.pipeline(&pool);
    let item = upload(&pool, &uploads.storage, "notes.md", TEXT.as_bytes()).await;
    // The worker reads from a bucket that does not exist: every try fails, and not for the
    // file's sake.
    let missing = Storage::S3(S3Storage::new(
        &testing::moto_config().await,
        "no-such-bucket",
        true,
        studio_core::knowledge::s3::Encryption::S3Managed,
    ));
    let broken = Pipeline {
        storage: missing,
        ..uploads
    };
    let consumer = wiring.consumer(EventHandler {
        retry_base: Duration::ZERO,
        ..handler(broken, 2)
    });
    run_until(consumer.await, || async {
        wiring.depth(&wiring.dead).await == 1 && wiring.depth(&wiring.queue).await == 0
    })
    .await;

    let (status, error, _) = item_state(&pool, item).await;
    assert_eq!(status, "failed");
    assert!(
        error
            .as_deref()
            .unwrap()
            .starts_with("processing kept failing"),
        "{error:?}"
    );
}
