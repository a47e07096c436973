//! OpenAI Chat Completions, streamed, through `async-openai`; with another base URL it serves
//! any OpenAI-compatible server (Ollama `http://host:11434/v1`, vLLM, LM Studio).
//!
//! The request and chunk types are ours (async-openai's "bring your own types"), so fields
//! that compatible servers add, such as `reasoning_content`, are not lost.

use std::time::Duration;

use async_openai::{Client, config::OpenAIConfig, error::OpenAIError, middleware::ReqwestService};
use base64::{Engine, engine::general_purpose::STANDARD};
use futures::{StreamExt, future::BoxFuture};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{
    ChatProvider, ChatRequest, Decoder, Event, EventStream, FinishReason, LlmError, Part, Role,
    Usage, base_url, decode_stream, http_client,
};

/// Where the provider is and how to sign in to it.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// Default `https://api.openai.com/v1`.
    pub base_url: Option<String>,
    /// Optional for local servers.
    pub api_key: Option<SecretString>,
}

/// The adapter. Cheap to clone.
#[derive(Clone)]
pub struct OpenAi {
    client: Client<OpenAIConfig>,
    http: reqwest::Client,
    base: String,
    api_key: Option<SecretString>,
    /// OpenAI itself wants `max_completion_tokens`; compatible servers know `max_tokens`.
    is_openai: bool,
}

impl std::fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAi")
            .field("is_openai", &self.is_openai)
            .finish_non_exhaustive()
    }
}

const OPENAI_BASE: &str = "https://api.openai.com/v1";

impl OpenAi {
    pub fn new(settings: &OpenAiSettings) -> Result<Self, LlmError> {
        let base = base_url(settings.base_url.as_deref(), OPENAI_BASE);
        let mut config = OpenAIConfig::new().with_api_base(&base);
        if let Some(key) = &settings.api_key {
            config = config.with_api_key(key.expose_secret());
        }
        let http = http_client()?;
        // Retries are the guard's business (and only before the first token): leave out
        // async-openai's own retry layer.
        let client = Client::with_config(config)
            .with_http_client(http.clone())
            .with_http_service(ReqwestService::new(http.clone()));
        Ok(Self {
            client,
            http,
            is_openai: base == OPENAI_BASE,
            base,
            api_key: settings.api_key.clone(),
        })
    }
}

#[derive(Debug, Deserialize)]
struct ModelList {
    #[serde(default)]
    data: Vec<ListedModel>,
}

#[derive(Debug, Deserialize)]
struct ListedModel {
    id: String,
}

impl OpenAi {
    /// The model ids the server offers (`GET /models`): what an Ollama server has pulled,
    /// or every model an OpenAI key can reach. Sorted.
    pub async fn list_models(&self) -> Result<Vec<String>, LlmError> {
        let mut request = self
            .http
            .get(format!("{}/models", self.base))
            .timeout(Duration::from_secs(15));
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request
            .send()
            .await
            .map_err(|err| LlmError::Connect(err.to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|err| LlmError::Stream(err.to_string()))?;
        if !status.is_success() {
            return Err(LlmError::Rejected {
                status: status.as_u16(),
                message: body.chars().take(300).collect(),
            });
        }
        let list: ModelList =
            serde_json::from_str(&body).map_err(|err| LlmError::unreadable(err, &body))?;
        let mut ids: Vec<String> = list.data.into_iter().map(|m| m.id).collect();
        ids.sort();
        Ok(ids)
    }
}

#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage>,
    stream: bool,
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

#[derive(Debug, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Debug, Serialize)]
struct WireMessage {
    role: &'static str,
    content: WireContent,
}

/// Plain text as a string (what every compatible server reads), anything else as parts.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum WireContent {
    Text(String),
    Parts(Vec<WirePart>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WirePart {
    Text { text: String },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Debug, Serialize)]
struct ImageUrl {
    url: String,
}

fn wire_request(request: &ChatRequest, is_openai: bool) -> WireRequest<'_> {
    let messages = request
        .messages
        .iter()
        .map(|message| {
            let role = match message.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            let content = match message.parts.as_slice() {
                [Part::Text(text)] => WireContent::Text(text.clone()),
                parts => WireContent::Parts(
                    parts
                        .iter()
                        .map(|part| match part {
                            Part::Text(text) => WirePart::Text { text: text.clone() },
                            Part::Image { media_type, data } => WirePart::ImageUrl {
                                image_url: ImageUrl {
                                    url: format!(
                                        "data:{media_type};base64,{}",
                                        STANDARD.encode(data)
                                    ),
                                },
                            },
                        })
                        .collect(),
                ),
            };
            WireMessage { role, content }
        })
        .collect();
    WireRequest {
        model: &request.model,
        messages,
        stream: true,
        stream_options: StreamOptions {
            include_usage: true,
        },
        max_completion_tokens: request.max_output_tokens.filter(|_| is_openai),
        max_tokens: request.max_output_tokens.filter(|_| !is_openai),
        temperature: request.temperature,
    }
}

/// One `chat.completion.chunk`, or an error object some servers send mid-stream.
#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
    error: Option<WireError>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    content: Option<String>,
    /// DeepSeek, vLLM and others.
    reasoning_content: Option<String>,
    /// Ollama and OpenRouter.
    reasoning: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Debug, Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(default)]
    message: String,
}

fn map_error(err: OpenAIError) -> LlmError {
    match err {
        OpenAIError::ApiError(api) => LlmError::Rejected {
            status: api.status_code.as_u16(),
            message: api.api_error.message,
        },
        OpenAIError::Reqwest(err) if err.is_timeout() || err.is_connect() => {
            LlmError::Connect(err.to_string())
        }
        OpenAIError::Reqwest(err) => LlmError::Stream(err.to_string()),
        OpenAIError::StreamError(err) => LlmError::Stream(err.to_string()),
        OpenAIError::JSONDeserialize(err, content) => LlmError::unreadable(err, &content),
        other => LlmError::Protocol(other.to_string()),
    }
}

/// The events one chunk carries, in order.
fn chunk_events(chunk: Chunk) -> Result<Vec<Event>, LlmError> {
    if let Some(error) = chunk.error {
        return Err(LlmError::Stream(error.message));
    }
    let mut events = Vec::new();
    for choice in chunk.choices.into_iter().take(1) {
        let delta = choice.delta;
        if let Some(reasoning) = delta.reasoning_content.or(delta.reasoning)
            && !reasoning.is_empty()
        {
            events.push(Event::Reasoning(reasoning));
        }
        if let Some(text) = delta.content
            && !text.is_empty()
        {
            events.push(Event::Text(text));
        }
        if let Some(reason) = choice.finish_reason {
            events.push(Event::Finish(FinishReason::parse(&reason)));
        }
    }
    if let Some(usage) = chunk.usage {
        events.push(Event::Usage(Usage {
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
            cached_input_tokens: usage
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
        }));
    }
    Ok(events)
}

/// Chunks carry no state between them.
struct Chunks;

impl Decoder<Chunk> for Chunks {
    fn decode(&mut self, chunk: Chunk) -> Result<Vec<Event>, LlmError> {
        chunk_events(chunk)
    }
}

impl ChatProvider for OpenAi {
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<EventStream, LlmError>> {
        Box::pin(async move {
            let body = wire_request(&request, self.is_openai);
            let chunks = self
                .client
                .chat()
                .create_stream_byot::<_, Chunk>(body)
                .await
                .map_err(map_error)?;
            Ok(decode_stream(
                chunks.map(|chunk| chunk.map_err(map_error)).boxed(),
                Chunks,
            ))
        })
    }
}
