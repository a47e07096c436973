//! The home page.

mod page;

pub use page::HomePage;
