//! Repositories and their items: who may see and change them, and the item rows the pipeline
//! moves along.
//!
//! A repository is readable by its owner, by users it is shared with (directly or through one
//! of their roles), and by everyone when public. Only its owner changes it or its items.
//! Every function takes the acting user and checks this itself.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::status::ItemStatus;
use crate::db::jobs::{self, Job};

/// Runs one knowledge item through the pipeline (handled by `workers::knowledge`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IngestItem {
    pub item_id: Uuid,
}

impl Job for IngestItem {
    const KIND: &'static str = "knowledge-ingest";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.item_id))
    }
}
/// Longest pasted text, in characters.
pub const MAX_TEXT_CHARS: usize = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// Input the user can correct; the text says how.
    #[error("{0}")]
    Invalid(String),
    /// No such repository or item, or not one this user may see.
    #[error("not found")]
    NotFound,
    /// The user may see it but not change it.
    #[error("only the repository's owner can change it")]
    Forbidden,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn invalid(message: impl Into<String>) -> KnowledgeError {
    KnowledgeError::Invalid(message.into())
}

/// How the user reaches a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Owner,
    Shared,
    Public,
}

impl Access {
    fn from_sql(owner: bool, shared: bool) -> Self {
        if owner {
            Self::Owner
        } else if shared {
            Self::Shared
        } else {
            Self::Public
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Repository {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub is_public: bool,
    pub owner_name: String,
    pub access: Access,
    pub item_count: i64,
    pub ready_count: i64,
    pub updated_at: DateTime<Utc>,
}

/// The repositories `user` can read: their own first, then shared, then public, by name.
pub async fn list(pool: &PgPool, user: Uuid) -> Result<Vec<Repository>, KnowledgeError> {
    fetch(pool, user, None).await
}

/// One repository `user` can read.
pub async fn get(pool: &PgPool, user: Uuid, id: Uuid) -> Result<Repository, KnowledgeError> {
    fetch(pool, user, Some(id))
        .await?
        .pop()
        .ok_or(KnowledgeError::NotFound)
}

async fn fetch(
    pool: &PgPool,
    user: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<Repository>, KnowledgeError> {
    let rows = sqlx::query!(
        r#"select r.id, r.name, r.description, r.is_public, r.updated_at,
                  u.display_name as owner_name,
                  r.owner_id = $1 as "is_owner!",
                  knowledge_shared_with(r.id, $1) as "is_shared!",
                  (select count(*) from knowledge_items i where i.repository_id = r.id) as "item_count!",
                  (select count(*) from knowledge_items i
                   where i.repository_id = r.id and i.status = 'ready') as "ready_count!"
           from knowledge_repositories r
           join users u on u.id = r.owner_id
           where (r.owner_id = $1 or r.is_public or knowledge_shared_with(r.id, $1))
             and ($2::uuid is null or r.id = $2)
           order by (r.owner_id = $1) desc, lower(r.name), r.id"#,
        user,
        only
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Repository {
            id: r.id,
            name: r.name,
            description: r.description,
            is_public: r.is_public,
            owner_name: r.owner_name,
            access: Access::from_sql(r.is_owner, r.is_shared),
            item_count: r.item_count,
            ready_count: r.ready_count,
            updated_at: r.updated_at,
        })
        .collect())
}

/// Fails unless `user` owns repository `id` (NotFound when they cannot even see it).
async fn check_owner(
    executor: impl PgExecutor<'_>,
    user: Uuid,
    id: Uuid,
) -> Result<(), KnowledgeError> {
    let row = sqlx::query_scalar!(
        r#"select r.owner_id = $1 as "is_owner!"
           from knowledge_repositories r
           where r.id = $2
             and (r.owner_id = $1 or r.is_public or knowledge_shared_with(r.id, $1))"#,
        user,
        id
    )
    .fetch_optional(executor)
    .await?;
    match row {
        Some(true) => Ok(()),
        Some(false) => Err(KnowledgeError::Forbidden),
        None => Err(KnowledgeError::NotFound),
    }
}

/// What the owner sets on a repository.
#[derive(Debug, Clone)]
pub struct RepositoryFields {
    pub name: String,
    pub description: String,
    pub is_public: bool,
}

impl RepositoryFields {
    fn checked(&self) -> Result<(String, String), KnowledgeError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(invalid("Give the repository a name."));
        }
        if name.chars().count() > 100 {
            return Err(invalid("The name can be at most 100 characters."));
        }
        let description = self.description.trim();
        if description.chars().count() > 2000 {
            return Err(invalid("The description can be at most 2,000 characters."));
        }
        Ok((name.to_owned(), description.to_owned()))
    }
}

pub async fn create(
    pool: &PgPool,
    user: Uuid,
    fields: &RepositoryFields,
) -> Result<Uuid, KnowledgeError> {
    let (name, description) = fields.checked()?;
    let id = sqlx::query_scalar!(
        "insert into knowledge_repositories (owner_id, name, description, is_public)
         values ($1, $2, $3, $4) returning id",
        user,
        name,
        description,
        fields.is_public
    )
    .fetch_one(pool)
    .await?;
    Ok(id)
}

pub async fn update(
    pool: &PgPool,
    user: Uuid,
    id: Uuid,
    fields: &RepositoryFields,
) -> Result<(), KnowledgeError> {
    let (name, description) = fields.checked()?;
    check_owner(pool, user, id).await?;
    sqlx::query!(
        "update knowledge_repositories set name = $2, description = $3, is_public = $4
         where id = $1",
        id,
        name,
        description,
        fields.is_public
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes the repository with its items, chunks and vectors. The caller removes the stored
/// originals (under [`super::storage::repository_prefix`]).
pub async fn delete(pool: &PgPool, user: Uuid, id: Uuid) -> Result<(), KnowledgeError> {
    check_owner(pool, user, id).await?;
    sqlx::query!("delete from knowledge_repositories where id = $1", id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Who a repository is shared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shares {
    pub user_emails: Vec<String>,
    pub role_names: Vec<String>,
}

pub async fn shares(pool: &PgPool, user: Uuid, id: Uuid) -> Result<Shares, KnowledgeError> {
    check_owner(pool, user, id).await?;
    let user_emails = sqlx::query_scalar!(
        "select u.email from knowledge_repository_shares s join users u on u.id = s.user_id
         where s.repository_id = $1 order by u.email",
        id
    )
    .fetch_all(pool)
    .await?;
    let role_names = sqlx::query_scalar!(
        "select r.name from knowledge_repository_shares s join roles r on r.id = s.role_id
         where s.repository_id = $1 order by r.name",
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(Shares {
        user_emails,
        role_names,
    })
}

/// Replaces who the repository is shared with. Unknown addresses or roles are refused by name.
pub async fn set_shares(
    pool: &PgPool,
    user: Uuid,
    id: Uuid,
    shares: &Shares,
) -> Result<Vec<String>, KnowledgeError> {
    let mut tx = pool.begin().await?;
    check_owner(&mut *tx, user, id).await?;
    let emails: Vec<String> = shares
        .user_emails
        .iter()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    let users = sqlx::query!("select id, email from users where email = any($1)", &emails)
        .fetch_all(&mut *tx)
        .await?;
    if let Some(missing) = emails
        .iter()
        .find(|e| !users.iter().any(|u| &u.email == *e))
    {
        return Err(invalid(format!("No user has the address {missing}.")));
    }
    let names: Vec<String> = shares
        .role_names
        .iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    let roles = sqlx::query!("select id, name from roles where name = any($1)", &names)
        .fetch_all(&mut *tx)
        .await?;
    if let Some(missing) = names.iter().find(|n| !roles.iter().any(|r| &r.name == *n)) {
        return Err(invalid(format!("There is no role named {missing}.")));
    }
    sqlx::query!(
        "delete from knowledge_repository_shares where repository_id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    let user_ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let role_ids: Vec<Uuid> = roles.iter().map(|r| r.id).collect();
    sqlx::query!(
        "insert into knowledge_repository_shares (repository_id, user_id)
         select $1, u from unnest($2::uuid[]) as u on conflict do nothing",
        id,
        &user_ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into knowledge_repository_shares (repository_id, role_id)
         select $1, r from unnest($2::uuid[]) as r on conflict do nothing",
        id,
        &role_ids
    )
    .execute(&mut *tx)
    .await?;
    // Sharing with a role whose members cannot open repositories reaches nobody yet.
    let without_tool = sqlx::query_scalar!(
        r#"
        select r.name from roles as r
        where r.id = any($1)
          and not exists (
              select 1 from role_tools as rt join tools as t on t.id = rt.tool_id
              where rt.role_id = r.id and t.slug = $2
          )
        order by r.name
        "#,
        &role_ids,
        super::TOOL,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(without_tool)
}

/// What kind of thing an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    File,
    Url,
    Text,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Url => "url",
            Self::Text => "text",
        }
    }
}

/// An item as the repository page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub content_kind: Option<String>,
    pub size_bytes: i64,
    pub status: ItemStatus,
    pub progress_done: i32,
    pub progress_total: i32,
    pub error: Option<String>,
    pub chunk_count: i32,
    pub pages_without_text: Vec<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The items of a repository `user` can read, newest first.
pub async fn items(
    pool: &PgPool,
    user: Uuid,
    repository: Uuid,
) -> Result<Vec<Item>, KnowledgeError> {
    get(pool, user, repository).await?;
    let rows = sqlx::query_as!(
        Item,
        r#"select id, kind, name, content_kind, size_bytes, status as "status: ItemStatus",
                progress_done, progress_total, error, chunk_count, pages_without_text,
                created_at, updated_at
         from knowledge_items where repository_id = $1
         order by created_at desc, id desc"#,
        repository
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// A new item: its row and the job that processes it, in one transaction.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub id: Uuid,
    pub kind: ItemKind,
    pub name: String,
    pub storage_key: Option<String>,
    pub size_bytes: i64,
}

/// Checks that `user` may add items to `repository` (before anything is stored).
pub async fn check_can_add(
    pool: &PgPool,
    user: Uuid,
    repository: Uuid,
) -> Result<(), KnowledgeError> {
    check_owner(pool, user, repository).await
}

pub async fn add_item(
    pool: &PgPool,
    user: Uuid,
    repository: Uuid,
    item: &NewItem,
) -> Result<(), KnowledgeError> {
    let mut tx = pool.begin().await?;
    insert_item(&mut tx, user, repository, item, ItemStatus::Queued).await?;
    enqueue_ingest(&mut *tx, item.id).await?;
    tx.commit().await?;
    Ok(())
}

/// A file the browser sends straight to object storage: the item waits as `uploading`, with
/// no job, until [`finish_upload`] (or the storage's own event) says the file is there.
pub async fn add_pending_upload(
    pool: &PgPool,
    user: Uuid,
    repository: Uuid,
    item: &NewItem,
) -> Result<(), KnowledgeError> {
    let mut tx = pool.begin().await?;
    insert_item(&mut tx, user, repository, item, ItemStatus::Uploading).await?;
    tx.commit().await?;
    Ok(())
}

async fn insert_item(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user: Uuid,
    repository: Uuid,
    item: &NewItem,
    status: ItemStatus,
) -> Result<(), KnowledgeError> {
    let name = item.name.trim();
    if name.is_empty() {
        return Err(invalid("The item needs a name."));
    }
    let name: String = name.chars().take(2048).collect();
    check_owner(&mut **tx, user, repository).await?;
    sqlx::query!(
        "insert into knowledge_items
             (id, repository_id, kind, name, storage_key, size_bytes, created_by, status)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        item.id,
        repository,
        item.kind.as_str(),
        name,
        item.storage_key,
        item.size_bytes,
        user,
        status.as_str()
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An upload granted by [`add_pending_upload`] and not finished yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    pub name: String,
    pub storage_key: String,
}

/// The upload `item` waits for; `NotFound` when there is no such upload waiting (finished,
/// removed, or never granted), `Forbidden` for anyone but the repository's owner.
pub async fn pending_upload(
    pool: &PgPool,
    user: Uuid,
    repository: Uuid,
    item: Uuid,
) -> Result<PendingUpload, KnowledgeError> {
    check_owner(pool, user, repository).await?;
    let row = sqlx::query!(
        "select name, storage_key from knowledge_items
         where id = $1 and repository_id = $2 and kind = 'file' and status = 'uploading'",
        item,
        repository
    )
    .fetch_optional(pool)
    .await?
    .ok_or(KnowledgeError::NotFound)?;
    Ok(PendingUpload {
        name: row.name,
        storage_key: row.storage_key.ok_or(KnowledgeError::NotFound)?,
    })
}

/// The file of a pending upload has arrived with `size` bytes: the item is queued, with its
/// job when `enqueue` (with S3 event notifications feeding the queue, the event starts it).
pub async fn finish_upload(
    pool: &PgPool,
    user: Uuid,
    repository: Uuid,
    item: Uuid,
    size: u64,
    enqueue: bool,
) -> Result<(), KnowledgeError> {
    let mut tx = pool.begin().await?;
    check_owner(&mut *tx, user, repository).await?;
    let updated = sqlx::query!(
        "update knowledge_items set status = 'queued', size_bytes = $3
         where id = $1 and repository_id = $2 and status = 'uploading'",
        item,
        repository,
        i64::try_from(size).unwrap_or(i64::MAX)
    )
    .execute(&mut *tx)
    .await?;
    // Not waiting any more: the storage event got there first, which is as good.
    if updated.rows_affected() > 0 && enqueue {
        enqueue_ingest(&mut *tx, item).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn enqueue_ingest(executor: impl PgExecutor<'_>, item: Uuid) -> sqlx::Result<()> {
    jobs::enqueue_job(executor, &IngestItem { item_id: item }).await?;
    Ok(())
}

/// Runs an item through the pipeline again (after a failure, or to pick up new settings).
/// Its chunks stay searchable until the new ones replace them.
pub async fn reprocess(
    pool: &PgPool,
    user: Uuid,
    repository: Uuid,
    item: Uuid,
) -> Result<(), KnowledgeError> {
    let mut tx = pool.begin().await?;
    check_owner(&mut *tx, user, repository).await?;
    let updated = sqlx::query!(
        "update knowledge_items
         set status = 'queued', error = null, progress_done = 0, progress_total = 0
         where id = $1 and repository_id = $2",
        item,
        repository
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(KnowledgeError::NotFound);
    }
    enqueue_ingest(&mut *tx, item).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes an item with its chunks. Returns its storage key for the caller to delete.
pub async fn remove_item(
    pool: &PgPool,
    user: Uuid,
    repository: Uuid,
    item: Uuid,
) -> Result<(), KnowledgeError> {
    check_owner(pool, user, repository).await?;
    let deleted = sqlx::query!(
        "delete from knowledge_items where id = $1 and repository_id = $2",
        item,
        repository
    )
    .execute(pool)
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(KnowledgeError::NotFound);
    }
    Ok(())
}

/// An item's original, for download: its name and storage key.
pub async fn original(
    pool: &PgPool,
    user: Uuid,
    repository: Uuid,
    item: Uuid,
) -> Result<(String, String), KnowledgeError> {
    get(pool, user, repository).await?;
    let row = sqlx::query!(
        "select name, storage_key from knowledge_items where id = $1 and repository_id = $2",
        item,
        repository
    )
    .fetch_optional(pool)
    .await?
    .ok_or(KnowledgeError::NotFound)?;
    let key = row.storage_key.ok_or(KnowledgeError::NotFound)?;
    Ok((row.name, key))
}

/// A chunk as the item's chunk view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRow {
    pub id: Uuid,
    pub position: i32,
    pub content: String,
    pub location: Option<String>,
    pub token_count: i32,
}

/// An item's chunks in order.
pub async fn chunks(
    pool: &PgPool,
    user: Uuid,
    repository: Uuid,
    item: Uuid,
) -> Result<Vec<ChunkRow>, KnowledgeError> {
    get(pool, user, repository).await?;
    let rows = sqlx::query_as!(
        ChunkRow,
        "select id, position, content, location, token_count from knowledge_chunks
         where item_id = $1 and repository_id = $2 order by position",
        item,
        repository
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Whether `user` can read every one of `ids` (repeats allowed).
pub async fn all_readable(
    executor: impl PgExecutor<'_>,
    user: Uuid,
    ids: &[Uuid],
) -> sqlx::Result<bool> {
    if ids.is_empty() {
        return Ok(true);
    }
    let unique: std::collections::HashSet<&Uuid> = ids.iter().collect();
    Ok(readable_ids(executor, user, ids).await?.len() == unique.len())
}

/// The repositories among `ids` that `user` can read (all readable ones when `ids` is empty).
pub async fn readable_ids(
    executor: impl PgExecutor<'_>,
    user: Uuid,
    ids: &[Uuid],
) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"select r.id from knowledge_repositories r
           where (r.owner_id = $1 or r.is_public or knowledge_shared_with(r.id, $1))
             and (cardinality($2::uuid[]) = 0 or r.id = any($2))"#,
        user,
        ids
    )
    .fetch_all(executor)
    .await
}
