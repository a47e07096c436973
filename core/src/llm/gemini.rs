//! Google AI (Gemini) `streamGenerateContent` over server-sent events, with reqwest.

use base64::{Engine, engine::general_purpose::STANDARD};
use eventsource_stream::Eventsource;
use futures::{StreamExt, future::BoxFuture};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{
    ChatProvider, ChatRequest, Decoder, Event, EventStream, FinishReason, LlmError, Part, Role,
    Usage, base_url, decode_stream, http_client,
};

const GEMINI_BASE: &str = "https://generativelanguage.googleapis.com";

#[derive(Debug, Clone)]
pub struct GeminiSettings {
    /// Default `https://generativelanguage.googleapis.com`.
    pub base_url: Option<String>,
    pub api_key: SecretString,
}

/// The adapter. Cheap to clone.
#[derive(Clone)]
pub struct Gemini {
    http: reqwest::Client,
    base: String,
    api_key: SecretString,
}

impl std::fmt::Debug for Gemini {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gemini")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Gemini {
    pub fn new(settings: &GeminiSettings) -> Result<Self, LlmError> {
        Ok(Self {
            http: http_client()?,
            base: base_url(settings.base_url.as_deref(), GEMINI_BASE),
            api_key: settings.api_key.clone(),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest {
    contents: Vec<Content>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<Content>,
    generation_config: GenerationConfig,
}

#[derive(Debug, Serialize)]
struct Content {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    parts: Vec<WirePart>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
enum WirePart {
    Text(String),
    InlineData(InlineData),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InlineData {
    mime_type: String,
    data: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

fn wire_parts(parts: &[Part]) -> Vec<WirePart> {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => WirePart::Text(text.clone()),
            Part::Image { media_type, data } => WirePart::InlineData(InlineData {
                mime_type: media_type.clone(),
                data: STANDARD.encode(data),
            }),
        })
        .collect()
}

fn wire_request(request: &ChatRequest) -> WireRequest {
    let system: Vec<WirePart> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .flat_map(|m| wire_parts(&m.parts))
        .collect();
    WireRequest {
        contents: request
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| Content {
                role: Some(if m.role == Role::Assistant {
                    "model"
                } else {
                    "user"
                }),
                parts: wire_parts(&m.parts),
            })
            .collect(),
        system_instruction: (!system.is_empty()).then_some(Content {
            role: None,
            parts: system,
        }),
        generation_config: GenerationConfig {
            max_output_tokens: request.max_output_tokens,
            temperature: request.temperature,
        },
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk {
    #[serde(default)]
    candidates: Vec<Candidate>,
    usage_metadata: Option<UsageMetadata>,
    error: Option<WireError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<CandidateContent>,
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CandidateContent {
    #[serde(default)]
    parts: Vec<ResponsePart>,
}

#[derive(Debug, Deserialize)]
struct ResponsePart {
    text: Option<String>,
    #[serde(default)]
    thought: bool,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    /// Thinking is billed as output.
    #[serde(default)]
    thoughts_token_count: u64,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: WireError,
}

#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(default)]
    message: String,
}

/// Reads one chunk into events, keeping its usage aside in `usage`.
fn chunk_events(chunk: Chunk, usage: &mut Option<UsageMetadata>) -> Result<Vec<Event>, LlmError> {
    if let Some(error) = chunk.error {
        return Err(LlmError::Stream(error.message));
    }
    if let Some(metadata) = chunk.usage_metadata {
        *usage = Some(metadata);
    }
    let mut events = Vec::new();
    if let Some(candidate) = chunk.candidates.into_iter().next() {
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            match part.text {
                Some(text) if !text.is_empty() && part.thought => {
                    events.push(Event::Reasoning(text));
                }
                Some(text) if !text.is_empty() => events.push(Event::Text(text)),
                _ => {}
            }
        }
        if let Some(reason) = candidate.finish_reason {
            events.push(Event::Finish(FinishReason::parse(&reason)));
        }
    }
    Ok(events)
}

fn usage_event(metadata: UsageMetadata) -> Event {
    Event::Usage(Usage {
        input_tokens: metadata.prompt_token_count,
        output_tokens: metadata.candidates_token_count + metadata.thoughts_token_count,
        cached_input_tokens: metadata.cached_content_token_count,
    })
}

/// Usage is cumulative in Gemini chunks: the latest is kept and sent once, at the end.
#[derive(Default)]
struct Chunks {
    usage: Option<UsageMetadata>,
}

impl Decoder<String> for Chunks {
    fn decode(&mut self, data: String) -> Result<Vec<Event>, LlmError> {
        let chunk =
            serde_json::from_str::<Chunk>(&data).map_err(|err| LlmError::unreadable(err, &data))?;
        chunk_events(chunk, &mut self.usage)
    }

    fn finish(&mut self) -> Vec<Event> {
        self.usage.take().map(usage_event).into_iter().collect()
    }
}

impl ChatProvider for Gemini {
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<EventStream, LlmError>> {
        Box::pin(async move {
            let url = format!(
                "{}/v1beta/models/{}:streamGenerateContent?alt=sse",
                self.base, request.model
            );
            let response = self
                .http
                .post(url)
                .header("x-goog-api-key", self.api_key.expose_secret())
                .json(&wire_request(&request))
                .send()
                .await
                .map_err(|err| LlmError::Connect(err.to_string()))?;
            let status = response.status();
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                let message = serde_json::from_str::<ErrorBody>(&body)
                    .map(|b| b.error.message)
                    .unwrap_or_else(|_| body.chars().take(300).collect());
                return Err(LlmError::Rejected {
                    status: status.as_u16(),
                    message,
                });
            }
            let chunks = response
                .bytes_stream()
                .eventsource()
                .map(|event| {
                    event
                        .map(|event| event.data)
                        .map_err(|err| LlmError::Stream(err.to_string()))
                })
                .boxed();
            Ok(decode_stream(chunks, Chunks::default()))
        })
    }
}
