//! Knowledge items through the runner: a poison file ends dead with its reason on the item, and
//! an item whose worker died mid-job is taken over and ends ready without duplicate chunks.

use std::{sync::OnceLock, time::Duration};

use sqlx::PgPool;
use studio_core::{
    accounts::users,
    db::jobs,
    knowledge::{
        pipeline::Pipeline,
        repos::{self, ItemKind, NewItem, RepositoryFields},
        storage,
    },
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use workers::{Outcome, Runner, runner::ProcessResult};

use super::config;

/// One storage folder for the whole test binary (items are keyed by random ids).
fn storage_dir() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

pub fn pipeline(pool: &PgPool) -> Pipeline {
    Pipeline::local(pool.clone(), storage_dir())
}

/// A staff member with a repository of their own.
pub async fn owner_with_repository(pool: &PgPool) -> (Uuid, Uuid) {
    let owner: Uuid =
        sqlx::query_scalar("insert into users (email, display_name, is_email_verified, email_verified_at) values ($1, 'T', true, now()) returning id")
            .bind(format!("t-{}@school.test", Uuid::new_v4().simple()))
            .fetch_one(pool)
            .await
            .unwrap();
    users::grant_role_by_name(pool, owner, "staff")
        .await
        .unwrap();
    let repo = repos::create(
        pool,
        owner,
        &RepositoryFields {
            name: "Lessons".into(),
            description: String::new(),
            is_public: false,
        },
    )
    .await
    .unwrap();
    (owner, repo)
}

async fn item(pool: &PgPool, name: &str, bytes: &[u8]) -> (Uuid, Uuid) {
    let (owner, repo) = owner_with_repository(pool).await;
    let id = Uuid::new_v4();
    let key = storage::original_key(repo, id);
    pipeline(pool).storage.put(&key, bytes).await.unwrap();
    repos::add_item(
        pool,
        owner,
        repo,
        &NewItem {
            id,
            kind: ItemKind::File,
            name: name.into(),
            storage_key: Some(key),
            size_bytes: bytes.len() as i64,
        },
    )
    .await
    .unwrap();
    (id, owner)
}

pub async fn item_state(pool: &PgPool, id: Uuid) -> (String, Option<String>, i32) {
    sqlx::query_as("select status, error, chunk_count from knowledge_items where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_poison_file_is_dead_at_once_with_its_reason(pool: PgPool) {
    let (id, _) = item(
        &pool,
        "photo.txt",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01",
    )
    .await;
    let runner = Runner::new(pool.clone(), super::handlers(&pool), config());
    let outcome = runner.run_once(&CancellationToken::new()).await.unwrap();
    let Outcome::Processed { id: job, result } = outcome else {
        panic!("the item's job should have run");
    };
    assert_eq!(result, ProcessResult::Dead);
    let record = jobs::find(&pool, job).await.unwrap().unwrap();
    assert_eq!(record.attempts, 1, "not retried");
    let (status, error, _) = item_state(&pool, id).await;
    assert_eq!(status, "failed");
    let error = error.unwrap();
    assert!(
        error.contains("photo.txt is in fact a .png file"),
        "{error}"
    );
    assert_eq!(record.last_error.as_deref(), Some(error.as_str()));
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn an_item_whose_worker_died_is_taken_over_and_stored_once(pool: PgPool) {
    let text = (1..=30)
        .map(|n| format!("Paragraph {n} explains step {n} of the experiment in some detail."))
        .collect::<Vec<_>>()
        .join("\n\n");
    let (id, _) = item(&pool, "method.txt", text.as_bytes()).await;

    // A worker claims the job, gets halfway (some chunks stored by an earlier run) and dies:
    // it never completes and never renews its lease.
    let dead = jobs::claim(
        &pool,
        "dead-worker",
        &[<repos::IngestItem as studio_core::db::jobs::Job>::KIND.to_owned()],
        Duration::from_secs(5),
    )
    .await
    .unwrap()
    .unwrap();
    pipeline(&pool)
        .ingest(id, &CancellationToken::new())
        .await
        .unwrap();
    let runner = Runner::new(pool.clone(), super::handlers(&pool), config());
    assert_eq!(
        runner.run_once(&CancellationToken::new()).await.unwrap(),
        Outcome::Empty,
        "the job is leased"
    );
    let expired = dead.lease_expires_at - chrono::Utc::now();
    tokio::time::sleep(expired.to_std().unwrap_or_default() + Duration::from_millis(200)).await;

    let outcome = runner.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Processed {
            id: dead.id,
            result: ProcessResult::Succeeded
        }
    );
    let (status, error, chunks) = item_state(&pool, id).await;
    assert_eq!((status.as_str(), error), ("ready", None));
    let stored: i64 =
        sqlx::query_scalar("select count(*) from knowledge_chunks where item_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, i64::from(chunks));
    let distinct: i64 = sqlx::query_scalar(
        "select count(distinct content) from knowledge_chunks where item_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(distinct, stored, "no chunk stored twice");
    // The dead worker's late outcome is refused: its lease token is stale.
    assert!(
        !jobs::complete(&pool, dead.id, dead.lease_token)
            .await
            .unwrap()
    );
}

/// An S3 `ObjectCreated` notification for `key` (whose characters need no encoding), as the
/// bucket sends it.
fn notification(key: &str, size: usize) -> String {
    serde_json::json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-2",
        "eventTime": chrono::Utc::now().to_rfc3339(), "eventName": "ObjectCreated:Put",
        "s3": { "bucket": { "name": "files" }, "object": { "key": key, "size": size } }
    }]})
    .to_string()
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_lambda_batch_reports_only_the_messages_to_try_again(pool: PgPool) {
    use workers::events::{Delivery, EventHandler};

    let (owner, repository) = owner_with_repository(&pool).await;
    let id = Uuid::new_v4();
    let key = storage::original_key(repository, id);
    let text = "Osmosis moves water across a membrane.";
    pipeline(&pool)
        .storage
        .put(&key, text.as_bytes())
        .await
        .unwrap();
    repos::add_pending_upload(
        &pool,
        owner,
        repository,
        &NewItem {
            id,
            kind: ItemKind::File,
            name: "osmosis notes.txt".into(),
            storage_key: Some(key.clone()),
            size_bytes: text.len() as i64,
        },
    )
    .await
    .unwrap();
    let handler = EventHandler {
        pipeline: pipeline(&pool),
        max_upload_bytes: 1_000_000,
        max_receives: 3,
        retry_base: Duration::from_secs(1),
    };
    let delivery = |id: &str, body: String| Delivery {
        id: id.into(),
        body,
        receive: 1,
    };
    let batch = vec![
        delivery(
            "test",
            r#"{"Event":"s3:TestEvent","Bucket":"files"}"#.into(),
        ),
        delivery("upload", notification(&key, text.len())),
        delivery("garbage", "not json".into()),
        delivery("stranger", notification("elsewhere/file.txt", 10)),
    ];
    let failed = handler.handle_batch(batch, &CancellationToken::new()).await;
    assert_eq!(failed, ["garbage"]);
    let (status, error, chunks) = item_state(&pool, id).await;
    assert_eq!((status.as_str(), error, chunks), ("ready", None, 1));
}
