//! The local embedding model: all-MiniLM-L6-v2 (384 dimensions) run with candle on the CPU,
//! from the folder `scripts/setup.sh` fills (`config.json`, `tokenizer.json`,
//! `model.safetensors`; `EMBEDDING_MODEL_DIR`).
//!
//! Sentence-transformers' recipe: WordPiece tokens (at most [`MINILM_MAX_TOKENS`]), the BERT
//! encoder, the mean of the token vectors weighted by the attention mask, L2-normalised, so a
//! dot product is the cosine similarity.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The id vectors are stored under (a search never mixes models).
pub const MINILM_ID: &str = "all-MiniLM-L6-v2";
pub const MINILM_DIMENSIONS: usize = 384;
/// The model was trained on inputs up to this many tokens; longer ones are cut.
pub const MINILM_MAX_TOKENS: usize = 256;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EmbedError {
    #[error("the embedding model could not be loaded from {path}: {reason}")]
    Unavailable { path: String, reason: String },
    #[error("embedding failed: {0}")]
    Failed(String),
}

struct Loaded {
    model: BertModel,
    tokenizer: Tokenizer,
    /// The same vocabulary with no padding or cut, for counting.
    counter: Tokenizer,
}

/// The model, loaded on first use and shared. Cheap to clone.
#[derive(Clone)]
pub struct LocalEmbedder {
    dir: PathBuf,
    loaded: Arc<OnceLock<Result<Loaded, EmbedError>>>,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl LocalEmbedder {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            loaded: Arc::default(),
        }
    }

    fn loaded(&self) -> Result<&Loaded, EmbedError> {
        self.loaded
            .get_or_init(|| load(&self.dir))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The number of the model's tokens in `text` (without the `[CLS]` / `[SEP]` markers):
    /// chunks are sized with it.
    pub fn count_tokens(&self, text: &str) -> Result<usize, EmbedError> {
        let loaded = self.loaded()?;
        loaded
            .counter
            .encode_fast(text, false)
            .map(|e| e.len())
            .map_err(|err| EmbedError::Failed(err.to_string()))
    }

    /// One unit vector per text, in order. CPU-bound: call it off the async threads.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let loaded = self.loaded()?;
        let failed = |err: &dyn std::fmt::Display| EmbedError::Failed(err.to_string());
        let encodings = loaded
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|err| failed(&err))?;
        let device = &loaded.model.device;
        let rows = |pick: fn(&tokenizers::Encoding) -> &[u32]| {
            encodings
                .iter()
                .map(|e| Tensor::new(pick(e), device))
                .collect::<candle_core::Result<Vec<_>>>()
                .and_then(|rows| Tensor::stack(&rows, 0))
        };
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = rows(tokenizers::Encoding::get_ids)?;
            let type_ids = rows(tokenizers::Encoding::get_type_ids)?;
            let mask = rows(tokenizers::Encoding::get_attention_mask)?;
            let hidden = loaded.model.forward(&ids, &type_ids, Some(&mask))?;
            // Mean over the real tokens (padding masked out), then unit length.
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?;
            let mean = summed.broadcast_div(&counts)?;
            let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
            mean.broadcast_div(&norms)?.to_vec2::<f32>()
        };
        run().map_err(|err| failed(&err))
    }
}

fn load(dir: &Path) -> Result<Loaded, EmbedError> {
    let unavailable = |reason: String| EmbedError::Unavailable {
        path: dir.display().to_string(),
        reason,
    };
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|err| unavailable(format!("{name}: {err}")))
    };
    let config: Config = serde_json::from_slice(&read("config.json")?)
        .map_err(|err| unavailable(format!("config.json: {err}")))?;
    let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
        .map_err(|err| unavailable(format!("tokenizer.json: {err}")))?;
    let mut counter = tokenizer.clone();
    counter.with_padding(None);
    counter
        .with_truncation(None)
        .map_err(|err| unavailable(err.to_string()))?;
    // The file pads every input to 128 and cuts there; pad to the longest in a batch and cut
    // at what the model was trained on.
    tokenizer.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        ..PaddingParams::default()
    }));
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MINILM_MAX_TOKENS,
            ..TruncationParams::default()
        }))
        .map_err(|err| unavailable(err.to_string()))?;
    let weights =
        VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DTYPE, &Device::Cpu)
            .map_err(|err| unavailable(err.to_string()))?;
    let model = BertModel::load(weights, &config).map_err(|err| unavailable(err.to_string()))?;
    Ok(Loaded {
        model,
        tokenizer,
        counter,
    })
}

/// The configured embedding model. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Embedder {
    Local(LocalEmbedder),
    /// An OpenAI-compatible embeddings API.
    Remote(super::remote::RemoteEmbedder),
    /// Amazon Bedrock (Titan Text Embeddings v2).
    Bedrock(super::bedrock::BedrockEmbedder),
}

impl Embedder {
    /// The local model from `EMBEDDING_MODEL_DIR` (default `models/all-MiniLM-L6-v2`), loaded
    /// on first use.
    pub fn local_from_env() -> Self {
        let dir = std::env::var("EMBEDDING_MODEL_DIR")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "models/all-MiniLM-L6-v2".to_owned());
        Self::Local(LocalEmbedder::new(dir))
    }

    /// `EMBEDDING_PROVIDER`: `local` (default), `openai` (any OpenAI-compatible API:
    /// `EMBEDDING_BASE_URL`, `EMBEDDING_API_KEY` or `OPENAI_API_KEY`, `EMBEDDING_MODEL`
    /// (default text-embedding-3-small), `EMBEDDING_DIMENSIONS` (default 1536),
    /// `EMBEDDING_MAX_TOKENS` (default 8191)) or `bedrock` (the AWS default chain for region
    /// and credentials; `EMBEDDING_MODEL` default amazon.titan-embed-text-v2:0,
    /// `EMBEDDING_DIMENSIONS` 256, 512 or 1024 (default), `EMBEDDING_MAX_TOKENS` default 8192).
    pub async fn from_env() -> Result<Self, String> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let number = |name: &str, default: usize| -> Result<usize, String> {
            var(name).map_or(Ok(default), |raw| {
                raw.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name} must be a positive whole number"))
            })
        };
        match var("EMBEDDING_PROVIDER").as_deref() {
            None | Some("local") => Ok(Self::local_from_env()),
            Some("openai") => {
                let settings = super::remote::RemoteSettings {
                    base_url: var("EMBEDDING_BASE_URL")
                        .unwrap_or_else(|| "https://api.openai.com/v1".to_owned()),
                    api_key: var("EMBEDDING_API_KEY")
                        .or_else(|| var("OPENAI_API_KEY"))
                        .map(secrecy::SecretString::from),
                    model: var("EMBEDDING_MODEL")
                        .unwrap_or_else(|| "text-embedding-3-small".to_owned()),
                    dimensions: number("EMBEDDING_DIMENSIONS", 1536)?,
                    max_tokens: number("EMBEDDING_MAX_TOKENS", 8191)?,
                };
                super::remote::RemoteEmbedder::new(settings)
                    .map(Self::Remote)
                    .map_err(|err| err.to_string())
            }
            Some("bedrock") => {
                let config = aws_config::load_from_env().await;
                super::bedrock::BedrockEmbedder::new(
                    &config,
                    &var("EMBEDDING_MODEL").unwrap_or_else(|| super::bedrock::TITAN_V2.to_owned()),
                    number("EMBEDDING_DIMENSIONS", 1024)?,
                    number("EMBEDDING_MAX_TOKENS", 8192)?,
                )
                .map(Self::Bedrock)
                .map_err(|err| err.to_string())
            }
            Some(other) => Err(format!(
                "EMBEDDING_PROVIDER must be local, openai or bedrock, not {other:?}"
            )),
        }
    }

    /// The id vectors are stored under.
    pub fn id(&self) -> &'static str {
        match self {
            Self::Local(_) => MINILM_ID,
            Self::Remote(remote) => remote.id(),
            Self::Bedrock(bedrock) => bedrock.id(),
        }
    }

    pub fn dimensions(&self) -> usize {
        match self {
            Self::Local(_) => MINILM_DIMENSIONS,
            Self::Remote(remote) => remote.dimensions(),
            Self::Bedrock(bedrock) => bedrock.dimensions(),
        }
    }

    /// The most tokens the model reads of one text.
    pub fn max_tokens(&self) -> usize {
        match self {
            Self::Local(_) => MINILM_MAX_TOKENS,
            Self::Remote(remote) => remote.max_tokens(),
            Self::Bedrock(bedrock) => bedrock.max_tokens(),
        }
    }

    /// Counts text in the model's tokens (an estimate for remote models), for sizing chunks.
    pub fn tokens(&self) -> &dyn super::chunk::TokenCount {
        match self {
            Self::Local(local) => local,
            Self::Remote(_) | Self::Bedrock(_) => &super::remote::CharEstimate,
        }
    }

    /// One unit vector per text, in order; the local model runs off the async threads.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        match self {
            Self::Local(local) => {
                let local = local.clone();
                tokio::task::spawn_blocking(move || {
                    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                    local.embed(&refs)
                })
                .await
                .map_err(|err| EmbedError::Failed(format!("the embedding task failed: {err}")))?
            }
            Self::Remote(remote) => remote.embed(&texts).await,
            Self::Bedrock(bedrock) => bedrock.embed(&texts).await,
        }
    }

    /// Makes sure the model's vectors have their HNSW index (the local model's comes with the
    /// schema). Models with more than 2,000 dimensions are searched exactly, without one.
    pub async fn ensure_index(&self, pool: &sqlx::PgPool) -> Result<(), String> {
        if matches!(self, Self::Local(_)) {
            return Ok(());
        }
        let id = self.id();
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c))
        {
            return Err(format!(
                "EMBEDDING_MODEL {id:?} has characters a model name does not"
            ));
        }
        let dimensions = self.dimensions();
        if dimensions > 2000 {
            tracing::warn!(
                dimensions,
                "vectors over 2,000 dimensions have no HNSW index; searches scan"
            );
            return Ok(());
        }
        let slug: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        // Names and the dimension are checked above: the statement holds no user input.
        let sql = format!(
            "create index if not exists knowledge_embeddings_{slug}_{dimensions}_hnsw_idx \
             on knowledge_embeddings using hnsw ((embedding::vector({dimensions})) vector_cosine_ops) \
             where model = '{id}'"
        );
        sqlx::query(&sql)
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(|err| format!("could not index the {id} vectors: {err}"))
    }
}
