//! Search over the chunks of the repositories a user can read: semantic (cosine similarity of
//! the configured model's vectors, HNSW), keyword (Postgres full-text), or hybrid (both, the
//! semantic score weighted `w`, the keyword score `1 - w`).
//!
//! Keyword search matches any of the query's words (more matches rank higher), as people type
//! questions rather than exact phrases; English stop words ("a", "to", "the": Postgres's own
//! list) are left out unless the query has nothing else. A hit must hold one of the words or
//! be at least [`MIN_SIMILARITY`] close in meaning: a search shows no hit that merely came
//! nearest.
//!
//! Each hit says why it matched: its semantic similarity, its keyword score (relative to the
//! best keyword match among the candidates, so the two scales are comparable), and which of the
//! query's words it contains.

use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::{
    embed::{EmbedError, Embedder},
    embedding::vector_literal,
    repos,
};

/// How wide a vector index search looks. Over 100,000 clustered chunks (`make bench`, index
/// built with `ef_construction` 200), 400 finds 99% of an exact scan's top 10 for queries
/// that mix topics (86% at 200, 80% at 100) in about 7.5 ms per index query.
pub const HNSW_EF_SEARCH: u32 = 400;

/// The least cosine similarity that makes a chunk a hit by meaning alone. With
/// all-MiniLM-L6-v2, text on the same subject scores about 0.3 and above, unrelated text
/// below 0.15; OpenAI's and Titan's models spread similarly.
pub const MIN_SIMILARITY: f32 = 0.2;

/// The semantic share of a hybrid score unless the user moves the slider.
pub const DEFAULT_SEMANTIC_WEIGHT: f32 = 0.7;
/// Most hits one search returns.
pub const MAX_LIMIT: usize = 50;
/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Semantic,
    Keyword,
    Hybrid,
}

#[derive(Debug, Clone)]
pub struct Query {
    pub text: String,
    /// Repositories to search; empty means every one the user can read.
    pub repositories: Vec<Uuid>,
    pub mode: Mode,
    /// The semantic share of a hybrid score, 0 to 1.
    pub semantic_weight: f32,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub chunk_id: Uuid,
    pub item_id: Uuid,
    pub item_name: String,
    pub repository_id: Uuid,
    pub repository_name: String,
    pub position: i32,
    pub content: String,
    pub location: Option<String>,
    /// What the results are ordered by, 0 to 1.
    pub score: f32,
    /// Cosine similarity to the query (semantic and hybrid searches).
    pub semantic: Option<f32>,
    /// Full-text score relative to the best keyword match, 0 to 1 (keyword and hybrid).
    pub keyword: Option<f32>,
    /// The query's words found in the chunk.
    pub matched_terms: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Runs `query` for `user` over the repositories they can read.
pub async fn search(
    pool: &PgPool,
    embedder: &Embedder,
    user: Uuid,
    query: &Query,
) -> Result<Vec<Hit>, SearchError> {
    let text = query.text.trim();
    if text.is_empty() {
        return Err(SearchError::Invalid("Type something to search for.".into()));
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(SearchError::Invalid(format!(
            "A search can be at most {MAX_QUERY_CHARS} characters."
        )));
    }
    if !(0.0..=1.0).contains(&query.semantic_weight) {
        return Err(SearchError::Invalid(
            "The semantic weight goes from 0 to 1.".into(),
        ));
    }
    let limit = query.limit.clamp(1, MAX_LIMIT);
    let readable = repos::readable_ids(pool, user, &query.repositories).await?;
    if readable.is_empty() {
        return Ok(Vec::new());
    }
    let semantic = query.mode != Mode::Keyword;
    let keyword = query.mode != Mode::Semantic;
    let vector = if semantic {
        let mut vectors = embedder.embed(vec![text.to_owned()]).await?;
        vectors.pop().map(|v| vector_literal(&v))
    } else {
        None
    };
    // Each side brings a few times the hits asked for, so the blend can reorder them.
    let candidates = i64::try_from((limit * 4).max(20)).unwrap_or(200);
    let dimensions = embedder.dimensions();
    // The dimension is ours (a number from the model's definition), never user input; the
    // cast must be literal for the model's partial HNSW index to be used.
    let distance = format!("e.embedding::vector({dimensions}) <=> $4::text::vector({dimensions})");
    let (semantic_candidates, semantic_score) = if semantic {
        (
            format!(
                "select e.chunk_id from knowledge_embeddings e
                 where e.model = $3 and e.repository_id = any($1)
                 order by {distance} limit $5"
            ),
            format!("(1 - ({distance}))::real"),
        )
    } else {
        (
            "select null::uuid as chunk_id where false".to_owned(),
            "null::real".to_owned(),
        )
    };
    let (keyword_candidates, keyword_score) = if keyword {
        (
            "select c.id as chunk_id from knowledge_chunks c, q
             where c.repository_id = any($1) and c.search @@ q.tsq
             order by ts_rank_cd(c.search, q.tsq, 32) desc, c.id limit $5",
            "ts_rank_cd(c.search, q.tsq, 32)",
        )
    } else {
        ("select null::uuid as chunk_id where false", "null::real")
    };
    let sql = format!(
        "with typed as (select tsvector_to_array(to_tsvector('simple', $2)) as words),
         kept as (select coalesce(nullif(array(select w from unnest(typed.words) as w
                                               where to_tsvector('english', w) <> ''::tsvector),
                                         '{{}}'),
                                  typed.words) as words
                  from typed),
         q as (select replace(plainto_tsquery('simple', array_to_string(kept.words, ' '))::text,
                              ' & ', ' | ')::tsquery as tsq,
                      kept.words
               from kept),
         sem as ({semantic_candidates}),
         kw as ({keyword_candidates}),
         cand as (select chunk_id from sem union select chunk_id from kw)
         select c.id, c.item_id, i.name as item_name, c.repository_id,
                r.name as repository_name, c.position, c.content, c.location,
                {semantic_score} as semantic,
                {keyword_score} as keyword,
                array(select w from unnest(tsvector_to_array(c.search)) as w
                      where w = any(q.words) order by w) as matched
         from cand
         join knowledge_chunks c on c.id = cand.chunk_id
         join knowledge_items i on i.id = c.item_id
         join knowledge_repositories r on r.id = c.repository_id
         left join knowledge_embeddings e on e.chunk_id = c.id and e.model = $3
         cross join q"
    );
    let mut tx = pool.begin().await?;
    // Filtered HNSW scans keep going until they have enough rows in the chosen repositories.
    sqlx::query("set local hnsw.iterative_scan = relaxed_order")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("set local hnsw.ef_search = {HNSW_EF_SEARCH}"))
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query(&sql)
        .bind(&readable)
        .bind(text)
        .bind(embedder.id())
        .bind(vector.as_deref())
        .bind(candidates)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;

    let best_keyword = rows
        .iter()
        .filter_map(|row| row.get::<Option<f32>, _>("keyword"))
        .fold(0.0_f32, f32::max);
    let weight = match query.mode {
        Mode::Semantic => 1.0,
        Mode::Keyword => 0.0,
        Mode::Hybrid => query.semantic_weight,
    };
    let mut hits: Vec<Hit> = rows
        .into_iter()
        .map(|row| {
            let semantic = row
                .get::<Option<f32>, _>("semantic")
                .map(|s| s.clamp(0.0, 1.0));
            let keyword = row.get::<Option<f32>, _>("keyword").map(|k| {
                if best_keyword > 0.0 {
                    k / best_keyword
                } else {
                    0.0
                }
            });
            let score = weight * semantic.unwrap_or(0.0) + (1.0 - weight) * keyword.unwrap_or(0.0);
            Hit {
                chunk_id: row.get("id"),
                item_id: row.get("item_id"),
                item_name: row.get("item_name"),
                repository_id: row.get("repository_id"),
                repository_name: row.get("repository_name"),
                position: row.get("position"),
                content: row.get("content"),
                location: row.get("location"),
                score,
                semantic,
                keyword,
                matched_terms: row.get("matched"),
            }
        })
        .filter(|hit: &Hit| {
            hit.keyword.is_some_and(|k| k > 0.0)
                || hit.semantic.is_some_and(|s| s >= MIN_SIMILARITY)
        })
        .collect();
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.item_name.cmp(&b.item_name))
            .then_with(|| a.position.cmp(&b.position))
    });
    hits.truncate(limit);
    Ok(hits)
}
