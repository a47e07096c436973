//! Documents cut into chunks for embedding: at structure first (Markdown headings and blocks,
//! then paragraphs, sentences, words), each at most a number of the embedding model's tokens,
//! neighbours overlapping a little so a sentence cut in two is still found. Chunks never
//! cross sections, so each keeps its page, slide, sheet or heading.

use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter, TryChunkSizer};

use super::{
    embedding::{EmbedError, TokenCount},
    extract::{Extracted, Kind},
};

/// The chunk size we aim for, when the embedding model takes that many tokens.
pub const DEFAULT_MAX_TOKENS: usize = 512;
pub const DEFAULT_OVERLAP_TOKENS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    pub max_tokens: usize,
    pub overlap_tokens: usize,
}

impl ChunkOptions {
    /// 512 tokens with 64 overlapping, or less for a model that reads fewer (a chunk longer
    /// than its model reads would be embedded by its start only).
    pub fn for_model(model_max_tokens: usize) -> Self {
        let max_tokens = DEFAULT_MAX_TOKENS.min(model_max_tokens).max(16);
        Self {
            max_tokens,
            overlap_tokens: DEFAULT_OVERLAP_TOKENS.min(max_tokens / 4),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Its place in the document, from 0.
    pub index: u32,
    pub text: String,
    /// The section's page, slide, sheet or heading.
    pub location: Option<String>,
}

struct Sizer<'a>(&'a dyn TokenCount);

impl TryChunkSizer for Sizer<'_> {
    type Error = EmbedError;

    fn try_size(&self, chunk: &str) -> Result<usize, EmbedError> {
        self.0.count(chunk)
    }
}

/// The document's chunks, in order.
pub fn chunk(
    document: &Extracted,
    tokens: &dyn TokenCount,
    options: ChunkOptions,
) -> Result<Vec<Chunk>, EmbedError> {
    let config = ChunkConfig::new(options.max_tokens)
        .with_sizer(Sizer(tokens))
        .with_trim(true)
        .with_overlap(options.overlap_tokens)
        .map_err(|err| EmbedError::Failed(err.to_string()))?;
    let mut chunks = Vec::new();
    let mut push = |text: &str, location: &Option<String>| {
        chunks.push(Chunk {
            index: u32::try_from(chunks.len()).unwrap_or(u32::MAX),
            text: text.to_owned(),
            location: location.clone(),
        });
    };
    if document.kind == Kind::Markdown {
        let splitter = MarkdownSplitter::new(config);
        for section in &document.sections {
            for text in splitter.try_chunks(&section.text) {
                push(text?, &section.location);
            }
        }
    } else {
        let splitter = TextSplitter::new(config);
        for section in &document.sections {
            for text in splitter.try_chunks(&section.text) {
                push(text?, &section.location);
            }
        }
    }
    Ok(chunks)
}
