//! Knowledge repositories: documents, web pages and text turned into searchable chunks.
//!
//! `repos` holds repositories, their sharing and their items; `storage` keeps the originals
//! (in a folder or in S3, `s3`);
//! the `pipeline` runs an item through `extract` (the text out of a document), `chunk` (pieces
//! sized in the embedding model's tokens) and `embed` (pieces to vectors); `search` finds
//! chunks by meaning, by words, or both.

pub mod bedrock;
pub mod chunk;
pub mod config;
pub mod embed;
pub mod embedding;
pub mod extract;
pub mod intake;
pub mod live;
pub mod objects;
pub mod ocr;
pub mod pipeline;
pub mod queue;
pub mod reembed;
pub mod remote;
pub mod repos;
pub mod retrieval;
pub mod s3;
pub mod search;
pub mod status;
pub mod storage;
pub mod web;

/// The tool (see `accounts::access`) that grants knowledge repositories, in their pages and in
/// chat.
pub const TOOL: &str = "knowledge-repositories";

#[cfg(test)]
mod db_tests;
#[cfg(test)]
mod remote_tests;
#[cfg(test)]
mod s3_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod web_tests;
