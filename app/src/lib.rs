//! The AI Studio user interface: the app shell, pages, components and server functions.
//!
//! Compiled twice: with `ssr` into the server (rendering HTML, running server functions) and
//! with `hydrate` into the browser bundle (making that HTML interactive).

// The chat page's view types nest deeper than the default limit allows in release builds
// (debug builds erase them).
#![recursion_limit = "256"]

mod admin;
mod app;
pub mod assistants;
pub mod auth;
pub mod chat;
pub mod error;
mod home;
pub mod knowledge;
mod navigation;
pub mod notifications;
mod schedules;
#[cfg(feature = "ssr")]
pub mod ssr;
mod ui;
mod wire;

#[cfg(feature = "hydrate")]
pub use app::hydrated;
pub use app::{App, SIGNED_IN_PAGES, shell};
