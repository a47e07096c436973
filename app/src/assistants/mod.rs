//! Assistants: forms of input fields and a chain of prompts (see `studio_core::assistants`).
//!
//! - `catalog`: `/assistants`, what the person may run, their own assistants and their runs.
//! - `builder`: `/assistants/new` and `/assistants/{id}/edit`, the Assistant Architect.
//! - `run_form`: `/assistants/{id}`, the form a run starts from.
//! - `run_page`: `/assistants/runs/{id}`, a run as it happens and its results.
//! - `review`: `/admin/assistants`, approval, rejection, disabling, export and import;
//!   `usage`: each assistant's use over a period, below it.
//! - `api`: the server functions; `routes`, `events`: the routes that are not.

pub(crate) mod api;
mod builder;
mod catalog;
#[cfg(feature = "ssr")]
pub mod events;
mod graph;
mod review;
#[cfg(feature = "ssr")]
pub mod routes;
pub(crate) mod run_form;
mod run_page;
pub(crate) mod types;
mod usage;

pub use builder::{AssistantBuilderPage, NewAssistantPage};
pub use catalog::AssistantsPage;
pub use review::AdminAssistantsPage;
pub use run_form::RunFormPage;
pub use run_page::RunPage;
