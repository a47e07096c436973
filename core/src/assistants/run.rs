//! Runs: an approved assistant's prompts sent in the order of their graph. Starting a run
//! checks the inputs and saves the run with a pending step per prompt and its job
//! ([`RunAssistant`]) in one transaction; the job ([`execute`]) goes level by level, sending
//! the prompts of a level at once through the turn engine's generations (each step's text
//! saved as it streams, its usage and cost recorded under the run), and a prompt waits for
//! the outputs it uses. A failed step skips the steps that wait for it and keeps the others.
//!
//! A run survives its process: the job is taken over when its worker stops, and the run
//! resumes, keeping the steps that succeeded and sending again those that were under way.
//! Each model is the one the author chose, checked against what the assistant's owner may
//! use at the time of the run.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    inputs::{self, Inputs},
    knowledge::{self, Readers},
    plan::MAX_RUN_TIME,
    store::{self, AssistantError, Version},
    template,
};
use crate::{
    chat::{
        live::{Job as Generation, Outcome, Target},
        turn::{self, Engine, TurnError},
    },
    db::jobs::{self, Job},
    knowledge::{retrieval, search::Hit},
    llm::{ChatRequest, Message, Role},
    models,
};

/// The job that runs one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunAssistant {
    pub run_id: Uuid,
}

impl Job for RunAssistant {
    const KIND: &'static str = "assistant-run";
    /// An interrupted run resumes; the third interruption fails it.
    const MAX_ATTEMPTS: i32 = 3;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.run_id))
    }
}

/// Why `definition` cannot run as it is (a prompt without a model, ...), if it cannot.
pub fn cannot_run(definition: &store::Definition) -> Option<String> {
    let unfinished = store::unfinished(definition);
    (!unfinished.is_empty()).then(|| format!("This assistant cannot run: {}", unfinished.join(" ")))
}

/// The occurrence of a schedule a run is for: each has at most one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub schedule_id: Uuid,
    pub at: DateTime<Utc>,
}

/// Starts a run of assistant `id` by `user` with `given`: refused when they may not run it,
/// the inputs do not fit its fields, or a prompt has no model. Returns the run's id; the
/// steps are sent by the job. Unbounded: what people start goes through [`start_within`].
pub async fn start(
    pool: &PgPool,
    user: Uuid,
    id: Uuid,
    given: &Inputs,
) -> Result<Uuid, AssistantError> {
    start_for(pool, user, id, given, None, None)
        .await?
        .ok_or(AssistantError::NotFound)
}

/// [`start`], refused while `user` has `live` runs waiting or under way (each run may send
/// up to 20 prompts; a person who starts runs faster than they end is told to wait).
pub async fn start_within(
    pool: &PgPool,
    user: Uuid,
    id: Uuid,
    given: &Inputs,
    live: usize,
) -> Result<Uuid, AssistantError> {
    let version = store::runnable(pool, user, id)
        .await?
        .ok_or(AssistantError::NotFound)?;
    begin(pool, user, &version, given, None, Some(live))
        .await?
        .ok_or(AssistantError::NotFound)
}

/// A test run of the version `owner` is working on (the draft, or the one waiting for review
/// or rejected; else the approved one): what the builder's "test" sends, before anyone else may
/// run it. Bounded as [`start_within`].
pub async fn start_draft(
    pool: &PgPool,
    owner: Uuid,
    id: Uuid,
    given: &Inputs,
    live: usize,
) -> Result<Uuid, AssistantError> {
    let version = store::open_version(pool, owner, id)
        .await?
        .ok_or(AssistantError::NotFound)?;
    begin(pool, owner, &version, given, None, Some(live))
        .await?
        .ok_or(AssistantError::NotFound)
}

/// [`start`], for `occurrence` of a schedule when given: `None` when that occurrence has its
/// run already (another process started it). With `live`, bounded as [`start_within`] (a
/// person's "run now"; a schedule's own tick is not).
pub async fn start_for(
    pool: &PgPool,
    user: Uuid,
    id: Uuid,
    given: &Inputs,
    occurrence: Option<Occurrence>,
    live: Option<usize>,
) -> Result<Option<Uuid>, AssistantError> {
    let version = store::runnable(pool, user, id)
        .await?
        .ok_or(AssistantError::NotFound)?;
    begin(pool, user, &version, given, occurrence, live).await
}

/// Saves a run of `version` by `user` with its steps and its job, once the inputs fit and
/// every prompt can be sent, and (with `live`) while `user` has fewer runs going.
async fn begin(
    pool: &PgPool,
    user: Uuid,
    version: &Version,
    given: &Inputs,
    occurrence: Option<Occurrence>,
    live: Option<usize>,
) -> Result<Option<Uuid>, AssistantError> {
    let id = version.assistant_id;
    inputs::values(&version.definition.fields, given).map_err(AssistantError::Invalid)?;
    if let Some(why) = cannot_run(&version.definition) {
        return Err(AssistantError::State(why));
    }
    let given = serde_json::to_value(given).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let prompts = &version.definition.prompts;
    let mut tx = pool.begin().await?;
    if let Some(live) = live {
        // One start at a time per person, so two at once cannot both pass the count.
        sqlx::query!(
            "select pg_advisory_xact_lock(hashtextextended($1::text, 17))",
            user.to_string()
        )
        .execute(&mut *tx)
        .await?;
        let going = sqlx::query_scalar!(
            r#"
            select count(*) as "count!" from assistant_runs
            where user_id = $1 and status in ('queued', 'running')
            "#,
            user
        )
        .fetch_one(&mut *tx)
        .await?;
        if going >= i64::try_from(live).unwrap_or(i64::MAX) {
            return Err(AssistantError::Busy(format!(
                "You have {going} runs going; start another when one of them has ended."
            )));
        }
    }
    let Some(run_id) = sqlx::query_scalar!(
        r#"
        insert into assistant_runs (assistant_id, version_id, user_id, inputs, schedule_id, scheduled_for)
        values ($1, $2, $3, $4, $5, $6)
        on conflict (schedule_id, scheduled_for) where schedule_id is not null do nothing
        returning id
        "#,
        id,
        version.id,
        user,
        given,
        occurrence.map(|o| o.schedule_id),
        occurrence.map(|o| o.at),
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    sqlx::query!(
        r#"
        insert into assistant_run_steps (run_id, position, key, name, model_id)
        select $1, p.position, p.key, p.name, p.model_id
        from unnest($2::int[], $3::text[], $4::text[], $5::uuid[])
            as p(position, key, name, model_id)
        "#,
        run_id,
        &(0..prompts.len() as i32).collect::<Vec<_>>(),
        &prompts.iter().map(|p| p.key.clone()).collect::<Vec<_>>(),
        &prompts.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
        &prompts.iter().map(|p| p.model_id).collect::<Vec<_>>() as &[Option<Uuid>],
    )
    .execute(&mut *tx)
    .await?;
    jobs::enqueue_job(&mut *tx, &RunAssistant { run_id }).await?;
    tx.commit().await?;
    Ok(Some(run_id))
}

/// Where a run or a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Queued,
    Pending,
    Running,
    Succeeded,
    Failed,
    /// Not sent: a prompt it waits for failed.
    Skipped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Pending,
            Self::Running,
            Self::Succeeded,
            Self::Failed,
            Self::Skipped,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    /// As read from a `status` column.
    pub(crate) fn decode(text: &str) -> sqlx::Result<Self> {
        Self::parse(text).ok_or_else(|| sqlx::Error::Decode(format!("unknown state {text}").into()))
    }

    /// Whether nothing more happens to it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Skipped)
    }
}

/// Runs (or resumes) run `run_id` to its end; returns how it ended. A run already ended is
/// left as it is.
pub async fn execute(engine: &Engine, run_id: Uuid) -> sqlx::Result<State> {
    let pool = &engine.pool;
    let Some(run) = sqlx::query!(
        r#"
        select status, user_id, version_id, inputs,
               extract(epoch from now() - coalesce(started_at, now()))::float8 as "elapsed!"
        from assistant_runs where id = $1
        "#,
        run_id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Err(sqlx::Error::RowNotFound);
    };
    let now = State::decode(&run.status)?;
    if now.is_final() {
        return Ok(now);
    }
    sqlx::query!(
        "update assistant_runs set status = 'running', started_at = coalesce(started_at, now()) where id = $1",
        run_id
    )
    .execute(pool)
    .await?;
    let version = store::read_version(pool, run.version_id).await?;
    let given: Inputs = serde_json::from_value(run.inputs).unwrap_or_default();
    let values = inputs::values(&version.definition.fields, &given);
    let plan = version.definition.plan();
    let (values, plan) = match (values, plan) {
        (Ok(values), Ok(plan)) => (values, plan),
        (Err(problems), _) => return end(pool, run_id, Some(problems.join(" "))).await,
        (_, Err(problems)) => {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return end(pool, run_id, Some(problems.join(" "))).await;
        }
    };
    let steps = sqlx::query!(
        "select id, status, output from assistant_run_steps where run_id = $1 order by position",
        run_id
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = steps.iter().map(|s| s.id).collect();
    let mut states = steps
        .iter()
        .map(|s| State::decode(&s.status))
        .collect::<sqlx::Result<Vec<_>>>()?;
    let mut outputs: Vec<String> = steps.into_iter().map(|s| s.output).collect();
    if ids.len() != version.definition.prompts.len() {
        return end(
            pool,
            run_id,
            Some("The run's steps do not match its assistant.".into()),
        )
        .await;
    }

    // The run's own stop: at the time limit, what is under way stops and keeps its text.
    let stop = engine.shutdown.child_token();
    let left = MAX_RUN_TIME.saturating_sub(Duration::from_secs_f64(run.elapsed.max(0.0)));
    let deadline = tokio::time::Instant::now() + left;
    let mut late = false;
    for level in &plan.levels {
        if engine.shutdown.is_cancelled() {
            break;
        }
        let mut under_way = Vec::new();
        for &index in level {
            if states[index].is_final() {
                continue;
            }
            let prompt = &version.definition.prompts[index];
            if let Some(&waited) = plan.waits_for[index]
                .iter()
                .find(|&&input| states[input] != State::Succeeded)
            {
                let why = format!(
                    "Not sent: it uses \u{201c}{}\u{201d}, which did not finish.",
                    version.definition.prompts[waited].name
                );
                end_step(pool, ids[index], State::Skipped, &why).await?;
                states[index] = State::Skipped;
                continue;
            }
            if late {
                continue;
            }
            let mut filled: HashMap<&str, &str> = values
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            for &input in &plan.waits_for[index] {
                filled.insert(
                    version.definition.prompts[input].key.as_str(),
                    outputs[input].as_str(),
                );
            }
            let content = template::render(&prompt.content, &filled);
            let system = prompt
                .system
                .as_deref()
                .map(|system| template::render(system, &filled));
            let step = Step {
                index,
                id: ids[index],
                content,
                system,
            };
            match send(engine, &version, step, run.user_id, run_id, &stop).await? {
                Ok(handle) => under_way.push((index, handle)),
                Err(why) => {
                    end_step(pool, ids[index], State::Failed, &why).await?;
                    states[index] = State::Failed;
                }
            }
        }
        for (index, mut handle) in under_way {
            let ended: Result<Outcome, _> = tokio::select! {
                ended = &mut handle => ended,
                () = tokio::time::sleep_until(deadline), if !late => {
                    late = true;
                    stop.cancel();
                    handle.await
                }
            };
            if ended.is_err() {
                end_step(
                    pool,
                    ids[index],
                    State::Failed,
                    "The step ended unexpectedly.",
                )
                .await?;
            }
            let saved = sqlx::query!(
                "select status, output from assistant_run_steps where id = $1",
                ids[index]
            )
            .fetch_one(pool)
            .await?;
            states[index] = State::decode(&saved.status)?;
            outputs[index] = saved.output;
        }
    }
    if engine.shutdown.is_cancelled() && !late {
        // The process is stopping: what it stopped is sent again when the job is taken up
        // again and the run resumes.
        sqlx::query!(
            r#"
            update assistant_run_steps set status = 'pending', error = null, finished_at = null
            where run_id = $1 and status in ('running', 'failed') and error is not distinct from $2
            "#,
            run_id,
            STOPPED,
        )
        .execute(pool)
        .await?;
        return Ok(State::Running);
    }
    if late {
        for (index, step) in states.iter_mut().enumerate() {
            if !step.is_final() {
                end_step(
                    pool,
                    ids[index],
                    State::Skipped,
                    "Not sent: the run reached its time limit.",
                )
                .await?;
                *step = State::Skipped;
            }
        }
        sqlx::query!(
            "update assistant_run_steps set error = $2 where run_id = $1 and status = 'failed' and error = $3",
            run_id,
            limit_reached(),
            STOPPED,
        )
        .execute(pool)
        .await?;
        return end(pool, run_id, Some(limit_reached())).await;
    }
    let failed: Vec<&str> = states
        .iter()
        .zip(&version.definition.prompts)
        .filter(|(step, _)| **step != State::Succeeded)
        .map(|(_, prompt)| prompt.name.as_str())
        .collect();
    let error = (!failed.is_empty()).then(|| {
        format!(
            "{} of {} steps did not finish: {}.",
            failed.len(),
            states.len(),
            failed
                .iter()
                .map(|name| format!("\u{201c}{name}\u{201d}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    end(pool, run_id, error).await
}

/// What a step stopped before its end says (see `chat::live`).
const STOPPED: &str = crate::chat::live::STEP_STOPPED;

fn limit_reached() -> String {
    format!(
        "The run reached its time limit of {} minutes.",
        MAX_RUN_TIME.as_secs() / 60
    )
}

/// A step about to be sent: its prompt's position and its text, placeholders filled in.
struct Step {
    index: usize,
    id: Uuid,
    content: String,
    system: Option<String>,
}

/// Starts `step`'s model call; `Err` says why it cannot be sent.
async fn send(
    engine: &Engine,
    version: &Version,
    step: Step,
    user_id: Uuid,
    run_id: Uuid,
    stop: &CancellationToken,
) -> sqlx::Result<Result<tokio::task::JoinHandle<Outcome>, String>> {
    let pool = &engine.pool;
    let Step {
        index,
        id: step_id,
        content,
        system,
    } = step;
    let prompt = &version.definition.prompts[index];
    let Some(model_id) = prompt.model_id else {
        return Ok(Err("The prompt has no model.".into()));
    };
    let Some(model) = models::model_for_user(pool, version.owner_id, model_id).await? else {
        return Ok(Err(
            "Its model is no longer available; the assistant's owner has to choose another.".into(),
        ));
    };
    let provider = match engine.client(&model).await {
        Ok(provider) => provider,
        Err(TurnError::Database(err)) => return Err(err),
        Err(other) => return Ok(Err(other.to_string())),
    };
    let readers = Readers {
        runner: user_id,
        owner: version.owner_id,
        shared: version.definition.share_knowledge,
    };
    // A search that fails leaves the step without sources rather than without an answer.
    let hits = knowledge::sources(
        pool,
        &engine.embedder,
        readers,
        &prompt.repositories,
        &content,
    )
    .await
    .unwrap_or_else(|err| {
        tracing::warn!(error = %err, step = %step_id, "knowledge search for a run step failed");
        Vec::new()
    });
    // Its sources are saved before it shows as running, so a follower sees them with it.
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "delete from assistant_run_citations where step_id = $1",
        step_id
    )
    .execute(&mut *tx)
    .await?;
    save_citations(&mut tx, step_id, &hits).await?;
    sqlx::query!(
        r#"
        update assistant_run_steps
        set status = 'running', input = $2, system_context = $3, model_id = $4, output = '',
            error = null, started_at = now(), finished_at = null
        where id = $1
        "#,
        step_id,
        content,
        system,
        model.id,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut messages = Vec::with_capacity(3);
    if !hits.is_empty() {
        messages.push(Message::text(Role::System, retrieval::instructions(&hits)));
    }
    if let Some(system) = system.filter(|s| !s.trim().is_empty()) {
        messages.push(Message::text(Role::System, system));
    }
    messages.push(Message::text(Role::User, content));
    let request = ChatRequest {
        model: model.model_key.clone(),
        messages,
        max_output_tokens: turn::max_output_tokens(&model),
        temperature: None,
    };
    Ok(Ok(engine.generations.start(
        Generation {
            pool: pool.clone(),
            provider: Arc::new(provider),
            request,
            model,
            user_id,
            id: step_id,
            target: Target::Step { run_id },
            feature: "assistant",
            slot: None,
        },
        stop,
    )))
}

/// Keeps `hits` as step `step`'s sources, numbered in order.
async fn save_citations(tx: &mut sqlx::PgConnection, step: Uuid, hits: &[Hit]) -> sqlx::Result<()> {
    if hits.is_empty() {
        return Ok(());
    }
    let numbers: Vec<i32> = (1..=hits.len())
        .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
        .collect();
    sqlx::query!(
        "insert into assistant_run_citations
             (step_id, number, chunk_id, item_id, repository_id, item_name, location, content, score)
         select $1, c.number, c.chunk, c.item, c.repository, c.name, c.location, c.content, c.score
         from unnest($2::int[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
                     $8::text[], $9::real[])
             as c(number, chunk, item, repository, name, location, content, score)",
        step,
        &numbers,
        &hits.iter().map(|h| h.chunk_id).collect::<Vec<_>>(),
        &hits.iter().map(|h| h.item_id).collect::<Vec<_>>(),
        &hits.iter().map(|h| h.repository_id).collect::<Vec<_>>(),
        &hits.iter().map(|h| h.item_name.clone()).collect::<Vec<_>>(),
        &hits.iter().map(|h| h.location.clone()).collect::<Vec<_>>() as &[Option<String>],
        &hits.iter().map(|h| h.content.clone()).collect::<Vec<_>>(),
        &hits.iter().map(|h| h.score).collect::<Vec<_>>(),
    )
    .execute(tx)
    .await?;
    Ok(())
}

async fn end_step(pool: &PgPool, id: Uuid, to: State, why: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update assistant_run_steps set status = $2, error = $3, finished_at = now() where id = $1",
        id,
        to.as_str(),
        why
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Ends the run: failed with `error`, else succeeded.
async fn end(pool: &PgPool, run_id: Uuid, error: Option<String>) -> sqlx::Result<State> {
    let to = if error.is_some() {
        State::Failed
    } else {
        State::Succeeded
    };
    sqlx::query!(
        "update assistant_runs set status = $2, error = $3, finished_at = now() where id = $1",
        run_id,
        to.as_str(),
        error
    )
    .execute(pool)
    .await?;
    Ok(to)
}

/// What a run whose job gave up says.
pub const ABANDONED: &str =
    "The run was interrupted too many times and stopped; run it again to start afresh.";

/// Ends the runs whose job is no longer there to run them (it died on its last attempt, or
/// an administrator discarded it): failed, with [`ABANDONED`]; their steps under way failed
/// and those waiting skipped. Returns those runs, so a schedule can count them.
pub async fn fail_abandoned(pool: &PgPool) -> sqlx::Result<Vec<Uuid>> {
    let mut tx = pool.begin().await?;
    let ended = sqlx::query_scalar!(
        r#"
        update assistant_runs r
        set status = 'failed', error = $1, finished_at = now()
        where r.status in ('queued', 'running')
          and not exists (
              select 1 from jobs j
              where j.dedupe_key = 'assistant-run:' || r.id::text
                and j.status in ('queued', 'running')
          )
        returning r.id
        "#,
        ABANDONED,
    )
    .fetch_all(&mut *tx)
    .await?;
    if !ended.is_empty() {
        sqlx::query!(
            r#"
            update assistant_run_steps
            set status = case when status = 'running' then 'failed' else 'skipped' end,
                error = $2, finished_at = now()
            where run_id = any($1) and status in ('pending', 'running')
            "#,
            &ended,
            ABANDONED,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(ended)
}
