//! Assistants: forms of input fields and a chain of prompts that staff build once and others
//! run.
//!
//! - `template`: the placeholders in a prompt (`{{name}}`, `${name}`, escapes) and filling
//!   them in.
//! - `plan`: the prompt graph read from those placeholders: what each prompt waits for, the
//!   levels a run follows, and the problems that refuse a save (unknown names, circles,
//!   limits).
//! - `inputs`: the values a run is given, checked against the fields (required, choices, the
//!   100 KB bound).
//! - `store`: assistants as saved, in versions, and their review (draft, pending, approved or
//!   rejected); approval makes an assistant a tool granted to roles. Its database tests
//!   cover `transfer` too.
//! - `run`: runs of an approved version, a job that sends the prompts level by level through
//!   the turn engine's generations and resumes after an interruption.
//! - `knowledge`: the sources a step is given: the runner's access, and the owner's where
//!   the owner shares it.
//! - `events`: a run as it happens, for the page that follows it: the run now, each step's
//!   start, text and end, and the run's end, also when another process sends it.
//! - `placement`: an approved assistant's link in the navigation (the sidebar, a section or
//!   a landing page), shown to the holders of its tool.
//! - `transfer`: export as versioned JSON and import (models matched by provider model id).
//! - `results`: a person's runs in a list, a run as one Markdown document, and a conversation
//!   that goes on from a run's results.
//! - `report`: each assistant's use over a period (runs, people, failures, tokens, cost), for
//!   administrators.

pub mod events;
pub mod inputs;
pub mod knowledge;
pub mod placement;
pub mod plan;
pub mod report;
pub mod results;
pub mod run;
pub mod store;
pub mod template;
pub mod transfer;

pub use plan::{Plan, Problem, PromptText, plan};
