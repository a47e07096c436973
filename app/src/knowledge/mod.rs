//! Knowledge repositories: upload documents, web pages and text, follow them through the
//! ingestion pipeline, and search them by meaning or by words.

pub mod api;
mod items;
mod page;
#[cfg(feature = "ssr")]
pub mod routes;
mod search;
mod settings;
pub mod types;
mod upload;

pub use page::{KnowledgePage, RepositoryPage};
