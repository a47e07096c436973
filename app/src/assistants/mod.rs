//! Assistants: forms of input fields and a chain of prompts (see `studio_core::assistants`).
//! Today the routes a run's page follows; the builder, catalog and run pages come on top.

#[cfg(feature = "ssr")]
pub mod events;
