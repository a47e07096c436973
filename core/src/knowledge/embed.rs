//! The local embedding model: all-MiniLM-L6-v2 (384 dimensions) on the CPU, from the folder
//! `scripts/setup.sh` fills (`EMBEDDING_MODEL_DIR`: `config.json`, `tokenizer.json`,
//! `model.safetensors`, and `model.onnx`, the same model with int8 weights).
//!
//! Two engines run it: ONNX Runtime (the library `ONNXRUNTIME_LIB` names, loaded at run time;
//! about four times faster) and candle (pure Rust, the fallback when the library or the ONNX
//! file is missing). Their vectors agree to a cosine of 0.999, so both store under one id.
//!
//! Sentence-transformers' recipe: WordPiece tokens (at most [`MINILM_MAX_TOKENS`]), the BERT
//! encoder, the mean of the token vectors weighted by the attention mask, L2-normalised, so a
//! dot product is the cosine similarity.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock},
};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};

use super::config::EmbeddingConfig;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

pub use super::embedding::EmbedError;
use super::embedding::{CharEstimate, TokenCount};

/// The id vectors are stored under (a search never mixes models).
pub const MINILM_ID: &str = "all-MiniLM-L6-v2";
pub const MINILM_DIMENSIONS: usize = 384;
/// The model was trained on inputs up to this many tokens; longer ones are cut.
pub const MINILM_MAX_TOKENS: usize = 256;

/// What runs the model.
enum Engine {
    Onnx(Mutex<ort::session::Session>),
    Candle(Box<BertModel>),
}

struct Loaded {
    engine: Engine,
    tokenizer: Tokenizer,
    /// The same vocabulary with no padding or cut, for counting.
    counter: Tokenizer,
}

/// The model, loaded on first use and shared. Cheap to clone.
#[derive(Clone)]
pub struct LocalEmbedder {
    dir: PathBuf,
    /// ONNX Runtime's shared library, when it is to be used.
    onnx_runtime: Option<PathBuf>,
    loaded: Arc<OnceLock<Result<Loaded, EmbedError>>>,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder")
            .field("dir", &self.dir)
            .field("onnx_runtime", &self.onnx_runtime)
            .finish_non_exhaustive()
    }
}

impl LocalEmbedder {
    /// The model in `dir`, run with candle.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            onnx_runtime: None,
            loaded: Arc::default(),
        }
    }

    /// Runs `model.onnx` from the same folder with the ONNX Runtime library at `library`
    /// instead; if either cannot be loaded, candle runs the model and a warning says why.
    #[must_use]
    pub fn with_onnx_runtime(mut self, library: impl Into<PathBuf>) -> Self {
        self.onnx_runtime = Some(library.into());
        self.loaded = Arc::default();
        self
    }

    fn loaded(&self) -> Result<&Loaded, EmbedError> {
        self.loaded
            .get_or_init(|| load(&self.dir, self.onnx_runtime.as_deref()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The engine running the model ("ONNX Runtime" or "candle"); loads it.
    pub fn engine(&self) -> Result<&'static str, EmbedError> {
        Ok(match self.loaded()?.engine {
            Engine::Onnx(_) => "ONNX Runtime",
            Engine::Candle(_) => "candle",
        })
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
        match &loaded.engine {
            // One text per run: no padding to compute, which beats batching on a CPU. The
            // session is taken per text, so a search's query waits for one text at most, not
            // for an ingestion's whole batch.
            Engine::Onnx(session) => encodings
                .iter()
                .map(|encoding| {
                    let mut session = session
                        .lock()
                        .map_err(|_| failed(&"an earlier embedding crashed"))?;
                    embed_onnx(&mut session, encoding).map_err(|err| failed(&err))
                })
                .collect(),
            Engine::Candle(model) => embed_candle(model, &encodings).map_err(|err| failed(&err)),
        }
    }
}

/// One text through ONNX Runtime: the encoder's token vectors, mean-pooled, unit length.
fn embed_onnx(
    session: &mut ort::session::Session,
    encoding: &tokenizers::Encoding,
) -> ort::Result<Vec<f32>> {
    // The batch's padding sits at the end; this text needs none.
    let len = encoding
        .get_attention_mask()
        .iter()
        .filter(|m| **m == 1)
        .count()
        .max(1);
    let column = |values: &[u32]| -> ort::Result<ort::value::Tensor<i64>> {
        let values: Vec<i64> = values[..len].iter().map(|v| i64::from(*v)).collect();
        ort::value::Tensor::from_array(([1, len], values))
    };
    let outputs = session.run(ort::inputs![
        "input_ids" => column(encoding.get_ids())?,
        "attention_mask" => column(&encoding.get_attention_mask()[..len])?,
        "token_type_ids" => column(encoding.get_type_ids())?,
    ])?;
    let (shape, hidden) = outputs[0].try_extract_tensor::<f32>()?;
    let width = usize::try_from(shape.last().copied().unwrap_or(0)).unwrap_or(0);
    if width != MINILM_DIMENSIONS || hidden.len() != len * width {
        return Err(ort::Error::new(format!(
            "the model gave {shape:?} values, not {len} tokens of {MINILM_DIMENSIONS}"
        )));
    }
    let mut mean = vec![0f32; width];
    for token in hidden.chunks_exact(width) {
        for (sum, value) in mean.iter_mut().zip(token) {
            *sum += value;
        }
    }
    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    mean.iter_mut().for_each(|v| *v /= norm);
    Ok(mean)
}

/// A padded batch through candle's BERT.
fn embed_candle(
    model: &BertModel,
    encodings: &[tokenizers::Encoding],
) -> candle_core::Result<Vec<Vec<f32>>> {
    let device = &model.device;
    let rows = |pick: fn(&tokenizers::Encoding) -> &[u32]| {
        encodings
            .iter()
            .map(|e| Tensor::new(pick(e), device))
            .collect::<candle_core::Result<Vec<_>>>()
            .and_then(|rows| Tensor::stack(&rows, 0))
    };
    let ids = rows(tokenizers::Encoding::get_ids)?;
    let type_ids = rows(tokenizers::Encoding::get_type_ids)?;
    let mask = rows(tokenizers::Encoding::get_attention_mask)?;
    let hidden = model.forward(&ids, &type_ids, Some(&mask))?;
    // Mean over the real tokens (padding masked out), then unit length.
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?;
    let mean = summed.broadcast_div(&counts)?;
    let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
    mean.broadcast_div(&norms)?.to_vec2::<f32>()
}

/// ONNX Runtime's environment: the library is loaded once per process.
fn onnx_environment(library: &Path) -> Result<ort::environment::Environment, String> {
    static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENVIRONMENT
        .get_or_init(|| {
            ort::init_from(library)
                .map_err(|err| format!("{}: {err}", library.display()))?
                .with_name("aistudio")
                .build()
                .map_err(|err| err.to_string())
        })
        .clone()
}

fn onnx_session(dir: &Path, library: &Path) -> Result<ort::session::Session, String> {
    let model = dir.join("model.onnx");
    if !model.is_file() {
        return Err(format!("{} is missing", model.display()));
    }
    let environment = onnx_environment(library)?;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    ort::session::Session::builder(&environment)
        .map_err(|err| err.to_string())?
        .with_intra_threads(threads)
        .map_err(|err| err.to_string())?
        .commit_from_file(&model)
        .map_err(|err| format!("{}: {err}", model.display()))
}

fn load(dir: &Path, onnx_runtime: Option<&Path>) -> Result<Loaded, EmbedError> {
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
    if let Some(library) = onnx_runtime {
        match onnx_session(dir, library) {
            Ok(session) => {
                return Ok(Loaded {
                    engine: Engine::Onnx(Mutex::new(session)),
                    tokenizer,
                    counter,
                });
            }
            Err(reason) => tracing::warn!(
                %reason,
                "ONNX Runtime could not run the embedding model; candle runs it (slower)"
            ),
        }
    }
    let weights =
        VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DTYPE, &Device::Cpu)
            .map_err(|err| unavailable(err.to_string()))?;
    let model = BertModel::load(weights, &config).map_err(|err| unavailable(err.to_string()))?;
    Ok(Loaded {
        engine: Engine::Candle(Box::new(model)),
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
    /// The local model in `dir`, run by the ONNX Runtime library `onnx_runtime` (candle
    /// without it), loaded on first use.
    pub fn local(dir: impl Into<PathBuf>, onnx_runtime: Option<&Path>) -> Self {
        let model = LocalEmbedder::new(dir);
        Self::Local(match onnx_runtime {
            Some(library) => model.with_onnx_runtime(library),
            None => model,
        })
    }

    /// The local model as `EMBEDDING_MODEL_DIR` and `ONNXRUNTIME_LIB` say (for tests and
    /// benchmarks, which run the real model).
    pub fn local_from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let dir =
            var("EMBEDDING_MODEL_DIR").unwrap_or_else(|| "models/all-MiniLM-L6-v2".to_owned());
        Self::local(dir, var("ONNXRUNTIME_LIB").as_deref().map(Path::new))
    }

    /// The model `config` names.
    pub async fn build(config: &EmbeddingConfig) -> Result<Self, String> {
        match config {
            EmbeddingConfig::Local { dir, onnx_runtime } => {
                Ok(Self::local(dir.clone(), onnx_runtime.as_deref()))
            }
            EmbeddingConfig::OpenAi(settings) => {
                super::remote::RemoteEmbedder::new(settings.clone())
                    .map(Self::Remote)
                    .map_err(|err| err.to_string())
            }
            EmbeddingConfig::Bedrock {
                model,
                dimensions,
                max_tokens,
            } => {
                let aws = aws_config::load_from_env().await;
                super::bedrock::BedrockEmbedder::new(&aws, model, *dimensions, *max_tokens)
                    .map(Self::Bedrock)
                    .map_err(|err| err.to_string())
            }
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
    pub fn tokens(&self) -> &dyn TokenCount {
        match self {
            Self::Local(local) => local,
            Self::Remote(_) | Self::Bedrock(_) => &CharEstimate,
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
             with (m = 16, ef_construction = 200) where model = '{id}'"
        );
        sqlx::query(&sql)
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(|err| format!("could not index the {id} vectors: {err}"))
    }
}

impl TokenCount for LocalEmbedder {
    fn count(&self, text: &str) -> Result<usize, EmbedError> {
        self.count_tokens(text)
    }
}
