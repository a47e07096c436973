//! Schedule server functions: who asks, call `studio_core::schedules` with their id, shape the
//! answer. A schedule is its owner's alone; what it may run is checked by core on every save
//! (an assistant approved for one of the owner's roles, inputs that fit its fields).

use leptos::{prelude::*, server_fn::codec::Json};

use super::types::{Preview, RecurrenceForm, ScheduleDraft, ScheduleEditor, ScheduleRow};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod support {
    use chrono::{NaiveTime, Weekday};
    use studio_core::schedules::{
        recurrence::{MonthDay, Recurrence, Timing},
        store::{Draft, ScheduleError},
    };
    use uuid::Uuid;

    use super::super::types::{RecurrenceForm, ScheduleDraft};
    use crate::{assistants::api::support as assistants, error::AppError};

    pub use assistants::id;

    /// The signed-in person's id.
    pub async fn user() -> Result<Uuid, AppError> {
        crate::auth::ssr::require_user_id()
    }

    impl From<ScheduleError> for AppError {
        fn from(err: ScheduleError) -> Self {
            match err {
                ScheduleError::Invalid(problems) => AppError::Invalid(problems.join(" ")),
                ScheduleError::NotFound => AppError::NotFound,
                ScheduleError::Busy(message) => AppError::TooMany {
                    message,
                    retry_after_secs: 30,
                },
                ScheduleError::Database(err) => err.into(),
            }
        }
    }

    /// How a date and time reads in lists: "Mon 7 Dec 2026, 09:30 GMT".
    pub fn local<Z: chrono::TimeZone>(at: chrono::DateTime<Z>) -> String
    where
        Z::Offset: std::fmt::Display,
    {
        at.format("%a %-d %b %Y, %H:%M %Z").to_string()
    }

    /// The form's timing as core reads it; each problem named.
    pub fn recurrence(form: &RecurrenceForm) -> Result<Recurrence, AppError> {
        let at = || {
            NaiveTime::parse_from_str(form.at.trim(), "%H:%M").map_err(|_| {
                AppError::Invalid("Give the time as hours and minutes, such as 08:30.".into())
            })
        };
        Ok(match form.every.as_str() {
            "daily" => Recurrence::Daily { at: at()? },
            "weekly" => Recurrence::Weekly {
                days: form
                    .days
                    .iter()
                    .map(|day| {
                        day.parse::<Weekday>().map_err(|_| {
                            AppError::Invalid(format!("\u{201c}{day}\u{201d} is not a weekday."))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                at: at()?,
            },
            "monthly" => Recurrence::Monthly {
                day: match form.month_day.trim() {
                    "last" => MonthDay::Last,
                    day => MonthDay::Day(day.parse().map_err(|_| {
                        AppError::Invalid(
                            "Choose a day of the month from 1 to 28, or the last day.".into(),
                        )
                    })?),
                },
                at: at()?,
            },
            "cron" => Recurrence::Cron {
                pattern: form.pattern.trim().to_owned(),
            },
            _ => {
                return Err(AppError::Invalid(
                    "Choose how often: every day, every week, every month or a cron pattern."
                        .into(),
                ));
            }
        })
    }

    /// The timing in the form, checked.
    pub fn timing(form: &RecurrenceForm, zone: &str) -> Result<Timing, AppError> {
        Timing::new(recurrence(form)?, zone.trim())
            .map_err(|problems| AppError::Invalid(problems.join(" ")))
    }

    /// How a stored timing reads in the editor.
    pub fn recurrence_form(recurrence: &Recurrence) -> RecurrenceForm {
        let at = |time: &NaiveTime| time.format("%H:%M").to_string();
        let defaults = RecurrenceForm::default();
        match recurrence {
            Recurrence::Daily { at: time } => RecurrenceForm {
                every: "daily".into(),
                at: at(time),
                ..defaults
            },
            Recurrence::Weekly { days, at: time } => RecurrenceForm {
                every: "weekly".into(),
                at: at(time),
                days: days
                    .iter()
                    .map(|day| day.to_string().to_lowercase())
                    .collect(),
                ..defaults
            },
            Recurrence::Monthly { day, at: time } => RecurrenceForm {
                every: "monthly".into(),
                at: at(time),
                month_day: match day {
                    MonthDay::Day(day) => day.to_string(),
                    MonthDay::Last => "last".into(),
                },
                ..defaults
            },
            Recurrence::Cron { pattern } => RecurrenceForm {
                every: "cron".into(),
                pattern: pattern.clone(),
                ..defaults
            },
        }
    }

    pub fn draft(form: ScheduleDraft) -> Result<Draft, AppError> {
        Ok(Draft {
            name: form.name,
            assistant_id: form
                .assistant_id
                .parse()
                .map_err(|_| AppError::Invalid("Choose the assistant the schedule runs.".into()))?,
            inputs: assistants::inputs(form.inputs),
            recurrence: recurrence(&form.recurrence)?,
            time_zone: form.time_zone.trim().to_owned(),
            catch_up: form.catch_up,
            email: form.email,
        })
    }
}

/// The person's schedules, newest first.
#[server(endpoint = "schedules/list", input = Json)]
pub async fn list_schedules() -> Result<Vec<ScheduleRow>, AppError> {
    use studio_core::schedules::{recurrence::Timing, store};
    let user = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let schedules = store::list(&state.pool, user).await?;
    Ok(schedules
        .into_iter()
        .map(|s| {
            let timing = Timing::new(s.recurrence.clone(), &s.time_zone).ok();
            let described = timing
                .as_ref()
                .map_or_else(|| s.time_zone.clone(), Timing::describe);
            let next_run = s.next_run_at.map(|at| match &timing {
                Some(timing) => support::local(at.with_timezone(&timing.zone())),
                None => support::local(at),
            });
            ScheduleRow {
                id: s.id.to_string(),
                name: s.name,
                assistant_name: s.assistant_name,
                described,
                next_run,
                paused: s.paused_at.is_some(),
                pause_reason: s.pause_reason,
                failures: s.failures,
                email: s.email,
            }
        })
        .collect())
}

/// What the editor opens with: schedule `id` (a new one with `None`), showing the fields of
/// `assistant` when given (the one chosen in the editor), else of the schedule's assistant
/// (for a new schedule, the first the person may run).
#[server(endpoint = "schedules/editor", input = Json)]
pub async fn open_schedule_editor(
    id: Option<String>,
    assistant: Option<String>,
) -> Result<ScheduleEditor, AppError> {
    use studio_core::assistants::store as assistants;
    use studio_core::schedules::store;

    use crate::assistants::{api::support as assistant_support, types::Choice};

    let user = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let catalog = assistants::catalog(&state.pool, user).await?;
    let mut draft = match &id {
        Some(raw) => {
            let schedule = store::get(&state.pool, user, support::id(raw)?)
                .await?
                .ok_or(AppError::NotFound)?;
            ScheduleDraft {
                name: schedule.name,
                assistant_id: schedule.assistant_id.to_string(),
                inputs: assistant_support::given(schedule.inputs),
                recurrence: support::recurrence_form(&schedule.recurrence),
                time_zone: schedule.time_zone,
                catch_up: schedule.catch_up,
                email: schedule.email,
            }
        }
        None => ScheduleDraft {
            assistant_id: catalog
                .first()
                .map(|a| a.id.to_string())
                .unwrap_or_default(),
            recurrence: RecurrenceForm::default(),
            email: true,
            ..ScheduleDraft::default()
        },
    };
    if let Some(chosen) = assistant.filter(|a| !a.trim().is_empty()) {
        draft.assistant_id = chosen;
    }
    let fields = match draft.assistant_id.parse() {
        Ok(assistant) => assistants::runnable(&state.pool, user, assistant)
            .await?
            .map(|version| {
                version
                    .definition
                    .fields
                    .iter()
                    .map(assistant_support::field_form)
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    Ok(ScheduleEditor {
        id,
        draft,
        assistants: catalog
            .into_iter()
            .map(|a| Choice {
                id: a.id.to_string(),
                name: a.name,
            })
            .collect(),
        fields,
    })
}

/// When `recurrence` runs in `time_zone`: in words, and its next five occurrences.
#[server(endpoint = "schedules/preview", input = Json)]
pub async fn preview_schedule(
    recurrence: RecurrenceForm,
    time_zone: String,
) -> Result<Preview, AppError> {
    support::user().await?;
    let timing = support::timing(&recurrence, &time_zone)?;
    Ok(Preview {
        described: timing.describe(),
        upcoming: timing
            .upcoming(chrono::Utc::now(), 5)
            .into_iter()
            .map(support::local)
            .collect(),
    })
}

/// Saves schedule `id` (a new one with `None`); answers its id.
#[server(endpoint = "schedules/save", input = Json)]
pub async fn save_schedule(id: Option<String>, draft: ScheduleDraft) -> Result<String, AppError> {
    use studio_core::schedules::store;
    let user = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let draft = support::draft(draft)?;
    match id {
        Some(raw) => {
            let id = support::id(&raw)?;
            store::update(&state.pool, user, id, &draft).await?;
            Ok(id.to_string())
        }
        None => Ok(store::create(&state.pool, user, &draft).await?.to_string()),
    }
}

/// Pauses (`pause`) or resumes schedule `id`.
#[server(endpoint = "schedules/pause", input = Json)]
pub async fn pause_schedule(id: String, pause: bool) -> Result<(), AppError> {
    use studio_core::schedules::store;
    let user = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let id = support::id(&id)?;
    if pause {
        store::pause(&state.pool, user, id).await?;
    } else {
        store::resume(&state.pool, user, id).await?;
    }
    Ok(())
}

#[server(endpoint = "schedules/delete", input = Json)]
pub async fn delete_schedule(id: String) -> Result<(), AppError> {
    use studio_core::schedules::store;
    let user = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    store::delete(&state.pool, user, support::id(&id)?).await?;
    Ok(())
}

/// Runs schedule `id` now; answers the run's id.
#[server(endpoint = "schedules/run", input = Json)]
pub async fn run_schedule_now(id: String) -> Result<String, AppError> {
    use studio_core::schedules::store;
    let user = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let live = state.guards.config.live_runs_per_user;
    Ok(store::run_now(&state.pool, user, support::id(&id)?, live)
        .await?
        .to_string())
}
