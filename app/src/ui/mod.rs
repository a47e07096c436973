//! Shared presentational pieces: the page layout, theme, tables, error and not-found views.

mod data_table;
mod error_view;
mod layout;
mod not_found;
mod status_line;
pub mod theme;

pub use data_table::DataTable;
pub use error_view::ErrorView;
pub use layout::Layout;
pub use not_found::NotFoundPage;
pub use status_line::StatusLine;

/// Asks the browser's yes/no question (`false` when rendering on the server).
pub fn confirm(question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window()
            .confirm_with_message(question)
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        false
    }
}

/// Asks the browser for a line of text (`None` if cancelled, and on the server).
pub fn prompt(question: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window()
            .prompt_with_message(question)
            .ok()
            .flatten()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        None
    }
}

/// `text` with every byte but ASCII letters and digits as `%XX` (for a header value).
#[cfg_attr(
    not(feature = "hydrate"),
    expect(dead_code, reason = "used by the browser only")
)]
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
