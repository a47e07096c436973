//! Replies being written. A generation runs as its own task, not inside the request that
//! started it: closing the tab does not stop it. Pages attach to it (what was written so far,
//! then every delta) and may stop it, which cancels the provider call and keeps what came.
//! The text is saved as it streams (at most every [`SAVE_EVERY`]) and at the end, with a usage
//! record for the call.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use futures::{
    StreamExt,
    stream::{self, BoxStream},
};
use rust_decimal::Decimal;
use sqlx::PgPool;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    llm::{ChatProvider, ChatRequest, Event, FinishReason, LlmError, Usage},
    models::Model,
};

/// What a step of an assistant run that was stopped before its end says.
pub const STEP_STOPPED: &str = "The step was stopped.";

/// How often a streaming reply's text is written to the database.
pub const SAVE_EVERY: Duration = Duration::from_millis(1000);

/// What a reply has so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub content: String,
    pub reasoning: String,
}

/// How a reply ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `complete`, `stopped` or `failed`.
    pub status: &'static str,
    pub error: Option<String>,
    pub usage: Usage,
    pub cost: Decimal,
}

/// What attached pages receive after the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    Text(String),
    Reasoning(String),
    Done(Outcome),
}

/// What a follower of a reply receives ([`follow`]): the reply so far, each piece after, and
/// how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The whole reply so far: it replaces what the follower had.
    Snapshot(Snapshot),
    Text(String),
    Reasoning(String),
    /// The last update: `complete`, `stopped` or `failed`, with the reason of a failure.
    Done {
        status: String,
        error: Option<String>,
    },
}

/// Reply `id` of `user_id` as a stream of [`Update`]s that always ends with
/// [`Update::Done`]: live while it is being written here, else as it was saved. A follower
/// that falls more than the channel behind is not cut off: it gets a fresh snapshot and goes
/// on. `None` when the reply is not the user's.
pub async fn follow(
    generations: &Arc<Generations>,
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<BoxStream<'static, Update>>> {
    if let Some((now, deltas)) = generations.attach(user_id, id) {
        return Ok(Some(following(
            generations.clone(),
            pool.clone(),
            user_id,
            id,
            now,
            deltas,
        )));
    }
    if !super::owns_reply(pool, user_id, id).await? {
        return Ok(None);
    }
    Ok(Some(stream::iter(saved(pool, id).await).boxed()))
}

/// The saved reply as a snapshot and its end (or the error that prevented reading it).
async fn saved(pool: &PgPool, id: Uuid) -> Vec<Update> {
    match super::saved_reply(pool, id).await {
        Ok(Some(saved)) => vec![
            Update::Snapshot(Snapshot {
                content: saved.content,
                reasoning: saved.reasoning,
            }),
            Update::Done {
                status: saved.status,
                error: saved.error,
            },
        ],
        Ok(None) | Err(_) => vec![Update::Done {
            status: "failed".into(),
            error: Some("The reply could not be read.".into()),
        }],
    }
}

fn following(
    generations: Arc<Generations>,
    pool: PgPool,
    user_id: Uuid,
    id: Uuid,
    now: Snapshot,
    deltas: broadcast::Receiver<Delta>,
) -> BoxStream<'static, Update> {
    enum State {
        Live(broadcast::Receiver<Delta>),
        /// Updates left to send, then the end.
        Last(std::vec::IntoIter<Update>),
    }
    let rest = stream::unfold(State::Live(deltas), move |state| {
        let (generations, pool) = (generations.clone(), pool.clone());
        async move {
            let mut deltas = match state {
                State::Live(deltas) => deltas,
                State::Last(mut left) => {
                    return left.next().map(|update| (update, State::Last(left)));
                }
            };
            let update = match deltas.recv().await {
                Ok(Delta::Text(text)) => Update::Text(text),
                Ok(Delta::Reasoning(text)) => Update::Reasoning(text),
                Ok(Delta::Done(outcome)) => {
                    let done = Update::Done {
                        status: outcome.status.to_owned(),
                        error: outcome.error,
                    };
                    return Some((done, State::Last(Vec::new().into_iter())));
                }
                Err(RecvError::Lagged(_)) => match generations.attach(user_id, id) {
                    Some((now, deltas)) => {
                        return Some((Update::Snapshot(now), State::Live(deltas)));
                    }
                    None => {
                        let mut left = saved(&pool, id).await.into_iter();
                        let first = left.next()?;
                        return Some((first, State::Last(left)));
                    }
                },
                Err(RecvError::Closed) => {
                    let mut left = saved(&pool, id).await.into_iter();
                    let first = left.next()?;
                    return Some((first, State::Last(left)));
                }
            };
            Some((update, State::Live(deltas)))
        }
    });
    stream::once(std::future::ready(Update::Snapshot(now)))
        .chain(rest)
        .boxed()
}

struct Live {
    user_id: Uuid,
    snapshot: Mutex<Snapshot>,
    deltas: broadcast::Sender<Delta>,
    cancel: CancellationToken,
}

/// The replies being written on this server. Cheap to share behind an `Arc`.
pub struct Generations {
    live: Mutex<HashMap<Uuid, Arc<Live>>>,
    /// The id of each generation as it starts and as it ends.
    changes: broadcast::Sender<Uuid>,
}

impl Default for Generations {
    fn default() -> Self {
        Self {
            live: Mutex::default(),
            // A listener that falls behind reads its state afresh (see `subscribe`).
            changes: broadcast::channel(256).0,
        }
    }
}

impl std::fmt::Debug for Generations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generations")
            .field("running", &self.running())
            .finish()
    }
}

/// Everything a generation needs.
pub struct Job {
    pub pool: PgPool,
    pub provider: Arc<dyn ChatProvider>,
    pub request: ChatRequest,
    pub model: Model,
    pub user_id: Uuid,
    /// The reply's `messages` row, or the step's `assistant_run_steps` row.
    pub id: Uuid,
    /// What is written: a chat reply or a step of an assistant run.
    pub target: Target,
    /// `chat`, `compare`, ... for the usage record.
    pub feature: &'static str,
    /// The user's place among their live replies (see `limits::Guards::generations`), given
    /// back when the reply ends.
    pub slot: Option<crate::limits::Held>,
}

/// Where a generation's text is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A reply in a conversation.
    Reply { conversation_id: Uuid },
    /// A step of an assistant run.
    Step { run_id: Uuid },
}

impl Generations {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Live>>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many replies are being written now.
    pub fn running(&self) -> usize {
        self.map().len()
    }

    /// What reply `id` has so far and a receiver of what follows, if it is being written and
    /// belongs to `user_id`. Nothing is missed between the two.
    pub fn attach(
        &self,
        user_id: Uuid,
        id: Uuid,
    ) -> Option<(Snapshot, broadcast::Receiver<Delta>)> {
        let live = self.map().get(&id).cloned()?;
        if live.user_id != user_id {
            return None;
        }
        let snapshot = live.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        Some((snapshot.clone(), live.deltas.subscribe()))
    }

    /// The id of every generation that starts or ends here from now on. A receiver that
    /// falls behind is told so (`Lagged`) and should read again what it follows.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.changes.subscribe()
    }

    /// Stops reply `id` of `user_id`. Returns whether it was running.
    pub fn stop(&self, user_id: Uuid, id: Uuid) -> bool {
        match self.map().get(&id) {
            Some(live) if live.user_id == user_id => {
                live.cancel.cancel();
                true
            }
            _ => false,
        }
    }

    /// Starts writing the reply; returns at once, with a handle that yields how it ended once
    /// it is saved. `shutdown` stops it like the user would.
    pub fn start(
        self: &Arc<Self>,
        job: Job,
        shutdown: &CancellationToken,
    ) -> tokio::task::JoinHandle<Outcome> {
        let live = Arc::new(Live {
            user_id: job.user_id,
            snapshot: Mutex::default(),
            // A page this many deltas behind is cut off and reattaches with a snapshot.
            deltas: broadcast::channel(128).0,
            cancel: shutdown.child_token(),
        });
        self.map().insert(job.id, live.clone());
        let _ = self.changes.send(job.id);
        let generations = self.clone();
        tokio::spawn(async move {
            let id = job.id;
            let outcome = run(&job, &live).await;
            // Saved before it leaves the map: a page that finds it gone reads the final text.
            let outcome = finish(&job, &live, outcome).await;
            generations.map().remove(&id);
            drop(job);
            let _ = live.deltas.send(Delta::Done(outcome.clone()));
            let _ = generations.changes.send(id);
            outcome
        })
    }
}

/// What the call produced before it ended.
struct Ended {
    status: &'static str,
    error: Option<String>,
    usage: Option<Usage>,
    first_token: Option<Duration>,
    total: Duration,
}

impl Live {
    fn push(&self, delta: Delta) {
        let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        match &delta {
            Delta::Text(text) => snapshot.content.push_str(text),
            Delta::Reasoning(text) => snapshot.reasoning.push_str(text),
            Delta::Done(_) => {}
        }
        // Sent under the lock: an attach sees each delta in its snapshot or on its receiver.
        let _ = self.deltas.send(delta);
    }

    fn snapshot(&self) -> Snapshot {
        self.snapshot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn run(job: &Job, live: &Live) -> Ended {
    let started = Instant::now();
    let mut first_token = None;
    let mut usage = None;
    let ended = |status, error: Option<String>, usage, first_token| Ended {
        status,
        error,
        usage,
        first_token,
        total: started.elapsed(),
    };
    let mut stream = tokio::select! {
        () = live.cancel.cancelled() => return ended("stopped", None, None, None),
        stream = job.provider.stream(job.request.clone()) => match stream {
            Ok(stream) => stream,
            Err(err) => return ended("failed", Some(failure(&err)), None, None),
        },
    };
    let mut saved_at = Instant::now();
    let mut unsaved = false;
    loop {
        let event = tokio::select! {
            () = live.cancel.cancelled() => return ended("stopped", None, usage, first_token),
            event = stream.next() => event,
        };
        match event {
            None => return ended("complete", None, usage, first_token),
            Some(Err(err)) => return ended("failed", Some(failure(&err)), usage, first_token),
            Some(Ok(Event::Text(text))) => {
                first_token.get_or_insert_with(|| started.elapsed());
                live.push(Delta::Text(text));
                unsaved = true;
            }
            Some(Ok(Event::Reasoning(text))) => {
                first_token.get_or_insert_with(|| started.elapsed());
                live.push(Delta::Reasoning(text));
                unsaved = true;
            }
            Some(Ok(Event::Usage(u))) => usage = Some(u),
            Some(Ok(Event::Finish(reason))) => {
                if let Some(note) = finish_note(&reason) {
                    live.push(Delta::Text(note));
                }
            }
        }
        if unsaved && saved_at.elapsed() >= SAVE_EVERY {
            let snapshot = live.snapshot();
            if let Err(err) = save_progress(&job.pool, job.id, job.target, &snapshot).await {
                tracing::warn!(error = %err, reply = %job.id, "could not save a streaming reply");
            }
            saved_at = Instant::now();
            unsaved = false;
        }
    }
}

/// What the reader is told when a model stopped for a reason other than being done.
fn finish_note(reason: &FinishReason) -> Option<String> {
    match reason {
        FinishReason::Stop | FinishReason::ToolCalls => None,
        FinishReason::Length => Some("\n\n*(The reply reached the model's length limit.)*".into()),
        FinishReason::ContentFilter => {
            Some("\n\n*(The provider's content filter stopped the reply.)*".into())
        }
        FinishReason::Other(_) => None,
    }
}

/// The error as the reader sees it: its category only; the provider's own words go to the
/// log, since they can carry internal addresses or other people's request details.
fn failure(err: &LlmError) -> String {
    tracing::warn!(error = %err, "a reply failed at the provider");
    let mut text = err.category();
    if let Some(first) = text.get(..1) {
        text.replace_range(..1, &first.to_uppercase());
    }
    format!("{text}.")
}

async fn save_progress(
    pool: &PgPool,
    id: Uuid,
    target: Target,
    snapshot: &Snapshot,
) -> sqlx::Result<()> {
    match target {
        Target::Reply { .. } => sqlx::query!(
            "update messages set content = $2, reasoning = $3 where id = $1 and status = 'streaming'",
            id,
            snapshot.content,
            snapshot.reasoning,
        )
        .execute(pool)
        .await?,
        Target::Step { .. } => sqlx::query!(
            "update assistant_run_steps set output = $2 where id = $1 and status = 'running'",
            id,
            snapshot.content,
        )
        .execute(pool)
        .await?,
    };
    Ok(())
}

/// Tokens of a call the provider did not count (it was stopped or failed): about four
/// characters a token, images not counted. A call that streamed nothing counts nothing (it
/// may never have reached the model).
fn estimate(request: &ChatRequest, snapshot: &Snapshot) -> Usage {
    let tokens = |chars: usize| chars.div_ceil(4) as u64;
    let output = snapshot.content.chars().count() + snapshot.reasoning.chars().count();
    if output == 0 {
        return Usage::default();
    }
    let input: usize = request
        .messages
        .iter()
        .flat_map(|m| &m.parts)
        .map(|part| match part {
            crate::llm::Part::Text(text) => text.chars().count(),
            crate::llm::Part::Image { .. } => 0,
        })
        .sum();
    Usage {
        input_tokens: tokens(input),
        output_tokens: tokens(output),
        cached_input_tokens: 0,
    }
}

/// Saves the reply as it ended and records the call's usage. Retries a failed write a few
/// times: the reply must not be lost to a brief database hiccup.
async fn finish(job: &Job, live: &Live, ended: Ended) -> Outcome {
    let snapshot = live.snapshot();
    // A call cut short still cost what the provider generated: estimate when it did not say.
    let estimated = ended.usage.is_none();
    let usage = ended
        .usage
        .unwrap_or_else(|| estimate(&job.request, &snapshot));
    let cost = job.model.cost(&usage);
    for attempt in 1..=5 {
        let saved = save_end(job, &snapshot, &ended, &usage, estimated).await;
        match saved {
            Ok(()) => break,
            Err(err) if attempt < 5 => {
                tracing::warn!(error = %err, attempt, reply = %job.id, "could not save a finished reply; retrying");
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            Err(err) => {
                tracing::error!(error = %err, reply = %job.id, "could not save a finished reply");
            }
        }
    }
    tracing::info!(
        reply = %job.id,
        model = %job.model.model_key,
        status = ended.status,
        input_tokens = usage.input_tokens,
        output_tokens = usage.output_tokens,
        first_token_ms = ended.first_token.map(|d| d.as_millis() as u64),
        total_ms = ended.total.as_millis() as u64,
        "reply finished"
    );
    Outcome {
        status: ended.status,
        error: ended.error,
        usage,
        cost,
    }
}

/// Writes how the generation ended where its text belongs, with the call's usage record, in
/// one transaction.
async fn save_end(
    job: &Job,
    snapshot: &Snapshot,
    ended: &Ended,
    usage: &Usage,
    estimated: bool,
) -> sqlx::Result<()> {
    let mut tx = job.pool.begin().await?;
    let (conversation_id, message_id, run_id) = match job.target {
        Target::Reply { conversation_id } => (Some(conversation_id), Some(job.id), None),
        Target::Step { run_id } => (None, None, Some(run_id)),
    };
    let cost = crate::usage::record(
        &mut *tx,
        crate::usage::Call {
            user_id: job.user_id,
            model: &job.model,
            feature: job.feature,
            conversation_id,
            message_id,
            assistant_run_id: run_id,
            usage,
            estimated,
            first_token: ended.first_token,
            total: ended.total,
            status: ended.status,
            error: ended.error.as_deref(),
        },
    )
    .await?;
    match job.target {
        Target::Reply { conversation_id } => {
            sqlx::query!(
                "update messages set content = $2, reasoning = $3, status = $4, error = $5 where id = $1",
                job.id,
                snapshot.content,
                snapshot.reasoning,
                ended.status,
                ended.error,
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                "update conversations set last_activity_at = now() where id = $1",
                conversation_id
            )
            .execute(&mut *tx)
            .await?;
            if ended.status == "complete" && job.feature == "chat" {
                super::titles::queue_after_first_reply(&mut tx, conversation_id, job.id).await?;
            }
        }
        Target::Step { .. } => {
            let status = if ended.status == "complete" {
                "succeeded"
            } else {
                "failed"
            };
            let error = match ended.status {
                "complete" => None,
                "stopped" => Some(STEP_STOPPED.to_owned()),
                _ => ended.error.clone(),
            };
            sqlx::query!(
                r#"
                update assistant_run_steps
                set output = $2, status = $3, error = $4, input_tokens = $5, output_tokens = $6,
                    cost = $7, finished_at = now()
                where id = $1
                "#,
                job.id,
                snapshot.content,
                status,
                error,
                crate::usage::count(usage.input_tokens),
                crate::usage::count(usage.output_tokens),
                cost,
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await
}
