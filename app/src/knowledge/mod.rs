//! Knowledge repositories: upload documents, web pages and text, follow them through the
//! ingestion pipeline, and search them by meaning or by words.

pub mod api;
mod page;
#[cfg(feature = "ssr")]
pub mod routes;
pub mod types;

pub use page::{KnowledgePage, RepositoryPage};
