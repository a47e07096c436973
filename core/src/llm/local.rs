//! The built-in model: SmolLM2-135M-Instruct (a GGUF file) run with candle on the CPU, so a
//! fresh install can chat with no account and no network. A tiny demonstration model.
//!
//! The file is read on the first call, not at start-up. Generations run one at a time on a
//! blocking thread (the model uses every core) and stop as soon as the caller drops the
//! stream.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use candle_core::{
    Device, Tensor,
    quantized::{gguf_file, tokenizer::TokenizerFromGguf},
};
use candle_transformers::{
    generation::{LogitsProcessor, Sampling},
    models::quantized_llama::{MAX_SEQ_LEN, ModelWeights},
    utils::apply_repeat_penalty,
};
use futures::{FutureExt, StreamExt, future::BoxFuture};
use tokenizers::Tokenizer;
use tokio::sync::{OnceCell, Semaphore, mpsc};

use super::{
    ChatProvider, ChatRequest, Event, EventStream, FinishReason, LlmError, Message, Part, Role,
    Usage,
};

/// The file name setup places in the model folder.
pub const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The model id the catalogue uses for it.
pub const SMOLLM2_ID: &str = "smollm2-135m-instruct";

/// Output tokens when the request sets no limit.
const DEFAULT_MAX_OUTPUT: usize = 512;
/// How far back repeated tokens are penalised, and how much (tiny models loop without it).
const REPEAT_WINDOW: usize = 64;
const REPEAT_PENALTY: f32 = 1.1;

/// The loaded model: weights (cloned per generation: the tensors are shared, each clone has
/// its own attention cache) and the tokenizer rebuilt from the file's metadata.
struct Loaded {
    weights: ModelWeights,
    tokenizer: Tokenizer,
    end_of_turn: u32,
    /// Also ends a reply when the model emits it instead of the end of its turn.
    end_of_text: Option<u32>,
}

/// The built-in model as a [`ChatProvider`].
#[derive(Clone)]
pub struct Local {
    path: PathBuf,
    loaded: Arc<OnceCell<Arc<Loaded>>>,
    gate: Arc<Semaphore>,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("path", &self.path).finish()
    }
}

impl Local {
    /// The model in the GGUF file at `path` (read on first use).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            loaded: Arc::default(),
            gate: Arc::new(Semaphore::new(1)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn load(&self) -> Result<Arc<Loaded>, LlmError> {
        self.loaded
            .get_or_try_init(|| {
                let path = self.path.clone();
                async move {
                    tokio::task::spawn_blocking(move || load(&path).map(Arc::new))
                        .await
                        .map_err(|err| LlmError::Stream(err.to_string()))?
                }
            })
            .await
            .cloned()
    }
}

fn load(path: &Path) -> Result<Loaded, LlmError> {
    let unavailable = |detail: String| LlmError::Rejected {
        status: 503,
        message: format!(
            "the built-in model cannot be loaded from {}: {detail}",
            path.display()
        ),
    };
    let mut file = std::fs::File::open(path).map_err(|err| {
        unavailable(format!(
            "{err} (scripts/setup.sh downloads it; LOCAL_MODEL_PATH points elsewhere)"
        ))
    })?;
    let content =
        gguf_file::Content::read(&mut file).map_err(|err| unavailable(err.to_string()))?;
    let tokenizer = Tokenizer::from_gguf(&content).map_err(|err| unavailable(err.to_string()))?;
    let end_of_turn = tokenizer
        .token_to_id("<|im_end|>")
        .ok_or_else(|| unavailable("its vocabulary has no <|im_end|> token".into()))?;
    let end_of_text = tokenizer.token_to_id("<|endoftext|>");
    let weights = ModelWeights::from_gguf(content, &mut file, &Device::Cpu)
        .map_err(|err| unavailable(err.to_string()))?;
    Ok(Loaded {
        weights,
        tokenizer,
        end_of_turn,
        end_of_text,
    })
}

impl ChatProvider for Local {
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<EventStream, LlmError>> {
        async move {
            let loaded = self.load().await?;
            let prompt = prompt_tokens(&loaded.tokenizer, &request)?;
            let permit = self
                .gate
                .clone()
                .acquire_owned()
                .await
                .map_err(|err| LlmError::Stream(err.to_string()))?;
            let (tx, rx) = mpsc::channel(64);
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                if let Err(err) = generate(&loaded, &request, prompt, &tx) {
                    // The receiver may be gone (stopped); nothing else to tell then.
                    let _ = tx.blocking_send(Err(err));
                }
            });
            Ok(futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|event| (event, rx))
            })
            .boxed())
        }
        .boxed()
    }
}

/// The conversation in SmolLM2's chat format (ChatML), oldest turns dropped until it fits
/// with room for the reply. The system message and the last turn are always kept.
fn prompt_tokens(tokenizer: &Tokenizer, request: &ChatRequest) -> Result<Vec<u32>, LlmError> {
    let encode = |text: &str| -> Result<Vec<u32>, LlmError> {
        tokenizer
            .encode(text, false)
            .map(|encoding| encoding.get_ids().to_vec())
            .map_err(|err| LlmError::Protocol(err.to_string()))
    };
    let turn = |message: &Message| {
        let role = match message.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        let text: String = message
            .parts
            .iter()
            .filter_map(|part| match part {
                Part::Text(text) => Some(text.as_str()),
                Part::Image { .. } => None,
            })
            .collect::<Vec<_>>()
            .join("\n");
        format!("<|im_start|>{role}\n{text}<|im_end|>\n")
    };
    let (system, rest): (Vec<&Message>, Vec<&Message>) = request
        .messages
        .iter()
        .partition(|m| m.role == Role::System);
    let head = match system.as_slice() {
        [] => encode(&turn(&Message::text(
            Role::System,
            "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
        )))?,
        messages => encode(&messages.iter().map(|m| turn(m)).collect::<String>())?,
    };
    let tail = encode("<|im_start|>assistant\n")?;
    let budget = MAX_SEQ_LEN.saturating_sub(max_output(request) + head.len() + tail.len());
    let mut turns = Vec::new();
    let mut used = 0;
    for message in rest.iter().rev() {
        let tokens = encode(&turn(message))?;
        if used + tokens.len() > budget {
            if turns.is_empty() {
                return Err(LlmError::Rejected {
                    status: 400,
                    message: format!(
                        "the message is too long for this model ({} tokens; it reads at most {budget})",
                        tokens.len()
                    ),
                });
            }
            break;
        }
        used += tokens.len();
        turns.push(tokens);
    }
    let mut prompt = head;
    for tokens in turns.into_iter().rev() {
        prompt.extend(tokens);
    }
    prompt.extend(tail);
    Ok(prompt)
}

fn max_output(request: &ChatRequest) -> usize {
    request
        .max_output_tokens
        .map_or(DEFAULT_MAX_OUTPUT, |n| n as usize)
        .clamp(1, MAX_SEQ_LEN / 2)
}

/// Runs the model on a blocking thread, sending events until it ends its turn, reaches the
/// limit, or the receiver is dropped (stop).
fn generate(
    loaded: &Loaded,
    request: &ChatRequest,
    prompt: Vec<u32>,
    tx: &mpsc::Sender<Result<Event, LlmError>>,
) -> Result<(), LlmError> {
    let failed = |err: candle_core::Error| LlmError::Stream(err.to_string());
    let mut model = loaded.weights.clone();
    let temperature = f64::from(request.temperature.unwrap_or(0.7));
    let sampling = if temperature <= 0.0 {
        Sampling::ArgMax
    } else {
        Sampling::TopP {
            p: 0.9,
            temperature,
        }
    };
    let mut sampler = LogitsProcessor::from_sampling(rand::random(), sampling);
    let limit = max_output(request);
    let mut all = prompt.clone();
    let mut output: Vec<u32> = Vec::new();
    let mut sent = 0;
    let mut finish = FinishReason::Length;
    let mut position = 0;
    let mut input = prompt.clone();
    while output.len() < limit {
        let x = Tensor::new(input.as_slice(), &Device::Cpu)
            .and_then(|t| t.unsqueeze(0))
            .map_err(failed)?;
        let logits = model
            .forward(&x, position)
            .and_then(|l| l.squeeze(0))
            .map_err(failed)?;
        position += input.len();
        let start = all.len().saturating_sub(REPEAT_WINDOW);
        let logits =
            apply_repeat_penalty(&logits, REPEAT_PENALTY, &all[start..]).map_err(failed)?;
        let next = sampler.sample(&logits).map_err(failed)?;
        if next == loaded.end_of_turn || Some(next) == loaded.end_of_text {
            finish = FinishReason::Stop;
            break;
        }
        output.push(next);
        all.push(next);
        input = vec![next];
        // Tokens are bytes of UTF-8: send text only once a character is whole.
        let text = loaded
            .tokenizer
            .decode(&output, true)
            .map_err(|err| LlmError::Protocol(err.to_string()))?;
        if let Some(new) = text.get(sent..)
            && !new.is_empty()
            && !new.ends_with('\u{FFFD}')
        {
            if tx.blocking_send(Ok(Event::Text(new.to_owned()))).is_err() {
                return Ok(());
            }
            sent = text.len();
        }
        if position + 1 >= MAX_SEQ_LEN {
            break;
        }
    }
    let usage = Usage {
        input_tokens: prompt.len() as u64,
        output_tokens: output.len() as u64,
        cached_input_tokens: 0,
    };
    for event in [Event::Usage(usage), Event::Finish(finish)] {
        if tx.blocking_send(Ok(event)).is_err() {
            break;
        }
    }
    Ok(())
}
