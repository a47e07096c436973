//! Knowledge benchmarks against a real Postgres (`DATABASE_URL`, migrated here):
//!
//! - ingestion from stored upload to searchable (extract, chunk, embed, store): a 1 MB text
//!   file and a 100-page text PDF, with an embedding API on loopback that answers at once
//!   (the pipeline's own cost) and, for the PDF, with the local model;
//! - search latency over 100,000 chunks (semantic, keyword, hybrid), p50 and p99, and the
//!   HNSW index's recall against an exact scan.
//!
//! Vectors come from a deterministic "topic" embedding: each word belongs to one of 500
//! topics with a direction of its own, a text's vector is the mean of its words'. Texts of one
//! topic cluster like real embeddings do, so the index is measured on clustered data, not
//! uniform noise. `make bench` runs it.

#![expect(clippy::print_stdout, reason = "a benchmark prints its numbers")]
#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::PgPool;
use studio_core::knowledge::{
    embed::Embedder,
    embedding::vector_literal,
    pipeline::Pipeline,
    remote::{RemoteEmbedder, RemoteSettings},
    repos::{self, ItemKind, NewItem, RepositoryFields},
    search::{self, Mode, Query},
    storage,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const DIMENSIONS: usize = 384;
const TOPICS: usize = 500;
const WORDS_PER_TOPIC: usize = 20;
const CHUNKS: usize = 100_000;
const QUERIES: usize = 200;

/// Word `n` of topic `t` is `w{t}x{n}`; its vector is the topic's direction plus its own.
struct Topics {
    directions: Vec<Vec<f32>>,
}

impl Topics {
    fn new() -> Self {
        let mut rng = StdRng::seed_from_u64(7);
        let directions = (0..TOPICS * (WORDS_PER_TOPIC + 1))
            .map(|_| (0..DIMENSIONS).map(|_| rng.random::<f32>() - 0.5).collect())
            .collect();
        Self { directions }
    }

    fn word(topic: usize, n: usize) -> String {
        format!("w{topic}x{n}")
    }

    fn word_vector(&self, word: &str) -> Option<Vec<f32>> {
        let (topic, n) = word.strip_prefix('w')?.split_once('x')?;
        let (topic, n): (usize, usize) = (topic.parse().ok()?, n.parse().ok()?);
        let centre = &self.directions[topic * (WORDS_PER_TOPIC + 1)];
        let own = &self.directions[topic * (WORDS_PER_TOPIC + 1) + 1 + n % WORDS_PER_TOPIC];
        Some(centre.iter().zip(own).map(|(c, o)| c + 0.6 * o).collect())
    }

    fn embed(&self, text: &str) -> Vec<f32> {
        let mut sum = vec![0.0_f32; DIMENSIONS];
        for word in text.split_whitespace() {
            if let Some(v) = self.word_vector(word) {
                sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
            }
        }
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        sum.iter().map(|x| x / norm).collect()
    }
}

/// An OpenAI-compatible `/embeddings` endpoint on loopback that embeds with [`Topics`].
async fn embedding_server(topics: Arc<Topics>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let topics = topics.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = vec![0u8; 65536];
                let body = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if raw.len() >= split + 4 + length {
                        break raw[split + 4..split + 4 + length].to_vec();
                    }
                };
                let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let data: Vec<_> = request["input"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        serde_json::json!({ "index": i, "embedding": topics.embed(t.as_str().unwrap()) })
                    })
                    .collect();
                let reply = serde_json::json!({ "data": data }).to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                    reply.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    url
}

fn remote(url: &str) -> Embedder {
    Embedder::Remote(
        RemoteEmbedder::new(RemoteSettings {
            base_url: url.to_owned(),
            api_key: None,
            model: "bench-topics".into(),
            dimensions: DIMENSIONS,
            max_tokens: 8191,
        })
        .unwrap(),
    )
}

/// `words` words of prose-like text from random topics, a sentence every 12 words.
fn text(rng: &mut StdRng, words: usize) -> String {
    let mut out = String::new();
    let mut topic = rng.random_range(0..TOPICS);
    for n in 0..words {
        if n % 60 == 0 {
            topic = rng.random_range(0..TOPICS);
        }
        out.push_str(&Topics::word(topic, rng.random_range(0..WORDS_PER_TOPIC)));
        out.push_str(if n % 12 == 11 { ".\n" } else { " " });
    }
    out
}

/// A PDF of `pages` pages of `lines` lines each, with a text layer.
fn pdf(rng: &mut StdRng, pages: usize, lines: usize) -> Vec<u8> {
    use lopdf::{
        Document, Object, Stream,
        content::{Content, Operation},
        dictionary,
    };
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for _ in 0..pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 10.into()]),
            Operation::new("Td", vec![50.into(), 780.into()]),
        ];
        for _ in 0..lines {
            let line = text(rng, 12);
            operations.push(Operation::new(
                "Tj",
                vec![Object::string_literal(line.trim())],
            ));
            operations.push(Operation::new("Td", vec![0.into(), (-14).into()]));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations }.encode().unwrap();
        let contents = doc.add_object(Stream::new(dictionary! {}, content));
        kids.push(
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => contents,
            })
            .into(),
        );
    }
    let count = i64::try_from(kids.len()).unwrap();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

async fn user_and_repository(pool: &PgPool, name: &str) -> (Uuid, Uuid) {
    let user: Uuid = sqlx::query_scalar(
        "insert into users (email, display_name, is_email_verified, email_verified_at) values ($1, 'Bench', true, now()) returning id",
    )
    .bind(format!("{}@bench.test", Uuid::new_v4().simple()))
    .fetch_one(pool)
    .await
    .unwrap();
    let repo = repos::create(
        pool,
        user,
        &RepositoryFields {
            name: name.into(),
            description: String::new(),
            is_public: false,
        },
    )
    .await
    .unwrap();
    (user, repo)
}

/// Stores `bytes`, adds the item, and times its ingestion to searchable.
async fn ingest(pipeline: &Pipeline, name: &str, bytes: &[u8]) -> (Duration, usize) {
    let (user, repo) = user_and_repository(&pipeline.pool, name).await;
    let started = Instant::now();
    let item = Uuid::new_v4();
    let key = storage::original_key(repo, item);
    pipeline.storage.put(&key, bytes).await.unwrap();
    repos::add_item(
        &pipeline.pool,
        user,
        repo,
        &NewItem {
            id: item,
            kind: ItemKind::File,
            name: name.into(),
            storage_key: Some(key),
            size_bytes: bytes.len() as i64,
        },
    )
    .await
    .unwrap();
    let outcome = pipeline
        .ingest(item, &CancellationToken::new())
        .await
        .unwrap();
    let chunks = match outcome {
        studio_core::knowledge::pipeline::Ingested::Ready { chunks } => chunks,
        other => panic!("{other:?}"),
    };
    (started.elapsed(), chunks)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL (make bench sets it)");
    // Index builds get the memory they need to run in RAM.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(&mut *conn, "set maintenance_work_mem = '512MB'").await?;
                Ok(())
            })
        })
        .connect(&url)
        .await
        .unwrap();
    studio_core::MIGRATOR.run(&pool).await.unwrap();
    let topics = Arc::new(Topics::new());
    let api = embedding_server(topics.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let fast = Pipeline {
        embedder: remote(&api),
        ..Pipeline::local(pool.clone(), dir.path())
    };
    fast.embedder.ensure_index(&pool).await.unwrap();
    let mut rng = StdRng::seed_from_u64(11);

    println!("knowledge ingestion, stored upload -> searchable");
    let one_mb = {
        let mut t = String::new();
        while t.len() < 1_000_000 {
            t.push_str(&text(&mut rng, 600));
            t.push_str("\n\n");
        }
        t
    };
    let (took, chunks) = ingest(&fast, "one-megabyte.txt", one_mb.as_bytes()).await;
    println!(
        "  1 MB text, embedding API on loopback:      {:>7.0} ms  ({chunks} chunks)",
        took.as_secs_f64() * 1000.0
    );
    let hundred_pages = pdf(&mut rng, 100, 40);
    let (took, chunks) = ingest(&fast, "hundred-pages.pdf", &hundred_pages).await;
    println!(
        "  100-page PDF ({} KB), embedding API:     {:>7.0} ms  ({chunks} chunks)",
        hundred_pages.len() / 1000,
        took.as_secs_f64() * 1000.0
    );
    let local = Pipeline::local(pool.clone(), dir.path());
    if local.embedder.embed(vec!["warm up".into()]).await.is_ok() {
        let (took, chunks) = ingest(&local, "hundred-pages-local.pdf", &hundred_pages).await;
        println!(
            "  100-page PDF, local MiniLM model:         {:>7.0} ms  ({chunks} chunks, {:.1} chunks/s)",
            took.as_secs_f64() * 1000.0,
            chunks as f64 / took.as_secs_f64()
        );
    } else {
        println!("  (local model not found: EMBEDDING_MODEL_DIR; skipped)");
    }

    println!("knowledge search over {CHUNKS} chunks ({TOPICS} topics, {DIMENSIONS} dimensions)");
    let (user, repo) = user_and_repository(&pool, "Search bench").await;
    let started = Instant::now();
    sqlx::query("drop index if exists knowledge_embeddings_bench_topics_384_hnsw_idx")
        .execute(&pool)
        .await
        .unwrap();
    let items_per_repo = 100;
    for item_no in 0..items_per_repo {
        let item = Uuid::new_v4();
        sqlx::query(
            "insert into knowledge_items (id, repository_id, kind, name, status, chunk_count)
             values ($1, $2, 'file', $3, 'ready', $4)",
        )
        .bind(item)
        .bind(repo)
        .bind(format!("document-{item_no}.txt"))
        .bind((CHUNKS / items_per_repo) as i32)
        .execute(&pool)
        .await
        .unwrap();
        for batch in 0..(CHUNKS / items_per_repo / 500) {
            let texts: Vec<String> = (0..500).map(|_| text(&mut rng, 80)).collect();
            let ids: Vec<Uuid> = texts.iter().map(|_| Uuid::new_v4()).collect();
            let positions: Vec<i32> = (0..500).map(|n| (batch * 500 + n) as i32).collect();
            let vectors: Vec<String> = texts
                .iter()
                .map(|t| vector_literal(&topics.embed(t)))
                .collect();
            sqlx::query(
                "insert into knowledge_chunks (id, item_id, repository_id, position, content, token_count)
                 select c.id, $2, $3, c.position, c.content, 120
                 from unnest($1::uuid[], $4::int[], $5::text[]) as c(id, position, content)",
            )
            .bind(&ids)
            .bind(item)
            .bind(repo)
            .bind(&positions)
            .bind(&texts)
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query(
                "insert into knowledge_embeddings (chunk_id, model, repository_id, embedding)
                 select e.id, 'bench-topics', $2, e.v::vector from unnest($1::uuid[], $3::text[]) as e(id, v)",
            )
            .bind(&ids)
            .bind(repo)
            .bind(&vectors)
            .execute(&pool)
            .await
            .unwrap();
        }
    }
    println!(
        "  loaded {CHUNKS} chunks and vectors in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    fast.embedder.ensure_index(&pool).await.unwrap();
    sqlx::query("analyze knowledge_chunks")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("analyze knowledge_embeddings")
        .execute(&pool)
        .await
        .unwrap();
    println!(
        "  built the HNSW index in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let queries: Vec<String> = (0..QUERIES)
        .map(|_| {
            let topic = rng.random_range(0..TOPICS);
            format!(
                "{} {} {}",
                Topics::word(topic, rng.random_range(0..WORDS_PER_TOPIC)),
                Topics::word(topic, rng.random_range(0..WORDS_PER_TOPIC)),
                Topics::word(
                    rng.random_range(0..TOPICS),
                    rng.random_range(0..WORDS_PER_TOPIC)
                ),
            )
        })
        .collect();
    for (label, mode) in [
        ("semantic", Mode::Semantic),
        ("keyword", Mode::Keyword),
        ("hybrid", Mode::Hybrid),
    ] {
        let mut times = Vec::with_capacity(QUERIES);
        for (n, q) in queries.iter().enumerate() {
            let query = Query {
                text: q.clone(),
                repositories: vec![repo],
                mode,
                semantic_weight: 0.7,
                limit: 10,
            };
            let started = Instant::now();
            let hits = search::search(&pool, &fast.embedder, user, &query)
                .await
                .unwrap();
            if n >= 10 {
                times.push(started.elapsed());
            }
            assert!(!hits.is_empty(), "{label} found nothing for {q}");
        }
        times.sort();
        println!(
            "  {label:<8} top 10 (query embedding included): p50 {:>6.1} ms  p99 {:>6.1} ms",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }

    // Recall of the index against an exact scan, over 50 queries, for a few `ef_search`
    // values. The test data has many near-identical chunks per topic, so ids tie: an index
    // hit counts when it is as close as the exact scan's tenth.
    let sql = "select chunk_id, (embedding::vector(384) <=> $1::text::vector(384))::float8
               from knowledge_embeddings where model = 'bench-topics'
               order by embedding::vector(384) <=> $1::text::vector(384) limit 10";
    let mut exact = Vec::new();
    for q in queries.iter().take(50) {
        let vector = vector_literal(&topics.embed(q));
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("set local enable_indexscan = off")
            .execute(&mut *tx)
            .await
            .unwrap();
        let rows: Vec<(Uuid, f64)> = sqlx::query_as(sql)
            .bind(&vector)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        exact.push((vector, rows));
    }
    for ef_search in [40, 100, 200, 400] {
        let (mut same, mut as_close, mut total) = (0, 0, 0);
        let mut times = Vec::new();
        for (vector, exact) in &exact {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query(&format!("set local hnsw.ef_search = {ef_search}"))
                .execute(&mut *tx)
                .await
                .unwrap();
            let started = Instant::now();
            let approximate: Vec<(Uuid, f64)> = sqlx::query_as(sql)
                .bind(vector)
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            times.push(started.elapsed());
            tx.rollback().await.unwrap();
            let tenth = exact.last().map_or(0.0, |(_, d)| *d);
            same += exact
                .iter()
                .filter(|(id, _)| approximate.iter().any(|(a, _)| a == id))
                .count();
            as_close += approximate
                .iter()
                .filter(|(_, d)| *d <= tenth + 1e-9)
                .count();
            total += exact.len();
        }
        times.sort();
        println!(
            "  HNSW ef_search {ef_search:>3}: recall@10 {:.3} (same ids {:.3}), index query p50 {:.1} ms",
            as_close as f64 / total as f64,
            same as f64 / total as f64,
            percentile(&times, 0.5)
        );
    }
}
