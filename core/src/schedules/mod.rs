//! Schedules: an approved assistant run with saved inputs at set times.
//!
//! - `recurrence`: when a schedule runs (daily, weekdays, monthly, cron) in its time zone,
//!   with daylight-saving changes, and the checks that refuse what cannot run or runs too
//!   often.
//! - `store`: schedules as their owner keeps them (create, edit, pause, resume, delete, run
//!   now), and what a run's end does to its schedule.
//! - `tick`: starting what is due, exactly once per occurrence across processes, and what
//!   missed occurrences do.

pub mod recurrence;
pub mod store;
pub mod tick;

#[cfg(test)]
mod tests;
