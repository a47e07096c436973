//! The ticker: starts the run of every schedule whose occurrence has come. Any number of
//! processes may tick at once: each due schedule is taken by one of them (its row locked
//! against other updates, not against the run that refers to it; the others skip it), and an occurrence has at most one run (`assistant_runs` is unique
//! on schedule and occurrence), so a tick repeated after a crash starts nothing twice.
//!
//! An occurrence missed while nothing ticked (downtime) runs once on recovery, however many
//! were missed, when its schedule catches up; otherwise, once more than [`GRACE`] late, it is
//! skipped. Either way the next occurrence is the first one after now.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;

use super::{
    recurrence::{Recurrence, Timing},
    store::{self, MAX_FAILURES},
};
use crate::assistants::{
    inputs::Inputs,
    run::{self, Occurrence},
    store::AssistantError,
};

/// How late an occurrence may start and still count as on time.
pub const GRACE: TimeDelta = TimeDelta::minutes(10);

/// Schedules taken per transaction.
const BATCH: i64 = 20;

/// What a tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ticked {
    /// Runs started.
    pub started: usize,
    /// Occurrences skipped: missed, and their schedule does not catch up.
    pub skipped: usize,
    /// Occurrences whose run could not start (the schedule counts a failure).
    pub failed: usize,
}

/// Starts what is due at `now`.
pub async fn tick(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<Ticked> {
    let mut ticked = Ticked::default();
    loop {
        let mut tx = pool.begin().await?;
        let due = sqlx::query!(
            r#"
            select id, user_id, assistant_id, inputs, recurrence, time_zone, catch_up,
                   next_run_at as "next_run_at!"
            from schedules
            where paused_at is null and next_run_at <= $1
            order by next_run_at
            limit $2
            for no key update skip locked
            "#,
            now,
            BATCH,
        )
        .fetch_all(&mut *tx)
        .await?;
        let taken = due.len();
        for schedule in due {
            let timing = serde_json::from_value::<Recurrence>(schedule.recurrence)
                .map_err(|err| vec![err.to_string()])
                .and_then(|recurrence| Timing::new(recurrence, &schedule.time_zone));
            let timing = match timing {
                Ok(timing) => timing,
                Err(problems) => {
                    // It cannot say when it runs: paused until its owner mends it.
                    sqlx::query!(
                        "update schedules set paused_at = now(), next_run_at = null, pause_reason = $2 where id = $1",
                        schedule.id,
                        format!("Paused: its timing no longer works. {}", problems.join(" ")),
                    )
                    .execute(&mut *tx)
                    .await?;
                    ticked.failed += 1;
                    continue;
                }
            };
            let next = timing.next_after(now);
            let occurrence = schedule.next_run_at;
            if !schedule.catch_up && now.signed_duration_since(occurrence) > GRACE {
                ticked.skipped += 1;
                sqlx::query!(
                    "update schedules set next_run_at = $2 where id = $1",
                    schedule.id,
                    next
                )
                .execute(&mut *tx)
                .await?;
                continue;
            }
            let inputs: Inputs = serde_json::from_value(schedule.inputs).unwrap_or_default();
            let started = run::start_for(
                pool,
                schedule.user_id,
                schedule.assistant_id,
                &inputs,
                Some(Occurrence {
                    schedule_id: schedule.id,
                    at: occurrence,
                }),
                None,
            )
            .await;
            match started {
                Ok(Some(_)) => ticked.started += 1,
                // Started by a tick that did not get to move the schedule on.
                Ok(None) => {}
                Err(AssistantError::Database(err)) => return Err(err),
                Err(refused) => {
                    ticked.failed += 1;
                    let why = store::ScheduleError::from(refused).to_string();
                    store::counted(&mut *tx, schedule.id, Some(&why)).await?;
                    tracing::info!(schedule = %schedule.id, reason = %why, max_failures = MAX_FAILURES, "a scheduled run could not start");
                }
            }
            // Only while it runs: a schedule the failure just paused stays without one.
            sqlx::query!(
                r#"
                update schedules set next_run_at = $2, last_run_at = $3
                where id = $1 and paused_at is null
                "#,
                schedule.id,
                next,
                now,
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if taken < BATCH as usize {
            return Ok(ticked);
        }
    }
}
