//! Chat: conversations with the models a user's roles allow, replies streamed as they are
//! written, branches from edits and regenerations, and what each reply cost.

pub mod api;
mod composer;
#[cfg(feature = "ssr")]
pub mod documents;
#[cfg(feature = "ssr")]
pub mod images;
mod knowledge;
mod list;
mod markdown;
mod message;
mod page;
#[cfg(feature = "ssr")]
pub mod send_form;
mod state;
#[cfg(feature = "ssr")]
pub mod stream;
pub mod types;

pub use markdown::to_html;
#[cfg(feature = "ssr")]
pub use markdown::{highlight_css, to_rich_html};
/// Where [`highlight_css`] is served; the version in the query renews caches on upgrades.
pub const HIGHLIGHT_CSS_URL: &str = concat!("/highlight.css?v=", env!("CARGO_PKG_VERSION"));
pub use page::ChatPage;
