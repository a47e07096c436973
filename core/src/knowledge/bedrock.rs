//! Embeddings from Amazon Bedrock: Titan Text Embeddings v2 (`amazon.titan-embed-text-v2:0`,
//! 256, 512 or 1,024 dimensions, up to 8,192 tokens) through `InvokeModel`.
//!
//! Titan takes one text per call; a batch is sent as parallel calls ([`PARALLEL_CALLS`] at
//! a time). The SDK retries throttling and server errors with backoff;
//! vectors come back normalised by the service (`"normalize": true`) and are checked for
//! their dimension.

use aws_sdk_bedrockruntime::{Client, error::DisplayErrorContext, primitives::Blob};

use super::embedding::EmbedError;

/// Calls in flight for one batch.
pub const PARALLEL_CALLS: usize = 8;
pub const TITAN_V2: &str = "amazon.titan-embed-text-v2:0";

/// A Bedrock embedding model. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BedrockEmbedder {
    client: Client,
    /// Also the id its vectors are stored under.
    model: &'static str,
    dimensions: usize,
    max_tokens: usize,
}

#[derive(serde::Deserialize)]
struct Answer {
    embedding: Vec<f32>,
}

impl BedrockEmbedder {
    /// `model` reached with `config`; `dimensions` must be one Titan v2 produces.
    pub fn new(
        config: &aws_config::SdkConfig,
        model: &str,
        dimensions: usize,
        max_tokens: usize,
    ) -> Result<Self, EmbedError> {
        if model == TITAN_V2 && ![256, 512, 1024].contains(&dimensions) {
            return Err(EmbedError::Failed(format!(
                "{TITAN_V2} makes vectors of 256, 512 or 1024 dimensions, not {dimensions}"
            )));
        }
        Ok(Self {
            client: Client::new(config),
            // One per process (the configured model), kept for its life.
            model: Box::leak(model.to_owned().into_boxed_str()),
            dimensions,
            max_tokens,
        })
    }

    pub fn id(&self) -> &'static str {
        self.model
    }

    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// One unit vector per text, in order.
    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut vectors = Vec::with_capacity(texts.len());
        for group in texts.chunks(PARALLEL_CALLS) {
            let calls: Vec<_> = group.iter().map(|text| self.embed_one(text)).collect();
            vectors.extend(futures::future::try_join_all(calls).await?);
        }
        Ok(vectors)
    }

    async fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let body = serde_json::json!({
            "inputText": text,
            "dimensions": self.dimensions,
            "normalize": true,
        });
        let answer = self
            .client
            .invoke_model()
            .model_id(self.model)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body.to_string()))
            .send()
            .await
            .map_err(|err| {
                EmbedError::Failed(format!(
                    "Bedrock {}: {}",
                    self.model,
                    DisplayErrorContext(&err)
                ))
            })?;
        let answer: Answer = serde_json::from_slice(answer.body().as_ref()).map_err(|err| {
            EmbedError::Failed(format!("Bedrock {} answered oddly: {err}", self.model))
        })?;
        if answer.embedding.len() != self.dimensions {
            return Err(EmbedError::Failed(format!(
                "Bedrock {} gave {} dimensions, not {}",
                self.model,
                answer.embedding.len(),
                self.dimensions
            )));
        }
        Ok(answer.embedding)
    }
}
