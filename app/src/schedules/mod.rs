//! Schedules: an assistant run with saved inputs at set times (see `studio_core::schedules`).
//!
//! - `list`: `/schedules`, the person's schedules with run now, pause, resume and delete.
//! - `editor`: `/schedules/new` (`?assistant=`) and `/schedules/{id}/edit`, with the next
//!   runs previewed as the timing is written.
//! - `api`: the server functions.

pub(crate) mod api;
mod editor;
mod list;
mod types;

pub use editor::ScheduleEditorPage;
pub use list::SchedulesPage;
