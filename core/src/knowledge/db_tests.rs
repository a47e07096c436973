//! Database tests: repositories and who sees them, items through the real pipeline (local
//! storage in a temporary folder, the real embedding model), and search.

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    embed::Embedder,
    pipeline::{IngestError, Ingested, Pipeline},
    repos::{self, Access, ItemKind, KnowledgeError, NewItem, RepositoryFields, Shares},
    search::{self, Hit, Mode, Query},
    status::ItemStatus,
    storage::{self, Storage, StorageError},
};
use crate::accounts::users;

async fn person(pool: &PgPool, email: &str, role: &str) -> Uuid {
    let id: Uuid =
        sqlx::query_scalar("insert into users (email, display_name, is_email_verified, email_verified_at) values ($1, $1, true, now()) returning id")
            .bind(email)
            .fetch_one(pool)
            .await
            .unwrap();
    users::grant_role_by_name(pool, id, role).await.unwrap();
    id
}

fn fields(name: &str, is_public: bool) -> RepositoryFields {
    RepositoryFields {
        name: name.to_owned(),
        description: String::new(),
        is_public,
    }
}

struct Setup {
    pipeline: Pipeline,
    _dir: tempfile::TempDir,
}

fn setup(pool: &PgPool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let embedder = Embedder::Local(super::embed::LocalEmbedder::new(
        std::env::var_os("EMBEDDING_MODEL_DIR").map_or_else(
            || std::path::PathBuf::from("models/all-MiniLM-L6-v2"),
            std::path::PathBuf::from,
        ),
    ));
    Setup {
        pipeline: Pipeline {
            pool: pool.clone(),
            storage: Storage::local(dir.path()),
            embedder,
            fetch: super::web::FetchPolicy::default_limits(),
            ocr: super::ocr::Ocr::Unavailable,
            reading: super::pipeline::Reading::default(),
        },
        _dir: dir,
    }
}

/// Stores `bytes` as a new item of `repository` and returns its id (queued, not processed).
async fn add(pipeline: &Pipeline, user: Uuid, repository: Uuid, name: &str, bytes: &[u8]) -> Uuid {
    let id = Uuid::new_v4();
    let key = storage::original_key(repository, id);
    pipeline.storage.put(&key, bytes).await.unwrap();
    repos::add_item(
        &pipeline.pool,
        user,
        repository,
        &NewItem {
            id,
            kind: ItemKind::File,
            name: name.to_owned(),
            storage_key: Some(key),
            size_bytes: bytes.len() as i64,
        },
    )
    .await
    .unwrap();
    id
}

async fn count(pool: &PgPool, sql: &str, item: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(item)
        .fetch_one(pool)
        .await
        .unwrap()
}

const NOTES: &str = "# Photosynthesis\n\nPlants turn sunlight, water and carbon dioxide into \
glucose and oxygen. The green pigment chlorophyll absorbs the light.\n\n# The water cycle\n\n\
Water evaporates from the oceans, condenses into clouds and falls back as rain or snow.";

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn an_item_is_processed_once_however_often_it_runs(pool: PgPool) {
    let setup = setup(&pool);
    let owner = person(&pool, "teacher@school.test", "staff").await;
    let repo = repos::create(&pool, owner, &fields("Science", false))
        .await
        .unwrap();
    let mut long = NOTES.to_owned();
    for n in 1..=40 {
        long.push_str(&format!(
            "\n\nLesson {n} covers experiment number {n}, its method, what was measured and \
             what the class concluded from the results."
        ));
    }
    let item = add(&setup.pipeline, owner, repo, "notes.md", long.as_bytes()).await;
    let queued: i64 = sqlx::query_scalar(
        "select count(*) from jobs where kind = $1 and payload->>'item_id' = $2",
    )
    .bind(<repos::IngestItem as crate::db::jobs::Job>::KIND)
    .bind(item.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(queued, 1, "adding an item queues its processing");

    let cancel = CancellationToken::new();
    let first = setup.pipeline.ingest(item, &cancel).await.unwrap();
    let Ingested::Ready { chunks } = first else {
        panic!("expected ready, got {first:?}")
    };
    assert!(chunks >= 3, "a long text makes several chunks: {chunks}");
    // At-least-once delivery: the same job again replaces, never adds.
    setup.pipeline.ingest(item, &cancel).await.unwrap();
    let stored = count(
        &pool,
        "select count(*) from knowledge_chunks where item_id = $1",
        item,
    )
    .await;
    assert_eq!(stored, chunks as i64);
    let vectors = count(
        &pool,
        "select count(*) from knowledge_embeddings e join knowledge_chunks c on c.id = e.chunk_id
         where c.item_id = $1 and vector_dims(e.embedding) = 384",
        item,
    )
    .await;
    assert_eq!(vectors, chunks as i64);

    let items = repos::items(&pool, owner, repo).await.unwrap();
    assert_eq!(items.len(), 1);
    let shown = &items[0];
    assert_eq!(shown.status, ItemStatus::Ready);
    assert_eq!(shown.content_kind.as_deref(), Some("markdown"));
    assert_eq!(shown.chunk_count as usize, chunks);
    assert_eq!(
        (shown.progress_done, shown.progress_total),
        (chunks as i32, chunks as i32)
    );
    let listed = repos::chunks(&pool, owner, repo, item).await.unwrap();
    assert!(listed[0].content.contains("chlorophyll"));
    assert!(listed.iter().all(|c| c.token_count > 0));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn unreadable_items_fail_with_a_reason_and_removed_ones_are_let_go(pool: PgPool) {
    let setup = setup(&pool);
    let owner = person(&pool, "teacher@school.test", "staff").await;
    let repo = repos::create(&pool, owner, &fields("Mixed", false))
        .await
        .unwrap();
    let cancel = CancellationToken::new();

    // A program renamed to .pdf.
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend(std::iter::repeat_n(0u8, 600));
    let binary = add(&setup.pipeline, owner, repo, "worksheet.pdf", &elf).await;
    match setup.pipeline.ingest(binary, &cancel).await {
        Err(IngestError::Permanent(reason)) => {
            assert!(reason.contains("worksheet.pdf"), "{reason}");
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }

    let blank = add(&setup.pipeline, owner, repo, "blank.txt", b"  \n\n\t\n").await;
    match setup.pipeline.ingest(blank, &cancel).await {
        Err(IngestError::Permanent(reason)) => assert!(reason.contains("no text"), "{reason}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }

    let gone = add(&setup.pipeline, owner, repo, "gone.txt", b"Short lived.").await;
    repos::remove_item(&pool, owner, repo, gone).await.unwrap();
    assert_eq!(
        setup.pipeline.ingest(gone, &cancel).await.unwrap(),
        Ingested::Gone
    );

    // A shutdown stops between batches; the job is retried later.
    let cut = add(&setup.pipeline, owner, repo, "cut.md", NOTES.as_bytes()).await;
    cancel.cancel();
    assert!(matches!(
        setup.pipeline.ingest(cut, &cancel).await,
        Err(IngestError::Transient(_))
    ));
}

fn query(text: &str, mode: Mode) -> Query {
    Query {
        text: text.to_owned(),
        repositories: Vec::new(),
        mode,
        semantic_weight: search::DEFAULT_SEMANTIC_WEIGHT,
        limit: 5,
    }
}

async fn find(setup: &Setup, user: Uuid, text: &str, mode: Mode) -> Vec<Hit> {
    search::search(
        &setup.pipeline.pool,
        &setup.pipeline.embedder,
        user,
        &query(text, mode),
    )
    .await
    .unwrap()
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn search_finds_by_meaning_and_by_words_and_says_why(pool: PgPool) {
    let setup = setup(&pool);
    let owner = person(&pool, "teacher@school.test", "staff").await;
    let repo = repos::create(&pool, owner, &fields("Science", false))
        .await
        .unwrap();
    let cancel = CancellationToken::new();
    let notes = add(&setup.pipeline, owner, repo, "notes.md", NOTES.as_bytes()).await;
    setup.pipeline.ingest(notes, &cancel).await.unwrap();
    let history = add(
        &setup.pipeline,
        owner,
        repo,
        "history.txt",
        b"The Treaty of Westphalia ended the Thirty Years' War in 1648.",
    )
    .await;
    setup.pipeline.ingest(history, &cancel).await.unwrap();

    // No shared word with the text: only meaning finds it.
    let hits = find(
        &setup,
        owner,
        "how do leaves make food from light",
        Mode::Semantic,
    )
    .await;
    assert!(hits[0].content.contains("chlorophyll"), "{hits:#?}");
    assert_eq!(hits[0].location.as_deref(), None);
    assert_eq!(hits[0].keyword, None);
    // The treaty is not about plants: it is no hit, however near it comes.
    assert!(hits.iter().all(|h| h.item_id != history), "{hits:#?}");
    assert!(
        hits.iter()
            .all(|h| h.semantic.unwrap() >= search::MIN_SIMILARITY)
    );

    let hits = find(&setup, owner, "Westphalia", Mode::Keyword).await;
    assert_eq!(hits.len(), 1, "only the chunk with the word: {hits:#?}");
    assert_eq!(hits[0].item_id, history);
    assert_eq!(hits[0].matched_terms, vec!["westphalia".to_owned()]);
    assert_eq!(hits[0].keyword, Some(1.0));
    assert_eq!(hits[0].semantic, None);

    let hits = find(&setup, owner, "rain clouds Westphalia", Mode::Hybrid).await;
    assert!(hits.len() >= 2);
    for hit in &hits {
        let expected = 0.7 * hit.semantic.unwrap() + 0.3 * hit.keyword.unwrap_or(0.0);
        assert!((hit.score - expected).abs() < 1e-5, "{hit:#?}");
    }
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));

    let err = search::search(
        &pool,
        &setup.pipeline.embedder,
        owner,
        &query("  ", Mode::Hybrid),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, search::SearchError::Invalid(_)));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn search_skips_stop_words_and_hits_that_are_merely_nearest(pool: PgPool) {
    let setup = setup(&pool);
    let owner = person(&pool, "teacher@school.test", "staff").await;
    let repo = repos::create(&pool, owner, &fields("Science", false))
        .await
        .unwrap();
    let cancel = CancellationToken::new();
    for (name, text) in [
        ("notes.md", NOTES),
        (
            "history.txt",
            "The Treaty of Westphalia ended the Thirty Years' War in 1648.",
        ),
    ] {
        let item = add(&setup.pipeline, owner, repo, name, text.as_bytes()).await;
        setup.pipeline.ingest(item, &cancel).await.unwrap();
    }

    // "a", "of" and "the" are in every chunk; only "treaty" says what is sought.
    let hits = find(&setup, owner, "a history of the treaty", Mode::Keyword).await;
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].matched_terms, vec!["treaty".to_owned()]);
    // A query of stop words alone is searched as typed.
    let hits = find(&setup, owner, "the", Mode::Keyword).await;
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h.matched_terms == ["the"]), "{hits:#?}");

    // Nothing here is about football: the nearest chunks are not hits.
    let hits = find(&setup, owner, "football transfer rumours", Mode::Semantic).await;
    assert!(hits.is_empty(), "{hits:#?}");
    let hits = find(&setup, owner, "football transfer rumours", Mode::Hybrid).await;
    assert!(hits.is_empty(), "{hits:#?}");
    // Those about the question stay, with what they share in meaning.
    let hits = find(&setup, owner, "the war that ended in 1648", Mode::Hybrid).await;
    assert_eq!(hits[0].item_name, "history.txt", "{hits:#?}");
    assert!(
        hits.iter()
            .all(|h| h.score > 0.0 && !h.matched_terms.contains(&"the".to_owned()))
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn only_owners_shares_and_public_repositories_are_seen(pool: PgPool) {
    let setup = setup(&pool);
    let owner = person(&pool, "teacher@school.test", "staff").await;
    let colleague = person(&pool, "colleague@school.test", "staff").await;
    let student = person(&pool, "pupil@school.test", "student").await;
    let private = repos::create(&pool, owner, &fields("Private notes", false))
        .await
        .unwrap();
    let cancel = CancellationToken::new();
    let item = add(
        &setup.pipeline,
        owner,
        private,
        "notes.md",
        NOTES.as_bytes(),
    )
    .await;
    setup.pipeline.ingest(item, &cancel).await.unwrap();

    assert!(repos::list(&pool, student).await.unwrap().is_empty());
    assert!(matches!(
        repos::items(&pool, student, private).await,
        Err(KnowledgeError::NotFound)
    ));
    assert!(
        find(&setup, student, "chlorophyll", Mode::Keyword)
            .await
            .is_empty()
    );
    // Asking for the repository by id does not get around it.
    let mut q = query("chlorophyll", Mode::Hybrid);
    q.repositories = vec![private];
    assert!(
        search::search(&pool, &setup.pipeline.embedder, student, &q)
            .await
            .unwrap()
            .is_empty()
    );

    // Shared with a role: every staff member sees it, read-only.
    let unreachable = repos::set_shares(
        &pool,
        owner,
        private,
        &Shares {
            user_emails: vec![],
            role_names: vec!["staff".into()],
        },
    )
    .await
    .unwrap();
    assert!(unreachable.is_empty(), "{unreachable:?}");
    let seen = repos::list(&pool, colleague).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].access, Access::Shared);
    assert_eq!((seen[0].item_count, seen[0].ready_count), (1, 1));
    assert_eq!(
        find(&setup, colleague, "chlorophyll", Mode::Keyword)
            .await
            .len(),
        1
    );
    assert!(matches!(
        repos::remove_item(&pool, colleague, private, item).await,
        Err(KnowledgeError::Forbidden)
    ));
    assert!(matches!(
        repos::update(&pool, colleague, private, &fields("Mine now", true)).await,
        Err(KnowledgeError::Forbidden)
    ));
    assert!(repos::list(&pool, student).await.unwrap().is_empty());

    // Shared with one user by address.
    repos::set_shares(
        &pool,
        owner,
        private,
        &Shares {
            user_emails: vec!["Pupil@School.test ".into()],
            role_names: vec![],
        },
    )
    .await
    .unwrap();
    assert_eq!(repos::list(&pool, student).await.unwrap().len(), 1);
    assert!(repos::list(&pool, colleague).await.unwrap().is_empty());
    let unknown = repos::set_shares(
        &pool,
        owner,
        private,
        &Shares {
            user_emails: vec!["nobody@school.test".into()],
            role_names: vec![],
        },
    )
    .await;
    assert!(matches!(unknown, Err(KnowledgeError::Invalid(m)) if m.contains("nobody@school.test")));

    // Public: everyone.
    let public = repos::create(&pool, owner, &fields("Handbook", true))
        .await
        .unwrap();
    let seen = repos::list(&pool, colleague).await.unwrap();
    assert_eq!(seen.iter().map(|r| r.id).collect::<Vec<_>>(), vec![public]);
    assert_eq!(seen[0].access, Access::Public);

    // A role without the knowledge tool is named: its members cannot open it yet.
    let unreachable = repos::set_shares(
        &pool,
        owner,
        private,
        &Shares {
            user_emails: vec![],
            role_names: vec!["student".into(), "staff".into()],
        },
    )
    .await
    .unwrap();
    assert_eq!(unreachable, vec!["student".to_owned()]);

    // Deleting takes the chunks and vectors with it.
    repos::delete(&pool, owner, private).await.unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from knowledge_embeddings")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn names_are_checked(pool: PgPool) {
    let owner = person(&pool, "teacher@school.test", "staff").await;
    assert!(matches!(
        repos::create(&pool, owner, &fields("   ", false)).await,
        Err(KnowledgeError::Invalid(_))
    ));
    assert!(matches!(
        repos::create(&pool, owner, &fields(&"x".repeat(101), false)).await,
        Err(KnowledgeError::Invalid(_))
    ));
}

#[tokio::test]
async fn local_storage_keeps_whole_files_under_plain_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::local(dir.path());
    let (repo, item) = (Uuid::new_v4(), Uuid::new_v4());
    let key = storage::original_key(repo, item);

    let body = futures::stream::iter(vec![
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"hello ")),
        Ok(bytes::Bytes::from_static(b"world")),
    ]);
    let stored = storage.put_stream(&key, body, 11, 4).await.unwrap();
    assert_eq!((stored.size, stored.head.as_slice()), (11, &b"hell"[..]));
    assert_eq!(storage.get(&key).await.unwrap(), b"hello world");

    // One byte over: refused, and the earlier object is untouched, no partial file is left.
    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from_static(
        b"hello world!",
    ))]);
    assert!(matches!(
        storage.put_stream(&key, body, 11, 0).await,
        Err(StorageError::TooLarge { limit: 11 })
    ));
    assert_eq!(storage.get(&key).await.unwrap(), b"hello world");
    let folder = dir.path().join(format!("repositories/{repo}/{item}"));
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1);

    for bad in ["../escape", "/etc/passwd", "a/../../b", ""] {
        assert!(
            matches!(storage.get(bad).await, Err(StorageError::BadKey(_))),
            "{bad}"
        );
    }
    storage
        .delete_prefix(&storage::repository_prefix(repo))
        .await
        .unwrap();
    assert!(matches!(
        storage.get(&key).await,
        Err(StorageError::NotFound(_))
    ));
    // Again: nothing there is not an error.
    storage
        .delete_prefix(&storage::repository_prefix(repo))
        .await
        .unwrap();
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn item_changes_reach_the_pages_following_them(pool: PgPool) {
    let owner = person(&pool, "teacher@school.test", "staff").await;
    let repo = repos::create(&pool, owner, &fields("Live", false))
        .await
        .unwrap();
    let events = std::sync::Arc::new(super::live::ItemEvents::default());
    let mut changes = events.subscribe();
    let stop = CancellationToken::new();
    let listening = tokio::spawn({
        let (events, pool, stop) = (events.clone(), pool.clone(), stop.clone());
        async move { events.run(pool, stop).await }
    });
    // Until the listener is up, changes are not seen: add items until one is.
    let seen = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            repos::add_item(
                &pool,
                owner,
                repo,
                &NewItem {
                    id: Uuid::new_v4(),
                    kind: ItemKind::Text,
                    name: "note".into(),
                    storage_key: None,
                    size_bytes: 1,
                },
            )
            .await
            .unwrap();
            if let Ok(Ok(id)) =
                tokio::time::timeout(std::time::Duration::from_millis(200), changes.recv()).await
            {
                return id;
            }
        }
    })
    .await
    .expect("a change arrives");
    assert_eq!(seen, repo);
    stop.cancel();
    listening.await.unwrap();
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn web_pages_are_fetched_kept_and_refused_when_private(pool: PgPool) {
    use super::web_tests::{Site, ok, site_policy};
    let site = Site::start(std::collections::HashMap::from([(
        "/tides",
        ok(
            "text/html",
            "<html><head><script>steal()</script></head><body><h1>Tides</h1>\
             <p>The moon pulls the oceans into two bulges.</p></body></html>",
        ),
    )]))
    .await;
    let mut setup = setup(&pool);
    setup.pipeline.fetch = site_policy();
    let owner = person(&pool, "teacher@school.test", "staff").await;
    let repo = repos::create(&pool, owner, &fields("Web", false))
        .await
        .unwrap();
    let add_url = |url: String| {
        let pool = pool.clone();
        async move {
            let id = Uuid::new_v4();
            repos::add_item(
                &pool,
                owner,
                repo,
                &NewItem {
                    id,
                    kind: ItemKind::Url,
                    name: url,
                    storage_key: None,
                    size_bytes: 0,
                },
            )
            .await
            .unwrap();
            id
        }
    };
    let cancel = CancellationToken::new();
    let page = add_url(site.url("/tides").to_string()).await;
    assert_eq!(
        setup.pipeline.ingest(page, &cancel).await.unwrap(),
        Ingested::Ready { chunks: 1 }
    );
    let item = &repos::items(&pool, owner, repo).await.unwrap()[0];
    assert_eq!(item.content_kind.as_deref(), Some("html"));
    assert!(item.size_bytes > 0);
    let chunks = repos::chunks(&pool, owner, repo, page).await.unwrap();
    assert!(chunks[0].content.contains("The moon pulls the oceans"));
    assert!(!chunks[0].content.contains("steal"), "scripts are not text");
    // The fetched page is kept as the original.
    let (_, key) = repos::original(&pool, owner, repo, page).await.unwrap();
    assert!(
        setup
            .pipeline
            .storage
            .get(&key)
            .await
            .unwrap()
            .starts_with(b"<html>")
    );

    let private = add_url("http://10.0.0.7/intranet".to_owned()).await;
    match setup.pipeline.ingest(private, &cancel).await {
        Err(IngestError::Permanent(reason)) => {
            assert!(reason.contains("private network"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// OCR as installed here (`scripts/setup.sh test` installs Tesseract and Poppler).
async fn tesseract(storage: &Storage) -> super::ocr::Ocr {
    let config = super::config::KnowledgeConfig::from_env().unwrap();
    let ocr = super::ocr::Ocr::build(&config.ocr, storage).await.unwrap();
    assert!(
        ocr.is_available(),
        "these tests need tesseract and pdftoppm (Debian: tesseract-ocr poppler-utils)"
    );
    ocr
}

/// A page of typed `lines` as a scanner would deliver it: an image (`png` or `jpeg`) of
/// 1240 x 1754 pixels (A4 at 150 dpi), rendered by Poppler.
async fn scanned(lines: &[&str], format: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("typed.pdf");
    std::fs::write(&source, super::tests::pdf(&[lines])).unwrap();
    let status = tokio::process::Command::new("pdftoppm")
        .args([
            &format!("-{format}"),
            "-singlefile",
            "-scale-to-x",
            "1240",
            "-scale-to-y",
            "1754",
        ])
        .arg(&source)
        .arg(dir.path().join("page"))
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let extension = if format == "jpeg" { "jpg" } else { format };
    std::fs::read(dir.path().join(format!("page.{extension}"))).unwrap()
}

/// A PDF of two pages: typed text, then a scan (a JPEG over the whole page, no text layer).
fn typed_then_scanned(typed: &[&str], scan: Vec<u8>) -> Vec<u8> {
    use lopdf::{Document, Object, Stream, content::Operation, dictionary};

    let mut doc = Document::load_mem(&super::tests::pdf(&[typed])).unwrap();
    let image = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 1240, "Height" => 1754,
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
        },
        scan,
    ));
    let draw = lopdf::content::Content {
        operations: vec![
            Operation::new("q", vec![]),
            Operation::new(
                "cm",
                vec![
                    595.into(),
                    0.into(),
                    0.into(),
                    842.into(),
                    0.into(),
                    0.into(),
                ],
            ),
            Operation::new("Do", vec!["Scan".into()]),
            Operation::new("Q", vec![]),
        ],
    };
    let contents = doc.add_object(Stream::new(dictionary! {}, draw.encode().unwrap()));
    let pages_id = doc
        .catalog()
        .unwrap()
        .get(b"Pages")
        .unwrap()
        .as_reference()
        .unwrap();
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => contents,
        "Resources" => dictionary! { "XObject" => dictionary! { "Scan" => image } },
    });
    let pages = doc.get_object_mut(pages_id).unwrap().as_dict_mut().unwrap();
    pages
        .get_mut(b"Kids")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(page.into());
    pages.set("Count", Object::Integer(2));
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

async fn chunk_texts(pool: &PgPool, item: Uuid) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "select content, location from knowledge_chunks where item_id = $1 order by position",
    )
    .bind(item)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn scanned_pages_and_images_are_read_with_ocr(pool: PgPool) {
    let mut setup = setup(&pool);
    setup.pipeline.ocr = tesseract(&setup.pipeline.storage).await;
    let owner = person(&pool, "teacher@school.test", "staff").await;
    let repo = repos::create(&pool, owner, &fields("Scans", false))
        .await
        .unwrap();
    let cancel = CancellationToken::new();

    // A photo of a whiteboard.
    let photo = scanned(&["Mitochondria release energy from glucose."], "png").await;
    let image = add(&setup.pipeline, owner, repo, "whiteboard.png", &photo).await;
    setup.pipeline.ingest(image, &cancel).await.unwrap();
    let chunks = chunk_texts(&pool, image).await;
    assert_eq!(chunks.len(), 1);
    assert!(
        chunks[0].0.contains("Mitochondria release energy"),
        "{chunks:?}"
    );
    let kind: Option<String> =
        sqlx::query_scalar("select content_kind from knowledge_items where id = $1")
            .bind(image)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(kind.as_deref(), Some("image"));

    // A typed page, then a scanned one: both read, in order, each with its page.
    let scan = scanned(&["Osmosis moves water across a membrane."], "jpeg").await;
    let document = typed_then_scanned(&["Diffusion spreads particles out."], scan);
    let mixed = add(&setup.pipeline, owner, repo, "biology.pdf", &document).await;
    setup.pipeline.ingest(mixed, &cancel).await.unwrap();
    let text: String = chunk_texts(&pool, mixed)
        .await
        .into_iter()
        .map(|(content, _)| content)
        .collect::<Vec<_>>()
        .join("\n");
    let (typed, ocr) = (
        text.find("Diffusion spreads particles").expect(&text),
        text.find("Osmosis moves water").expect(&text),
    );
    assert!(typed < ocr, "{text}");
    let left: Vec<i32> =
        sqlx::query_scalar("select pages_without_text from knowledge_items where id = $1")
            .bind(mixed)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(left.is_empty(), "{left:?}");

    // Without OCR, the scanned page is listed and the image fails with the reason.
    setup.pipeline.ocr = super::ocr::Ocr::Unavailable;
    setup.pipeline.ingest(mixed, &cancel).await.unwrap();
    let left: Vec<i32> =
        sqlx::query_scalar("select pages_without_text from knowledge_items where id = $1")
            .bind(mixed)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(left, [2]);
    match setup.pipeline.ingest(image, &cancel).await {
        Err(IngestError::Permanent(reason)) => {
            assert!(reason.starts_with("needs OCR"), "{reason}");
            assert!(reason.contains("not available on this server"), "{reason}");
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn textract_reads_scans_from_the_bucket_within_the_monthly_budget(pool: PgPool) {
    use super::{
        ocr::{Ocr, Textract},
        s3::testing,
    };

    let config = testing::moto_config().await;
    let bucket = testing::bucket(&config).await;
    let mut textract = Textract::new(&config, bucket.bucket(), 3);
    textract.poll = std::time::Duration::from_millis(100);
    let mut setup = setup(&pool);
    setup.pipeline.storage = Storage::S3(bucket);
    setup.pipeline.ocr = Ocr::Textract(textract);
    let owner = person(&pool, "teacher@school.test", "staff").await;
    let repo = repos::create(&pool, owner, &fields("Scans", false))
        .await
        .unwrap();
    let cancel = CancellationToken::new();
    let charged = |item: Uuid| {
        let pool = pool.clone();
        async move {
            count(
                &pool,
                "select coalesce(sum(pages), 0)::int8 from ocr_charges where item_id = $1",
                item,
            )
            .await
        }
    };

    // Two scanned pages: sent to Textract (moto answers with one page of lines).
    let scan = super::tests::pdf(&[&[], &[]]);
    let first = add(&setup.pipeline, owner, repo, "minutes.pdf", &scan).await;
    assert_eq!(
        setup.pipeline.ingest(first, &cancel).await.unwrap(),
        Ingested::Ready { chunks: 1 }
    );
    let chunks = chunk_texts(&pool, first).await;
    assert!(chunks[0].0.contains("Hello from Textract"), "{chunks:?}");
    assert_eq!(chunks[0].1.as_deref(), Some("page 1"));
    assert_eq!(charged(first).await, 2);

    // Processed again this month: not charged again.
    setup.pipeline.ingest(first, &cancel).await.unwrap();
    assert_eq!(charged(first).await, 2);

    // Two more pages would pass the budget of three: refused, with the reason.
    let second = add(&setup.pipeline, owner, repo, "agenda.pdf", &scan).await;
    match setup.pipeline.ingest(second, &cancel).await {
        Err(IngestError::Permanent(reason)) => {
            assert!(reason.contains("OCR budget (3 pages, 1 left)"), "{reason}");
        }
        other => panic!("expected the budget to refuse it, got {other:?}"),
    }
    assert_eq!(charged(second).await, 0);
}

/// Runs the waiting ingest job of `item` once, as the worker does, and returns the job's id.
async fn run_ingest_job(setup: &Setup, item: Uuid) -> Uuid {
    use crate::db::jobs::{self, Failure, Job};
    let pool = &setup.pipeline.pool;
    let kinds = [super::repos::IngestItem::KIND.to_owned()];
    let job = jobs::claim(pool, "test", &kinds, std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .expect("a waiting ingest job");
    assert_eq!(
        job.payload_as::<super::repos::IngestItem>()
            .unwrap()
            .item_id,
        item
    );
    let err = setup
        .pipeline
        .ingest(item, &CancellationToken::new())
        .await
        .expect_err("this item cannot be read");
    super::pipeline::record_failure(pool, item, &err, false)
        .await
        .unwrap();
    jobs::fail(
        pool,
        job.id,
        job.lease_token,
        &err.to_string(),
        Failure::Permanent,
    )
    .await
    .unwrap();
    job.id
}

async fn item_state(pool: &PgPool, item: Uuid) -> (String, Option<String>) {
    sqlx::query_as("select status, error from knowledge_items where id = $1")
        .bind(item)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_retried_job_runs_only_once_its_item_waits_again_and_a_discarded_one_fails_it(
    pool: PgPool,
) {
    use crate::{
        db::jobs::{self, Job, Retried},
        job_admin,
    };
    let setup = setup(&pool);
    let owner = person(&pool, "teacher@school.test", "staff").await;
    let repo = repos::create(&pool, owner, &fields("Scans", false))
        .await
        .unwrap();
    let blank = add(&setup.pipeline, owner, repo, "blank.txt", b"  \n\n\t\n").await;
    let job = run_ingest_job(&setup, blank).await;
    let (status, error) = item_state(&pool, blank).await;
    assert_eq!(status, "failed");
    assert!(error.unwrap().contains("no text"));

    // The admin's list names the item and its repository.
    let listed = job_admin::list(&pool, Some("dead"), 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].job.id, job);
    assert_eq!(listed[0].subject, "“blank.txt” in Scans");

    // Hold the item while the retry runs: until the item says it waits, no worker may take the
    // job (it would fail again before the item is marked waiting, and the item would wait for
    // ever).
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("select 1 from knowledge_items where id = $1 for update")
        .bind(blank)
        .execute(&mut *holder)
        .await
        .unwrap();
    let retry = tokio::spawn({
        let pool = pool.clone();
        async move { job_admin::retry(&pool, job).await.unwrap() }
    });
    loop {
        let blocked: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if blocked > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    let kinds = [super::repos::IngestItem::KIND.to_owned()];
    let early = jobs::claim(&pool, "early", &kinds, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert!(early.is_none(), "the job ran before its item waited again");
    holder.commit().await.unwrap();
    assert_eq!(retry.await.unwrap(), Retried::Queued);
    assert_eq!(item_state(&pool, blank).await, ("queued".to_owned(), None));

    // It fails again, for the same reason; the item says so.
    assert_eq!(run_ingest_job(&setup, blank).await, job);
    let (status, error) = item_state(&pool, blank).await;
    assert_eq!(status, "failed");
    assert!(error.unwrap().contains("no text"));
    assert_eq!(
        job_admin::retry(&pool, Uuid::new_v4()).await.unwrap(),
        Retried::NotDead
    );

    // Discarding a waiting job fails its item: nothing would ever process it.
    let notes = add(&setup.pipeline, owner, repo, "notes.md", NOTES.as_bytes()).await;
    let waiting =
        sqlx::query_scalar::<_, Uuid>("select id from jobs where payload->>'item_id' = $1")
            .bind(notes.to_string())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(job_admin::discard(&pool, waiting).await.unwrap());
    assert!(!job_admin::discard(&pool, waiting).await.unwrap());
    let (status, error) = item_state(&pool, notes).await;
    assert_eq!(status, "failed");
    assert_eq!(
        error.as_deref(),
        Some("processing was cancelled by an administrator")
    );
    assert!(
        jobs::find_as::<super::repos::IngestItem>(&pool, waiting)
            .await
            .unwrap()
            .is_none()
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn the_database_allows_exactly_the_item_states_the_code_knows(pool: PgPool) {
    let check: String = sqlx::query_scalar(
        "select pg_get_constraintdef(oid) from pg_constraint
         where conname = 'knowledge_items_status_check'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut allowed: Vec<&str> = check.split('\'').skip(1).step_by(2).collect();
    allowed.sort_unstable();
    let mut known: Vec<&str> = ItemStatus::ALL.iter().map(|s| s.as_str()).collect();
    known.sort_unstable();
    assert_eq!(allowed, known, "constraint: {check}");
}
