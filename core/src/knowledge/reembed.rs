//! Vectors for the configured model where an item has chunks without them: after the
//! embedding model is changed, every ready item is embedded again in the background (its text
//! is not read again). Until then searches, which only use the configured model's vectors,
//! do not find it; the item shows "embedding n of m" meanwhile. The other models' vectors are
//! kept, so changing back is instant.

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::pipeline::{IngestError, Pipeline, vector_literal};
use crate::db::jobs::{self, Job};

/// Gives a ready item's chunks the vectors of `model` (handled by `workers::knowledge`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmbedItem {
    pub item_id: Uuid,
    pub model: String,
}

impl Job for EmbedItem {
    const KIND: &'static str = "knowledge-embed";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.item_id, self.model))
    }
}

/// Queues a job for every ready item with chunks lacking `model`'s vectors. Returns how many
/// were queued (an item already waiting is not queued twice).
pub async fn queue_missing(pool: &PgPool, model: &str) -> sqlx::Result<usize> {
    let items = sqlx::query_scalar!(
        "select i.id from knowledge_items i
         where i.status = 'ready'
           and exists (
             select 1 from knowledge_chunks c
             where c.item_id = i.id
               and not exists (
                 select 1 from knowledge_embeddings e where e.chunk_id = c.id and e.model = $1))",
        model
    )
    .fetch_all(pool)
    .await?;
    for item in &items {
        let job = EmbedItem {
            item_id: *item,
            model: model.to_owned(),
        };
        jobs::enqueue_job(pool, &job).await?;
    }
    Ok(items.len())
}

/// The settings key holding the model the last [`queue_after_model_change`] checked for.
const CHECKED_MODEL: &str = "knowledge.embedding_model_checked";

/// [`queue_missing`] when `model` is not the model checked at the last start (a new install
/// or a changed model), so a restart with the same model does not scan every item. Returns
/// how many items were queued, or `None` when the model is the one already checked. Items
/// still processed by a process on the previous model during a rolling change are not
/// caught: re-processing them (or a start after changing the model back and forth) does.
pub async fn queue_after_model_change(pool: &PgPool, model: &str) -> sqlx::Result<Option<usize>> {
    let checked = sqlx::query_scalar!(
        r#"select value #>> '{}' as "model" from settings where key = $1"#,
        CHECKED_MODEL
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    if checked.as_deref() == Some(model) {
        return Ok(None);
    }
    let queued = queue_missing(pool, model).await?;
    sqlx::query!(
        "insert into settings (key, value) values ($1, to_jsonb($2::text))
         on conflict (key) do update set value = excluded.value",
        CHECKED_MODEL,
        model
    )
    .execute(pool)
    .await?;
    Ok(Some(queued))
}

/// What [`embed_missing`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Embedded {
    /// This many chunks got vectors (none when nothing was missing).
    Done(usize),
    /// The configured model is another one now: nothing done.
    OtherModel,
}

/// Embeds `item`'s chunks that lack the pipeline's model's vectors, batch by batch with
/// progress. A chunk replaced meanwhile (the item processed again) is skipped.
pub async fn embed_missing(
    pipeline: &Pipeline,
    item: Uuid,
    model: &str,
    cancel: &CancellationToken,
) -> Result<Embedded, IngestError> {
    let pool = &pipeline.pool;
    if pipeline.embedder.id() != model {
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
    pipeline
        .embed_in_batches(texts, cancel, |done, vectors| {
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
