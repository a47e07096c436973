//! Amazon Bedrock `ConverseStream` (Claude, Llama, Nova, Mistral ... with one request shape)
//! through the AWS SDK: the reply comes as `application/vnd.amazon.eventstream` frames.
//!
//! Credentials: a Bedrock API key stored with the provider (sent as a bearer token), else the
//! default AWS chain (`AWS_BEARER_TOKEN_BEDROCK`, environment keys, profiles and SSO, web
//! identity, container and instance roles). The region is the provider's, else the chain's.
//! The SDK's own retries and stalled-stream cut-off are off: [`super::Guarded`] retries before
//! the first token and times silences, the same for every provider.

use std::{sync::Arc, time::Duration};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_bedrockruntime::{
    Client,
    config::{
        Region, StalledStreamProtectionConfig, Token, http::HttpResponse, retry::RetryConfig,
        timeout::TimeoutConfig,
    },
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    operation::converse_stream::ConverseStreamError,
    primitives::Blob,
    types::{
        ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput, ImageBlock,
        ImageFormat, ImageSource, InferenceConfiguration, Message as WireMessage,
        ReasoningContentBlockDelta, SystemContentBlock, TokenUsage,
    },
};
use futures::{StreamExt, future::BoxFuture, stream};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use super::{
    ChatProvider, ChatRequest, Decoder, Event, EventStream, FinishReason, LlmError, Message, Part,
    Role, Usage, decode_stream,
};

#[derive(Debug, Clone, Default)]
pub struct BedrockSettings {
    /// e.g. `us-east-1`; default: the AWS chain's (`AWS_REGION`, the profile ...).
    pub region: Option<String>,
    /// An endpoint other than the region's (a VPC endpoint, a proxy).
    pub endpoint_url: Option<String>,
    /// A Bedrock API key; without one, the default AWS credential chain signs requests.
    pub api_key: Option<SecretString>,
}

/// The adapter. Cheap to clone; the SDK client is made on first use (finding the region and
/// credentials may ask the instance metadata service) and then shared.
#[derive(Clone)]
pub struct Bedrock {
    settings: BedrockSettings,
    /// The AWS configuration to start from; `None`: load the default chain.
    shared: Option<SdkConfig>,
    client: Arc<OnceCell<Client>>,
}

impl std::fmt::Debug for Bedrock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bedrock")
            .field("region", &self.settings.region)
            .field("endpoint_url", &self.settings.endpoint_url)
            .finish_non_exhaustive()
    }
}

impl Bedrock {
    /// Uses the default AWS chain for what `settings` leaves out.
    pub fn new(settings: BedrockSettings) -> Self {
        Self {
            settings,
            shared: None,
            client: Arc::default(),
        }
    }

    /// Starts from the given AWS configuration instead of the default chain.
    pub fn with_config(settings: BedrockSettings, shared: SdkConfig) -> Self {
        Self {
            settings,
            shared: Some(shared),
            client: Arc::default(),
        }
    }

    async fn client(&self) -> Result<&Client, LlmError> {
        self.client
            .get_or_try_init(|| async {
                let region =
                    clean(self.settings.region.as_deref()).map(|r| Region::new(r.to_owned()));
                let shared = match &self.shared {
                    Some(shared) => shared.clone(),
                    // A region of our own skips looking one up (which may ask the instance
                    // metadata service and wait for it).
                    None => {
                        let mut loader = aws_config::defaults(BehaviorVersion::latest());
                        if let Some(region) = region.clone() {
                            loader = loader.region(region);
                        }
                        loader.load().await
                    }
                };
                let mut config = aws_sdk_bedrockruntime::config::Builder::from(&shared)
                    .retry_config(RetryConfig::disabled())
                    .timeout_config(
                        TimeoutConfig::builder()
                            .connect_timeout(Duration::from_secs(10))
                            .build(),
                    )
                    .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
                if let Some(region) = region {
                    config = config.region(region);
                }
                if let Some(url) = clean(self.settings.endpoint_url.as_deref()) {
                    config = config.endpoint_url(url);
                }
                if let Some(key) = &self.settings.api_key {
                    config = config
                        .bearer_token(Token::new(key.expose_secret().to_owned(), None))
                        .auth_scheme_preference([
                            aws_smithy_runtime_api::client::auth::http::HTTP_BEARER_AUTH_SCHEME_ID,
                        ]);
                }
                let config = config.build();
                if config.region().is_none() {
                    return Err(LlmError::Setup(
                        "no AWS region: set one for the provider or AWS_REGION".to_owned(),
                    ));
                }
                Ok(Client::from_conf(config))
            })
            .await
    }
}

fn clean(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn image_format(media_type: &str) -> Option<ImageFormat> {
    match media_type {
        "image/png" => Some(ImageFormat::Png),
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::Webp),
        _ => None,
    }
}

fn content(parts: &[Part]) -> Result<Vec<ContentBlock>, LlmError> {
    let mut blocks = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            // Bedrock refuses blank text blocks.
            Part::Text(text) if text.trim().is_empty() => {}
            Part::Text(text) => blocks.push(ContentBlock::Text(text.clone())),
            Part::Image { media_type, data } => {
                let format = image_format(media_type).ok_or_else(|| LlmError::Rejected {
                    status: 400,
                    message: format!("Bedrock does not take {media_type} images"),
                })?;
                let image = ImageBlock::builder()
                    .format(format)
                    .source(ImageSource::Bytes(Blob::new(data.to_vec())))
                    .build()
                    .map_err(|err| LlmError::Setup(err.to_string()))?;
                blocks.push(ContentBlock::Image(image));
            }
        }
    }
    Ok(blocks)
}

/// The system text and the turns, with turns of the same role next to each other merged
/// (Bedrock wants user and assistant to alternate; a failed reply left out of the history
/// leaves two user turns in a row).
fn wire_messages(
    messages: &[Message],
) -> Result<(Vec<SystemContentBlock>, Vec<WireMessage>), LlmError> {
    let mut system = Vec::new();
    let mut turns: Vec<(ConversationRole, Vec<ContentBlock>)> = Vec::new();
    for message in messages {
        let role = match message.role {
            Role::System => {
                for part in &message.parts {
                    if let Part::Text(text) = part
                        && !text.trim().is_empty()
                    {
                        system.push(SystemContentBlock::Text(text.clone()));
                    }
                }
                continue;
            }
            Role::User => ConversationRole::User,
            Role::Assistant => ConversationRole::Assistant,
        };
        let blocks = content(&message.parts)?;
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let turns = turns
        .into_iter()
        .map(|(role, blocks)| {
            WireMessage::builder()
                .role(role)
                .set_content(Some(blocks))
                .build()
                .map_err(|err| LlmError::Setup(err.to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok((system, turns))
}

fn usage(usage: &TokenUsage) -> Usage {
    let count = |n: i32| u64::try_from(n).unwrap_or(0);
    let cache_read = count(usage.cache_read_input_tokens.unwrap_or(0));
    let cache_write = count(usage.cache_write_input_tokens.unwrap_or(0));
    // Bedrock counts cached and cache-writing input apart from `inputTokens`.
    Usage {
        input_tokens: count(usage.input_tokens) + cache_read + cache_write,
        output_tokens: count(usage.output_tokens),
        cached_input_tokens: cache_read,
    }
}

/// `messageStop` carries the finish reason, the `metadata` event after it the usage.
struct Events;

impl Decoder<ConverseStreamOutput> for Events {
    fn decode(&mut self, event: ConverseStreamOutput) -> Result<Vec<Event>, LlmError> {
        Ok(match event {
            ConverseStreamOutput::ContentBlockDelta(delta) => match delta.delta {
                Some(ContentBlockDelta::Text(text)) if !text.is_empty() => vec![Event::Text(text)],
                Some(ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(
                    text,
                ))) if !text.is_empty() => vec![Event::Reasoning(text)],
                _ => Vec::new(),
            },
            ConverseStreamOutput::MessageStop(stop) => {
                vec![Event::Finish(FinishReason::parse(
                    stop.stop_reason.as_str(),
                ))]
            }
            ConverseStreamOutput::Metadata(metadata) => metadata
                .usage
                .as_ref()
                .map(|u| Event::Usage(usage(u)))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        })
    }
}

/// The message Bedrock gave with an error, else the error's own description.
fn service_message<E: ProvideErrorMetadata + std::error::Error + 'static>(err: &E) -> String {
    err.message()
        .map_or_else(|| DisplayErrorContext(err).to_string(), str::to_owned)
}

/// A refused or failed `ConverseStream` call.
fn call_error(err: SdkError<ConverseStreamError, HttpResponse>) -> LlmError {
    match &err {
        SdkError::ServiceError(service) => LlmError::Rejected {
            status: service.raw().status().as_u16(),
            message: service_message(service.err()),
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            LlmError::Connect(DisplayErrorContext(&err).to_string())
        }
        SdkError::ConstructionFailure(_) => LlmError::Setup(DisplayErrorContext(&err).to_string()),
        _ => LlmError::Protocol(DisplayErrorContext(&err).to_string()),
    }
}

impl ChatProvider for Bedrock {
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<EventStream, LlmError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let (system, messages) = wire_messages(&request.messages)?;
            let inference = InferenceConfiguration::builder()
                .set_max_tokens(
                    request
                        .max_output_tokens
                        .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
                )
                .set_temperature(request.temperature)
                .build();
            let output = client
                .converse_stream()
                .model_id(&request.model)
                .set_system((!system.is_empty()).then_some(system))
                .set_messages(Some(messages))
                .inference_config(inference)
                .send()
                .await
                .map_err(call_error)?;
            let events = stream::unfold(Some(output.stream), |receiver| async move {
                let mut receiver = receiver?;
                match receiver.recv().await {
                    Ok(Some(event)) => Some((Ok(event), Some(receiver))),
                    Ok(None) => None,
                    Err(err) => Some((Err(stream_error(err)), None)),
                }
            })
            .boxed();
            Ok(decode_stream(events, Events))
        })
    }
}

/// A failure after the reply started: an exception frame from the model, or frames that do
/// not decode.
fn stream_error<E, R>(err: SdkError<E, R>) -> LlmError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(service) => LlmError::Stream(service_message(service.err())),
        SdkError::ResponseError(_) => LlmError::Protocol(DisplayErrorContext(&err).to_string()),
        _ => LlmError::Stream(DisplayErrorContext(&err).to_string()),
    }
}
