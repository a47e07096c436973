//! Server functions of the knowledge pages. Each starts with
//! `require_tool("knowledge-repositories")` and passes the user's id down:
//! `studio_core::knowledge::repos` decides what that user may see and change.

use leptos::{prelude::*, server_fn::codec::Json};

use super::types::{
    ChunkView, DirectUpload, HitView, ItemView, RepositoryDetail, RepositoryView, SharesView,
};
use crate::error::AppError;

/// The tool that grants these pages (`studio_core::knowledge::TOOL`).
pub const TOOL: &str = "knowledge-repositories";

#[cfg(feature = "ssr")]
pub(crate) mod support {
    use leptos::prelude::expect_context;
    use studio_core::knowledge::{
        intake::IntakeError,
        repos::{self, Access, Item, KnowledgeError, Repository},
        search::SearchError,
        status::ItemStatus,
    };
    use uuid::Uuid;

    use super::super::types::{self, ItemView, RepositoryView};
    use crate::{auth::ssr::require_tool, error::AppError, ssr::AppState};

    pub use crate::error::parse_id as id;

    /// The signed-in user allowed to use knowledge repositories, and the state.
    pub async fn user() -> Result<(Uuid, AppState), AppError> {
        let user = require_tool(super::TOOL).await?;
        Ok((id(&user.id)?, expect_context::<AppState>()))
    }

    impl From<KnowledgeError> for AppError {
        fn from(err: KnowledgeError) -> Self {
            match err {
                KnowledgeError::Invalid(message) => AppError::Invalid(message),
                KnowledgeError::NotFound => AppError::NotFound,
                KnowledgeError::Forbidden => AppError::Forbidden,
                KnowledgeError::Database(err) => err.into(),
            }
        }
    }

    impl From<IntakeError> for AppError {
        fn from(err: IntakeError) -> Self {
            match err {
                IntakeError::Knowledge(err) => err.into(),
                IntakeError::Failed(err) => {
                    tracing::error!(error = %format!("{err:#}"), "could not take in an item");
                    AppError::Internal
                }
                refused => AppError::Invalid(refused.to_string()),
            }
        }
    }

    impl From<SearchError> for AppError {
        fn from(err: SearchError) -> Self {
            match err {
                SearchError::Invalid(message) => AppError::Invalid(message),
                SearchError::Database(err) => err.into(),
                SearchError::Embed(err) => {
                    tracing::error!(error = %err, "search could not embed the query");
                    AppError::Internal
                }
            }
        }
    }

    pub fn repository(r: Repository) -> RepositoryView {
        RepositoryView {
            id: r.id.to_string(),
            name: r.name,
            description: r.description,
            is_public: r.is_public,
            owner_name: r.owner_name,
            is_owner: r.access == Access::Owner,
            access_label: match r.access {
                Access::Owner => "Yours",
                Access::Shared => "Shared with you",
                Access::Public => "Public",
            }
            .to_owned(),
            item_count: r.item_count,
            ready_count: r.ready_count,
        }
    }

    /// State for state: a state added in core does not compile until the page knows it.
    fn status(status: ItemStatus) -> types::ItemStatus {
        use types::ItemStatus as Shown;
        match status {
            ItemStatus::Uploading => Shown::Uploading,
            ItemStatus::Queued => Shown::Queued,
            ItemStatus::Extracting => Shown::Extracting,
            ItemStatus::Ocr => Shown::Ocr,
            ItemStatus::Chunking => Shown::Chunking,
            ItemStatus::Embedding => Shown::Embedding,
            ItemStatus::Ready => Shown::Ready,
            ItemStatus::Failed => Shown::Failed,
        }
    }

    pub fn item(i: Item) -> ItemView {
        ItemView {
            id: i.id.to_string(),
            kind: i.kind,
            name: i.name,
            content_kind: i.content_kind,
            size_bytes: i.size_bytes,
            status: status(i.status),
            progress_done: i.progress_done,
            progress_total: i.progress_total,
            error: i.error,
            chunk_count: i.chunk_count,
            pages_without_text: i.pages_without_text,
        }
    }

    /// The items of a repository the user can read, as the page shows them.
    pub async fn items(
        state: &AppState,
        user: Uuid,
        repository: Uuid,
    ) -> Result<Vec<ItemView>, AppError> {
        Ok(repos::items(&state.pool, user, repository)
            .await?
            .into_iter()
            .map(item)
            .collect())
    }

    /// Removes what storage keeps under `prefix`; a failure is logged, not shown (the rows are
    /// gone, and the files are unreachable without them).
    pub async fn forget_files(state: &AppState, prefix: &str) {
        if let Err(err) = state.knowledge.pipeline.storage.delete_prefix(prefix).await {
            tracing::warn!(error = %err, prefix, "could not remove stored files");
        }
    }
}

#[server(endpoint = "knowledge/list", input = Json)]
pub async fn list_repositories() -> Result<Vec<RepositoryView>, AppError> {
    let (user, state) = support::user().await?;
    Ok(studio_core::knowledge::repos::list(&state.pool, user)
        .await?
        .into_iter()
        .map(support::repository)
        .collect())
}

#[cfg(feature = "ssr")]
fn fields(
    name: String,
    description: String,
    is_public: bool,
) -> studio_core::knowledge::repos::RepositoryFields {
    studio_core::knowledge::repos::RepositoryFields {
        name,
        description,
        is_public,
    }
}

#[server(endpoint = "knowledge/create", input = Json)]
pub async fn create_repository(
    name: String,
    description: String,
    is_public: bool,
) -> Result<String, AppError> {
    let (user, state) = support::user().await?;
    let id = studio_core::knowledge::repos::create(
        &state.pool,
        user,
        &fields(name, description, is_public),
    )
    .await?;
    Ok(id.to_string())
}

#[server(endpoint = "knowledge/update", input = Json)]
pub async fn update_repository(
    id: String,
    name: String,
    description: String,
    is_public: bool,
) -> Result<(), AppError> {
    let (user, state) = support::user().await?;
    studio_core::knowledge::repos::update(
        &state.pool,
        user,
        support::id(&id)?,
        &fields(name, description, is_public),
    )
    .await?;
    Ok(())
}

#[server(endpoint = "knowledge/delete", input = Json)]
pub async fn delete_repository(id: String) -> Result<(), AppError> {
    let (user, state) = support::user().await?;
    let id = support::id(&id)?;
    studio_core::knowledge::repos::delete(&state.pool, user, id).await?;
    support::forget_files(
        &state,
        &studio_core::knowledge::storage::repository_prefix(id),
    )
    .await;
    Ok(())
}

#[server(endpoint = "knowledge/repository", input = Json)]
pub async fn get_repository(id: String) -> Result<RepositoryDetail, AppError> {
    let (user, state) = support::user().await?;
    let id = support::id(&id)?;
    let repository = studio_core::knowledge::repos::get(&state.pool, user, id).await?;
    Ok(RepositoryDetail {
        repository: support::repository(repository),
        items: support::items(&state, user, id).await?,
        max_upload_bytes: state.knowledge.max_upload_bytes,
        direct_uploads: matches!(
            state.knowledge.pipeline.storage,
            studio_core::knowledge::storage::Storage::S3(_)
        ),
    })
}

#[server(endpoint = "knowledge/shares", input = Json)]
pub async fn repository_shares(id: String) -> Result<SharesView, AppError> {
    let (user, state) = support::user().await?;
    let shares =
        studio_core::knowledge::repos::shares(&state.pool, user, support::id(&id)?).await?;
    let roles = studio_core::accounts::admin::list_roles(&state.pool)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    Ok(SharesView {
        user_emails: shares.user_emails,
        role_names: shares.role_names,
        roles,
    })
}

/// `emails`: addresses separated by commas, spaces or new lines. Answers what to tell the
/// owner: saved, and which of the roles cannot open repositories yet.
#[server(endpoint = "knowledge/share", input = Json)]
pub async fn set_repository_shares(
    id: String,
    emails: String,
    roles: Vec<String>,
) -> Result<String, AppError> {
    let (user, state) = support::user().await?;
    let user_emails = emails
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    let unreachable = studio_core::knowledge::repos::set_shares(
        &state.pool,
        user,
        support::id(&id)?,
        &studio_core::knowledge::repos::Shares {
            user_emails,
            role_names: roles,
        },
    )
    .await?;
    Ok(match unreachable.as_slice() {
        [] => "Sharing saved.".to_owned(),
        [role] => format!(
            "Sharing saved. The role {role} does not include the Knowledge tool, so its members cannot open repositories yet: an administrator can grant it on the roles page."
        ),
        roles => format!(
            "Sharing saved. The roles {} do not include the Knowledge tool, so their members cannot open repositories yet: an administrator can grant it on the roles page.",
            roles.join(", ")
        ),
    })
}

/// Grants an upload of `name` (`size` bytes) straight to object storage: the item waits as
/// `uploading` until `finish_upload`. Refused when storage takes no direct uploads (the
/// server's upload route is the way then), for anyone but the owner, and over the limit.
#[server(endpoint = "knowledge/begin-upload", input = Json)]
pub async fn begin_upload(
    repository: String,
    name: String,
    size: u64,
) -> Result<DirectUpload, AppError> {
    let (user, state) = support::user().await?;
    let repository = support::id(&repository)?;
    let (item, presigned) = state
        .intake()
        .begin_direct(user, repository, &name, size)
        .await?
        .ok_or_else(|| {
            AppError::Invalid("This server takes uploads through its own upload route.".into())
        })?;
    Ok(DirectUpload {
        item: item.to_string(),
        method: presigned.method,
        url: presigned.url,
        headers: presigned.headers,
    })
}

/// The browser's direct upload of `item` is done: the file is checked where it landed (there,
/// within the limit, a document by its first bytes) and the item queued. A file that fails a
/// check is removed with its item, and the reason returned.
#[server(endpoint = "knowledge/finish-upload", input = Json)]
pub async fn finish_upload(repository: String, item: String) -> Result<(), AppError> {
    let (user, state) = support::user().await?;
    let (repository, item) = (support::id(&repository)?, support::id(&item)?);
    state.intake().finish_direct(user, repository, item).await?;
    Ok(())
}

/// Pasted text becomes an item like an upload.
#[server(endpoint = "knowledge/add-text", input = Json)]
pub async fn add_text_item(
    repository: String,
    title: String,
    text: String,
) -> Result<(), AppError> {
    let (user, state) = support::user().await?;
    let repository = support::id(&repository)?;
    state.intake().text(user, repository, &title, &text).await?;
    Ok(())
}

/// A web page: fetched, read and kept up to date by the pipeline (re-processing fetches it
/// again). Private and local addresses are refused here and again at every fetch.
#[server(endpoint = "knowledge/add-url", input = Json)]
pub async fn add_url_item(repository: String, url: String) -> Result<(), AppError> {
    let (user, state) = support::user().await?;
    let repository = support::id(&repository)?;
    state.intake().web_page(user, repository, &url).await?;
    Ok(())
}

#[server(endpoint = "knowledge/reprocess", input = Json)]
pub async fn reprocess_item(repository: String, item: String) -> Result<(), AppError> {
    let (user, state) = support::user().await?;
    studio_core::knowledge::repos::reprocess(
        &state.pool,
        user,
        support::id(&repository)?,
        support::id(&item)?,
    )
    .await?;
    Ok(())
}

#[server(endpoint = "knowledge/remove", input = Json)]
pub async fn remove_item(repository: String, item: String) -> Result<(), AppError> {
    let (user, state) = support::user().await?;
    let (repository, item) = (support::id(&repository)?, support::id(&item)?);
    studio_core::knowledge::repos::remove_item(&state.pool, user, repository, item).await?;
    support::forget_files(
        &state,
        &studio_core::knowledge::storage::item_prefix(repository, item),
    )
    .await;
    Ok(())
}

#[server(endpoint = "knowledge/chunks", input = Json)]
pub async fn item_chunks(repository: String, item: String) -> Result<Vec<ChunkView>, AppError> {
    let (user, state) = support::user().await?;
    let chunks = studio_core::knowledge::repos::chunks(
        &state.pool,
        user,
        support::id(&repository)?,
        support::id(&item)?,
    )
    .await?;
    Ok(chunks
        .into_iter()
        .map(|c| ChunkView {
            position: c.position,
            content: c.content,
            location: c.location,
            token_count: c.token_count,
        })
        .collect())
}

/// `mode`: semantic, keyword or hybrid; `weight`: the semantic share of a hybrid score.
/// `repository` empty searches every repository the user can read.
#[server(endpoint = "knowledge/search", input = Json)]
pub async fn search_knowledge(
    query: String,
    repository: String,
    mode: String,
    weight: f32,
) -> Result<Vec<HitView>, AppError> {
    use studio_core::knowledge::search::{self, Mode, Query};
    let (user, state) = support::user().await?;
    let mode = match mode.as_str() {
        "semantic" => Mode::Semantic,
        "keyword" => Mode::Keyword,
        "hybrid" => Mode::Hybrid,
        _ => return Err(AppError::Invalid("Pick how to search.".into())),
    };
    let repositories = if repository.is_empty() {
        Vec::new()
    } else {
        vec![support::id(&repository)?]
    };
    let hits = search::search(
        &state.pool,
        &state.knowledge.pipeline.embedder,
        user,
        &Query {
            text: query,
            repositories,
            mode,
            semantic_weight: weight,
            limit: 10,
        },
    )
    .await?;
    Ok(hits
        .into_iter()
        .map(|h| HitView {
            chunk_id: h.chunk_id.to_string(),
            item_id: h.item_id.to_string(),
            item_name: h.item_name,
            repository_id: h.repository_id.to_string(),
            repository_name: h.repository_name,
            position: h.position,
            content: h.content,
            location: h.location,
            score: h.score,
            semantic: h.semantic,
            keyword: h.keyword,
            matched_terms: h.matched_terms,
        })
        .collect())
}

/// The items as they are now (the page also follows them live; this is its fallback).
#[server(endpoint = "knowledge/items", input = Json)]
pub async fn list_items(repository: String) -> Result<Vec<ItemView>, AppError> {
    let (user, state) = support::user().await?;
    support::items(&state, user, support::id(&repository)?).await
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn the_pages_and_chat_name_the_same_tool() {
        assert_eq!(super::TOOL, studio_core::knowledge::TOOL);
    }
}
