//! Knowledge repositories: documents, web pages and text turned into searchable chunks.
//!
//! `extract` reads the text out of a document.

pub mod extract;

#[cfg(test)]
mod tests;
