//! Shared presentational pieces: the page layout, theme, tables, error and not-found views.

mod data_table;
mod error_view;
mod layout;
mod not_found;
pub mod theme;

pub use data_table::DataTable;
pub use error_view::ErrorView;
pub use layout::Layout;
pub use not_found::NotFoundPage;
