//! The OpenAI-compatible embeddings client against a fake server speaking the real API:
//! batching, order, normalisation, retries on rate limits, no retry on refusals; and the
//! Bedrock (Titan) client against a fake `InvokeModel`.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    embed::Embedder,
    remote::{BATCH, RemoteEmbedder, RemoteSettings},
};

/// Answers each request with the next scripted status (200 by default); a 200 embeds each
/// input as `[len, 1, 0]` and lists them in reverse order. Records the request bodies.
struct FakeEmbeddings {
    base_url: String,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    paths: Arc<Mutex<Vec<String>>>,
}

/// The OpenAI answer: each input as `[len, 1, 0]`, listed in reverse order.
fn openai_reply(request: &serde_json::Value) -> String {
    let inputs = request["input"].as_array().unwrap();
    let data: Vec<_> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, text)| {
            let len = text.as_str().unwrap().len() as f32;
            serde_json::json!({ "object": "embedding", "index": i, "embedding": [len, 1.0, 0.0] })
        })
        .collect();
    serde_json::json!({ "object": "list", "data": data, "model": request["model"] }).to_string()
}

/// Titan's answer: `[len, 0, 0, ...]` with the dimensions asked for.
fn titan_reply(request: &serde_json::Value) -> String {
    let dimensions = request["dimensions"].as_u64().unwrap() as usize;
    let mut embedding = vec![0.0f32; dimensions];
    embedding[0] = request["inputText"].as_str().unwrap().len() as f32;
    serde_json::json!({ "embedding": embedding, "inputTextTokenCount": 3 }).to_string()
}

impl FakeEmbeddings {
    async fn start(script: Vec<(u16, &'static str)>) -> Self {
        Self::serve(script, openai_reply).await
    }

    async fn serve(
        script: Vec<(u16, &'static str)>,
        reply: fn(&serde_json::Value) -> String,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let (log, path_log) = (bodies.clone(), paths.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (log, path_log, script) = (log.clone(), path_log.clone(), script.clone());
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buf = [0u8; 4096];
                    let body = loop {
                        let n = socket.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&raw).into_owned();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            if let Some(path) = head.split(' ').nth(1) {
                                path_log.lock().unwrap().push(path.to_owned());
                            }
                            let length: usize = head
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse().unwrap())
                                })
                                .unwrap_or(0);
                            if body.len() >= length {
                                break body.to_owned();
                            }
                        }
                    };
                    let request: serde_json::Value = serde_json::from_str(&body).unwrap();
                    log.lock().unwrap().push(request.clone());
                    let (status, extra) = script.lock().unwrap().pop_front().unwrap_or((200, ""));
                    let reply = if status == 200 {
                        reply(&request)
                    } else {
                        serde_json::json!({ "error": { "message": "slow down", "type": "rate_limit" }, "message": "slow down" })
                            .to_string()
                    };
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{reply}",
                        reply.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        Self {
            base_url,
            bodies,
            paths,
        }
    }

    fn embedder(&self, model: &str) -> RemoteEmbedder {
        let mut embedder = RemoteEmbedder::new(RemoteSettings {
            base_url: self.base_url.clone(),
            api_key: Some("sk-test".to_owned().into()),
            model: model.to_owned(),
            dimensions: 3,
            max_tokens: 8191,
        })
        .unwrap();
        embedder.retry_base = Duration::from_millis(10);
        embedder
    }
}

#[tokio::test]
async fn texts_go_in_batches_and_come_back_in_order_as_unit_vectors() {
    let fake = FakeEmbeddings::start(vec![]).await;
    let embedder = fake.embedder("text-embedding-3-small");
    let texts: Vec<String> = (0..BATCH + 6).map(|n| "x".repeat(n + 1)).collect();
    let vectors = embedder.embed(&texts).await.unwrap();
    assert_eq!(vectors.len(), texts.len());
    for (n, v) in vectors.iter().enumerate() {
        let len = (n + 1) as f32;
        let norm = (len * len + 1.0).sqrt();
        assert!((v[0] - len / norm).abs() < 1e-6 && (v[1] - 1.0 / norm).abs() < 1e-6);
    }
    let bodies = fake.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["input"].as_array().unwrap().len(), BATCH);
    assert_eq!(bodies[0]["model"], "text-embedding-3-small");
    assert_eq!(
        bodies[0]["dimensions"], 3,
        "text-embedding-3 models are asked to shorten"
    );
    let local = fake.embedder("nomic-embed-text");
    local.embed(&["a".to_owned()]).await.unwrap();
    assert!(fake.bodies.lock().unwrap()[2].get("dimensions").is_none());
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_refusals_are_not_retried() {
    let fake = FakeEmbeddings::start(vec![
        (429, "retry-after: 0\r\n"),
        (503, ""),
        (200, ""),
        (400, ""),
    ])
    .await;
    let embedder = fake.embedder("text-embedding-3-small");
    let vectors = embedder.embed(&["hello".to_owned()]).await.unwrap();
    assert_eq!(vectors.len(), 1);
    assert_eq!(
        fake.bodies.lock().unwrap().len(),
        3,
        "two retries, then success"
    );

    let err = embedder.embed(&["again".to_owned()]).await.unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    assert_eq!(
        fake.bodies.lock().unwrap().len(),
        4,
        "a refusal is not retried"
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_remote_model_gets_its_own_index_and_searches_only_its_own_vectors(pool: sqlx::PgPool) {
    use tokio_util::sync::CancellationToken;

    use super::{
        pipeline::Pipeline,
        repos::{self, ItemKind, NewItem, RepositoryFields},
        search::{self, Mode, Query},
        storage,
    };
    let fake = FakeEmbeddings::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let local = Pipeline::local(pool.clone(), dir.path());
    let remote = Pipeline {
        embedder: Embedder::Remote(fake.embedder("fake-embed")),
        ..local.clone()
    };
    remote.embedder.ensure_index(&pool).await.unwrap();
    remote.embedder.ensure_index(&pool).await.unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "select indexdef from pg_indexes where tablename = 'knowledge_embeddings' and indexdef like '%fake-embed%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert!(indexes[0].contains("vector(3)"), "{indexes:?}");

    let user: uuid::Uuid = sqlx::query_scalar(
        "insert into users (email, display_name, is_email_verified, email_verified_at) values ('t@school.test', 'T', true, now()) returning id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let repo = repos::create(
        &pool,
        user,
        &RepositoryFields {
            name: "Mixed".into(),
            description: String::new(),
            is_public: false,
        },
    )
    .await
    .unwrap();
    let mut items = Vec::new();
    for (pipeline, text) in [
        (&local, "Glaciers carve valleys."),
        (&remote, "Rivers carry silt."),
    ] {
        let id = uuid::Uuid::new_v4();
        items.push(id);
        let key = storage::original_key(repo, id);
        pipeline.storage.put(&key, text.as_bytes()).await.unwrap();
        repos::add_item(
            &pool,
            user,
            repo,
            &NewItem {
                id,
                kind: ItemKind::File,
                name: format!("{text}.txt"),
                storage_key: Some(key),
                size_bytes: 1,
            },
        )
        .await
        .unwrap();
        pipeline
            .ingest(id, &CancellationToken::new())
            .await
            .unwrap();
    }
    let query = Query {
        text: "valleys and silt".into(),
        repositories: vec![],
        mode: Mode::Semantic,
        semantic_weight: 1.0,
        limit: 10,
    };
    let hits = search::search(&pool, &remote.embedder, user, &query)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "only the remote model's vectors: {hits:#?}");
    assert_eq!(hits[0].content, "Rivers carry silt.");
    let hits = search::search(&pool, &local.embedder, user, &query)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].content, "Glaciers carve valleys.");

    // The configured model is now the remote one: the item embedded locally is queued and
    // embedded again (once), and found by the new model; its local vectors stay.
    use super::{pipeline::Embedded, reembed};
    let model = remote.embedder.id();
    assert_eq!(reembed::queue_missing(&pool, model).await.unwrap(), 1);
    assert_eq!(reembed::queue_missing(&pool, model).await.unwrap(), 1);
    let waiting: Vec<serde_json::Value> =
        sqlx::query_scalar("select payload from jobs where kind = $1")
            .bind(<reembed::EmbedItem as crate::db::jobs::Job>::KIND)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(waiting.len(), 1, "queued once: {waiting:?}");
    assert_eq!(waiting[0]["item_id"], items[0].to_string());
    let cancel = CancellationToken::new();
    assert_eq!(
        local.embed_missing(items[0], model, &cancel).await.unwrap(),
        Embedded::OtherModel
    );
    assert_eq!(
        remote
            .embed_missing(items[0], model, &cancel)
            .await
            .unwrap(),
        Embedded::Done(1)
    );
    let status: String = sqlx::query_scalar("select status from knowledge_items where id = $1")
        .bind(items[0])
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "ready");
    let hits = search::search(&pool, &remote.embedder, user, &query)
        .await
        .unwrap();
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert_eq!(reembed::queue_missing(&pool, model).await.unwrap(), 0);

    let local_vectors: i64 =
        sqlx::query_scalar("select count(*) from knowledge_embeddings where model = $1")
            .bind(local.embedder.id())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(local_vectors, 1);

    // At start, the scan runs only when the model differs from the one checked last time.
    let local_model = local.embedder.id();
    assert_eq!(
        reembed::queue_after_model_change(&pool, model)
            .await
            .unwrap(),
        Some(0)
    );
    assert_eq!(
        reembed::queue_after_model_change(&pool, model)
            .await
            .unwrap(),
        None,
        "the same model again: no scan"
    );
    sqlx::query("delete from jobs where kind = $1")
        .bind(<reembed::EmbedItem as crate::db::jobs::Job>::KIND)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("delete from knowledge_embeddings where model = $1")
        .bind(local_model)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        reembed::queue_after_model_change(&pool, local_model)
            .await
            .unwrap(),
        Some(2),
        "back to the local model: both items lack its vectors now"
    );
    assert_eq!(
        reembed::queue_after_model_change(&pool, local_model)
            .await
            .unwrap(),
        None
    );
}

async fn titan(fake: &FakeEmbeddings, dimensions: usize) -> super::bedrock::BedrockEmbedder {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_bedrockruntime::config::Credentials;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-2"))
        .endpoint_url(fake.base_url.trim_end_matches("/v1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .load()
        .await;
    super::bedrock::BedrockEmbedder::new(&config, super::bedrock::TITAN_V2, dimensions, 8192)
        .unwrap()
}

#[tokio::test]
async fn titan_embeds_each_text_in_order_with_the_dimensions_asked_for() {
    // The first call is throttled: the SDK tries it again.
    let fake = FakeEmbeddings::serve(
        vec![(429, "x-amzn-errortype: ThrottlingException\r\n")],
        titan_reply,
    )
    .await;
    let embedder = Embedder::Bedrock(titan(&fake, 256).await);
    assert_eq!(embedder.id(), "amazon.titan-embed-text-v2:0");
    assert_eq!(embedder.dimensions(), 256);
    let texts: Vec<String> = (1..=20).map(|n| "y".repeat(n)).collect();
    let vectors = embedder.embed(texts.clone()).await.unwrap();
    assert_eq!(vectors.len(), 20);
    for (n, vector) in vectors.iter().enumerate() {
        assert_eq!(vector.len(), 256);
        assert_eq!(vector[0], (n + 1) as f32, "text {n} out of order");
    }
    let bodies = fake.bodies.lock().unwrap().clone();
    // 20 texts, one call each, plus the throttled one.
    assert_eq!(bodies.len(), 21);
    assert!(
        bodies
            .iter()
            .all(|b| b["dimensions"] == 256 && b["normalize"] == true)
    );
    let paths = fake.paths.lock().unwrap().clone();
    assert!(
        paths
            .iter()
            .all(|p| p == "/model/amazon.titan-embed-text-v2%3A0/invoke"),
        "{paths:?}"
    );
}

#[tokio::test]
async fn titan_refusals_and_wrong_sizes_are_errors() {
    let fake = FakeEmbeddings::serve(
        vec![(400, "x-amzn-errortype: ValidationException\r\n")],
        titan_reply,
    )
    .await;
    let embedder = titan(&fake, 512).await;
    let refused = embedder.embed(&["a".to_owned()]).await.unwrap_err();
    assert!(
        refused.to_string().contains("ValidationException"),
        "{refused}"
    );
    // A refusal is not retried.
    assert_eq!(fake.bodies.lock().unwrap().len(), 1);

    let config = aws_config::SdkConfig::builder().build();
    let odd = super::bedrock::BedrockEmbedder::new(&config, super::bedrock::TITAN_V2, 300, 8192);
    assert!(odd.unwrap_err().to_string().contains("256, 512 or 1024"));
}
