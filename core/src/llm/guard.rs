//! The policy around every provider call: time limits, retries before the first event, and
//! a circuit breaker.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{StreamExt, future::BoxFuture, stream};
use tokio::time::Instant;

use super::{ChatProvider, ChatRequest, Event, EventStream, LlmError};

/// How hard to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included.
    pub attempts: u32,
    /// The first wait; doubled per retry, with up to 50 % jitter.
    pub backoff: Duration,
    /// Longest wait for the provider to accept the call and send its first event.
    pub first_event_timeout: Duration,
    /// Longest silence between two events once streaming.
    pub idle_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Duration::from_millis(500),
            first_event_timeout: Duration::from_secs(90),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe call is out; others wait for its outcome.
    HalfOpen,
}

/// Stops calling a provider after `threshold` failures in a row, for `cooldown`; then lets
/// one probe through, which closes the circuit if it succeeds and opens it again if not.
#[derive(Debug)]
pub struct CircuitBreaker {
    state: Mutex<State>,
    threshold: u32,
    cooldown: Duration,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold: threshold.max(1),
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// May a call go out now?
    pub fn admit(&self) -> Result<(), LlmError> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } => {
                let now = Instant::now();
                if now < until {
                    Err(LlmError::CircuitOpen(until - now))
                } else {
                    *state = State::HalfOpen;
                    Ok(())
                }
            }
            State::HalfOpen => Err(LlmError::CircuitOpen(self.cooldown)),
        }
    }

    pub fn succeeded(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    pub fn failed(&self) {
        let mut state = self.lock();
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            _ => State::Open {
                until: Instant::now() + self.cooldown,
            },
        };
    }

    pub fn is_open(&self) -> bool {
        !matches!(*self.lock(), State::Closed { .. })
    }
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        Self::new(5, Duration::from_secs(30))
    }
}

/// A provider with the call policy applied. Cheap to clone; clones share the breaker.
#[derive(Clone)]
pub struct Guarded {
    inner: Arc<dyn ChatProvider>,
    policy: RetryPolicy,
    breaker: Arc<CircuitBreaker>,
}

impl Guarded {
    pub fn new(inner: Arc<dyn ChatProvider>, policy: RetryPolicy, breaker: CircuitBreaker) -> Self {
        Self {
            inner,
            policy,
            breaker: Arc::new(breaker),
        }
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// One try: the provider accepts the call and sends a first event, in time.
    async fn attempt(&self, request: ChatRequest) -> Result<(Event, EventStream), LlmError> {
        let limit = self.policy.first_event_timeout;
        let first = async {
            let mut events = self.inner.stream(request).await?;
            match events.next().await {
                Some(Ok(event)) => Ok((event, events)),
                Some(Err(err)) => Err(err),
                None => Err(LlmError::Stream("the reply was empty".to_owned())),
            }
        };
        tokio::time::timeout(limit, first)
            .await
            .unwrap_or(Err(LlmError::Timeout(limit)))
    }

    fn backoff(&self, retry: u32) -> Duration {
        let base = self.policy.backoff.saturating_mul(1 << retry.min(10));
        let jitter = rand::random_range(0.0..0.5);
        base.mul_f64(1.0 + jitter)
    }
}

impl ChatProvider for Guarded {
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<EventStream, LlmError>> {
        Box::pin(async move {
            let mut retry = 0;
            let (first, rest) = loop {
                self.breaker.admit()?;
                match self.attempt(request.clone()).await {
                    Ok(started) => {
                        self.breaker.succeeded();
                        break started;
                    }
                    Err(err) => {
                        if !err.is_transient() {
                            // The request's fault, not the provider's health.
                            self.breaker.succeeded();
                            return Err(err);
                        }
                        self.breaker.failed();
                        retry += 1;
                        if retry >= self.policy.attempts {
                            return Err(err);
                        }
                        tracing::warn!(error = %err, retry, "provider call failed; retrying");
                        tokio::time::sleep(self.backoff(retry - 1)).await;
                    }
                }
            };
            Ok(with_idle_timeout(first, rest, self.policy.idle_timeout))
        })
    }
}

/// The stream after its first event, failing with a timeout if the provider falls silent.
fn with_idle_timeout(first: Event, rest: EventStream, idle: Duration) -> EventStream {
    let rest = stream::unfold(Some(rest), move |events| async move {
        let mut events = events?;
        match tokio::time::timeout(idle, events.next()).await {
            Ok(Some(item)) => Some((item, Some(events))),
            Ok(None) => None,
            // Report the silence once, then end.
            Err(_) => Some((Err(LlmError::Timeout(idle)), None)),
        }
    });
    stream::once(async move { Ok(first) }).chain(rest).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_breaker_opens_after_repeated_failures_and_probes_once() {
        let breaker = CircuitBreaker::new(3, Duration::from_secs(30));
        for _ in 0..2 {
            breaker.admit().unwrap();
            breaker.failed();
        }
        assert!(!breaker.is_open(), "two failures are not enough");
        breaker.admit().unwrap();
        breaker.failed();
        assert!(matches!(breaker.admit(), Err(LlmError::CircuitOpen(_))));

        tokio::time::advance(Duration::from_secs(31)).await;
        breaker.admit().expect("one probe after the cooldown");
        assert!(
            matches!(breaker.admit(), Err(LlmError::CircuitOpen(_))),
            "only one probe at a time"
        );
        breaker.failed();
        assert!(
            matches!(breaker.admit(), Err(LlmError::CircuitOpen(_))),
            "a failed probe opens it again"
        );

        tokio::time::advance(Duration::from_secs(31)).await;
        breaker.admit().unwrap();
        breaker.succeeded();
        assert!(!breaker.is_open());
        breaker.admit().unwrap();
    }

    #[test]
    fn only_provider_side_failures_are_transient() {
        let rejected = |status| LlmError::Rejected {
            status,
            message: String::new(),
        };
        assert!(rejected(429).is_transient());
        assert!(rejected(503).is_transient());
        assert!(!rejected(400).is_transient());
        assert!(!rejected(401).is_transient());
        assert!(LlmError::Timeout(Duration::from_secs(1)).is_transient());
        assert!(!LlmError::Protocol("x".into()).is_transient());
    }
}
