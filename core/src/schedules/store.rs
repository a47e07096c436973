//! Schedules as their owner keeps them: created, edited, paused, resumed, deleted, run now;
//! and what a run's end does to its schedule (a run of failures pauses it, with the reason).
//! Every function takes the owner and touches only their schedules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::recurrence::{Recurrence, Timing};
use crate::assistants::{
    inputs::{self, Inputs},
    run::{self, Occurrence},
    store::{self as assistants, AssistantError},
};

/// The most schedules one person may keep.
pub const MAX_PER_USER: i64 = 50;
/// Failed runs in a row that pause a schedule.
pub const MAX_FAILURES: i32 = 3;
pub const MAX_NAME_CHARS: usize = 200;

/// A schedule as its owner writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub name: String,
    pub assistant_id: Uuid,
    pub inputs: Inputs,
    pub recurrence: Recurrence,
    /// An IANA name such as `Europe/London`.
    pub time_zone: String,
    /// Missed occurrences: the latest runs once on recovery (`true`) or they are skipped.
    pub catch_up: bool,
    /// Each result is mailed too.
    pub email: bool,
}

/// A schedule as its list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: Uuid,
    pub assistant_id: Uuid,
    pub assistant_name: String,
    pub name: String,
    pub inputs: Inputs,
    pub recurrence: Recurrence,
    pub time_zone: String,
    pub catch_up: bool,
    pub email: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub pause_reason: Option<String>,
    pub failures: i32,
    pub last_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// What to change, each problem in its own sentence.
    #[error("{}", .0.join(" "))]
    Invalid(Vec<String>),
    /// No such schedule for this person.
    #[error("not found")]
    NotFound,
    /// The person has as many runs going as they may; "run now" waits for one to end.
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<AssistantError> for ScheduleError {
    fn from(err: AssistantError) -> Self {
        match err {
            AssistantError::Invalid(problems) => Self::Invalid(problems),
            AssistantError::NotFound => Self::Invalid(vec![CANNOT_RUN.into()]),
            AssistantError::State(why) => Self::Invalid(vec![why]),
            AssistantError::Busy(why) => Self::Busy(why),
            AssistantError::Database(err) => Self::Database(err),
        }
    }
}

const CANNOT_RUN: &str = "You cannot run this assistant (it is not approved for you, or it was disabled); choose another.";

/// The draft's timing, once everything in it is right for `user`.
async fn check(pool: &PgPool, user: Uuid, draft: &Draft) -> Result<Timing, ScheduleError> {
    let mut problems = Vec::new();
    let name = draft.name.trim();
    if name.is_empty() {
        problems.push("Give the schedule a name.".to_owned());
    } else if name.chars().count() > MAX_NAME_CHARS {
        problems.push(format!(
            "A schedule's name has at most {MAX_NAME_CHARS} characters."
        ));
    }
    let timing = Timing::new(draft.recurrence.clone(), &draft.time_zone)
        .map_err(|more| problems.extend(more))
        .ok();
    match assistants::runnable(pool, user, draft.assistant_id).await? {
        None => problems.push(CANNOT_RUN.into()),
        Some(version) => {
            if let Err(more) = inputs::values(&version.definition.fields, &draft.inputs) {
                problems.extend(more);
            }
            problems.extend(run::cannot_run(&version.definition));
        }
    }
    match timing {
        Some(timing) if problems.is_empty() => Ok(timing),
        _ => Err(ScheduleError::Invalid(problems)),
    }
}

/// Saves a new schedule of `user`; its first run is the first occurrence from now.
pub async fn create(pool: &PgPool, user: Uuid, draft: &Draft) -> Result<Uuid, ScheduleError> {
    let timing = check(pool, user, draft).await?;
    let inputs = json(&draft.inputs)?;
    let recurrence = json(&draft.recurrence)?;
    // Counted and inserted in one statement: two tabs cannot pass the limit together.
    let id = sqlx::query_scalar!(
        r#"
        insert into schedules (user_id, assistant_id, name, inputs, recurrence, time_zone,
                               catch_up, email, next_run_at)
        select $1, $2, $3, $4, $5, $6, $7, $8, $9
        where (select count(*) from schedules where user_id = $1) < $10
        returning id
        "#,
        user,
        draft.assistant_id,
        draft.name.trim(),
        inputs,
        recurrence,
        timing.zone().name(),
        draft.catch_up,
        draft.email,
        timing.next_after(Utc::now()),
        MAX_PER_USER,
    )
    .fetch_optional(pool)
    .await?;
    id.ok_or_else(|| {
        ScheduleError::Invalid(vec![format!(
            "You have {MAX_PER_USER} schedules, the most one person may keep; delete one first."
        )])
    })
}

/// Replaces schedule `id` of `user` with `draft`; a running schedule's next run follows the
/// new timing.
pub async fn update(
    pool: &PgPool,
    user: Uuid,
    id: Uuid,
    draft: &Draft,
) -> Result<(), ScheduleError> {
    if get(pool, user, id).await?.is_none() {
        return Err(ScheduleError::NotFound);
    }
    let timing = check(pool, user, draft).await?;
    let updated = sqlx::query!(
        r#"
        update schedules
        set name = $3, assistant_id = $4, inputs = $5, recurrence = $6, time_zone = $7,
            catch_up = $8, email = $9,
            next_run_at = case when paused_at is null then $10::timestamptz end
        where id = $1 and user_id = $2
        "#,
        id,
        user,
        draft.name.trim(),
        draft.assistant_id,
        json(&draft.inputs)?,
        json(&draft.recurrence)?,
        timing.zone().name(),
        draft.catch_up,
        draft.email,
        timing.next_after(Utc::now()),
    )
    .execute(pool)
    .await?;
    found(updated.rows_affected())
}

pub async fn delete(pool: &PgPool, user: Uuid, id: Uuid) -> Result<(), ScheduleError> {
    let deleted = sqlx::query!(
        "delete from schedules where id = $1 and user_id = $2",
        id,
        user
    )
    .execute(pool)
    .await?;
    found(deleted.rows_affected())
}

/// Stops schedule `id` from running until it is resumed.
pub async fn pause(pool: &PgPool, user: Uuid, id: Uuid) -> Result<(), ScheduleError> {
    let paused = sqlx::query!(
        r#"
        update schedules set paused_at = coalesce(paused_at, now()), next_run_at = null
        where id = $1 and user_id = $2
        "#,
        id,
        user
    )
    .execute(pool)
    .await?;
    found(paused.rows_affected())
}

/// Runs schedule `id` again from its next occurrence, its failures forgotten.
pub async fn resume(pool: &PgPool, user: Uuid, id: Uuid) -> Result<(), ScheduleError> {
    let Some(schedule) = get(pool, user, id).await? else {
        return Err(ScheduleError::NotFound);
    };
    let timing =
        Timing::new(schedule.recurrence, &schedule.time_zone).map_err(ScheduleError::Invalid)?;
    sqlx::query!(
        r#"
        update schedules
        set paused_at = null, pause_reason = null, failures = 0, next_run_at = $3
        where id = $1 and user_id = $2
        "#,
        id,
        user,
        timing.next_after(Utc::now()),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Starts a run of schedule `id` now, whatever its timing (paused or not), while `user` has
/// fewer than `live` runs waiting or under way. Returns the run.
pub async fn run_now(
    pool: &PgPool,
    user: Uuid,
    id: Uuid,
    live: usize,
) -> Result<Uuid, ScheduleError> {
    let Some(schedule) = get(pool, user, id).await? else {
        return Err(ScheduleError::NotFound);
    };
    let occurrence = Occurrence {
        schedule_id: id,
        at: Utc::now(),
    };
    let started = run::start_for(
        pool,
        user,
        schedule.assistant_id,
        &schedule.inputs,
        Some(occurrence),
        Some(live),
    )
    .await?;
    sqlx::query!("update schedules set last_run_at = now() where id = $1", id)
        .execute(pool)
        .await?;
    started.ok_or_else(|| ScheduleError::Invalid(vec!["It has just been started.".into()]))
}

/// The schedules of `user`, newest first.
pub async fn list(pool: &PgPool, user: Uuid) -> sqlx::Result<Vec<Schedule>> {
    read(pool, user, None).await
}

pub async fn get(pool: &PgPool, user: Uuid, id: Uuid) -> sqlx::Result<Option<Schedule>> {
    Ok(read(pool, user, Some(id)).await?.into_iter().next())
}

async fn read(pool: &PgPool, user: Uuid, only: Option<Uuid>) -> sqlx::Result<Vec<Schedule>> {
    sqlx::query!(
        r#"
        select s.id, s.assistant_id, coalesce(v.name, '') as "assistant_name!", s.name, s.inputs,
               s.recurrence, s.time_zone, s.catch_up, s.email, s.next_run_at, s.paused_at,
               s.pause_reason, s.failures, s.last_run_at, s.created_at
        from schedules s
        join assistants a on a.id = s.assistant_id
        left join assistant_versions v on v.id = a.approved_version_id
        where s.user_id = $1 and ($2::uuid is null or s.id = $2)
        order by s.created_at desc
        "#,
        user,
        only,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|s| {
        Ok(Schedule {
            id: s.id,
            assistant_id: s.assistant_id,
            assistant_name: s.assistant_name,
            name: s.name,
            inputs: serde_json::from_value(s.inputs).unwrap_or_default(),
            recurrence: serde_json::from_value(s.recurrence)
                .map_err(|err| sqlx::Error::Decode(Box::new(err)))?,
            time_zone: s.time_zone,
            catch_up: s.catch_up,
            email: s.email,
            next_run_at: s.next_run_at,
            paused_at: s.paused_at,
            pause_reason: s.pause_reason,
            failures: s.failures,
            last_run_at: s.last_run_at,
            created_at: s.created_at,
        })
    })
    .collect()
}

/// Counts the end of run `run_id` against its schedule, if it has one and has ended: a
/// success forgets the failures; the [`MAX_FAILURES`]th failure in a row pauses the
/// schedule with the run's error.
pub async fn ran(pool: &PgPool, run_id: Uuid) -> sqlx::Result<()> {
    let Some(run) = sqlx::query!(
        r#"
        select schedule_id as "schedule_id!", status, error
        from assistant_runs
        where id = $1 and schedule_id is not null and status in ('succeeded', 'failed')
        "#,
        run_id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(());
    };
    let error =
        (run.status == "failed").then(|| run.error.unwrap_or_else(|| "The run failed.".into()));
    counted(pool, run.schedule_id, error.as_deref()).await
}

/// Counts a success (`None`) or a failure with its reason against `schedule`.
pub(super) async fn counted<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    schedule: Uuid,
    error: Option<&str>,
) -> sqlx::Result<()> {
    let reason = error.map(|error| {
        format!("Paused after {MAX_FAILURES} failed runs in a row. The last one: {error}")
    });
    sqlx::query!(
        r#"
        update schedules
        set failures = case when $2::text is null then 0 else failures + 1 end,
            paused_at = case when $2::text is not null and failures + 1 >= $3 then coalesce(paused_at, now()) else paused_at end,
            pause_reason = case when $2::text is not null and failures + 1 >= $3 then $2 else pause_reason end,
            next_run_at = case when $2::text is not null and failures + 1 >= $3 then null else next_run_at end
        where id = $1
        "#,
        schedule,
        reason,
        MAX_FAILURES,
    )
    .execute(executor)
    .await?;
    Ok(())
}

fn json(value: &impl Serialize) -> Result<serde_json::Value, ScheduleError> {
    serde_json::to_value(value)
        .map_err(|err| ScheduleError::Database(sqlx::Error::Encode(Box::new(err))))
}

fn found(rows: u64) -> Result<(), ScheduleError> {
    if rows == 0 {
        Err(ScheduleError::NotFound)
    } else {
        Ok(())
    }
}
