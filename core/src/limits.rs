//! Abuse limits, configured in one place: how often one client may ask for accounts and
//! password resets, how many password hashes run at once, how many AI calls, live replies and
//! event streams one user may have, what a send may carry, and how much one user may store.
//!
//! Rates are kept in memory per process with governor (GCRA); with several replicas each
//! applies them alone, so the effective limit is at most the replica count times the setting.
//! Sign-in throttling is kept in the database instead (`accounts::sign_in`), so it holds
//! across replicas.

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

/// Every limit, with its default. `from_env` names the variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Sign-ups, password-reset requests and verification resends per client address per
    /// hour (`LIMIT_ACCOUNT_REQUESTS_PER_IP_HOUR`, default 10).
    pub account_requests_per_ip_hour: u32,
    /// The same, from everyone together per minute (`LIMIT_ACCOUNT_REQUESTS_PER_MINUTE`,
    /// default 60).
    pub account_requests_per_minute: u32,
    /// Password hashes computed at once (`LIMIT_HASH_CONCURRENCY`, default: the cores).
    pub hash_concurrency: usize,
    /// Hashes allowed to wait for a turn; past this, 429 (`LIMIT_HASH_QUEUE`, default 16).
    pub hash_queue: usize,
    /// Failed sign-ins from one address within 15 minutes, whatever the account, before it
    /// must wait (`LIMIT_SIGN_IN_FAILURES_PER_IP`, default 30).
    pub sign_in_failures_per_ip: u32,
    /// Model calls per user per minute (`LIMIT_AI_CALLS_PER_MINUTE`, default 20).
    pub ai_calls_per_minute: u32,
    /// Replies one user may have being written at once (`LIMIT_LIVE_GENERATIONS`, default 4).
    pub live_generations_per_user: usize,
    /// Event streams one user may hold open (`LIMIT_EVENT_STREAMS`, default 12).
    pub event_streams_per_user: usize,
    /// Assistant runs one user may have waiting or under way, across every process
    /// (`LIMIT_LIVE_RUNS`, default 3).
    pub live_runs_per_user: usize,
    /// Uploads one user may have in flight at once (`LIMIT_UPLOADS`, default 3).
    pub uploads_per_user: usize,
    /// A send carries the images of at most this many latest turns (`CHAT_IMAGE_TURNS`,
    /// default 3)...
    pub chat_image_turns: usize,
    /// ...and at most this many bytes of images in all (`CHAT_IMAGE_MAX_MB`, default 40).
    pub chat_image_bytes: u64,
    /// What one user may keep: knowledge originals and chat attachments
    /// (`STORAGE_QUOTA_MB`, default 2000; 0 for no limit).
    pub storage_quota_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            account_requests_per_ip_hour: 10,
            account_requests_per_minute: 60,
            hash_concurrency: std::thread::available_parallelism().map_or(2, usize::from),
            hash_queue: 16,
            sign_in_failures_per_ip: 30,
            ai_calls_per_minute: 20,
            live_generations_per_user: 4,
            event_streams_per_user: 12,
            live_runs_per_user: 3,
            uploads_per_user: 3,
            chat_image_turns: 3,
            chat_image_bytes: 40 * 1000 * 1000,
            storage_quota_bytes: 2000 * 1000 * 1000,
        }
    }
}

impl LimitsConfig {
    /// Reads every `LIMIT_*` variable (and the chat and storage ones), each optional.
    pub fn from_env() -> anyhow::Result<Self> {
        fn number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
            match std::env::var(name) {
                Ok(raw) if !raw.trim().is_empty() => raw
                    .trim()
                    .parse()
                    .ok()
                    .with_context(|| format!("{name} must be a whole number")),
                _ => Ok(default),
            }
        }
        let d = Self::default();
        let positive = |name: &str, value: u32| -> anyhow::Result<u32> {
            anyhow::ensure!(value > 0, "{name} must be at least 1");
            Ok(value)
        };
        Ok(Self {
            account_requests_per_ip_hour: positive(
                "LIMIT_ACCOUNT_REQUESTS_PER_IP_HOUR",
                number(
                    "LIMIT_ACCOUNT_REQUESTS_PER_IP_HOUR",
                    d.account_requests_per_ip_hour,
                )?,
            )?,
            account_requests_per_minute: positive(
                "LIMIT_ACCOUNT_REQUESTS_PER_MINUTE",
                number(
                    "LIMIT_ACCOUNT_REQUESTS_PER_MINUTE",
                    d.account_requests_per_minute,
                )?,
            )?,
            hash_concurrency: number("LIMIT_HASH_CONCURRENCY", d.hash_concurrency)?.max(1),
            hash_queue: number("LIMIT_HASH_QUEUE", d.hash_queue)?,
            sign_in_failures_per_ip: positive(
                "LIMIT_SIGN_IN_FAILURES_PER_IP",
                number("LIMIT_SIGN_IN_FAILURES_PER_IP", d.sign_in_failures_per_ip)?,
            )?,
            ai_calls_per_minute: positive(
                "LIMIT_AI_CALLS_PER_MINUTE",
                number("LIMIT_AI_CALLS_PER_MINUTE", d.ai_calls_per_minute)?,
            )?,
            live_generations_per_user: number(
                "LIMIT_LIVE_GENERATIONS",
                d.live_generations_per_user,
            )?
            .max(1),
            event_streams_per_user: number("LIMIT_EVENT_STREAMS", d.event_streams_per_user)?.max(1),
            live_runs_per_user: number("LIMIT_LIVE_RUNS", d.live_runs_per_user)?.max(1),
            uploads_per_user: number("LIMIT_UPLOADS", d.uploads_per_user)?.max(1),
            chat_image_turns: number("CHAT_IMAGE_TURNS", d.chat_image_turns)?,
            chat_image_bytes: number::<u64>("CHAT_IMAGE_MAX_MB", d.chat_image_bytes / 1_000_000)?
                * 1_000_000,
            storage_quota_bytes: number::<u64>(
                "STORAGE_QUOTA_MB",
                d.storage_quota_bytes / 1_000_000,
            )? * 1_000_000,
        })
    }
}

/// A refusal: wait this long before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests; try again in {} s", retry_after.as_secs().max(1))]
pub struct TooMany {
    pub retry_after: Duration,
}

/// A per-key rate (for example per client address), with a bounded key table.
#[derive(Debug)]
pub struct KeyedRate<K: std::hash::Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    pruned: std::sync::Mutex<Option<std::time::Instant>>,
}

/// Keys kept before idle ones are dropped (at most once a second): an address that stopped
/// asking has a full allowance again, so forgetting it changes nothing. Keys still limited
/// are kept, so under a flood of distinct addresses the table grows with them.
const MAX_KEYS: usize = 10_000;

impl<K: std::hash::Hash + Eq + Clone> KeyedRate<K> {
    /// `count` per `period`, the whole allowance available at once.
    pub fn new(count: u32, period: Duration) -> Self {
        let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period / count.get())
            .unwrap_or_else(|| Quota::per_second(count))
            .allow_burst(count);
        Self {
            limiter: RateLimiter::keyed(quota),
            pruned: std::sync::Mutex::default(),
        }
    }

    /// Takes one from `key`'s allowance, or says how long until there is one.
    pub fn check(&self, key: &K) -> Result<(), TooMany> {
        if self.limiter.len() > MAX_KEYS {
            // At most once a second: under a flood of new keys each check would scan them all.
            let now = std::time::Instant::now();
            let mut last = self
                .pruned
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if last.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1)) {
                self.limiter.retain_recent();
                *last = Some(now);
            }
        }
        self.limiter.check_key(key).map_err(|not_until| TooMany {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }
}

/// One shared rate (everyone together).
#[derive(Debug)]
pub struct Rate {
    limiter: governor::DefaultDirectRateLimiter,
}

impl Rate {
    pub fn new(count: u32, period: Duration) -> Self {
        let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period / count.get())
            .unwrap_or_else(|| Quota::per_second(count))
            .allow_burst(count);
        Self {
            limiter: RateLimiter::direct(quota),
        }
    }

    pub fn check(&self) -> Result<(), TooMany> {
        self.limiter.check().map_err(|not_until| TooMany {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }
}

/// The key for a client address: the address itself, or for IPv6 its /64 (one household or
/// one machine often has a whole /64 to rotate through).
pub fn client_key(ip: Option<IpAddr>) -> IpAddr {
    match ip {
        Some(IpAddr::V6(v6)) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
        Some(v4) => v4,
        None => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    }
}

/// Requests to create accounts, reset passwords and resend verification links: per address
/// and for everyone together.
#[derive(Debug)]
pub struct AccountRequests {
    per_ip: KeyedRate<IpAddr>,
    everyone: Rate,
}

impl AccountRequests {
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            per_ip: KeyedRate::new(
                config.account_requests_per_ip_hour,
                Duration::from_secs(3600),
            ),
            everyone: Rate::new(config.account_requests_per_minute, Duration::from_secs(60)),
        }
    }

    /// Takes one request from `ip`'s allowance and the shared one.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), TooMany> {
        self.per_ip.check(&client_key(ip))?;
        self.everyone.check()
    }
}

/// Counts what a user holds open (live replies, event streams) against a cap. The permit
/// gives the place back when dropped.
#[derive(Debug)]
pub struct PerUser {
    max: usize,
    open: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, usize>>,
}

/// One place held in a [`PerUser`] count.
#[derive(Debug)]
pub struct Held {
    owner: Arc<PerUser>,
    user: uuid::Uuid,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self
            .owner
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

impl PerUser {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            open: std::sync::Mutex::default(),
        })
    }

    /// A place for `user`, or `None` when they hold `max` already.
    pub fn try_hold(self: &Arc<Self>, user: uuid::Uuid) -> Option<Held> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let count = open.entry(user).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Held {
            owner: self.clone(),
            user,
        })
    }

    /// How many places `user` holds.
    pub fn held_by(&self, user: uuid::Uuid) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(&user)
            .copied()
            .unwrap_or(0)
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

/// A bounded pool for expensive blocking work (password hashing): at most `concurrency` at
/// once, at most `queue` waiting, each waiting at most `wait`; the rest are refused at once.
///
/// The work runs on the pool's own `concurrency` threads, not on the runtime's blocking
/// threads (up to 512): the working memory a password hash keeps on its thread
/// (`accounts::password`) exists on these few threads only.
pub struct BlockingPool {
    permits: Arc<tokio::sync::Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    wait: Duration,
    /// Work for the pool's threads; they end when the pool is dropped.
    work: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingPool")
            .field("free", &self.permits.available_permits())
            .field("waiting", &self.waiting)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

/// One place in a pool's queue, given back when dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    /// A place in a queue of at most `queue`, or `None` when it is full.
    fn join(count: &'a AtomicUsize, queue: usize) -> Option<Self> {
        if count.fetch_add(1, Ordering::SeqCst) >= queue {
            count.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Self(count))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why [`BlockingPool::run`] did not run the work.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(transparent)]
    Busy(#[from] TooMany),
    #[error("the work did not finish: {0}")]
    Failed(String),
}

impl BlockingPool {
    pub fn new(concurrency: usize, queue: usize, wait: Duration) -> Self {
        let concurrency = concurrency.max(1);
        let (work, jobs) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let jobs = Arc::new(std::sync::Mutex::new(jobs));
        for index in 0..concurrency {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("blocking-pool-{index}"))
                .spawn(move || {
                    loop {
                        // One thread waits on the channel at a time; the lock is let go
                        // before the work runs.
                        let next = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match next {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "could not start a thread of a blocking pool");
            }
        }
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(concurrency)),
            waiting: AtomicUsize::new(0),
            queue,
            wait,
            work,
        }
    }

    /// Runs `work` on one of the pool's threads once a place is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let busy = PoolError::Busy(TooMany {
            retry_after: Duration::from_secs(2),
        });
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Counted while waiting, and given back however the wait ends (a caller that
                // goes away mid-wait is dropped here, not left counted).
                let waiting = Waiting::join(&self.waiting, self.queue).ok_or(busy)?;
                let acquired =
                    tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await;
                drop(waiting);
                match acquired {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        return Err(PoolError::Busy(TooMany {
                            retry_after: Duration::from_secs(2),
                        }));
                    }
                }
            }
        };
        let (done, result) = tokio::sync::oneshot::channel();
        let job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            drop(permit);
            let _ = done.send(outcome);
        });
        self.work
            .send(job)
            .map_err(|_| PoolError::Failed("the pool has no threads".into()))?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(PoolError::Failed("the work panicked".into())),
            Err(_) => Err(PoolError::Failed("the pool has no threads".into())),
        }
    }
}

/// The limiters a server holds, built once from [`LimitsConfig`].
#[derive(Debug)]
pub struct Guards {
    pub config: LimitsConfig,
    pub account_requests: AccountRequests,
    /// Password hashing and checking.
    pub hashing: BlockingPool,
    /// Model calls per user.
    pub ai_calls: KeyedRate<uuid::Uuid>,
    /// Replies being written, per user.
    pub generations: Arc<PerUser>,
    /// Open event streams, per user.
    pub streams: Arc<PerUser>,
    /// Uploads in flight, per user.
    pub uploads: Arc<PerUser>,
}

impl Guards {
    pub fn new(config: LimitsConfig) -> Self {
        Self {
            account_requests: AccountRequests::new(&config),
            hashing: BlockingPool::new(
                config.hash_concurrency,
                config.hash_queue,
                Duration::from_secs(10),
            ),
            ai_calls: KeyedRate::new(config.ai_calls_per_minute, Duration::from_secs(60)),
            generations: PerUser::new(config.live_generations_per_user),
            streams: PerUser::new(config.event_streams_per_user),
            uploads: PerUser::new(config.uploads_per_user),
            config,
        }
    }
}

impl Default for Guards {
    fn default() -> Self {
        Self::new(LimitsConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_allowance_then_waits_and_others_are_unaffected() {
        let rate = KeyedRate::new(3, Duration::from_secs(3600));
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        let b: IpAddr = "203.0.113.2".parse().unwrap();
        for _ in 0..3 {
            rate.check(&a).unwrap();
        }
        let refused = rate.check(&a).unwrap_err();
        assert!(refused.retry_after > Duration::from_secs(60), "{refused:?}");
        assert!(rate.check(&b).is_ok());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(Some(one)), client_key(Some(two)));
        assert_ne!(client_key(Some(one)), client_key(Some(other)));
    }

    #[test]
    fn per_user_places_are_given_back_when_dropped() {
        let places = PerUser::new(2);
        let user = uuid::Uuid::new_v4();
        let first = places.try_hold(user).unwrap();
        let _second = places.try_hold(user).unwrap();
        assert!(places.try_hold(user).is_none());
        assert!(places.try_hold(uuid::Uuid::new_v4()).is_some());
        drop(first);
        assert_eq!(places.held_by(user), 1);
        assert!(places.try_hold(user).is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_work_runs_on_the_pools_own_threads_and_a_panic_does_not_lose_one() {
        let pool = Arc::new(BlockingPool::new(2, 64, Duration::from_secs(30)));
        let runs: Vec<_> = (0..40)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    pool.run(|| {
                        std::thread::sleep(Duration::from_millis(2));
                        std::thread::current().name().map(str::to_owned)
                    })
                    .await
                })
            })
            .collect();
        let mut threads = std::collections::BTreeSet::new();
        for run in runs {
            threads.insert(run.await.unwrap().unwrap());
        }
        // However many callers, the work (and what it allocates) stays on two threads.
        assert_eq!(
            threads.into_iter().flatten().collect::<Vec<_>>(),
            ["blocking-pool-0", "blocking-pool-1"]
        );
        let panicked = pool.run(|| panic!("hash failed")).await;
        assert!(
            matches!(panicked, Err(PoolError::Failed(_))),
            "{panicked:?}"
        );
        for _ in 0..4 {
            assert_eq!(pool.run(|| 7).await.unwrap(), 7);
        }
        assert_eq!(pool.permits.available_permits(), 2);
    }

    #[tokio::test]
    async fn the_pool_refuses_past_its_queue_instead_of_piling_up() {
        let pool = Arc::new(BlockingPool::new(1, 1, Duration::from_secs(5)));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let first = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || wait.recv().ok()).await })
        };
        // Until the first holds the only place, wait for it.
        while pool.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        while pool.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = pool.run(|| 3).await;
        assert!(matches!(refused, Err(PoolError::Busy(_))), "{refused:?}");
        release.send(()).unwrap();
        assert!(first.await.unwrap().is_ok());
        assert_eq!(queued.await.unwrap().unwrap(), 2);
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_while_waiting_gives_its_place_back() {
        let pool = Arc::new(BlockingPool::new(1, 1, Duration::from_secs(30)));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let holder = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || hold.recv().ok()).await })
        };
        while pool.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let gone = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| ()).await })
        };
        while pool.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        gone.abort();
        let _ = gone.await;
        assert_eq!(pool.waiting.load(Ordering::SeqCst), 0);
        release.send(()).unwrap();
        holder.await.unwrap().unwrap();
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }
}
