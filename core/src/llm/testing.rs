//! Fake AI provider servers on loopback, for tests and benchmarks. They speak the real wire
//! formats (HTTP/1.1, `text/event-stream`; OpenAI `chat.completion.chunk` JSON ending with
//! `data: [DONE]`, Gemini `GenerateContentResponse` JSON; Bedrock `ConverseStream` as
//! `application/vnd.amazon.eventstream` binary frames), so the real client code runs
//! against them; each reply is scripted frame by frame, including pauses, malformed data and
//! connections cut mid-stream.

use std::{
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// One step of a streamed reply.
#[derive(Debug, Clone)]
pub enum Frame {
    /// An SSE event: `data: <payload>` and a blank line.
    Data(String),
    /// Bytes written exactly as given.
    Raw(String),
    /// Binary bytes written exactly as given (event-stream frames).
    Bytes(Vec<u8>),
    Pause(Duration),
    /// Close the connection here.
    Cut,
    /// A content chunk whose text is the moment it is written: microseconds since
    /// [`epoch`] and a `|` (benchmarks measure relay latency from it).
    Stamp,
}

/// The instant [`Frame::Stamp`] counts from (the first use in the process).
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Stream(Vec<Frame>),
    /// A Bedrock event stream: `application/vnd.amazon.eventstream`.
    EventStream(Vec<Frame>),
    /// A non-streaming answer, e.g. an error status with its JSON body.
    Status {
        status: u16,
        body: String,
    },
}

/// A content delta chunk.
pub fn text_chunk(text: &str) -> Frame {
    Frame::Data(content_json(text))
}

fn content_json(text: &str) -> String {
    serde_json::json!({
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
        "model": "fake-model",
        "choices": [{ "index": 0, "delta": { "content": text }, "finish_reason": null }],
    })
    .to_string()
}

/// A reasoning delta chunk, as DeepSeek-style servers send it.
pub fn reasoning_chunk(text: &str) -> Frame {
    Frame::Data(
        serde_json::json!({
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
            "model": "fake-model",
            "choices": [{ "index": 0, "delta": { "reasoning_content": text }, "finish_reason": null }],
        })
        .to_string(),
    )
}

/// The chunk with the finish reason.
pub fn finish_chunk(reason: &str) -> Frame {
    Frame::Data(
        serde_json::json!({
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
            "model": "fake-model",
            "choices": [{ "index": 0, "delta": {}, "finish_reason": reason }],
        })
        .to_string(),
    )
}

/// The closing usage chunk (`stream_options.include_usage`).
pub fn usage_chunk(input: u64, output: u64, cached: u64) -> Frame {
    Frame::Data(
        serde_json::json!({
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
            "model": "fake-model", "choices": [],
            "usage": {
                "prompt_tokens": input, "completion_tokens": output,
                "total_tokens": input + output,
                "prompt_tokens_details": { "cached_tokens": cached },
            },
        })
        .to_string(),
    )
}

/// A Gemini `streamGenerateContent` chunk: text parts (`(text, is_thought)`), and on the last
/// one the finish reason and usage `(prompt, candidates, cached, thoughts)`.
pub fn gemini_chunk(
    parts: &[(&str, bool)],
    finish: Option<&str>,
    usage: Option<(u64, u64, u64, u64)>,
) -> Frame {
    let parts: Vec<serde_json::Value> = parts
        .iter()
        .map(|(text, thought)| {
            if *thought {
                serde_json::json!({ "text": text, "thought": true })
            } else {
                serde_json::json!({ "text": text })
            }
        })
        .collect();
    let mut candidate = serde_json::json!({
        "content": { "role": "model", "parts": parts },
        "index": 0,
    });
    if let Some(finish) = finish {
        candidate["finishReason"] = finish.into();
    }
    let mut chunk = serde_json::json!({ "candidates": [candidate], "modelVersion": "fake-gemini" });
    if let Some((prompt, candidates, cached, thoughts)) = usage {
        chunk["usageMetadata"] = serde_json::json!({
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "cachedContentTokenCount": cached,
            "thoughtsTokenCount": thoughts,
            "totalTokenCount": prompt + candidates + thoughts,
        });
    }
    Frame::Data(chunk.to_string())
}

/// One Bedrock `ConverseStream` event frame, e.g. `contentBlockDelta` with its JSON.
pub fn bedrock_event(event_type: &'static str, payload: &serde_json::Value) -> Frame {
    bedrock_frame(
        &[
            (":message-type", "event"),
            (":event-type", event_type),
            (":content-type", "application/json"),
        ],
        payload,
    )
}

/// A modelled exception in the stream (`modelStreamErrorException`, `throttlingException`).
pub fn bedrock_exception(exception_type: &'static str, message: &str) -> Frame {
    bedrock_frame(
        &[
            (":message-type", "exception"),
            (":exception-type", exception_type),
            (":content-type", "application/json"),
        ],
        &serde_json::json!({ "message": message }),
    )
}

fn bedrock_frame(headers: &[(&'static str, &'static str)], payload: &serde_json::Value) -> Frame {
    use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
    let message = headers.iter().fold(
        Message::new(payload.to_string().into_bytes()),
        |message, (name, value)| {
            message.add_header(Header::new(*name, HeaderValue::String((*value).into())))
        },
    );
    let mut bytes = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&message, &mut bytes)
        .unwrap_or_else(|err| panic!("encode a test frame: {err}"));
    Frame::Bytes(bytes)
}

/// A text delta for content block 0.
pub fn bedrock_text(text: &str) -> Frame {
    bedrock_event(
        "contentBlockDelta",
        &serde_json::json!({ "contentBlockIndex": 0, "delta": { "text": text }, "p": "abc" }),
    )
}

/// The finish reason and the usage `(input, output, cache read, cache write)` that end a
/// Bedrock reply.
pub fn bedrock_end(stop_reason: &str, usage: (u64, u64, u64, u64)) -> Vec<Frame> {
    let (input, output, cache_read, cache_write) = usage;
    vec![
        bedrock_event(
            "contentBlockStop",
            &serde_json::json!({ "contentBlockIndex": 0 }),
        ),
        bedrock_event(
            "messageStop",
            &serde_json::json!({ "stopReason": stop_reason }),
        ),
        bedrock_event(
            "metadata",
            &serde_json::json!({
                "usage": {
                    "inputTokens": input, "outputTokens": output,
                    "totalTokens": input + output + cache_read + cache_write,
                    "cacheReadInputTokens": cache_read, "cacheWriteInputTokens": cache_write,
                },
                "metrics": { "latencyMs": 120 },
            }),
        ),
    ]
}

pub fn done() -> Frame {
    Frame::Data("[DONE]".to_owned())
}

impl Reply {
    /// A whole successful reply: one chunk per delta, `stop`, usage, `[DONE]`.
    pub fn text(deltas: &[&str], input_tokens: u64, output_tokens: u64) -> Self {
        let mut frames: Vec<Frame> = deltas.iter().map(|d| text_chunk(d)).collect();
        frames.push(finish_chunk("stop"));
        frames.push(usage_chunk(input_tokens, output_tokens, 0));
        frames.push(done());
        Self::Stream(frames)
    }

    /// A whole Bedrock reply: `messageStart`, one delta per text, `end_turn`, usage.
    pub fn bedrock(deltas: &[&str], input_tokens: u64, output_tokens: u64) -> Self {
        let mut frames = vec![bedrock_event(
            "messageStart",
            &serde_json::json!({ "role": "assistant" }),
        )];
        frames.extend(deltas.iter().map(|d| bedrock_text(d)));
        frames.extend(bedrock_end("end_turn", (input_tokens, output_tokens, 0, 0)));
        Self::EventStream(frames)
    }

    /// A Bedrock error: its status and a `{"__type", "message"}` body.
    pub fn bedrock_error(status: u16, error_type: &str, message: &str) -> Self {
        Self::Status {
            status,
            body: serde_json::json!({ "__type": error_type, "message": message }).to_string(),
        }
    }

    /// An error status with an OpenAI-style JSON error body.
    pub fn error(status: u16, message: &str) -> Self {
        Self::Status {
            status,
            body: serde_json::json!({
                "error": { "message": message, "type": "fake_error", "param": null, "code": null }
            })
            .to_string(),
        }
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path and query, e.g. `/v1/chat/completions`.
    pub target: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    /// When the whole request had been read.
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The running server. Each request takes the next scripted reply; after the last one, the
/// last repeats. Stops when dropped.
pub struct FakeServer {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(replies: Vec<Reply>) -> std::io::Result<Self> {
        assert!(!replies.is_empty(), "script at least one reply");
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new((replies, 0usize)));
        let task = tokio::spawn({
            let requests = requests.clone();
            async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let requests = requests.clone();
                    let script = script.clone();
                    tokio::spawn(async move {
                        let _ = serve(socket, &requests, &script).await;
                    });
                }
            }
        });
        Ok(Self {
            addr,
            requests,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The OpenAI-style base URL: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<Received> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Script = Mutex<(Vec<Reply>, usize)>;

async fn serve(
    mut socket: TcpStream,
    requests: &Mutex<Vec<Received>>,
    script: &Script,
) -> std::io::Result<()> {
    let Some(received) = read_request(&mut socket).await? else {
        return Ok(());
    };
    requests
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(received);
    let reply = {
        let mut script = script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (replies, next) = &mut *script;
        let reply = replies[(*next).min(replies.len() - 1)].clone();
        *next += 1;
        reply
    };
    match reply {
        Reply::Status { status, body } => {
            let head = format!(
                "HTTP/1.1 {status} Fake\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(body.as_bytes()).await?;
        }
        Reply::Stream(frames) => write_frames(&mut socket, "text/event-stream", frames).await?,
        Reply::EventStream(frames) => {
            write_frames(&mut socket, "application/vnd.amazon.eventstream", frames).await?;
        }
    }
    socket.shutdown().await
}

/// A streamed 200 reply, frame by frame; returns early when the script cuts the connection.
async fn write_frames(
    socket: &mut TcpStream,
    content_type: &str,
    frames: Vec<Frame>,
) -> std::io::Result<()> {
    socket
        .write_all(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await?;
    for frame in frames {
        match frame {
            Frame::Data(payload) => {
                socket
                    .write_all(format!("data: {payload}\n\n").as_bytes())
                    .await?;
            }
            Frame::Raw(raw) => socket.write_all(raw.as_bytes()).await?,
            Frame::Bytes(bytes) => socket.write_all(&bytes).await?,
            Frame::Pause(duration) => tokio::time::sleep(duration).await,
            Frame::Cut => return Ok(()),
            Frame::Stamp => {
                let payload = content_json(&format!("{}|", epoch().elapsed().as_micros()));
                socket
                    .write_all(format!("data: {payload}\n\n").as_bytes())
                    .await?;
            }
        }
        socket.flush().await?;
    }
    Ok(())
}

/// Reads one request: its head and its body (by `content-length`).
async fn read_request(socket: &mut TcpStream) -> std::io::Result<Option<Received>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.lines();
    let target = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buffer[head_end..]).unwrap_or(serde_json::Value::Null);
    Ok(Some(Received {
        target,
        headers,
        body,
        at: Instant::now(),
    }))
}
