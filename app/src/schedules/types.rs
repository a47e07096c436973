//! What the schedule pages and their server functions exchange. Ids and times travel as text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::assistants::types::{Choice, FieldForm, InputValue};

/// How often, as the editor holds it: `every` is `daily`, `weekly`, `monthly` or `cron`;
/// `at` is `HH:MM`; `days` are `mon` to `sun` (weekly); `month_day` is `1` to `28` or `last`
/// (monthly); `pattern` is five cron fields or a nickname (cron).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecurrenceForm {
    pub every: String,
    pub at: String,
    pub days: Vec<String>,
    pub month_day: String,
    pub pattern: String,
}

impl Default for RecurrenceForm {
    fn default() -> Self {
        Self {
            every: "weekly".into(),
            at: "08:00".into(),
            days: vec!["mon".into()],
            month_day: "1".into(),
            pattern: String::new(),
        }
    }
}

/// A schedule as its owner writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScheduleDraft {
    pub name: String,
    pub assistant_id: String,
    pub inputs: BTreeMap<String, InputValue>,
    pub recurrence: RecurrenceForm,
    /// An IANA name such as `Europe/London`.
    pub time_zone: String,
    pub catch_up: bool,
    pub email: bool,
}

/// What the editor opens with: the schedule (a new one filled with defaults), the assistants
/// the person may schedule, and the chosen assistant's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleEditor {
    /// `None` for a new schedule.
    pub id: Option<String>,
    pub draft: ScheduleDraft,
    pub assistants: Vec<Choice>,
    pub fields: Vec<FieldForm>,
}

/// When a recurrence runs, in words and its next occurrences in its zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub described: String,
    pub upcoming: Vec<String>,
}

/// A schedule as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRow {
    pub id: String,
    pub name: String,
    pub assistant_name: String,
    pub described: String,
    /// In the schedule's zone; `None` while paused.
    pub next_run: Option<String>,
    pub paused: bool,
    pub pause_reason: Option<String>,
    pub failures: i32,
    pub email: bool,
}
