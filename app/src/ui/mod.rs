//! Shared presentational pieces: the page layout, theme, error and not-found views.

mod error_view;
mod layout;
mod not_found;
pub mod theme;

pub use error_view::ErrorView;
pub use layout::Layout;
pub use not_found::NotFoundPage;
