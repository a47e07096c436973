//! The job runner: claims jobs from the Postgres queue, runs their handler under a renewed
//! lease, and records the outcome.
//!
//! Jobs run in two lanes, each with its own width: work (ingestion, mail, ...) at
//! `concurrency`, and jobs that mostly wait on a model (assistant runs, titles, registered
//! with [`Handlers::waiting_job`]) at `waiting_concurrency`, so a class starting thirty runs
//! neither waits two at a time nor holds up the documents being processed. Each lane has one
//! claimer: it claims while it has room, and sleeps until `NOTIFY jobs_queued`, the poll
//! interval or a free place, whichever comes first. On shutdown the lanes stop claiming and
//! finish the jobs in hand; a job cut off by a crash is taken over by another worker once its
//! lease expires.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    panic::AssertUnwindSafe,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{FutureExt, future::BoxFuture};
use sqlx::PgPool;
use studio_core::db::jobs::{self, ClaimedJob, FailOutcome, Failure, Job};
use tokio::{
    sync::{Semaphore, watch},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::RunnerConfig;

/// What a handler gets: the job, the pool, and a token cancelled at shutdown (long jobs check it
/// between steps and return early; the job is then retried).
#[derive(Debug, Clone)]
pub struct JobContext {
    pub pool: PgPool,
    pub job: ClaimedJob,
    pub shutdown: CancellationToken,
}

/// Why a job failed, which decides whether it is retried.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Might work later (network, rate limit, shutdown): retried with backoff.
    #[error(transparent)]
    Transient(#[from] anyhow::Error),
    /// Will fail again whatever we do: the job is dead with this reason.
    #[error("{0}")]
    Permanent(String),
}

type HandlerFn = dyn Fn(JobContext) -> BoxFuture<'static, Result<(), JobError>> + Send + Sync;

/// The handlers a runner knows, by job kind.
#[derive(Clone, Default)]
pub struct Handlers {
    by_kind: HashMap<String, Arc<HandlerFn>>,
    /// The kinds that mostly wait on a model, run in their own lane.
    waiting: HashSet<String>,
}

impl Handlers {
    /// Registers `handler` for jobs of `kind`.
    pub fn add<F, Fut>(&mut self, kind: &str, handler: F)
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.by_kind
            .insert(kind.to_owned(), Arc::new(move |ctx| handler(ctx).boxed()));
    }

    /// Registers `handler` for the job kind `J`: it receives the payload as `J`. A payload that
    /// does not read as `J` fails the job for good (it would fail every time).
    pub fn job<J, F, Fut>(&mut self, handler: F)
    where
        J: Job,
        F: Fn(JobContext, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.add(J::KIND, move |ctx| {
            let handler = handler.clone();
            async move {
                let payload = ctx
                    .job
                    .payload_as::<J>()
                    .map_err(|err| JobError::Permanent(format!("bad payload: {err}")))?;
                handler(ctx, payload).await
            }
        });
    }

    /// [`Handlers::job`], for a kind that mostly waits on a model (a run, a title): it runs in
    /// the waiting lane, many at once, beside the other work.
    pub fn waiting_job<J, F, Fut>(&mut self, handler: F)
    where
        J: Job,
        F: Fn(JobContext, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.job(handler);
        self.waiting.insert(J::KIND.to_owned());
    }

    /// The kinds with a handler, sorted.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.by_kind.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("kinds", &self.kinds())
            .finish()
    }
}

/// What one [`Runner::run_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No job was ready.
    Empty,
    /// A job ran to an outcome.
    Processed {
        id: uuid::Uuid,
        result: ProcessResult,
    },
}

/// The end of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessResult {
    Succeeded,
    Retrying,
    Dead,
    /// Another worker took the job over (our lease expired) before we finished.
    LostLease,
}

/// Claims and runs jobs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Runner {
    pool: PgPool,
    handlers: Handlers,
    kinds: Arc<[String]>,
    config: RunnerConfig,
    name: Arc<str>,
    /// Bumped on every queue notification; idle consumers wait for it to change.
    wake: Arc<watch::Sender<u64>>,
}

impl Runner {
    pub fn new(pool: PgPool, handlers: Handlers, config: RunnerConfig) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{}:{}:{}", config.host, std::process::id(), &suffix[..8]);
        Self {
            kinds: handlers.kinds().into(),
            pool,
            handlers,
            config,
            name: name.into(),
            wake: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Claims one ready job and runs it to an outcome. Tests drain the queue with this.
    pub async fn run_once(&self, shutdown: &CancellationToken) -> anyhow::Result<Outcome> {
        let Some(job) = jobs::claim(&self.pool, &self.name, &self.kinds, self.config.lease).await?
        else {
            return Ok(Outcome::Empty);
        };
        let id = job.id;
        let result = self.run_claimed(job, shutdown).await?;
        Ok(Outcome::Processed { id, result })
    }

    async fn run_claimed(
        &self,
        job: ClaimedJob,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<ProcessResult> {
        let span = tracing::info_span!("job", job.id = %job.id, job.kind = %job.kind, job.attempt = job.attempts);
        self.process(job, shutdown.clone()).instrument(span).await
    }

    async fn process(
        &self,
        job: ClaimedJob,
        shutdown: CancellationToken,
    ) -> anyhow::Result<ProcessResult> {
        let started = Instant::now();
        let kind = job.kind.clone();
        let (id, token, attempts) = (job.id, job.lease_token, job.attempts);
        let Some(handler) = self.handlers.by_kind.get(&kind).cloned() else {
            // `claim` only asks for known kinds; this is a programming error, not a job failure.
            anyhow::bail!("no handler for job kind {kind}");
        };
        let ctx = JobContext {
            pool: self.pool.clone(),
            job,
            shutdown,
        };

        let heartbeat = self.spawn_heartbeat(id, token);
        let result = AssertUnwindSafe(handler(ctx)).catch_unwind().await;
        heartbeat.cancel();

        let outcome = match result {
            Ok(Ok(())) => {
                if jobs::complete(&self.pool, id, token).await? {
                    ProcessResult::Succeeded
                } else {
                    ProcessResult::LostLease
                }
            }
            Ok(Err(err)) => self.record_failure(id, token, attempts, &err).await?,
            Err(_panic) => {
                let err = JobError::Transient(anyhow::anyhow!("the job handler panicked"));
                self.record_failure(id, token, attempts, &err).await?
            }
        };
        let duration = started.elapsed();
        let label = match outcome {
            ProcessResult::Succeeded => "succeeded",
            ProcessResult::Retrying => "retrying",
            ProcessResult::Dead => "dead",
            ProcessResult::LostLease => "lost_lease",
        };
        metrics::counter!("jobs_processed_total", "kind" => kind.clone(), "outcome" => label)
            .increment(1);
        metrics::histogram!("job_duration_seconds", "kind" => kind).record(duration.as_secs_f64());
        tracing::info!(
            outcome = label,
            duration_ms = duration.as_millis() as u64,
            "job finished"
        );
        Ok(outcome)
    }

    async fn record_failure(
        &self,
        id: uuid::Uuid,
        token: uuid::Uuid,
        attempts: i32,
        err: &JobError,
    ) -> anyhow::Result<ProcessResult> {
        let failure = match err {
            JobError::Transient(_) => Failure::Transient {
                retry_in: jobs::backoff(attempts, self.config.retry_base, self.config.retry_max),
            },
            JobError::Permanent(_) => Failure::Permanent,
        };
        // `{:#}` keeps anyhow's context chain on one line.
        let message = match err {
            JobError::Transient(inner) => format!("{inner:#}"),
            JobError::Permanent(reason) => reason.clone(),
        };
        Ok(
            match jobs::fail(&self.pool, id, token, &message, failure).await? {
                FailOutcome::Retrying(at) => {
                    tracing::warn!(error = %message, retry_at = %at, "job failed, will retry");
                    ProcessResult::Retrying
                }
                FailOutcome::Dead => {
                    tracing::error!(error = %message, "job is dead");
                    ProcessResult::Dead
                }
                FailOutcome::LostLease => ProcessResult::LostLease,
            },
        )
    }

    /// Renews the lease every third of its length until the returned token is cancelled.
    fn spawn_heartbeat(&self, id: uuid::Uuid, token: uuid::Uuid) -> CancellationToken {
        let stop = CancellationToken::new();
        let pool = self.pool.clone();
        let lease = self.config.lease;
        let guard = stop.clone();
        tokio::spawn(
            async move {
                let mut tick = tokio::time::interval(lease / 3);
                tick.tick().await;
                loop {
                    tokio::select! {
                        () = guard.cancelled() => break,
                        _ = tick.tick() => match jobs::heartbeat(&pool, id, token, lease).await {
                            Ok(true) => {}
                            Ok(false) => {
                                tracing::warn!("job lease lost; another worker may take the job over");
                                break;
                            }
                            Err(err) => tracing::warn!(error = %err, "job heartbeat failed"),
                        },
                    }
                }
            }
            .in_current_span(),
        );
        stop
    }

    /// Runs both lanes until `shutdown` is cancelled, then waits for the jobs in hand to
    /// finish.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(
            worker = %self.name,
            concurrency = self.config.concurrency,
            waiting_concurrency = self.config.waiting_concurrency,
            kinds = ?self.kinds,
            "job runner started"
        );
        let listener = tokio::spawn(listen(
            self.pool.clone(),
            self.wake.clone(),
            shutdown.clone(),
        ));
        let pruner = tokio::spawn(prune(self.pool.clone(), shutdown.clone()));
        let (waiting, work): (Vec<String>, Vec<String>) = self
            .kinds
            .iter()
            .cloned()
            .partition(|kind| self.handlers.waiting.contains(kind));
        let lanes = [
            (work, self.config.concurrency),
            (waiting, self.config.waiting_concurrency),
        ];
        let consumers: Vec<_> = lanes
            .into_iter()
            .filter(|(kinds, _)| !kinds.is_empty())
            .map(|(kinds, width)| {
                tokio::spawn(self.clone().consume(kinds.into(), width, shutdown.clone()))
            })
            .collect();
        for consumer in consumers {
            if let Err(err) = consumer.await {
                tracing::error!(error = %err, "job consumer ended abnormally");
            }
        }
        listener.abort();
        pruner.abort();
        tracing::info!(worker = %self.name, "job runner stopped");
    }

    /// One lane: claims jobs of `kinds` while fewer than `width` are in hand, each run as its
    /// own task.
    async fn consume(self, kinds: Arc<[String]>, width: usize, shutdown: CancellationToken) {
        let places = Arc::new(Semaphore::new(width));
        let mut in_hand = JoinSet::new();
        let mut failures: u32 = 0;
        let mut wake = self.wake.subscribe();
        while !shutdown.is_cancelled() {
            let place = tokio::select! {
                place = places.clone().acquire_owned() => match place {
                    Ok(place) => place,
                    Err(_) => break,
                },
                () = shutdown.cancelled() => break,
            };
            // Ended jobs leave the set as they go.
            while in_hand.try_join_next().is_some() {}
            // Seen before claiming: a notification that lands while we claim still wakes us.
            wake.borrow_and_update();
            let claimed = jobs::claim(&self.pool, &self.name, &kinds, self.config.lease).await;
            match claimed {
                Ok(Some(job)) => {
                    failures = 0;
                    let (runner, shutdown) = (self.clone(), shutdown.clone());
                    in_hand.spawn(async move {
                        if let Err(err) = runner.run_claimed(job, &shutdown).await {
                            tracing::warn!(error = %format!("{err:#}"), "could not record a job's outcome");
                        }
                        drop(place);
                    });
                }
                Ok(None) => {
                    drop(place);
                    failures = 0;
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        _ = wake.changed() => {}
                        () = tokio::time::sleep(self.config.poll_interval) => {}
                    }
                }
                Err(err) => {
                    drop(place);
                    // The database is unreachable or the queue is broken: back off, keep going.
                    failures = failures.saturating_add(1);
                    let delay = jobs::backoff(
                        failures as i32,
                        Duration::from_millis(500),
                        Duration::from_secs(30),
                    );
                    tracing::warn!(error = %format!("{err:#}"), retry_in_ms = delay.as_millis() as u64, "job claim failed");
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        // The jobs in hand finish (their handlers see the shutdown).
        while in_hand.join_next().await.is_some() {}
    }
}

/// Wakes consumers on `NOTIFY jobs_queued`, and on every (re)connection (work may have
/// arrived while nobody listened).
async fn listen(pool: PgPool, wake: Arc<watch::Sender<u64>>, shutdown: CancellationToken) {
    studio_core::db::follow_channel(&pool, jobs::NOTIFY_CHANNEL, &shutdown, |_| {
        wake.send_modify(|n| *n = n.wrapping_add(1));
    })
    .await;
}

/// How often a runner deletes old succeeded jobs, and how many one statement deletes.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);
const PRUNE_BATCH: i64 = 1000;

/// Deletes jobs that succeeded more than [`jobs::KEEP_SUCCEEDED`] ago, at start and then
/// every [`PRUNE_EVERY`], in batches so no statement holds many rows; several runners doing
/// it at once only share the work.
async fn prune(pool: PgPool, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let mut pruned = 0;
        loop {
            match jobs::prune_succeeded(&pool, jobs::KEEP_SUCCEEDED, PRUNE_BATCH).await {
                Ok(deleted) => {
                    pruned += deleted;
                    if deleted < PRUNE_BATCH.unsigned_abs() || shutdown.is_cancelled() {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "could not delete old succeeded jobs");
                    break;
                }
            }
        }
        if pruned > 0 {
            tracing::info!(pruned, "old succeeded jobs deleted");
        }
    }
}
