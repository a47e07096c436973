//! One item through the pipeline: read the original, extract its text, cut it into chunks,
//! embed them in batches, and store chunks and vectors in place of the item's old ones.
//!
//! Every step may run again (delivery is at least once, and a worker may die mid-item): the
//! item's chunks are replaced in one transaction at the end, so a second run leaves exactly
//! what one run does, and searches see either the old chunks or the new, never a mix.

use std::ops::Range;

use sqlx::{PgExecutor, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    chunk::{self, ChunkOptions},
    config::{KnowledgeConfig, ReadingLimits},
    embed::{EmbedError, Embedder},
    embedding::vector_literal,
    extract::{self, ExtractError, Kind, Section},
    ocr::{Ocr, OcrError},
    status::ItemStatus,
    storage::{self, Storage, StorageError},
    web::{self, FetchError, FetchPolicy},
};

/// Chunks embedded per call to the model (and per progress update).
pub const EMBED_BATCH: usize = 16;
/// Rows written per statement when storing an item's chunks.
const INSERT_BATCH: usize = 500;

/// What an item's processing needs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub pool: PgPool,
    pub storage: Storage,
    pub embedder: Embedder,
    /// Where URL items may be fetched from, and how much.
    pub fetch: FetchPolicy,
    /// Reads scanned pages and images.
    pub ocr: Ocr,
    /// How many documents are read at once, and for how long.
    pub reading: Reading,
}

/// Bounds on reading documents: extraction (and, for documents read inside a request, their
/// OCR) runs in a pool of `slots`, the rest wait; one document's extraction may take
/// `timeout`; a document read inside a request (a chat attachment) gets OCR for at most
/// `request_ocr_pages` pages: longer scans belong in a knowledge repository, where the job
/// queue reads them.
#[derive(Debug, Clone)]
pub struct Reading {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    pub timeout: std::time::Duration,
    pub request_ocr_pages: usize,
    /// How long a request waits for a slot before it is told to try again.
    pub request_wait: std::time::Duration,
}

impl Default for Reading {
    fn default() -> Self {
        Self::new(2, std::time::Duration::from_secs(300), 10)
    }
}

impl Reading {
    pub fn new(slots: usize, timeout: std::time::Duration, request_ocr_pages: usize) -> Self {
        Self {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(slots.max(1))),
            timeout,
            request_ocr_pages,
            request_wait: std::time::Duration::from_secs(60),
        }
    }

    /// Within `limits`.
    pub fn limited(limits: ReadingLimits) -> Self {
        Self::new(limits.slots, limits.timeout, limits.request_ocr_pages)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The item cannot be processed as it is (unreadable, empty, unsupported): the reason is
    /// for its owner.
    #[error("{0}")]
    Permanent(String),
    /// Might work on another try (database, storage, shutdown).
    #[error(transparent)]
    Transient(#[from] anyhow::Error),
}

impl From<sqlx::Error> for IngestError {
    fn from(err: sqlx::Error) -> Self {
        Self::Transient(err.into())
    }
}

/// What a finished run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    Ready {
        chunks: usize,
    },
    /// The item was removed before or while it was processed.
    Gone,
}

/// The item a read reports its progress on, and the key its original is kept under.
#[derive(Debug, Clone, Copy)]
struct ItemRef<'a> {
    id: Uuid,
    key: &'a str,
}

struct Prepared {
    content_kind: &'static str,
    pages_without_text: Vec<i32>,
    chunks: Vec<(chunk::Chunk, i32)>,
}

impl Pipeline {
    /// Built as `config` says: storage, OCR and the embedding model are made (AWS clients,
    /// a model loaded on first use), nothing is checked against the database yet.
    pub async fn build(pool: PgPool, config: &KnowledgeConfig) -> anyhow::Result<Self> {
        let storage = Storage::build(&config.storage).await;
        Ok(Self {
            pool,
            ocr: Ocr::build(&config.ocr, &storage).await?,
            storage,
            embedder: Embedder::build(&config.embedding)
                .await
                .map_err(anyhow::Error::msg)?,
            fetch: config.fetch.clone(),
            reading: Reading::limited(config.reading),
        })
    }

    /// [`Pipeline::build`], with the configured model's vector index made sure of, and,
    /// when the model changed since the last start, items lacking its vectors queued to be
    /// embedded again: what the server, the worker and the Lambda function start with.
    pub async fn start(pool: PgPool, config: &KnowledgeConfig) -> anyhow::Result<Self> {
        let pipeline = Self::build(pool, config).await?;
        pipeline
            .embedder
            .ensure_index(&pipeline.pool)
            .await
            .map_err(anyhow::Error::msg)?;
        let model = pipeline.embedder.id();
        let queued = super::reembed::queue_after_model_change(&pipeline.pool, model).await?;
        if let Some(queued) = queued.filter(|n| *n > 0) {
            tracing::info!(
                model,
                items = queued,
                "items queued to be embedded with the configured model"
            );
        }
        Ok(pipeline)
    }

    /// Local storage in `dir`, the local embedding model, public fetches only, no OCR.
    pub fn local(pool: PgPool, dir: impl Into<std::path::PathBuf>) -> Self {
        Self {
            pool,
            storage: Storage::local(dir),
            embedder: Embedder::local_from_env(),
            fetch: FetchPolicy::default_limits(),
            ocr: Ocr::Unavailable,
            reading: Reading::default(),
        }
    }

    /// Moves the item to `status` with embedding progress; false when the item is gone.
    async fn step(
        &self,
        item: Uuid,
        status: ItemStatus,
        done: usize,
        total: usize,
    ) -> sqlx::Result<bool> {
        let updated = sqlx::query!(
            "update knowledge_items
             set status = $2, error = null, progress_done = $3, progress_total = $4
             where id = $1",
            item,
            status.as_str(),
            i32::try_from(done).unwrap_or(i32::MAX),
            i32::try_from(total).unwrap_or(i32::MAX)
        )
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    /// Runs item `item` through every step. `cancel` (shutdown) stops it between batches with
    /// a transient error, so the job is retried.
    pub async fn ingest(
        &self,
        item: Uuid,
        cancel: &CancellationToken,
    ) -> Result<Ingested, IngestError> {
        let Some(row) = sqlx::query!(
            "select repository_id, kind, name, storage_key from knowledge_items where id = $1",
            item
        )
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(Ingested::Gone);
        };
        if !self.step(item, ItemStatus::Extracting, 0, 0).await? {
            return Ok(Ingested::Gone);
        }
        // A web page is fetched afresh on every run (pages change) and kept as the original.
        let (bytes, fetched_name) = if row.kind == "url" {
            let (bytes, name) = self.fetch_page(item, row.repository_id, &row.name).await?;
            (bytes, Some(name))
        } else {
            let key = row.storage_key.ok_or_else(|| {
                IngestError::Permanent("the item has nothing stored to process".to_owned())
            })?;
            match self.storage.get(&key).await {
                Ok(bytes) => (bytes, None),
                Err(StorageError::NotFound(_)) => {
                    return Err(IngestError::Permanent(
                        "the uploaded file is missing from storage".to_owned(),
                    ));
                }
                Err(err) => return Err(IngestError::Transient(err.into())),
            }
        };
        // Pasted text may be Markdown; a file's own name says what it is.
        let name = match fetched_name {
            Some(name) => name,
            None if row.kind == "text" => "pasted.md".to_owned(),
            None => row.name.clone(),
        };
        // Every original is kept under this key (OCR services read it from there).
        let key = storage::original_key(row.repository_id, item);
        let Some(prepared) = self.prepare(item, &key, bytes, name).await? else {
            return Ok(Ingested::Gone);
        };
        let total = prepared.chunks.len();
        if total == 0 {
            return Err(IngestError::Permanent("no text was found in it".to_owned()));
        }

        if !self.step(item, ItemStatus::Embedding, 0, total).await? {
            return Ok(Ingested::Gone);
        }
        let texts: Vec<String> = prepared
            .chunks
            .iter()
            .map(|(c, _)| c.text.clone())
            .collect();
        let mut vectors = Vec::with_capacity(total);
        let present = self
            .embed_in_batches(texts, cancel, |done, embedded| {
                vectors.extend(embedded);
                let step = self.step(item, ItemStatus::Embedding, done.end, total);
                async move { Ok(step.await?) }
            })
            .await?;
        if !present {
            return Ok(Ingested::Gone);
        }

        if self
            .store(item, row.repository_id, &prepared, &vectors)
            .await?
        {
            Ok(Ingested::Ready { chunks: total })
        } else {
            Ok(Ingested::Gone)
        }
    }

    /// Embeds `texts` [`EMBED_BATCH`] at a time, handing each batch's vectors with the range
    /// of texts they are for to `batch_done` (which keeps them and shows progress, and says
    /// whether the item is still there: false stops). `cancel` (shutdown) stops between
    /// batches with a transient error, so the job is tried again.
    pub(crate) async fn embed_in_batches<Done>(
        &self,
        texts: Vec<String>,
        cancel: &CancellationToken,
        mut batch_done: impl FnMut(Range<usize>, Vec<Vec<f32>>) -> Done,
    ) -> Result<bool, IngestError>
    where
        Done: Future<Output = Result<bool, IngestError>>,
    {
        let mut texts = texts.into_iter();
        let mut start = 0;
        loop {
            let batch: Vec<String> = texts.by_ref().take(EMBED_BATCH).collect();
            if batch.is_empty() {
                return Ok(true);
            }
            if cancel.is_cancelled() {
                return Err(IngestError::Transient(anyhow::anyhow!(
                    "stopped by shutdown; it will continue on another try"
                )));
            }
            let end = start + batch.len();
            let vectors = self.embedder.embed(batch).await.map_err(embed_error)?;
            if !batch_done(start..end, vectors).await? {
                return Ok(false);
            }
            start = end;
        }
    }

    /// Fetches a URL item's page and keeps it in storage; returns its bytes and a file name
    /// saying what it is.
    async fn fetch_page(
        &self,
        item: Uuid,
        repository: Uuid,
        address: &str,
    ) -> Result<(Vec<u8>, String), IngestError> {
        let url = url::Url::parse(address)
            .map_err(|_| IngestError::Permanent(format!("{address} is not a web address")))?;
        let fetched = web::fetch(&url, &self.fetch)
            .await
            .map_err(|err| match err {
                FetchError::Refused(reason) | FetchError::Unavailable(reason) => {
                    IngestError::Permanent(reason)
                }
                FetchError::Failed(reason) => IngestError::Transient(anyhow::anyhow!(reason)),
            })?;
        let key = storage::original_key(repository, item);
        self.storage
            .put(&key, &fetched.body)
            .await
            .map_err(|err| IngestError::Transient(err.into()))?;
        let size = i64::try_from(fetched.body.len()).unwrap_or(i64::MAX);
        sqlx::query!(
            "update knowledge_items set storage_key = $2, size_bytes = $3 where id = $1",
            item,
            key,
            size
        )
        .execute(&self.pool)
        .await?;
        let name = fetched.file_name();
        Ok((fetched.body, name))
    }

    /// Extraction and chunking, off the async threads. `None` when the item is gone.
    async fn prepare(
        &self,
        item: Uuid,
        key: &str,
        bytes: Vec<u8>,
        name: String,
    ) -> Result<Option<Prepared>, IngestError> {
        let failed = |err: tokio::task::JoinError| {
            IngestError::Transient(anyhow::anyhow!("a processing task failed: {err}"))
        };
        let Some(extracted) = self
            .read_text(Some(ItemRef { id: item, key }), bytes, name, None)
            .await?
        else {
            return Ok(None);
        };
        if !self.step(item, ItemStatus::Chunking, 0, 0).await? {
            return Ok(None);
        }
        let embedder = self.embedder.clone();
        let options = ChunkOptions::for_model(embedder.max_tokens());
        let content_kind = extracted.kind.id();
        let pages_without_text = extracted
            .pages_without_text
            .iter()
            .map(|p| i32::try_from(*p).unwrap_or(i32::MAX))
            .collect();
        let chunks = tokio::task::spawn_blocking(move || {
            let tokens = embedder.tokens();
            chunk::chunk(&extracted, tokens, options)
                .map_err(embed_error)?
                .into_iter()
                .map(|c| {
                    let count = tokens.count(&c.text).map_err(embed_error)?;
                    Ok((c, i32::try_from(count).unwrap_or(i32::MAX)))
                })
                .collect::<Result<Vec<_>, IngestError>>()
        })
        .await
        .map_err(failed)??;
        Ok(Some(Prepared {
            content_kind,
            pages_without_text,
            chunks,
        }))
    }

    /// The text of a document that is no item's (a chat attachment, kept in the temporary
    /// `file` meanwhile): extraction, and OCR of at most `reading.request_ocr_pages` pages
    /// without text (Tesseract only: Textract reads items' originals). The file is read into
    /// memory only once a reading slot is free.
    pub async fn read_document(
        &self,
        file: std::path::PathBuf,
        name: String,
    ) -> Result<extract::Extracted, IngestError> {
        let slot = tokio::time::timeout(
            self.reading.request_wait,
            self.reading.slots.clone().acquire_owned(),
        )
        .await
        .map_err(|_| {
            IngestError::Transient(anyhow::anyhow!(
                "the server is busy reading other documents"
            ))
        })?
        .map_err(|err| IngestError::Transient(err.into()))?;
        let bytes = tokio::fs::read(&file)
            .await
            .map_err(|err| IngestError::Transient(err.into()))?;
        let read = self.read_text(None, bytes, name, Some(slot)).await?;
        read.ok_or_else(|| IngestError::Permanent("the document could not be read".to_owned()))
    }

    /// Whether OCR can read for `item` (Textract needs an item's original in the bucket).
    fn ocr_for(&self, item: Option<ItemRef<'_>>) -> bool {
        match self.ocr {
            Ocr::Unavailable => false,
            Ocr::Tesseract(_) => true,
            Ocr::Textract(_) => item.is_some(),
        }
    }

    /// Moves `item`, if any, to `status` with progress; false when the item is gone.
    async fn progress(
        &self,
        item: Option<ItemRef<'_>>,
        status: ItemStatus,
        done: usize,
        total: usize,
    ) -> sqlx::Result<bool> {
        match item {
            Some(item) => self.step(item.id, status, done, total).await,
            None => Ok(true),
        }
    }

    /// Extraction, then OCR for what has no text layer. Progress goes to `item`, if any;
    /// `None` when the item is gone. Extraction runs in a reading slot (`held`, or one taken
    /// here) within the time limit; a document without an item keeps its slot through OCR.
    async fn read_text(
        &self,
        item: Option<ItemRef<'_>>,
        bytes: Vec<u8>,
        name: String,
        held: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<Option<extract::Extracted>, IngestError> {
        let slot = match held {
            Some(slot) => slot,
            None => self
                .reading
                .slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|err| IngestError::Transient(err.into()))?,
        };
        // The thread keeps the slot until it ends, even when the wait below gives up on it:
        // a document that reads too long still counts against the pool.
        let slot = std::sync::Arc::new(slot);
        let in_thread = slot.clone();
        let reading = tokio::task::spawn_blocking(move || {
            let _slot = in_thread;
            let extracted = extract::extract(&bytes, &name);
            (bytes, name, extracted)
        });
        let (bytes, name, extracted) = tokio::time::timeout(self.reading.timeout, reading)
            .await
            .map_err(|_| {
                IngestError::Permanent(format!(
                    "reading it took longer than {} s",
                    self.reading.timeout.as_secs()
                ))
            })?
            .map_err(|err| {
                IngestError::Transient(anyhow::anyhow!("a processing task failed: {err}"))
            })?;
        // Items are bounded by the job runner's concurrency; their OCR does not hold a slot.
        let _slot = item.is_none().then_some(slot);
        let extracted = match extracted {
            Ok(extracted) => extracted,
            // Nothing but pictures of text: all of it for OCR.
            Err(ExtractError::NeedsOcr { pages }) if self.ocr_for(item) => extract::Extracted {
                kind: Kind::detect(&bytes, &name).map_err(extract_error)?,
                sections: Vec::new(),
                pages_without_text: (1..=pages).collect(),
                rows_left_out: 0,
            },
            Err(err) => return Err(extract_error(err)),
        };
        self.recognise(item, &bytes, extracted).await
    }

    /// Reads what the text layer lacks with OCR, when there is OCR: an image's text, a PDF's
    /// pages without text (each keeps its page number). `None` when the item is gone.
    async fn recognise(
        &self,
        item: Option<ItemRef<'_>>,
        bytes: &[u8],
        mut extracted: extract::Extracted,
    ) -> Result<Option<extract::Extracted>, IngestError> {
        let is_image = extracted.kind == Kind::Image;
        if !self.ocr_for(item) || (!is_image && extracted.pages_without_text.is_empty()) {
            return Ok(Some(extracted));
        }
        let ocr_error = |err: OcrError| match err {
            OcrError::Refused(reason) => IngestError::Permanent(reason),
            OcrError::Failed(reason) => IngestError::Transient(anyhow::anyhow!(reason)),
        };
        let wanted = if is_image {
            vec![1]
        } else {
            std::mem::take(&mut extracted.pages_without_text)
        };
        if item.is_none() && wanted.len() > self.reading.request_ocr_pages {
            return Err(IngestError::Permanent(format!(
                "{} of its pages are scans; up to {} are read here. Add it to a knowledge repository, where long scans are read in the background",
                wanted.len(),
                self.reading.request_ocr_pages
            )));
        }
        if !self
            .progress(item, ItemStatus::Ocr, 0, wanted.len())
            .await?
        {
            return Ok(None);
        }
        let read = match (&self.ocr, item) {
            (Ocr::Unavailable, _) | (Ocr::Textract(_), None) => Vec::new(),
            (Ocr::Tesseract(tesseract), _) if is_image => {
                vec![(1, tesseract.image(bytes).await.map_err(ocr_error)?)]
            }
            (Ocr::Tesseract(tesseract), _) => tesseract
                .pdf_pages(bytes, &wanted, |done, total| async move {
                    let _ = self.progress(item, ItemStatus::Ocr, done, total).await;
                })
                .await
                .map_err(ocr_error)?,
            (Ocr::Textract(textract), Some(item)) => {
                // Textract reads (and bills) every page of the document.
                let pages = extracted
                    .sections
                    .iter()
                    .filter_map(|s| page_of(s.location.as_deref()))
                    .chain(wanted.iter().copied())
                    .max()
                    .unwrap_or(1);
                textract
                    .charge(&self.pool, item.id, pages)
                    .await
                    .map_err(ocr_error)?;
                textract.read(item.key, item.id).await.map_err(ocr_error)?
            }
        };
        if is_image {
            let text = read
                .into_iter()
                .map(|(_, text)| text)
                .collect::<Vec<_>>()
                .join("\n\n");
            extracted.sections = vec![Section {
                text: extract::clean(&text),
                location: None,
            }];
        } else {
            let mut found = std::collections::BTreeMap::new();
            for (page, text) in read {
                let text = extract::clean(&text);
                if wanted.contains(&page) && !text.is_empty() {
                    found.insert(page, text);
                }
            }
            extracted.pages_without_text = wanted
                .into_iter()
                .filter(|page| !found.contains_key(page))
                .collect();
            extracted
                .sections
                .extend(found.into_iter().map(|(page, text)| Section {
                    text,
                    location: Some(format!("page {page}")),
                }));
            extracted
                .sections
                .sort_by_key(|section| page_of(section.location.as_deref()));
        }
        extracted.sections.retain(|s| !s.text.is_empty());
        Ok(Some(extracted))
    }

    /// Replaces the item's chunks and vectors and marks it ready, in one transaction. False
    /// when the item was removed meanwhile.
    async fn store(
        &self,
        item: Uuid,
        repository: Uuid,
        prepared: &Prepared,
        vectors: &[Vec<f32>],
    ) -> Result<bool, IngestError> {
        let mut tx = self.pool.begin().await?;
        // Locks the item: a removal or a re-process waits for this to finish.
        let exists = sqlx::query_scalar!(
            "select id from knowledge_items where id = $1 for update",
            item
        )
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Ok(false);
        }
        sqlx::query!("delete from knowledge_chunks where item_id = $1", item)
            .execute(&mut *tx)
            .await?;
        let model = self.embedder.id();
        for (index, batch) in prepared.chunks.chunks(INSERT_BATCH).enumerate() {
            let offset = index * INSERT_BATCH;
            let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::new_v4()).collect();
            let positions: Vec<i32> = batch
                .iter()
                .map(|(c, _)| i32::try_from(c.index).unwrap_or(i32::MAX))
                .collect();
            let contents: Vec<String> = batch.iter().map(|(c, _)| c.text.clone()).collect();
            let locations: Vec<Option<String>> =
                batch.iter().map(|(c, _)| c.location.clone()).collect();
            let tokens: Vec<i32> = batch.iter().map(|(_, t)| *t).collect();
            sqlx::query!(
                "insert into knowledge_chunks
                     (id, item_id, repository_id, position, content, location, token_count)
                 select c.id, $2, $3, c.position, c.content, c.location, c.tokens
                 from unnest($1::uuid[], $4::int[], $5::text[], $6::text[], $7::int[])
                     as c(id, position, content, location, tokens)",
                &ids,
                item,
                repository,
                &positions,
                &contents,
                &locations as &[Option<String>],
                &tokens
            )
            .execute(&mut *tx)
            .await?;
            let literals: Vec<String> = vectors[offset..offset + batch.len()]
                .iter()
                .map(|v| vector_literal(v))
                .collect();
            sqlx::query!(
                "insert into knowledge_embeddings (chunk_id, model, repository_id, embedding)
                 select e.id, $2, $3, e.v::vector
                 from unnest($1::uuid[], $4::text[]) as e(id, v)",
                &ids,
                model,
                repository,
                &literals
            )
            .execute(&mut *tx)
            .await?;
        }
        let total = i32::try_from(prepared.chunks.len()).unwrap_or(i32::MAX);
        sqlx::query!(
            "update knowledge_items
             set status = 'ready', error = null, content_kind = $2, chunk_count = $3,
                 progress_done = $3, progress_total = $3, pages_without_text = $4,
                 processed_at = now()
             where id = $1",
            item,
            prepared.content_kind,
            total,
            &prepared.pages_without_text
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Embeds `item`'s chunks that lack the pipeline's model's vectors, batch by batch with
    /// progress. A chunk replaced meanwhile (the item processed again) is skipped.
    pub async fn embed_missing(
        &self,
        item: Uuid,
        model: &str,
        cancel: &CancellationToken,
    ) -> Result<Embedded, IngestError> {
        let pool = &self.pool;
        if self.embedder.id() != model {
            return Ok(Embedded::OtherModel);
        }
        let chunks = sqlx::query!(
            "select c.id, c.repository_id, c.content from knowledge_chunks c
             where c.item_id = $1
               and not exists (
                 select 1 from knowledge_embeddings e where e.chunk_id = c.id and e.model = $2)
             order by c.position",
            item,
            model
        )
        .fetch_all(pool)
        .await?;
        let total = chunks.len();
        if total == 0 {
            return Ok(Embedded::Done(0));
        }
        let progress = |done: usize| {
            sqlx::query!(
                "update knowledge_items set status = 'embedding', progress_done = $2, progress_total = $3
                 where id = $1 and status in ('ready', 'embedding')",
                item,
                i32::try_from(done).unwrap_or(i32::MAX),
                i32::try_from(total).unwrap_or(i32::MAX)
            )
            .execute(pool)
        };
        progress(0).await?;
        let progress = &progress;
        let texts: Vec<String> = chunks.iter().map(|c| c.content.clone()).collect();
        self.embed_in_batches(texts, cancel, |done, vectors| {
            let batch = &chunks[done.clone()];
            let ids: Vec<Uuid> = batch.iter().map(|c| c.id).collect();
            let repositories: Vec<Uuid> = batch.iter().map(|c| c.repository_id).collect();
            let literals: Vec<String> = vectors.iter().map(|v| vector_literal(v)).collect();
            async move {
                sqlx::query!(
                    "insert into knowledge_embeddings (chunk_id, model, repository_id, embedding)
                         select e.id, $2, e.repository, e.v::vector
                         from unnest($1::uuid[], $3::uuid[], $4::text[]) as e(id, repository, v)
                         where exists (select 1 from knowledge_chunks c where c.id = e.id)
                         on conflict (chunk_id, model) do nothing",
                    &ids,
                    model,
                    &repositories,
                    &literals
                )
                .execute(pool)
                .await?;
                progress(done.end).await?;
                Ok(true)
            }
        })
        .await?;
        sqlx::query!(
            "update knowledge_items set status = 'ready', progress_done = chunk_count,
                    progress_total = chunk_count
             where id = $1 and status = 'embedding'",
            item
        )
        .execute(pool)
        .await?;
        Ok(Embedded::Done(total))
    }
}

/// What [`Pipeline::embed_missing`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Embedded {
    /// This many chunks got vectors (none when nothing was missing).
    Done(usize),
    /// The configured model is another one now: nothing done.
    OtherModel,
}

/// The page number of a section located as "page N".
fn page_of(location: Option<&str>) -> Option<u32> {
    location?.strip_prefix("page ")?.parse().ok()
}

fn extract_error(err: ExtractError) -> IngestError {
    match err {
        ExtractError::NeedsOcr { .. } => IngestError::Permanent(
            "needs OCR: it has no text layer, and OCR is not available on this server".to_owned(),
        ),
        other => IngestError::Permanent(other.to_string()),
    }
}

fn embed_error(err: EmbedError) -> IngestError {
    IngestError::Transient(err.into())
}

/// Records on the item how an attempt to process it ended: failed with the reason when it
/// cannot be read, or when this was the `last_try` ("processing kept failing: ..."); back to
/// queued otherwise, to be tried again.
pub async fn record_failure(
    pool: &PgPool,
    item: Uuid,
    err: &IngestError,
    last_try: bool,
) -> sqlx::Result<()> {
    match err {
        IngestError::Permanent(reason) => mark_failed(pool, item, reason).await,
        IngestError::Transient(err) if last_try => {
            mark_failed(pool, item, &format!("processing kept failing: {err:#}")).await
        }
        IngestError::Transient(_) => mark_retrying(pool, item).await,
    }
}

/// Marks the item failed with `reason` (shown to its owner).
pub async fn mark_failed(pool: &PgPool, item: Uuid, reason: &str) -> sqlx::Result<()> {
    let reason: String = reason.chars().take(2000).collect();
    sqlx::query!(
        "update knowledge_items
         set status = 'failed', error = $2, progress_done = 0, progress_total = 0
         where id = $1",
        item,
        reason
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Puts the item back to `queued` after a failed try that will be retried.
pub async fn mark_retrying(executor: impl PgExecutor<'_>, item: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "update knowledge_items
         set status = 'queued', error = null, progress_done = 0, progress_total = 0
         where id = $1 and status <> 'ready'",
        item
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Fails an item whose processing an administrator discarded (left waiting, it would wait for
/// ever); ready and failed items stay as they are.
pub async fn mark_cancelled(executor: impl PgExecutor<'_>, item: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "update knowledge_items set status = 'failed',
             error = 'processing was cancelled by an administrator',
             progress_done = 0, progress_total = 0
         where id = $1 and status not in ('ready', 'failed')",
        item
    )
    .execute(executor)
    .await?;
    Ok(())
}
