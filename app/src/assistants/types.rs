//! What the assistant pages and their server functions exchange. Ids and times travel as
//! text; a run's events carry `studio_core`'s own views, read here by the same names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An input field as the builder edits it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FieldForm {
    pub name: String,
    pub label: String,
    pub help: String,
    /// `short_text`, `long_text`, `select`, `multi_select` or `file`.
    pub kind: String,
    pub required: bool,
    pub options: Vec<String>,
}

/// A prompt as the builder edits it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PromptForm {
    pub key: String,
    pub name: String,
    pub content: String,
    /// Empty for none.
    pub system: String,
    /// Empty while no model is chosen.
    pub model_id: String,
    pub repositories: Vec<String>,
}

/// An assistant as the builder edits it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DefinitionForm {
    pub name: String,
    pub description: String,
    pub icon: String,
    /// Empty for none (and when a caller leaves it out).
    #[serde(default)]
    pub category: String,
    pub share_knowledge: bool,
    pub fields: Vec<FieldForm>,
    pub prompts: Vec<PromptForm>,
}

/// A choice in a picker: its id and what people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

/// A prompt in the graph view: its level (0 first) and the prompts it waits for (indices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphNode {
    pub name: String,
    pub level: usize,
    pub waits_for: Vec<usize>,
}

/// What the builder opens with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    /// `None` for a new assistant.
    pub id: Option<String>,
    pub number: i32,
    /// `draft`, `pending`, `approved`, `rejected`.
    pub status: String,
    pub review_note: Option<String>,
    pub definition: DefinitionForm,
    /// The prompt graph, when the definition has one.
    pub graph: Vec<GraphNode>,
    pub models: Vec<Choice>,
    pub repositories: Vec<Choice>,
    pub icons: Vec<String>,
    /// The categories approved assistants use, to choose from or add to.
    pub categories: Vec<String>,
}

/// What a save answers: the assistant's id and its graph as saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
    pub status: String,
    pub graph: Vec<GraphNode>,
}

/// An assistant in a list (the owner's, or the review queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantRow {
    pub id: String,
    pub name: String,
    pub icon: String,
    pub owner: String,
    pub status: String,
    pub approved_number: Option<i32>,
    pub disabled: bool,
    pub updated: String,
}

/// An assistant someone may run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub id: String,
    pub name: String,
    pub description: String,
    pub icon: String,
    /// Empty for none.
    pub category: String,
}

/// A run in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    pub assistant_id: String,
    pub assistant_name: String,
    pub status: String,
    pub when: String,
}

/// What the assistants page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub catalog: Vec<CatalogEntry>,
    /// The person's own assistants; `None` without the builder tool.
    pub own: Option<Vec<AssistantRow>>,
    pub runs: Vec<RunRow>,
}

/// The form a run starts from, with the inputs of a run to start again from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunForm {
    pub id: String,
    /// A test run of the version its owner is working on.
    pub draft: bool,
    pub name: String,
    pub description: String,
    pub icon: String,
    pub fields: Vec<FieldForm>,
    pub given: BTreeMap<String, InputValue>,
}

/// One field's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InputValue {
    One(String),
    Many(Vec<String>),
}

/// A file's text for a file field: `POST /api/assistants/files` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileText {
    pub text: String,
    pub note: Option<String>,
}

/// A knowledge source a step cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub number: i32,
    pub item_name: String,
    pub location: Option<String>,
}

/// A step as a run's events carry it (`studio_core::assistants::events::StepView`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub position: i32,
    pub name: String,
    pub status: String,
    pub model: Option<String>,
    pub output: String,
    pub error: Option<String>,
    pub input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    /// Dollars, as text.
    pub cost: Option<String>,
    pub millis: Option<i64>,
    pub sources: Vec<Source>,
}

/// A run as its events carry it (`studio_core::assistants::events::RunView`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub assistant_id: String,
    pub assistant_name: String,
    pub status: String,
    pub error: Option<String>,
    pub steps: Vec<Step>,
    /// Its owner's test of a version not yet approved.
    #[serde(default)]
    pub test: bool,
}

/// The names of a run's events, as the server sends them and the run page listens for them.
pub mod run_events {
    pub const RUN: &str = "run";
    pub const STEP_STARTED: &str = "step-started";
    pub const STEP_KNOWLEDGE: &str = "step-knowledge";
    pub const STEP_TEXT: &str = "step-text";
    pub const STEP_OUTPUT: &str = "step-output";
    pub const STEP_FINISHED: &str = "step-finished";
    pub const RUN_ENDED: &str = "run-ended";
}

/// `step-started`, `step-text`, `step-output` and `step-knowledge` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepEvent {
    pub step: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub sources: Vec<Source>,
}

/// The `run-ended` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnded {
    pub status: String,
    pub error: Option<String>,
}

pub use crate::ui::icon_path;

/// What a status reads as.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "draft" => "Draft",
        "pending" => "Waiting for review",
        "approved" => "Approved",
        "rejected" => "Changes asked",
        "superseded" => "Replaced",
        "queued" => "Waiting to start",
        "running" => "Running",
        "succeeded" => "Done",
        "failed" => "Failed",
        "skipped" => "Not run",
        _ => "Waiting",
    }
}

/// A role a reviewer may grant an assistant to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChoice {
    pub id: String,
    pub name: String,
    /// Whether the role runs the assistant now.
    pub granted: bool,
}

/// What a reviewer reads of an assistant: its newest version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub number: i32,
    pub status: String,
    pub definition: DefinitionForm,
    /// Each prompt's model, by name.
    pub models: Vec<String>,
    pub graph: Vec<GraphNode>,
    pub roles: Vec<RoleChoice>,
    /// Where a link to it can go in the navigation (empty until a version is approved).
    pub places: Vec<PlaceChoice>,
}

/// A place in the navigation for an assistant's link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceChoice {
    /// The section or page; empty for the top of the sidebar.
    pub parent: String,
    /// "The sidebar", "Section Mathematics".
    pub name: String,
    /// A link to the assistant is there already.
    pub holds_it: bool,
}

/// One assistant's use in a period, for administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    pub id: String,
    pub name: String,
    pub runs: i64,
    pub people: i64,
    pub failed: i64,
    pub tokens: i64,
    /// US dollars, as text.
    pub cost: String,
}
