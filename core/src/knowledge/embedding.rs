//! What every embedding backend and the chunker share: the error an embedding fails with, and
//! counting a text in the model's tokens (to size chunks).

#[derive(Debug, Clone, thiserror::Error)]
pub enum EmbedError {
    #[error("the embedding model could not be loaded from {path}: {reason}")]
    Unavailable { path: String, reason: String },
    #[error("embedding failed: {0}")]
    Failed(String),
}

/// Counts a text in the model's tokens.
pub trait TokenCount {
    fn count(&self, text: &str) -> Result<usize, EmbedError>;
}

/// Token counts for chunk sizing when the model's own tokenizer is not at hand: about four
/// characters a token (the usual figure for English with OpenAI's tokenizers).
#[derive(Debug, Clone, Copy, Default)]
pub struct CharEstimate;

impl TokenCount for CharEstimate {
    fn count(&self, text: &str) -> Result<usize, EmbedError> {
        Ok(text.chars().count().div_ceil(4))
    }
}

/// A vector as pgvector's text form, `[0.1,0.2,...]` (each float in its shortest exact form).
pub fn vector_literal(vector: &[f32]) -> String {
    let mut out = String::with_capacity(vector.len() * 11 + 2);
    out.push('[');
    for (i, value) in vector.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&value.to_string());
    }
    out.push(']');
    out
}
