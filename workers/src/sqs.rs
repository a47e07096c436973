//! The SQS consumer: takes S3 upload notifications from the queue and processes their items
//! ([`crate::events`]).
//!
//! A message is deleted only once handled; while it is being handled its visibility is
//! extended, so a long item is not delivered to a second worker meanwhile. A message that
//! should be tried again is made visible after a backoff; after the queue's `maxReceiveCount`
//! deliveries its redrive policy moves it to the dead-letter queue. At most `concurrency`
//! messages are handled at once. On shutdown the consumer stops receiving, and messages in
//! hand stop at their next step and come back after a short delay for another worker.

use std::{sync::Arc, time::Duration};

use aws_sdk_sqs::{
    Client,
    error::DisplayErrorContext,
    types::{Message, MessageSystemAttributeName},
};
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::events::{Disposition, EventHandler};

/// How the consumer paces itself.
#[derive(Debug, Clone)]
pub struct SqsConfig {
    pub queue_url: String,
    /// Messages handled at once (`WORKER_CONCURRENCY`).
    pub concurrency: usize,
    /// Long-poll wait per receive (`WORKER_SQS_WAIT_SECS`, default 20).
    pub wait: Duration,
    /// How long a received message stays hidden; renewed every third of it while handled
    /// (`WORKER_SQS_VISIBILITY_SECS`, default 120).
    pub visibility: Duration,
}

impl SqsConfig {
    /// `queue_url`, paced by the `WORKER_SQS_*` variables and `runner`'s concurrency.
    pub fn from_env(queue_url: String, runner: &crate::RunnerConfig) -> anyhow::Result<Self> {
        let secs = |name: &str, default: u64| -> anyhow::Result<Duration> {
            match std::env::var(name) {
                Ok(raw) => raw
                    .trim()
                    .parse()
                    .map(Duration::from_secs)
                    .map_err(|_| anyhow::anyhow!("{name} must be a whole number, got {raw:?}")),
                Err(_) => Ok(Duration::from_secs(default)),
            }
        };
        let config = Self {
            queue_url,
            concurrency: runner.concurrency,
            wait: secs("WORKER_SQS_WAIT_SECS", 20)?,
            visibility: secs("WORKER_SQS_VISIBILITY_SECS", 120)?,
        };
        anyhow::ensure!(
            config.wait <= Duration::from_secs(20),
            "WORKER_SQS_WAIT_SECS must be at most 20"
        );
        anyhow::ensure!(
            config.visibility >= Duration::from_secs(3),
            "WORKER_SQS_VISIBILITY_SECS must be at least 3"
        );
        Ok(config)
    }
}

/// Takes messages from one queue until shut down.
#[derive(Debug, Clone)]
pub struct SqsConsumer {
    client: Client,
    config: SqsConfig,
    handler: Arc<EventHandler>,
}

fn secs(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

impl SqsConsumer {
    pub fn new(sdk: &aws_config::SdkConfig, config: SqsConfig, handler: EventHandler) -> Self {
        Self {
            client: Client::new(sdk),
            config,
            handler: Arc::new(handler),
        }
    }

    /// Receives and handles messages until `shutdown`, then waits for those in hand.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(queue = self.config.queue_url, "taking uploads from SQS");
        let slots = Arc::new(Semaphore::new(self.config.concurrency));
        let mut tasks = JoinSet::new();
        while !shutdown.is_cancelled() {
            // Waits for a free slot before asking for more.
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => permit,
                () = shutdown.cancelled() => break,
            };
            let Ok(first) = permit else {
                break;
            };
            let free = 1 + slots.available_permits().min(9);
            let received = tokio::select! {
                received = self.receive(free) => received,
                () = shutdown.cancelled() => break,
            };
            let messages = match received {
                Ok(messages) => messages,
                Err(err) => {
                    tracing::warn!(
                        error = err,
                        "could not receive from SQS; trying again shortly"
                    );
                    drop(first);
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(5)) => {}
                        () = shutdown.cancelled() => break,
                    }
                    continue;
                }
            };
            let mut first = Some(first);
            for message in messages {
                let permit = match first.take() {
                    Some(permit) => permit,
                    None => match slots.clone().try_acquire_owned() {
                        Ok(permit) => permit,
                        // Not expected (we asked for no more than the free slots): wait.
                        Err(_) => match slots.clone().acquire_owned().await {
                            Ok(permit) => permit,
                            Err(_) => break,
                        },
                    },
                };
                let consumer = self.clone();
                let shutdown = shutdown.clone();
                tasks.spawn(async move {
                    consumer.handle(message, &shutdown).await;
                    drop(permit);
                });
            }
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!("stopped taking uploads from SQS");
    }

    async fn receive(&self, max: usize) -> Result<Vec<Message>, String> {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.config.queue_url)
            .max_number_of_messages(i32::try_from(max).unwrap_or(10))
            .wait_time_seconds(secs(self.config.wait))
            .visibility_timeout(secs(self.config.visibility))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|err| DisplayErrorContext(&err).to_string())?;
        Ok(received.messages.unwrap_or_default())
    }

    /// Handles one message with its visibility kept up, then deletes it or sets it to come
    /// back after the retry delay.
    pub async fn handle(&self, message: Message, shutdown: &CancellationToken) {
        let Some(receipt) = message.receipt_handle().map(str::to_owned) else {
            return;
        };
        let receive = message
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|count| count.parse().ok())
            .unwrap_or(1);
        let body = message.body().unwrap_or_default();
        let disposition = {
            let handled = self.handler.handle(body, receive, shutdown);
            tokio::pin!(handled);
            let mut renew = tokio::time::interval(self.config.visibility / 3);
            renew.tick().await;
            loop {
                tokio::select! {
                    disposition = &mut handled => break disposition,
                    _ = renew.tick() => self.set_visibility(&receipt, self.config.visibility).await,
                }
            }
        };
        match disposition {
            Disposition::Done => {
                let deleted = self
                    .client
                    .delete_message()
                    .queue_url(&self.config.queue_url)
                    .receipt_handle(&receipt)
                    .send()
                    .await;
                if let Err(err) = deleted {
                    // It comes back, and is skipped as a repeat.
                    tracing::warn!(error = %DisplayErrorContext(&err), "could not delete a handled message");
                }
            }
            Disposition::Retry { after, reason } => {
                let after = if shutdown.is_cancelled() {
                    Duration::from_secs(1)
                } else {
                    after
                };
                tracing::info!(
                    receive,
                    retry_in_s = after.as_secs(),
                    reason,
                    "an upload message will be tried again"
                );
                self.set_visibility(&receipt, after).await;
            }
        }
    }

    async fn set_visibility(&self, receipt: &str, visibility: Duration) {
        let changed = self
            .client
            .change_message_visibility()
            .queue_url(&self.config.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(secs(visibility))
            .send()
            .await;
        if let Err(err) = changed {
            tracing::warn!(error = %DisplayErrorContext(&err), "could not change a message's visibility");
        }
    }
}
