//! The knowledge a step of a run is given: its prompt's repositories searched with the
//! question the step sends, as the person running it (what they may read), and as the
//! assistant's owner for the owner's repositories only where the owner shares the
//! assistant's knowledge with those who run it. A run never reads a repository neither of
//! them may.

use uuid::Uuid;

use crate::knowledge::{
    embed::Embedder,
    repos,
    retrieval::{self, SOURCES_PER_QUESTION},
    search::{Hit, SearchError},
};

/// Who a step searches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readers {
    /// The person running the assistant.
    pub runner: Uuid,
    /// The assistant's owner.
    pub owner: Uuid,
    /// The owner shares the knowledge named in the prompts with those who run it.
    pub shared: bool,
}

/// The best chunks of `repositories` for `question`, at most [`SOURCES_PER_QUESTION`], best
/// first.
pub async fn sources(
    pool: &sqlx::PgPool,
    embedder: &Embedder,
    readers: Readers,
    repositories: &[Uuid],
    question: &str,
) -> Result<Vec<Hit>, SearchError> {
    if repositories.is_empty() || question.trim().is_empty() {
        return Ok(Vec::new());
    }
    let runner = repos::readable_ids(pool, readers.runner, repositories).await?;
    let lent = if readers.shared && readers.owner != readers.runner {
        repos::readable_ids(pool, readers.owner, repositories)
            .await?
            .into_iter()
            .filter(|id| !runner.contains(id))
            .collect()
    } else {
        Vec::new()
    };
    let mut hits = retrieval::retrieve(pool, embedder, readers.runner, &runner, question).await?;
    hits.extend(retrieval::retrieve(pool, embedder, readers.owner, &lent, question).await?);
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    hits.truncate(SOURCES_PER_QUESTION);
    Ok(hits)
}
