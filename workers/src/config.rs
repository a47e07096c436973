//! Runner settings, read from the environment.

use std::time::Duration;

use anyhow::Context;

/// How a [`crate::Runner`] claims and paces work.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Jobs run at once by this process (`WORKER_CONCURRENCY`, default 2).
    pub concurrency: usize,
    /// Jobs that mostly wait on a model (assistant runs, conversation titles) run at once by
    /// this process, beside the others: they neither take nor wait for the places above
    /// (`WORKER_WAITING_CONCURRENCY`, default 32).
    pub waiting_concurrency: usize,
    /// How long a claim holds a job before another worker may take it over
    /// (`WORKER_LEASE_SECS`, default 60). Heartbeats renew it every third of this.
    pub lease: Duration,
    /// Poll interval when no notification arrives (`WORKER_POLL_SECS`, default 5).
    pub poll_interval: Duration,
    /// First retry delay, doubled per attempt (`WORKER_RETRY_BASE_SECS`, default 5).
    pub retry_base: Duration,
    /// Longest retry delay (`WORKER_RETRY_MAX_SECS`, default 600).
    pub retry_max: Duration,
    /// Names this process in `locked_by` (`HOSTNAME`, default `worker`).
    pub host: String,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            waiting_concurrency: 32,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(5),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(600),
            host: "worker".to_owned(),
        }
    }
}

impl RunnerConfig {
    /// Reads the `WORKER_*` variables; unset ones keep their defaults.
    pub fn from_env() -> anyhow::Result<Self> {
        let defaults = Self::default();
        let concurrency = read_u64("WORKER_CONCURRENCY")?
            .map(usize::try_from)
            .transpose()
            .context("WORKER_CONCURRENCY is too large")?
            .unwrap_or(defaults.concurrency);
        anyhow::ensure!(concurrency > 0, "WORKER_CONCURRENCY must be at least 1");
        let waiting_concurrency = read_u64("WORKER_WAITING_CONCURRENCY")?
            .map(usize::try_from)
            .transpose()
            .context("WORKER_WAITING_CONCURRENCY is too large")?
            .unwrap_or(defaults.waiting_concurrency);
        anyhow::ensure!(
            waiting_concurrency > 0,
            "WORKER_WAITING_CONCURRENCY must be at least 1"
        );
        let secs = |name: &str, default: Duration| -> anyhow::Result<Duration> {
            Ok(read_u64(name)?.map_or(default, Duration::from_secs))
        };
        let config = Self {
            concurrency,
            waiting_concurrency,
            lease: secs("WORKER_LEASE_SECS", defaults.lease)?,
            poll_interval: secs("WORKER_POLL_SECS", defaults.poll_interval)?,
            retry_base: secs("WORKER_RETRY_BASE_SECS", defaults.retry_base)?,
            retry_max: secs("WORKER_RETRY_MAX_SECS", defaults.retry_max)?,
            host: std::env::var("HOSTNAME").unwrap_or(defaults.host),
        };
        anyhow::ensure!(
            config.lease >= Duration::from_secs(3),
            "WORKER_LEASE_SECS must be at least 3"
        );
        anyhow::ensure!(
            !config.poll_interval.is_zero(),
            "WORKER_POLL_SECS must be at least 1"
        );
        Ok(config)
    }
}

fn read_u64(name: &str) -> anyhow::Result<Option<u64>> {
    match std::env::var(name) {
        Ok(raw) => raw
            .trim()
            .parse()
            .map(Some)
            .with_context(|| format!("{name} must be a whole number, got {raw:?}")),
        Err(_) => Ok(None),
    }
}

/// The site's canonical address for the links in mail this process sends: the first of
/// `PUBLIC_URL` (as the server reads it); unset, the server's local default.
pub fn public_url_from_env() -> anyhow::Result<url::Url> {
    let raw = std::env::var("PUBLIC_URL").unwrap_or_default();
    let Some(first) = raw.split(',').map(str::trim).find(|part| !part.is_empty()) else {
        tracing::warn!("PUBLIC_URL is not set: links in mail point to http://localhost:3000");
        return Ok(url::Url::parse("http://localhost:3000/").expect("a valid address"));
    };
    url::Url::parse(first)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
        .with_context(|| {
            format!(
                "PUBLIC_URL must be http(s) URLs such as https://studio.school.org, not {first:?}"
            )
        })
}
