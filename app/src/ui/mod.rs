//! Shared presentational pieces: the page layout, theme, icons, tables, error and not-found views;
//! and, in [`browser`], what only a browser can do.

pub mod browser;
mod choice;
mod data_table;
mod error_view;
pub mod events;
mod icons;
mod layout;
mod loading;
mod menu;
mod not_found;
mod reorder;
mod status_line;
pub mod theme;
mod tiles;
pub mod upload;

pub use browser::confirm;
pub use choice::{ChoiceBox, toggle};
pub use data_table::DataTable;
pub use error_view::ErrorView;
pub use icons::{IconPicker, icon_path};
pub use layout::Layout;
pub use loading::WhenLoaded;
pub use menu::PopoverMenu;
pub use not_found::NotFoundPage;
pub use reorder::MoveButtons;
pub use status_line::StatusLine;
pub use tiles::{Tile, TileGrid};

/// `n` and the noun that goes with it: "1 user", "3 users".
pub fn counted(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}
