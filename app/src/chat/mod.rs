//! Chat: conversations with the models a user's roles allow, replies streamed as they are
//! written, branches from edits and regenerations, and what each reply cost.

pub mod api;
#[cfg(feature = "ssr")]
pub mod images;
mod markdown;
mod page;
#[cfg(feature = "ssr")]
pub mod stream;
pub mod types;

pub use markdown::to_html;
pub use page::ChatPage;
