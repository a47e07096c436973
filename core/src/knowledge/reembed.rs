//! Vectors for the configured model where an item has chunks without them: after the
//! embedding model is changed, every ready item is embedded again in the background (its text
//! is not read again). Until then searches, which only use the configured model's vectors,
//! do not find it; the item shows "embedding n of m" meanwhile. The other models' vectors are
//! kept, so changing back is instant.
//!
//! Here: the job and what queues it; [`super::pipeline::Pipeline::embed_missing`] runs it.

use sqlx::PgPool;
use uuid::Uuid;

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
