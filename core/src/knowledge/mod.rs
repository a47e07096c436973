//! Knowledge repositories: documents, web pages and text turned into searchable chunks.
//!
//! `extract` reads the text out of a document, `chunk` cuts it into pieces sized in the
//! embedding model's tokens, `embed` turns pieces into vectors.

pub mod chunk;
pub mod embed;
pub mod extract;

#[cfg(test)]
mod tests;
