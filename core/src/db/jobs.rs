//! The Postgres job queue: the `jobs` table and its whole contract.
//!
//! - [`enqueue`] adds a job; a `dedupe_key` collapses it into a job of the same key that is
//!   still waiting (the earlier `run_at` and higher priority win).
//! - [`claim`] hands one ready job to one worker (`for update skip locked`) under a lease with a
//!   fresh fencing token. A job whose lease expired (its worker died) is claimable again.
//! - [`heartbeat`] extends the lease; [`complete`] and [`fail`] end the attempt. All three act
//!   only while the caller still holds the lease token, so a worker that lost its job cannot
//!   overwrite the outcome of the worker that took it over.
//! - After `max_attempts` the job is `dead` and keeps its last error for the admin.
//!
//! Inserting or re-queueing a job sends `NOTIFY jobs_queued` (see the migration), so idle
//! workers wake at once and poll only as a fallback.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};
use sqlx::{Acquire, PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

/// The channel `LISTEN`ed to for new work.
pub const NOTIFY_CHANNEL: &str = "jobs_queued";

/// Longest error text kept on a job.
const MAX_ERROR_LEN: usize = 4000;

/// A job to add to the queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub dedupe_key: Option<String>,
    pub priority: i16,
    pub max_attempts: i32,
    /// Not before this time; `None` means now.
    pub run_at: Option<DateTime<Utc>>,
}

impl NewJob {
    /// A job of `kind` with `payload`, default priority and 5 attempts.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            dedupe_key: None,
            priority: 0,
            max_attempts: 5,
            run_at: None,
        }
    }

    pub fn dedupe_key(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = attempts;
        self
    }

    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }

    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }
}

/// A kind of background work, declared once: its name in the queue, its payload (the type
/// itself, stored as JSON), how often it is tried, and which waiting job it merges with. What
/// is enqueued ([`enqueue_job`]) and what a handler receives (`workers::Handlers::job`) are
/// the same type, so the compiler checks both ends.
///
/// A payload that is no job kind does not enqueue:
///
/// ```compile_fail
/// async fn queue(pool: &sqlx::PgPool) {
///     let _ = studio_core::db::jobs::enqueue_job(pool, &serde_json::json!({ "item_id": 1 })).await;
/// }
/// ```
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind's name in the `jobs` table (and on the admin jobs page).
    const KIND: &'static str;
    /// Attempts before the job is dead.
    const MAX_ATTEMPTS: i32 = 5;

    /// A waiting job with the same key absorbs this one (`None`: every job runs).
    fn dedupe_key(&self) -> Option<String> {
        None
    }
}

/// Adds a typed job (see [`Job`]), or merges it into a waiting one with its dedupe key.
pub async fn enqueue_job<J: Job>(executor: impl PgExecutor<'_>, job: &J) -> sqlx::Result<Enqueued> {
    let payload = serde_json::to_value(job).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let mut new = NewJob::new(J::KIND, payload).max_attempts(J::MAX_ATTEMPTS);
    new.dedupe_key = job.dedupe_key();
    enqueue(executor, &new).await
}

/// Job `id` as kind `J`, when it is one (for pages that act on a job's subject).
pub async fn find_as<J: Job>(executor: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<J>> {
    let row = sqlx::query!("select kind, payload from jobs where id = $1", id)
        .fetch_optional(executor)
        .await?;
    Ok(row
        .filter(|row| row.kind == J::KIND)
        .and_then(|row| serde_json::from_value(row.payload).ok()))
}

/// What [`enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job row.
    Created(Uuid),
    /// A waiting job with the same dedupe key absorbed this one.
    Merged(Uuid),
}

impl Enqueued {
    pub fn id(self) -> Uuid {
        match self {
            Self::Created(id) | Self::Merged(id) => id,
        }
    }
}

/// Adds a job, or merges it into a waiting job with the same dedupe key.
pub async fn enqueue(executor: impl PgExecutor<'_>, job: &NewJob) -> sqlx::Result<Enqueued> {
    // `xmax = 0` holds only for a row this statement inserted, not for one it updated.
    let row = sqlx::query!(
        r#"
        insert into jobs (kind, payload, dedupe_key, priority, max_attempts, run_at)
        values ($1, $2, $3, $4, $5, coalesce($6, now()))
        on conflict (dedupe_key) where status = 'queued' and dedupe_key is not null
        do update set
            run_at = least(jobs.run_at, excluded.run_at),
            priority = greatest(jobs.priority, excluded.priority),
            payload = excluded.payload
        returning id, (xmax = 0) as "inserted!"
        "#,
        job.kind,
        job.payload,
        job.dedupe_key,
        job.priority,
        job.max_attempts,
        job.run_at,
    )
    .fetch_one(executor)
    .await?;
    Ok(if row.inserted {
        Enqueued::Created(row.id)
    } else {
        Enqueued::Merged(row.id)
    })
}

/// A job held by a worker under a lease.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub dedupe_key: Option<String>,
    /// Attempts including this one.
    pub attempts: i32,
    pub max_attempts: i32,
    /// Fencing token of this claim: every later call must present it.
    pub lease_token: Uuid,
    pub lease_expires_at: DateTime<Utc>,
}

impl ClaimedJob {
    /// The payload as the job kind `J` it was enqueued as.
    pub fn payload_as<J: Job>(&self) -> Result<J, serde_json::Error> {
        serde_json::from_value(self.payload.clone())
    }
}

/// Claims the next ready job of one of `kinds` for `worker`, leased for `lease`.
///
/// Ready means queued and due, or running with an expired lease (its worker died). A job
/// waits while another job with the same dedupe key runs. Jobs whose lease expired on their
/// last attempt are moved to `dead` first.
pub async fn claim(
    pool: &PgPool,
    worker: &str,
    kinds: &[String],
    lease: Duration,
) -> sqlx::Result<Option<ClaimedJob>> {
    bury_expired(pool).await?;
    sqlx::query_as!(
        ClaimedJob,
        r#"
        update jobs as j
        set status = 'running',
            attempts = j.attempts + 1,
            locked_by = $2,
            lease_token = gen_random_uuid(),
            lease_expires_at = now() + make_interval(secs => $3)
        from (
            select c.id
            from jobs as c
            where c.kind = any($1)
              and (
                  (c.status = 'queued' and c.run_at <= now())
                  or (c.status = 'running' and c.lease_expires_at < now()
                      and c.attempts < c.max_attempts)
              )
              and not exists (
                  select 1
                  from jobs as r
                  where r.dedupe_key = c.dedupe_key
                    and r.status = 'running'
                    and r.lease_expires_at >= now()
                    and r.id <> c.id
              )
            order by c.priority desc, c.run_at, c.id
            limit 1
            for update skip locked
        ) as next
        where j.id = next.id
        returning j.id, j.kind, j.payload, j.dedupe_key, j.attempts, j.max_attempts,
            j.lease_token as "lease_token!", j.lease_expires_at as "lease_expires_at!"
        "#,
        kinds,
        worker,
        lease.as_secs_f64(),
    )
    .fetch_optional(pool)
    .await
}

/// Moves running jobs whose lease expired on their last attempt to `dead`.
async fn bury_expired(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        r#"
        update jobs
        set status = 'dead',
            last_error = 'the worker stopped responding (lease expired) on the last attempt',
            locked_by = null,
            lease_token = null,
            lease_expires_at = null,
            finished_at = now()
        where status = 'running'
          and lease_expires_at < now()
          and attempts >= max_attempts
        "#
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Extends the lease of a job still held with `token`. `false` means the lease was lost.
pub async fn heartbeat(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    token: Uuid,
    lease: Duration,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        r#"
        update jobs
        set lease_expires_at = now() + make_interval(secs => $3)
        where id = $1 and lease_token = $2 and status = 'running'
        "#,
        id,
        token,
        lease.as_secs_f64(),
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a job held with `token` as succeeded. `false` means the lease was lost first.
pub async fn complete(executor: impl PgExecutor<'_>, id: Uuid, token: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        r#"
        update jobs
        set status = 'succeeded',
            finished_at = now(),
            locked_by = null,
            lease_token = null,
            lease_expires_at = null
        where id = $1 and lease_token = $2 and status = 'running'
        "#,
        id,
        token,
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How long a succeeded job is kept after it finished (for the record) before
/// [`prune_succeeded`] deletes it.
pub const KEEP_SUCCEEDED: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Deletes up to `batch` jobs that succeeded more than `kept` ago; returns how many. Queued,
/// running and dead jobs stay whatever their age (dead ones until an admin discards them).
pub async fn prune_succeeded(
    executor: impl PgExecutor<'_>,
    kept: Duration,
    batch: i64,
) -> sqlx::Result<u64> {
    let deleted = sqlx::query!(
        "delete from jobs where id in (
             select id from jobs
             where status = 'succeeded' and finished_at < now() - make_interval(secs => $1)
             limit $2)",
        kept.as_secs_f64(),
        batch
    )
    .execute(executor)
    .await?;
    Ok(deleted.rows_affected())
}

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// May succeed later (network, rate limit): retry after the delay while attempts remain.
    Transient { retry_in: Duration },
    /// Will fail again (corrupt input, unsupported type): dead now.
    Permanent,
}

/// Where a failed job went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again; runs at this time.
    Retrying(DateTime<Utc>),
    /// Out of attempts, or permanent: kept with its error for the admin.
    Dead,
    /// The caller no longer held the lease; nothing changed.
    LostLease,
}

/// Records a failed attempt of a job held with `token`.
pub async fn fail(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    token: Uuid,
    error: &str,
    failure: Failure,
) -> sqlx::Result<FailOutcome> {
    let (retryable, retry_in) = match failure {
        Failure::Transient { retry_in } => (true, retry_in),
        Failure::Permanent => (false, Duration::ZERO),
    };
    let row = sqlx::query!(
        r#"
        update jobs
        set status = case when $3 and attempts < max_attempts then 'queued' else 'dead' end,
            run_at = case when $3 and attempts < max_attempts
                then now() + make_interval(secs => $4)
                else run_at end,
            finished_at = case when $3 and attempts < max_attempts then null else now() end,
            last_error = $5,
            locked_by = null,
            lease_token = null,
            lease_expires_at = null
        where id = $1 and lease_token = $2 and status = 'running'
        returning status, run_at
        "#,
        id,
        token,
        retryable,
        retry_in.as_secs_f64(),
        clean_error(error),
    )
    .fetch_optional(executor)
    .await?;
    Ok(match row {
        None => FailOutcome::LostLease,
        Some(row) if row.status == "queued" => FailOutcome::Retrying(row.run_at),
        Some(_) => FailOutcome::Dead,
    })
}

/// Error text fit for a `text` column and an admin page: no NUL bytes, bounded length.
fn clean_error(error: &str) -> String {
    let mut cleaned: String = error.chars().filter(|c| *c != '\0').collect();
    if cleaned.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !cleaned.is_char_boundary(end) {
            end -= 1;
        }
        cleaned.truncate(end);
        cleaned.push('…');
    }
    cleaned
}

/// Exponential backoff for the retry after attempt `attempt` (1-based): `base * 2^(n-1)`,
/// capped at `max`, with up to 20 % random jitter so failed jobs do not retry in lockstep.
pub fn backoff(attempt: i32, base: Duration, max: Duration) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let delay = base.saturating_mul(1 << exponent).min(max);
    let jitter = rand::random_range(0.0..0.2);
    delay.mul_f64(1.0 + jitter).min(max)
}

/// Number of jobs per kind and status, for metrics and the admin page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueCount {
    pub kind: String,
    pub status: String,
    pub count: i64,
}

/// Counts jobs by kind and status, leaving out succeeded ones.
pub async fn counts(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<QueueCount>> {
    sqlx::query_as!(
        QueueCount,
        r#"
        select kind, status, count(*) as "count!"
        from jobs
        where status <> 'succeeded'
        group by kind, status
        order by kind, status
        "#
    )
    .fetch_all(executor)
    .await
}

/// A job as the admin and tests see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub run_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Finds one job by id.
pub async fn find(executor: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<JobRecord>> {
    sqlx::query_as!(
        JobRecord,
        r#"
        select id, kind, status, attempts, max_attempts, last_error, run_at, finished_at
        from jobs
        where id = $1
        "#,
        id
    )
    .fetch_optional(executor)
    .await
}

/// A job as the admin's jobs page lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdminJob {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub locked_by: Option<String>,
    pub run_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The jobs that need an eye: dead ones, running ones, and waiting ones (those retrying after
/// a failure first), newest change first; at most `limit`.
pub async fn needing_attention(
    executor: impl PgExecutor<'_>,
    status: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<AdminJob>> {
    sqlx::query_as!(
        AdminJob,
        r#"
        select id, kind, status, payload, attempts, max_attempts, last_error, locked_by,
               run_at, updated_at
        from jobs
        where status <> 'succeeded' and ($1::text is null or status = $1)
        order by case status when 'dead' then 0 when 'running' then 1 else 2 end,
                 (last_error is null), updated_at desc, id
        limit $2
        "#,
        status,
        limit
    )
    .fetch_all(executor)
    .await
}

/// What [`retry`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retried {
    /// Queued again with fresh attempts.
    Queued,
    /// A job of the same dedupe key was already waiting: this one was removed in its favour.
    Merged,
    /// No dead job with that id.
    NotDead,
}

/// Gives a dead job a fresh set of attempts, to run now. Its last error stays until it runs.
///
/// Takes a connection (or a transaction) so that the caller can change the job's work in the
/// same transaction: workers see the job only once that commits.
pub async fn retry(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Retried> {
    // A savepoint: a waiting twin's unique key fails the update without failing the caller's
    // transaction.
    let mut attempt = conn.begin().await?;
    let updated = sqlx::query!(
        "update jobs set status = 'queued', attempts = 0, run_at = now(), finished_at = null
         where id = $1 and status = 'dead'",
        id
    )
    .execute(&mut *attempt)
    .await;
    match updated {
        Ok(done) => {
            attempt.commit().await?;
            Ok(if done.rows_affected() > 0 {
                Retried::Queued
            } else {
                Retried::NotDead
            })
        }
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
            attempt.rollback().await?;
            sqlx::query!("delete from jobs where id = $1 and status = 'dead'", id)
                .execute(&mut *conn)
                .await?;
            Ok(Retried::Merged)
        }
        Err(err) => Err(err),
    }
}

/// Removes a dead or waiting job (never a running one). True if one was removed.
pub async fn discard(executor: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    let deleted = sqlx::query!(
        "delete from jobs where id = $1 and status in ('dead', 'queued')",
        id
    )
    .execute(executor)
    .await?;
    Ok(deleted.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;

    const LEASE: Duration = Duration::from_secs(30);

    fn kinds() -> Vec<String> {
        vec!["ping".to_owned()]
    }

    /// Moves a running job's lease into the past, as if its worker had died.
    async fn expire_lease(pool: &PgPool, id: Uuid) {
        sqlx::query("update jobs set lease_expires_at = now() - interval '1 second' where id = $1")
            .bind(id)
            .execute(pool)
            .await
            .unwrap();
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn two_workers_never_claim_the_same_job(pool: PgPool) {
        for n in 0..60 {
            enqueue(&pool, &NewJob::new("ping", json!({ "n": n })))
                .await
                .unwrap();
        }
        let worker = |name: &'static str| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) = claim(&pool, name, &kinds(), LEASE).await.unwrap() {
                    mine.push(job.id);
                    assert!(complete(&pool, job.id, job.lease_token).await.unwrap());
                }
                mine
            })
        };
        let (a, b, c) = tokio::join!(worker("a"), worker("b"), worker("c"));
        let all: Vec<Uuid> = [a.unwrap(), b.unwrap(), c.unwrap()].concat();
        let unique: HashSet<Uuid> = all.iter().copied().collect();
        assert_eq!(all.len(), 60, "every job claimed exactly once");
        assert_eq!(unique.len(), 60, "no job claimed twice");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn only_jobs_that_succeeded_long_ago_are_pruned(pool: PgPool) {
        let mut succeeded = Vec::new();
        for n in 0..3 {
            enqueue(&pool, &NewJob::new("ping", json!({ "n": n })))
                .await
                .unwrap();
            let job = claim(&pool, "a", &kinds(), LEASE).await.unwrap().unwrap();
            assert!(complete(&pool, job.id, job.lease_token).await.unwrap());
            succeeded.push(job.id);
        }
        let waiting = enqueue(&pool, &NewJob::new("ping", json!({ "n": "later" })))
            .await
            .unwrap()
            .id();
        // Two finished eight days ago, one just now; the waiting job is as old.
        sqlx::query("update jobs set finished_at = now() - interval '8 days' where id = any($1)")
            .bind(&succeeded[..2])
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("update jobs set created_at = now() - interval '8 days' where id = $1")
            .bind(waiting)
            .execute(&pool)
            .await
            .unwrap();

        assert_eq!(prune_succeeded(&pool, KEEP_SUCCEEDED, 1).await.unwrap(), 1);
        assert_eq!(
            prune_succeeded(&pool, KEEP_SUCCEEDED, 100).await.unwrap(),
            1
        );
        assert_eq!(
            prune_succeeded(&pool, KEEP_SUCCEEDED, 100).await.unwrap(),
            0
        );
        let left: Vec<Uuid> = sqlx::query_scalar("select id from jobs order by created_at")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(left.len(), 2);
        assert!(left.contains(&succeeded[2]) && left.contains(&waiting));
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_held_job_is_not_claimed_again(pool: PgPool) {
        enqueue(&pool, &NewJob::new("ping", json!({})))
            .await
            .unwrap();
        let first = claim(&pool, "a", &kinds(), LEASE).await.unwrap();
        assert!(first.is_some());
        assert!(claim(&pool, "b", &kinds(), LEASE).await.unwrap().is_none());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn an_expired_lease_is_reclaimed_and_fences_the_old_worker(pool: PgPool) {
        enqueue(&pool, &NewJob::new("ping", json!({})))
            .await
            .unwrap();
        let lost = claim(&pool, "a", &kinds(), LEASE).await.unwrap().unwrap();
        expire_lease(&pool, lost.id).await;

        let taken = claim(&pool, "b", &kinds(), LEASE).await.unwrap().unwrap();
        assert_eq!(taken.id, lost.id);
        assert_eq!(taken.attempts, 2);
        assert_ne!(taken.lease_token, lost.lease_token);

        // The first worker comes back: none of its calls may change the job.
        assert!(
            !heartbeat(&pool, lost.id, lost.lease_token, LEASE)
                .await
                .unwrap()
        );
        assert!(!complete(&pool, lost.id, lost.lease_token).await.unwrap());
        let outcome = fail(&pool, lost.id, lost.lease_token, "late", Failure::Permanent)
            .await
            .unwrap();
        assert_eq!(outcome, FailOutcome::LostLease);

        assert!(complete(&pool, taken.id, taken.lease_token).await.unwrap());
        let record = find(&pool, taken.id).await.unwrap().unwrap();
        assert_eq!(record.status, "succeeded");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn heartbeat_keeps_a_job_from_being_reclaimed(pool: PgPool) {
        enqueue(&pool, &NewJob::new("ping", json!({})))
            .await
            .unwrap();
        let job = claim(&pool, "a", &kinds(), LEASE).await.unwrap().unwrap();
        expire_lease(&pool, job.id).await;
        assert!(
            heartbeat(&pool, job.id, job.lease_token, LEASE)
                .await
                .unwrap()
        );
        assert!(claim(&pool, "b", &kinds(), LEASE).await.unwrap().is_none());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_failing_job_ends_dead_after_its_attempts_with_its_last_error(pool: PgPool) {
        let id = enqueue(&pool, &NewJob::new("ping", json!({})).max_attempts(3))
            .await
            .unwrap()
            .id();
        let now_please = Failure::Transient {
            retry_in: Duration::ZERO,
        };
        for attempt in 1..=3 {
            let job = claim(&pool, "a", &kinds(), LEASE).await.unwrap().unwrap();
            assert_eq!(job.attempts, attempt);
            let outcome = fail(
                &pool,
                id,
                job.lease_token,
                &format!("boom {attempt}"),
                now_please,
            )
            .await
            .unwrap();
            if attempt < 3 {
                assert!(matches!(outcome, FailOutcome::Retrying(_)), "{outcome:?}");
            } else {
                assert_eq!(outcome, FailOutcome::Dead);
            }
        }
        assert!(claim(&pool, "a", &kinds(), LEASE).await.unwrap().is_none());
        let record = find(&pool, id).await.unwrap().unwrap();
        assert_eq!(record.status, "dead");
        assert_eq!(record.attempts, 3);
        assert_eq!(record.last_error.as_deref(), Some("boom 3"));
        assert!(record.finished_at.is_some());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_permanent_failure_is_dead_at_once(pool: PgPool) {
        let id = enqueue(&pool, &NewJob::new("ping", json!({})))
            .await
            .unwrap()
            .id();
        let job = claim(&pool, "a", &kinds(), LEASE).await.unwrap().unwrap();
        let outcome = fail(
            &pool,
            id,
            job.lease_token,
            "corrupt file",
            Failure::Permanent,
        )
        .await
        .unwrap();
        assert_eq!(outcome, FailOutcome::Dead);
        assert_eq!(find(&pool, id).await.unwrap().unwrap().attempts, 1);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_retry_waits_for_its_backoff(pool: PgPool) {
        let id = enqueue(&pool, &NewJob::new("ping", json!({})))
            .await
            .unwrap()
            .id();
        let job = claim(&pool, "a", &kinds(), LEASE).await.unwrap().unwrap();
        let later = Failure::Transient {
            retry_in: Duration::from_secs(60),
        };
        let outcome = fail(&pool, id, job.lease_token, "timeout", later)
            .await
            .unwrap();
        assert!(matches!(outcome, FailOutcome::Retrying(at) if at > Utc::now()));
        assert!(claim(&pool, "a", &kinds(), LEASE).await.unwrap().is_none());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_lease_expiring_on_the_last_attempt_buries_the_job(pool: PgPool) {
        let id = enqueue(&pool, &NewJob::new("ping", json!({})).max_attempts(1))
            .await
            .unwrap()
            .id();
        claim(&pool, "a", &kinds(), LEASE).await.unwrap().unwrap();
        expire_lease(&pool, id).await;
        assert!(claim(&pool, "b", &kinds(), LEASE).await.unwrap().is_none());
        let record = find(&pool, id).await.unwrap().unwrap();
        assert_eq!(record.status, "dead");
        assert!(record.last_error.unwrap().contains("lease expired"));
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn enqueue_with_the_same_dedupe_key_does_not_duplicate(pool: PgPool) {
        let job = NewJob::new("ping", json!({ "item": 1 })).dedupe_key("item:1");
        let first = enqueue(&pool, &job).await.unwrap();
        let second = enqueue(&pool, &job).await.unwrap();
        assert!(matches!(first, Enqueued::Created(_)));
        assert_eq!(second, Enqueued::Merged(first.id()));
        let total: i64 = sqlx::query_scalar("select count(*) from jobs")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(total, 1);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_dedupe_key_waits_while_its_twin_runs(pool: PgPool) {
        let job = NewJob::new("ping", json!({})).dedupe_key("item:1");
        let first = enqueue(&pool, &job).await.unwrap().id();
        let running = claim(&pool, "a", &kinds(), LEASE).await.unwrap().unwrap();
        assert_eq!(running.id, first);

        // Asked again while running: a new job, held back until the first one ends.
        let second = enqueue(&pool, &job).await.unwrap();
        assert!(matches!(second, Enqueued::Created(id) if id != first));
        assert!(claim(&pool, "b", &kinds(), LEASE).await.unwrap().is_none());

        assert!(
            complete(&pool, running.id, running.lease_token)
                .await
                .unwrap()
        );
        let next = claim(&pool, "b", &kinds(), LEASE).await.unwrap().unwrap();
        assert_eq!(next.id, second.id());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn claim_takes_only_the_asked_kinds_by_priority(pool: PgPool) {
        enqueue(&pool, &NewJob::new("other", json!({})))
            .await
            .unwrap();
        let low = enqueue(&pool, &NewJob::new("ping", json!({})))
            .await
            .unwrap()
            .id();
        let high = enqueue(&pool, &NewJob::new("ping", json!({})).priority(5))
            .await
            .unwrap()
            .id();
        let order: Vec<Uuid> = [
            claim(&pool, "a", &kinds(), LEASE)
                .await
                .unwrap()
                .unwrap()
                .id,
            claim(&pool, "a", &kinds(), LEASE)
                .await
                .unwrap()
                .unwrap()
                .id,
        ]
        .into();
        assert_eq!(order, vec![high, low]);
        assert!(claim(&pool, "a", &kinds(), LEASE).await.unwrap().is_none());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn counts_group_waiting_and_dead_jobs(pool: PgPool) {
        enqueue(&pool, &NewJob::new("ping", json!({})))
            .await
            .unwrap();
        enqueue(&pool, &NewJob::new("ping", json!({})))
            .await
            .unwrap();
        let counts = counts(&pool).await.unwrap();
        assert_eq!(
            counts,
            vec![QueueCount {
                kind: "ping".into(),
                status: "queued".into(),
                count: 2
            }]
        );
    }

    #[test]
    fn backoff_doubles_and_stays_under_the_cap() {
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(600);
        let first = backoff(1, base, max);
        let third = backoff(3, base, max);
        assert!(first >= base && first <= base.mul_f64(1.2));
        assert!(third >= base * 4 && third <= (base * 4).mul_f64(1.2));
        assert_eq!(backoff(40, base, max), max);
    }

    #[test]
    fn error_text_is_cleaned_and_bounded() {
        assert_eq!(clean_error("a\0b"), "ab");
        let long = "é".repeat(MAX_ERROR_LEN);
        let cleaned = clean_error(&long);
        assert!(cleaned.len() <= MAX_ERROR_LEN + '…'.len_utf8());
        assert!(cleaned.ends_with('…'));
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn dead_jobs_are_listed_retried_or_discarded(pool: PgPool) {
        let first = enqueue(
            &pool,
            &NewJob::new("ping", json!({ "n": 1 }))
                .dedupe_key("same")
                .max_attempts(1),
        )
        .await
        .unwrap()
        .id();
        let claimed = claim(&pool, "w", &kinds(), LEASE).await.unwrap().unwrap();
        let outcome = fail(
            &pool,
            claimed.id,
            claimed.lease_token,
            "boom",
            Failure::Permanent,
        )
        .await
        .unwrap();
        assert_eq!(outcome, FailOutcome::Dead);

        let listed = needing_attention(&pool, None, 50).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].status.as_str(), listed[0].last_error.as_deref()),
            ("dead", Some("boom"))
        );
        assert!(
            needing_attention(&pool, Some("queued"), 50)
                .await
                .unwrap()
                .is_empty()
        );

        assert_eq!(
            retry(&mut pool.acquire().await.unwrap(), first)
                .await
                .unwrap(),
            Retried::Queued
        );
        let again = find(&pool, first).await.unwrap().unwrap();
        assert_eq!((again.status.as_str(), again.attempts), ("queued", 0));
        assert_eq!(
            retry(&mut pool.acquire().await.unwrap(), first)
                .await
                .unwrap(),
            Retried::NotDead
        );

        // Dead again while a twin waits: retrying folds it into the twin.
        let claimed = claim(&pool, "w", &kinds(), LEASE).await.unwrap().unwrap();
        fail(
            &pool,
            claimed.id,
            claimed.lease_token,
            "boom",
            Failure::Permanent,
        )
        .await
        .unwrap();
        let twin = enqueue(
            &pool,
            &NewJob::new("ping", json!({ "n": 2 })).dedupe_key("same"),
        )
        .await
        .unwrap()
        .id();
        assert_eq!(
            retry(&mut pool.acquire().await.unwrap(), first)
                .await
                .unwrap(),
            Retried::Merged
        );
        assert!(find(&pool, first).await.unwrap().is_none());

        assert!(discard(&pool, twin).await.unwrap());
        assert!(!discard(&pool, twin).await.unwrap());
        let running = enqueue(&pool, &NewJob::new("ping", json!({})))
            .await
            .unwrap()
            .id();
        claim(&pool, "w", &kinds(), LEASE).await.unwrap().unwrap();
        assert!(
            !discard(&pool, running).await.unwrap(),
            "a running job stays"
        );
    }
}
