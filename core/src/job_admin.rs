//! What an administrator sees of the job queue and does to it, with what that means to the
//! work a job does: a knowledge item waits again when its job is retried, and fails as
//! cancelled when its job is discarded.
//!
//! Each action changes the job and its work in one transaction, so a worker never runs a
//! retried job before its item says it waits (it would fail again, and the item would then be
//! marked waiting for ever).

use std::collections::HashMap;

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    db::jobs::{self, AdminJob, Job, Retried},
    knowledge::{pipeline, reembed::EmbedItem, repos::IngestItem},
};

/// A job as the admin's jobs page lists it, with what it works on in words.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedJob {
    pub job: AdminJob,
    /// For a knowledge job, `“name” in repository`; otherwise its payload as `key: value`.
    pub subject: String,
}

/// The jobs that need an eye (see [`jobs::needing_attention`]), each with its subject.
pub async fn list(pool: &PgPool, status: Option<&str>, limit: i64) -> sqlx::Result<Vec<ListedJob>> {
    let listed = jobs::needing_attention(pool, status, limit).await?;
    let items: Vec<Uuid> = listed.iter().filter_map(knowledge_item).collect();
    let names: HashMap<Uuid, (String, String)> = sqlx::query!(
        r#"
        select i.id, i.name, r.name as repository
        from knowledge_items as i
        join knowledge_repositories as r on r.id = i.repository_id
        where i.id = any($1)
        "#,
        &items
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, (row.name, row.repository)))
    .collect();
    Ok(listed
        .into_iter()
        .map(|job| {
            let subject = match knowledge_item(&job).and_then(|item| names.get(&item)) {
                Some((name, repository)) => format!("“{name}” in {repository}"),
                None => payload_words(&job.payload),
            };
            ListedJob { job, subject }
        })
        .collect())
}

/// The knowledge item a job works on, if it is a knowledge job.
fn knowledge_item(job: &AdminJob) -> Option<Uuid> {
    let payload = job.payload.clone();
    match job.kind.as_str() {
        IngestItem::KIND => serde_json::from_value::<IngestItem>(payload)
            .ok()
            .map(|j| j.item_id),
        EmbedItem::KIND => serde_json::from_value::<EmbedItem>(payload)
            .ok()
            .map(|j| j.item_id),
        _ => None,
    }
}

/// A payload as `key: value, ...` (strings unquoted).
fn payload_words(payload: &serde_json::Value) -> String {
    payload
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().map_or(v.to_string(), str::to_owned)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Runs a dead job again with fresh attempts; a knowledge item it processes shows it waits
/// again rather than failed.
pub async fn retry(pool: &PgPool, id: Uuid) -> sqlx::Result<Retried> {
    let mut tx = pool.begin().await?;
    let item = jobs::find_as::<IngestItem>(&mut *tx, id).await?;
    if let Some(item) = &item {
        pipeline::mark_retrying(&mut *tx, item.item_id).await?;
    }
    let retried = jobs::retry(&mut tx, id).await?;
    if retried == Retried::NotDead {
        // Someone else retried or discarded it first: leave the item as that left it.
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(retried)
}

/// Removes a dead or waiting job; a knowledge item it would have processed fails with the
/// reason (left waiting, it would wait for ever). False if there was no such job to remove.
pub async fn discard(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let item = jobs::find_as::<IngestItem>(&mut *tx, id).await?;
    if !jobs::discard(&mut *tx, id).await? {
        return Ok(false);
    }
    if let Some(item) = item {
        pipeline::mark_cancelled(&mut *tx, item.item_id).await?;
    }
    tx.commit().await?;
    Ok(true)
}
