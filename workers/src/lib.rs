//! Background work: the job runner that drains the queue, and the job handlers.
//!
//! The server runs a [`Runner`] in-process in embedded mode; the `worker` binary runs the same
//! runner as its own service.

pub mod config;
pub mod ping;
pub mod runner;

pub use config::RunnerConfig;
pub use runner::{Handlers, JobContext, JobError, Outcome, Runner};

/// Every job handler this crate provides, ready to give to a [`Runner`].
pub fn handlers() -> Handlers {
    let mut handlers = Handlers::default();
    handlers.add(ping::KIND, ping::run);
    handlers
}
