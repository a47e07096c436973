//! The navigation as data (see `studio_core::navigation`): the sidebar administrators edit.
//!
//! - `sidebar`: the sidebar's links, sections and landing pages for the signed-in person.
//! - `page`: `/page/{id}`, a landing page: its links as tiles, searchable.
//! - `editor`: `/admin/navigation`, adding, editing, ordering (drag or keyboard) and hiding.
//! - `api`: the server functions.

pub(crate) mod api;
mod editor;
mod page;
mod sidebar;
mod types;

pub use editor::AdminNavigationPage;
pub use page::LandingPage;
pub use sidebar::{MenuResource, NavigationMenu};
