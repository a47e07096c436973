//! Chat model providers behind one small trait.
//!
//! A [`ChatProvider`] takes a [`ChatRequest`] and yields a stream of [`Event`]s: text and
//! reasoning deltas, token usage, and the finish reason. Adapters speak each provider's wire
//! format (`openai` also serves OpenAI-compatible servers: Ollama, vLLM, LM Studio;
//! `gemini` is the Google AI API; `bedrock` is Amazon Bedrock's `ConverseStream`; `local` is
//! the tiny built-in model run on the CPU).
//! [`Guarded`] wraps any provider with the policy every call gets: a time limit for the first
//! event and between events, retries with backoff while nothing has been streamed yet, and a
//! circuit breaker that stops calling a failing provider for a while.

pub mod bedrock;
pub mod gemini;
mod guard;
pub mod local;
pub mod openai;
pub mod registry;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
#[cfg(test)]
mod tests;

use std::{sync::Arc, time::Duration};

use futures::{
    StreamExt,
    future::BoxFuture,
    stream::{self, BoxStream},
};

pub use guard::{CircuitBreaker, Guarded, RetryPolicy};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// An image for vision-capable models; `media_type` such as `image/png`.
    Image {
        media_type: String,
        data: Arc<[u8]>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

impl Message {
    /// A message of plain text.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            parts: vec![Part::Text(text.into())],
        }
    }
}

/// What to ask a model. Cheap to clone (retries send it again).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The provider's model id (`gpt-4.1-mini`, `llama3.2`, ...).
    pub model: String,
    pub messages: Vec<Message>,
    pub max_output_tokens: Option<u32>,
    pub temperature: Option<f32>,
}

/// Tokens a call used, as the provider counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens served from the provider's prompt cache (part of `input_tokens`).
    pub cached_input_tokens: u64,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// It was done.
    Stop,
    /// It hit the output token limit.
    Length,
    /// The provider's safety filter stopped it.
    ContentFilter,
    /// It wants to call tools.
    ToolCalls,
    /// Anything else, as the provider named it.
    Other(String),
}

impl FinishReason {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "stop" | "end_turn" | "STOP" | "stop_sequence" => Self::Stop,
            "length" | "max_tokens" | "MAX_TOKENS" => Self::Length,
            "content_filter" | "content_filtered" | "SAFETY" | "guardrail_intervened" => {
                Self::ContentFilter
            }
            "tool_calls" | "tool_use" => Self::ToolCalls,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One thing a streaming reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Text(String),
    Reasoning(String),
    Usage(Usage),
    Finish(FinishReason),
}

/// Why a call failed. [`LlmError::is_transient`] says whether trying again may help (and
/// whether the failure counts against the provider's health).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    #[error("the provider did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach the provider: {0}")]
    Connect(String),
    #[error("the provider refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the provider's stream broke off: {0}")]
    Stream(String),
    #[error("the provider sent something unreadable: {0}")]
    Protocol(String),
    #[error("the provider is failing; calls resume in {} s", .0.as_secs().max(1))]
    CircuitOpen(Duration),
    #[error("the provider is not set up: {0}")]
    Setup(String),
}

impl LlmError {
    /// A body that did not parse, with the start of what came.
    fn unreadable(err: impl std::fmt::Display, body: &str) -> Self {
        Self::Protocol(format!(
            "{err}: {}",
            body.chars().take(200).collect::<String>()
        ))
    }

    /// What people are told: the kind of failure in a few words, never the provider's own text
    /// (which can echo internal addresses, request details or another service's page). The
    /// whole error goes to the server log where it is handled.
    pub fn category(&self) -> String {
        match self {
            Self::Timeout(_) => "the provider did not answer in time".into(),
            Self::Connect(_) => "the provider could not be reached".into(),
            Self::Rejected { status, .. } => {
                let why = match status {
                    401 | 403 => "the key was not accepted",
                    404 => "the model or address was not found",
                    408 => "it took too long",
                    413 => "the request is too large",
                    429 => "quota or rate limit exceeded",
                    400 | 422 => {
                        "the request was not accepted (too long, or not supported by this model)"
                    }
                    500..=599 => "the provider had an internal error",
                    _ => "an unexpected answer",
                };
                format!("the provider refused the request: {why}")
            }
            Self::Stream(_) => "the provider's reply broke off".into(),
            Self::Protocol(_) => "the provider's answer could not be read".into(),
            Self::CircuitOpen(_) => self.to_string(),
            Self::Setup(_) => "the provider is not set up correctly".into(),
        }
    }

    /// Timeouts, connection failures, broken streams, rate limits and server errors may pass;
    /// a refused request (bad key, unknown model, too long), unreadable output or an open
    /// circuit will not by trying again at once.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Connect(_) | Self::Stream(_) => true,
            Self::Rejected { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Protocol(_) | Self::CircuitOpen(_) | Self::Setup(_) => false,
        }
    }
}

/// A reply as it streams.
pub type EventStream = BoxStream<'static, Result<Event, LlmError>>;

/// A connection to one provider (a base URL and credentials); the model is per request.
pub trait ChatProvider: Send + Sync {
    /// Sends the request. Resolves once the provider has accepted it; the reply follows on
    /// the stream, which ends after [`Event::Finish`] and the usage (or with an error).
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<EventStream, LlmError>>;
}

/// The HTTP client adapters use: a connect timeout but no overall one (replies stream for
/// minutes; [`Guarded`] times first events and silences instead).
fn http_client() -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|err| LlmError::Connect(err.to_string()))
}

/// The configured base URL without a trailing slash, or `default` when none is set.
fn base_url(configured: Option<&str>, default: &str) -> String {
    configured
        .map(|url| url.trim().trim_end_matches('/'))
        .filter(|url| !url.is_empty())
        .unwrap_or(default)
        .to_owned()
}

/// How an adapter reads its provider's chunks into events.
trait Decoder<C>: Send + 'static {
    fn decode(&mut self, chunk: C) -> Result<Vec<Event>, LlmError>;

    /// Events held back until the stream ends after the model finished (e.g. usage).
    fn finish(&mut self) -> Vec<Event> {
        Vec::new()
    }
}

/// A provider's chunks as events. The first error ends the stream, and a stream that ends
/// before [`Event::Finish`] was cut: it ends with an error instead of passing as complete.
fn decode_stream<C, D>(chunks: BoxStream<'static, Result<C, LlmError>>, decoder: D) -> EventStream
where
    C: Send + 'static,
    D: Decoder<C>,
{
    struct Reading<C, D> {
        chunks: BoxStream<'static, Result<C, LlmError>>,
        decoder: D,
        finished: bool,
        over: bool,
    }
    let reading = Reading {
        chunks,
        decoder,
        finished: false,
        over: false,
    };
    stream::unfold(reading, |mut reading| async move {
        if reading.over {
            return None;
        }
        let batch: Vec<Result<Event, LlmError>> = match reading.chunks.next().await {
            Some(Ok(chunk)) => match reading.decoder.decode(chunk) {
                Ok(events) => {
                    reading.finished |= events.iter().any(|e| matches!(e, Event::Finish(_)));
                    events.into_iter().map(Ok).collect()
                }
                Err(err) => {
                    reading.over = true;
                    vec![Err(err)]
                }
            },
            Some(Err(err)) => {
                reading.over = true;
                vec![Err(err)]
            }
            None => {
                reading.over = true;
                if reading.finished {
                    reading.decoder.finish().into_iter().map(Ok).collect()
                } else {
                    vec![Err(LlmError::Stream(
                        "the reply ended before the model finished".to_owned(),
                    ))]
                }
            }
        };
        Some((stream::iter(batch), reading))
    })
    .flatten()
    .boxed()
}
