//! A run as it happens, for the person who started it: the run as it is now, then each step
//! starting, its text as it streams, its end (tokens, cost, time), and the run's end.
//!
//! A follower reads the run's state from the database (every [`POLL`], so a run sent by
//! another process is followed too) and takes the text of a step from the generation itself
//! while that step is being written in this process; a step written elsewhere streams as it
//! is saved. A follower that attaches late, or comes back after a reload, starts from the run
//! as it is and goes on from there.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures::{StreamExt, stream::BoxStream};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::{
    sync::{
        broadcast::{self, error::RecvError},
        mpsc,
    },
    task::JoinHandle,
};
use uuid::Uuid;

use super::{inputs::Inputs, run::State};
use crate::chat::live::{Delta, Generations};

/// How often a follower reads the run's state.
pub const POLL: Duration = Duration::from_millis(400);

/// A knowledge source a step was given, as the step cites it (`[1]`, `[2]` ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub number: i32,
    pub item_name: String,
    pub location: Option<String>,
    pub repository_id: Option<Uuid>,
    pub item_id: Option<Uuid>,
}

/// A step of a run as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    pub id: Uuid,
    pub position: i32,
    pub key: String,
    pub name: String,
    pub status: State,
    /// The model's name, once the step was sent.
    pub model: Option<String>,
    /// The prompt as it was sent, placeholders filled in.
    pub input: Option<String>,
    pub output: String,
    pub error: Option<String>,
    pub input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    pub cost: Option<Decimal>,
    /// From sending to the end.
    pub millis: Option<i64>,
    /// The knowledge it was given.
    pub sources: Vec<Source>,
}

/// A run as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunView {
    pub id: Uuid,
    pub assistant_id: Uuid,
    pub assistant_name: String,
    pub status: State,
    pub error: Option<String>,
    pub inputs: Inputs,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub steps: Vec<StepView>,
    /// Its owner's test of a version still being worked on (not yet approved): running it
    /// again is another test.
    pub test: bool,
}

/// What a follower of a run receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEvent {
    /// The whole run now: replaces what the follower had. Always first.
    Snapshot(RunView),
    /// A step was sent (again, when a run resumes): its text starts empty.
    StepStarted { step: Uuid, model: Option<String> },
    /// The knowledge a step was given (sent after its start, when there is any).
    StepKnowledge { step: Uuid, sources: Vec<Source> },
    /// More of a step's text.
    StepText { step: Uuid, text: String },
    /// A step's whole text so far: replaces what the follower had of it.
    StepOutput { step: Uuid, output: String },
    /// A step ended (succeeded, failed or skipped), with all it produced.
    StepFinished(StepView),
    /// The last event: the run succeeded or failed.
    RunEnded {
        status: State,
        error: Option<String>,
    },
}

/// Run `run_id` as `user` sees it; `None` when it is not theirs.
pub async fn read(pool: &PgPool, user: Uuid, run_id: Uuid) -> sqlx::Result<Option<RunView>> {
    let Some(run) = sqlx::query!(
        r#"
        select r.id, r.assistant_id, v.name as assistant_name, r.status, r.error, r.inputs,
               r.created_at, r.started_at, r.finished_at,
               v.status in ('draft', 'pending', 'rejected') as "test!"
        from assistant_runs r
        join assistant_versions v on v.id = r.version_id
        where r.id = $1 and r.user_id = $2
        "#,
        run_id,
        user
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let steps = steps(pool, run_id, None).await?;
    Ok(Some(RunView {
        id: run.id,
        assistant_id: run.assistant_id,
        assistant_name: run.assistant_name,
        status: State::decode(&run.status)?,
        error: run.error,
        inputs: serde_json::from_value(run.inputs).unwrap_or_default(),
        created_at: run.created_at,
        started_at: run.started_at,
        finished_at: run.finished_at,
        steps,
        test: run.test,
    }))
}

/// The steps of run `run_id` in order, or only those in `only`.
async fn steps(pool: &PgPool, run_id: Uuid, only: Option<&[Uuid]>) -> sqlx::Result<Vec<StepView>> {
    let rows = sqlx::query!(
        r#"
        select s.id, s.position, s.key, s.name, s.status, m.display_name as "model?", s.input,
               s.output, s.error, s.input_tokens, s.output_tokens, s.cost,
               (extract(epoch from s.finished_at - s.started_at) * 1000)::int8 as millis
        from assistant_run_steps s
        left join ai_models m on m.id = s.model_id
        where s.run_id = $1 and ($2::uuid[] is null or s.id = any($2))
        order by s.position
        "#,
        run_id,
        only as Option<&[Uuid]>,
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|s| s.id).collect();
    let mut sources: HashMap<Uuid, Vec<Source>> = HashMap::new();
    for c in sqlx::query!(
        r#"
        select step_id, number, item_name, location, repository_id, item_id
        from assistant_run_citations where step_id = any($1)
        order by step_id, number
        "#,
        &ids
    )
    .fetch_all(pool)
    .await?
    {
        sources.entry(c.step_id).or_default().push(Source {
            number: c.number,
            item_name: c.item_name,
            location: c.location,
            repository_id: c.repository_id,
            item_id: c.item_id,
        });
    }
    rows.into_iter()
        .map(|s| {
            Ok(StepView {
                sources: sources.remove(&s.id).unwrap_or_default(),
                id: s.id,
                position: s.position,
                key: s.key,
                name: s.name,
                status: State::decode(&s.status)?,
                model: s.model,
                input: s.input,
                output: s.output,
                error: s.error,
                input_tokens: s.input_tokens,
                output_tokens: s.output_tokens,
                cost: s.cost,
                millis: s.millis,
            })
        })
        .collect()
}

/// Run `run_id` of `user` as a stream of [`RunEvent`]s that starts with a snapshot and ends
/// with [`RunEvent::RunEnded`] (or when the run can no longer be read). `None` when the run is
/// not theirs. Dropping the stream stops the following, not the run.
pub async fn follow(
    generations: Arc<Generations>,
    pool: PgPool,
    user: Uuid,
    run_id: Uuid,
) -> sqlx::Result<Option<BoxStream<'static, RunEvent>>> {
    let Some(first) = read(&pool, user, run_id).await? else {
        return Ok(None);
    };
    // A follower that does not read holds up only its own watcher.
    let (events, received) = mpsc::channel(64);
    tokio::spawn(
        Watcher {
            changes: generations.subscribe(),
            generations,
            pool,
            user,
            run_id,
            events,
            forwarders: HashMap::new(),
            seen: HashMap::new(),
        }
        .watch(first),
    );
    Ok(Some(
        futures::stream::unfold(received, |mut received| async move {
            received.recv().await.map(|event| (event, received))
        })
        .boxed(),
    ))
}

/// What the follower was last told of a step.
struct Seen {
    status: State,
    /// Characters of its text sent.
    sent: i64,
    /// Its text comes from its generation in this process.
    attached: bool,
}

struct Watcher {
    generations: Arc<Generations>,
    pool: PgPool,
    user: Uuid,
    run_id: Uuid,
    events: mpsc::Sender<RunEvent>,
    /// Generations starting and ending here: one of the run's steps wakes the watcher.
    changes: broadcast::Receiver<Uuid>,
    /// The tasks sending the text of steps written here, by step.
    forwarders: HashMap<Uuid, JoinHandle<()>>,
    seen: HashMap<Uuid, Seen>,
}

/// The run's state between full reads.
struct RunState {
    status: State,
    error: Option<String>,
}

/// A step's state between full reads.
struct Light {
    id: Uuid,
    status: String,
    chars: i64,
}

impl Watcher {
    async fn send(&self, event: RunEvent) -> Result<(), ()> {
        self.events.send(event).await.map_err(|_| ())
    }

    async fn watch(mut self, first: RunView) {
        for step in &first.steps {
            self.seen.insert(
                step.id,
                Seen {
                    status: step.status,
                    sent: step.output.chars().count() as i64,
                    attached: false,
                },
            );
        }
        let running: Vec<Uuid> = first
            .steps
            .iter()
            .filter(|s| s.status == State::Running)
            .map(|s| s.id)
            .collect();
        let ended = first.status.is_final().then(|| RunEvent::RunEnded {
            status: first.status,
            error: first.error.clone(),
        });
        if self.send(RunEvent::Snapshot(first)).await.is_err() {
            return;
        }
        if let Some(ended) = ended {
            let _ = self.send(ended).await;
            return;
        }
        for step in running {
            if self.attach(step).await.is_err() {
                return;
            }
        }
        loop {
            let poll = tokio::time::sleep(POLL);
            tokio::pin!(poll);
            loop {
                tokio::select! {
                    () = &mut poll => break,
                    () = self.events.closed() => return,
                    change = self.changes.recv() => match change {
                        Ok(id) if self.seen.contains_key(&id) => break,
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => {
                            (&mut poll).await;
                            break;
                        }
                    },
                }
            }
            match self.step_forward().await {
                Ok(true) => {}
                Ok(false) | Err(()) => return,
            }
        }
    }

    /// Reads the run and tells what changed; `false` once the run has ended.
    async fn step_forward(&mut self) -> Result<bool, ()> {
        let now = match self.light().await {
            Ok(Some(now)) => now,
            Ok(None) => return Err(()),
            Err(err) => {
                tracing::warn!(error = %err, run = %self.run_id, "could not read a run being followed");
                return Ok(true);
            }
        };
        let (run, steps) = now;
        let changed: Vec<Uuid> = steps
            .iter()
            .filter(|s| {
                self.seen
                    .get(&s.id)
                    .is_none_or(|seen| seen.status.as_str() != s.status)
            })
            .map(|s| s.id)
            .collect();
        if !changed.is_empty() {
            let full = steps_or_log(&self.pool, self.run_id, &changed).await;
            for step in full {
                self.changed(step).await?;
            }
        }
        for step in &steps {
            let unattached = |seen: Option<&Seen>| {
                seen.filter(|seen| seen.status == State::Running && !seen.attached)
                    .map(|seen| seen.sent)
            };
            if unattached(self.seen.get(&step.id)).is_none() {
                continue;
            }
            // Its generation may have started here since the last read.
            self.attach(step.id).await?;
            if let Some(sent) = unattached(self.seen.get(&step.id))
                && step.chars > sent
            {
                self.saved_text(step.id, sent).await?;
            }
        }
        if run.status.is_final() {
            self.send(RunEvent::RunEnded {
                status: run.status,
                error: run.error,
            })
            .await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// A step whose state changed since the follower was last told.
    async fn changed(&mut self, step: StepView) -> Result<(), ()> {
        let before = self.seen.get(&step.id).map(|seen| seen.status);
        if step.status == State::Running {
            // Sent (again): the follower starts its text afresh.
            self.seen.insert(
                step.id,
                Seen {
                    status: State::Running,
                    sent: 0,
                    attached: false,
                },
            );
            self.started(&step).await?;
            return self.attach(step.id).await;
        }
        if step.status.is_final() {
            // Its text streamed here is all sent before its end.
            if let Some(forwarder) = self.forwarders.remove(&step.id) {
                let _ = forwarder.await;
            }
            if before.is_some_and(|before| before != State::Running) {
                // Sent and ended between two reads: the follower still hears it start.
                self.started(&step).await?;
            }
            self.seen.insert(
                step.id,
                Seen {
                    status: step.status,
                    sent: step.output.chars().count() as i64,
                    attached: false,
                },
            );
            return self.send(RunEvent::StepFinished(step)).await;
        }
        // Back to pending (a resumed run): nothing to show until it is sent.
        self.seen.insert(
            step.id,
            Seen {
                status: step.status,
                sent: 0,
                attached: false,
            },
        );
        Ok(())
    }

    /// Tells that `step` was sent, and with which knowledge.
    async fn started(&self, step: &StepView) -> Result<(), ()> {
        self.send(RunEvent::StepStarted {
            step: step.id,
            model: step.model.clone(),
        })
        .await?;
        if step.sources.is_empty() {
            return Ok(());
        }
        self.send(RunEvent::StepKnowledge {
            step: step.id,
            sources: step.sources.clone(),
        })
        .await
    }

    /// Follows the text of step `id` from its generation, when it is being written here.
    async fn attach(&mut self, id: Uuid) -> Result<(), ()> {
        let Some((now, deltas)) = self.generations.attach(self.user, id) else {
            return Ok(());
        };
        if let Some(seen) = self.seen.get_mut(&id) {
            seen.attached = true;
        }
        self.send(RunEvent::StepOutput {
            step: id,
            output: now.content,
        })
        .await?;
        let forwarder = tokio::spawn(forward(
            self.generations.clone(),
            self.user,
            id,
            deltas,
            self.events.clone(),
        ));
        if let Some(before) = self.forwarders.insert(id, forwarder) {
            before.abort();
        }
        Ok(())
    }

    /// The text of step `id` saved since the follower had `sent` characters of it.
    async fn saved_text(&mut self, id: Uuid, sent: i64) -> Result<(), ()> {
        let more = sqlx::query_scalar!(
            r#"select substr(output, $2::int8::int4 + 1) as "text!" from assistant_run_steps where id = $1 and status = 'running'"#,
            id,
            sent,
        )
        .fetch_optional(&self.pool)
        .await;
        let Ok(Some(text)) = more else {
            return Ok(());
        };
        if text.is_empty() {
            return Ok(());
        }
        if let Some(seen) = self.seen.get_mut(&id) {
            seen.sent += text.chars().count() as i64;
        }
        self.send(RunEvent::StepText { step: id, text }).await
    }

    /// The run's state (and error) and each step's state and text length; `None` when it
    /// is gone.
    async fn light(&self) -> sqlx::Result<Option<(RunState, Vec<Light>)>> {
        let Some(run) = sqlx::query!(
            "select status, error from assistant_runs where id = $1 and user_id = $2",
            self.run_id,
            self.user
        )
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let steps = sqlx::query_as!(
            Light,
            r#"select id, status, char_length(output)::int8 as "chars!" from assistant_run_steps where run_id = $1 order by position"#,
            self.run_id
        )
        .fetch_all(&self.pool)
        .await?;
        let run = RunState {
            status: State::decode(&run.status)?,
            error: run.error,
        };
        Ok(Some((run, steps)))
    }
}

async fn steps_or_log(pool: &PgPool, run_id: Uuid, only: &[Uuid]) -> Vec<StepView> {
    steps(pool, run_id, Some(only))
        .await
        .inspect_err(|err| tracing::warn!(error = %err, run = %run_id, "could not read run steps"))
        .unwrap_or_default()
}

/// Sends the text of step `id` as its generation writes it, until it ends. A follower that
/// fell behind gets the whole text again.
async fn forward(
    generations: Arc<Generations>,
    user: Uuid,
    id: Uuid,
    mut deltas: broadcast::Receiver<Delta>,
    events: mpsc::Sender<RunEvent>,
) {
    loop {
        let event = match deltas.recv().await {
            Ok(Delta::Text(text)) => RunEvent::StepText { step: id, text },
            Ok(Delta::Reasoning(_)) => continue,
            Ok(Delta::Done(_)) | Err(RecvError::Closed) => break,
            Err(RecvError::Lagged(_)) => match generations.attach(user, id) {
                Some((now, again)) => {
                    deltas = again;
                    RunEvent::StepOutput {
                        step: id,
                        output: now.content,
                    }
                }
                None => break,
            },
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}
