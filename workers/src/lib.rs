//! Background work: the job runner that drains the queue, and the job handlers.
//!
//! The server runs a [`Runner`] in-process in embedded mode; the `worker` binary runs the same
//! runner as its own service.

pub mod config;
pub mod knowledge;
pub mod ping;
pub mod runner;

pub use config::RunnerConfig;
pub use runner::{Handlers, JobContext, JobError, Outcome, Runner};

/// Every job handler this crate provides, ready to give to a [`Runner`]. Knowledge items go
/// through `pipeline`.
pub fn handlers(pipeline: studio_core::knowledge::pipeline::Pipeline) -> Handlers {
    let mut handlers = Handlers::default();
    handlers.add(ping::KIND, ping::run);
    knowledge::add(&mut handlers, pipeline);
    handlers
}
