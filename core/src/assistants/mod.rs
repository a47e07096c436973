//! Assistants: forms of input fields and a chain of prompts that staff build once and others
//! run.
//!
//! - `template`: the placeholders in a prompt (`{{name}}`, `${name}`, escapes) and filling
//!   them in.
//! - `plan`: the prompt graph read from those placeholders: what each prompt waits for, the
//!   levels a run follows, and the problems that refuse a save (unknown names, circles,
//!   limits).

pub mod plan;
pub mod template;

pub use plan::{Plan, Problem, PromptText, plan};
