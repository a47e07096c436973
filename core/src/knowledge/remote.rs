//! Embeddings from an OpenAI-compatible `POST /embeddings` endpoint: OpenAI's
//! text-embedding-3 models, or any server that speaks the same API (Ollama, vLLM, LiteLLM).
//!
//! Texts go in batches; a rate limit (429) or a server error is retried with backoff,
//! honouring `Retry-After`; a refusal (other 4xx) is not. Vectors are L2-normalised so the
//! stored cosine distances compare like the local model's.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::embedding::EmbedError;

/// Texts per request (OpenAI takes up to 2048; smaller batches keep requests well under
/// their token limit with 512-token chunks).
pub const BATCH: usize = 64;
/// Attempts per batch before giving up.
const ATTEMPTS: u32 = 5;

#[derive(Debug, Clone)]
pub struct RemoteSettings {
    /// e.g. `https://api.openai.com/v1` (no trailing slash needed).
    pub base_url: String,
    pub api_key: Option<SecretString>,
    /// e.g. `text-embedding-3-small`.
    pub model: String,
    /// The vector length the model returns (asked for when the model can shorten).
    pub dimensions: usize,
    /// The most tokens the model reads of one text.
    pub max_tokens: usize,
}

/// A remote embedding model. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RemoteEmbedder {
    settings: RemoteSettings,
    http: reqwest::Client,
    /// Stored with every vector: the model, so a search never mixes models.
    id: &'static str,
    /// First retry delay (doubled per attempt); short in tests.
    pub retry_base: Duration,
}

#[derive(serde::Deserialize)]
struct Response {
    data: Vec<Datum>,
}

#[derive(serde::Deserialize)]
struct Datum {
    index: usize,
    embedding: Vec<f32>,
}

impl RemoteEmbedder {
    pub fn new(settings: RemoteSettings) -> Result<Self, EmbedError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|err| EmbedError::Failed(err.to_string()))?;
        // Leaked once per process: the id lives as long as the embedder configuration.
        let id: &'static str = Box::leak(settings.model.clone().into_boxed_str());
        Ok(Self {
            settings,
            http,
            id,
            retry_base: Duration::from_millis(500),
        })
    }

    pub fn id(&self) -> &'static str {
        self.id
    }

    pub fn dimensions(&self) -> usize {
        self.settings.dimensions
    }

    pub fn max_tokens(&self) -> usize {
        self.settings.max_tokens
    }

    /// One unit vector per text, in order.
    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            out.extend(self.embed_batch(batch).await?);
        }
        Ok(out)
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let url = format!(
            "{}/embeddings",
            self.settings.base_url.trim_end_matches('/')
        );
        let mut body = serde_json::json!({ "model": self.settings.model, "input": texts });
        if self.settings.model.starts_with("text-embedding-3") {
            body["dimensions"] = self.settings.dimensions.into();
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.post(&url).json(&body);
            if let Some(key) = &self.settings.api_key {
                request = request.bearer_auth(key.expose_secret());
            }
            let (retry_after, reason) = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    return self.read(response, texts.len()).await;
                }
                Ok(response) => {
                    let status = response.status();
                    let wait = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = response.text().await.unwrap_or_default();
                    let reason = format!(
                        "the embedding service answered {status}: {}",
                        text.chars().take(300).collect::<String>()
                    );
                    if !(status.as_u16() == 429 || status.is_server_error()) {
                        return Err(EmbedError::Failed(reason));
                    }
                    (wait, reason)
                }
                Err(err) => (
                    None,
                    format!("the embedding service could not be reached: {err}"),
                ),
            };
            if attempt >= ATTEMPTS {
                return Err(EmbedError::Failed(format!(
                    "{reason} (gave up after {ATTEMPTS} attempts)"
                )));
            }
            let backoff = self.retry_base * 2u32.pow(attempt - 1);
            let wait = retry_after.map_or(backoff, |w| w.min(Duration::from_secs(60)));
            tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, %reason, "embedding request will be retried");
            tokio::time::sleep(wait).await;
        }
    }

    async fn read(
        &self,
        response: reqwest::Response,
        expected: usize,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut parsed: Response = response
            .json()
            .await
            .map_err(|err| EmbedError::Failed(format!("unreadable embeddings: {err}")))?;
        if parsed.data.len() != expected {
            return Err(EmbedError::Failed(format!(
                "asked for {expected} embeddings, got {}",
                parsed.data.len()
            )));
        }
        parsed.data.sort_by_key(|d| d.index);
        parsed
            .data
            .into_iter()
            .map(|d| {
                if d.embedding.len() != self.settings.dimensions {
                    return Err(EmbedError::Failed(format!(
                        "the model returned {} dimensions, configured {}",
                        d.embedding.len(),
                        self.settings.dimensions
                    )));
                }
                let norm = d.embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
                Ok(if norm > 0.0 {
                    d.embedding.iter().map(|x| x / norm).collect()
                } else {
                    d.embedding
                })
            })
            .collect()
    }
}
