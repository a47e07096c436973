//! The adapters and the call policy against fake provider servers on loopback.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;

use super::{
    ChatProvider, ChatRequest, CircuitBreaker, Event, FinishReason, Guarded, LlmError, Message,
    Part, RetryPolicy, Role, Usage,
    bedrock::{Bedrock, BedrockSettings},
    gemini::{Gemini, GeminiSettings},
    openai::{OpenAi, OpenAiSettings},
    testing::{
        FakeServer, Frame, Reply, bedrock_end, bedrock_event, bedrock_exception, bedrock_text,
        done, finish_chunk, gemini_chunk, reasoning_chunk, text_chunk, usage_chunk,
    },
};

fn request() -> ChatRequest {
    ChatRequest {
        model: "fake-model".to_owned(),
        messages: vec![
            Message::text(Role::System, "Be brief."),
            Message::text(Role::User, "Say hello."),
        ],
        max_output_tokens: Some(64),
        temperature: Some(0.2),
    }
}

fn adapter(server: &FakeServer) -> OpenAi {
    OpenAi::new(&OpenAiSettings {
        base_url: Some(server.base_url()),
        api_key: Some("sk-test".to_owned().into()),
    })
    .unwrap()
}

/// Fast limits so the failure tests run in milliseconds.
fn guarded(server: &FakeServer, attempts: u32, breaker: CircuitBreaker) -> Guarded {
    Guarded::new(
        Arc::new(adapter(server)),
        RetryPolicy {
            attempts,
            backoff: Duration::from_millis(10),
            first_event_timeout: Duration::from_millis(800),
            idle_timeout: Duration::from_millis(300),
        },
        breaker,
    )
}

/// Everything a stream yields, errors included.
async fn collect(provider: &dyn ChatProvider) -> Result<Vec<Result<Event, LlmError>>, LlmError> {
    let events = provider.stream(request()).await?;
    Ok(events.collect().await)
}

fn text_of(events: &[Result<Event, LlmError>]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(Event::Text(t)) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_streamed_reply_yields_text_finish_and_usage_and_sends_the_real_request() {
    let server = FakeServer::start(vec![Reply::Stream(vec![
        text_chunk("Hel"),
        text_chunk("lo!"),
        finish_chunk("stop"),
        usage_chunk(12, 3, 8),
        done(),
    ])])
    .await
    .unwrap();
    let events = collect(&adapter(&server)).await.unwrap();
    assert_eq!(
        events,
        vec![
            Ok(Event::Text("Hel".into())),
            Ok(Event::Text("lo!".into())),
            Ok(Event::Finish(FinishReason::Stop)),
            Ok(Event::Usage(Usage {
                input_tokens: 12,
                output_tokens: 3,
                cached_input_tokens: 8,
            })),
        ]
    );
    let sent = &server.requests()[0].body;
    assert_eq!(sent["model"], "fake-model");
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["messages"][1]["content"], "Say hello.");
    assert_eq!(sent["max_tokens"], 64, "compatible servers get max_tokens");
    assert!(sent.get("max_completion_tokens").is_none());
}

#[tokio::test]
async fn images_go_as_data_urls_and_reasoning_comes_back_apart() {
    let server = FakeServer::start(vec![Reply::Stream(vec![
        reasoning_chunk("Thinking…"),
        text_chunk("A cat."),
        finish_chunk("length"),
        usage_chunk(100, 2, 0),
        done(),
    ])])
    .await
    .unwrap();
    let mut request = request();
    request.messages[1].parts = vec![
        Part::Text("What is this?".into()),
        Part::Image {
            media_type: "image/png".into(),
            data: Arc::from(&b"\x89PNG"[..]),
        },
    ];
    let events: Vec<_> = adapter(&server)
        .stream(request)
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(events[0], Ok(Event::Reasoning("Thinking…".into())));
    assert_eq!(events[1], Ok(Event::Text("A cat.".into())));
    assert_eq!(events[2], Ok(Event::Finish(FinishReason::Length)));
    let content = &server.requests()[0].body["messages"][1]["content"];
    assert_eq!(content[0]["type"], "text");
    assert_eq!(content[1]["type"], "image_url");
    assert_eq!(
        content[1]["image_url"]["url"],
        "data:image/png;base64,iVBORw=="
    );
}

#[tokio::test]
async fn a_refused_request_is_reported_with_its_status_and_not_retried() {
    let server = FakeServer::start(vec![Reply::error(401, "Incorrect API key provided")])
        .await
        .unwrap();
    let provider = guarded(&server, 3, CircuitBreaker::default());
    let err = collect(&provider).await.unwrap_err();
    assert_eq!(
        err,
        LlmError::Rejected {
            status: 401,
            message: "Incorrect API key provided".into()
        }
    );
    assert_eq!(server.requests().len(), 1);
    assert!(!provider.breaker().is_open());
}

#[tokio::test]
async fn server_errors_before_the_first_token_are_retried() {
    let server = FakeServer::start(vec![
        Reply::error(503, "overloaded"),
        Reply::error(429, "slow down"),
        Reply::text(&["Fine ", "now."], 5, 2),
    ])
    .await
    .unwrap();
    let events = collect(&guarded(&server, 3, CircuitBreaker::default()))
        .await
        .unwrap();
    assert_eq!(text_of(&events), "Fine now.");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_stream_cut_mid_reply_keeps_what_came_and_ends_with_an_error() {
    let server = FakeServer::start(vec![Reply::Stream(vec![
        text_chunk("Partial "),
        text_chunk("answer"),
        Frame::Cut,
    ])])
    .await
    .unwrap();
    let events = collect(&guarded(&server, 3, CircuitBreaker::default()))
        .await
        .unwrap();
    assert_eq!(text_of(&events), "Partial answer");
    assert!(
        matches!(events.last(), Some(Err(LlmError::Stream(_)))),
        "{events:?}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "no retry once text was streamed"
    );
}

#[tokio::test]
async fn malformed_chunks_and_error_objects_mid_stream_are_errors() {
    let server = FakeServer::start(vec![
        Reply::Stream(vec![
            text_chunk("ok so far"),
            Frame::Data("{not json".into()),
        ]),
        Reply::Stream(vec![
            text_chunk("ok so far"),
            Frame::Data(r#"{"error":{"message":"model crashed"}}"#.into()),
        ]),
    ])
    .await
    .unwrap();
    let provider = adapter(&server);
    let malformed = collect(&provider).await.unwrap();
    assert!(
        matches!(malformed.last(), Some(Err(LlmError::Protocol(_)))),
        "{malformed:?}"
    );
    let crashed = collect(&provider).await.unwrap();
    assert_eq!(
        crashed.last(),
        Some(&Err(LlmError::Stream("model crashed".into())))
    );
}

#[tokio::test]
async fn a_provider_that_falls_silent_times_out() {
    let server = FakeServer::start(vec![Reply::Stream(vec![
        text_chunk("Once upon"),
        Frame::Pause(Duration::from_secs(5)),
        text_chunk(" a time"),
    ])])
    .await
    .unwrap();
    let events = collect(&guarded(&server, 1, CircuitBreaker::default()))
        .await
        .unwrap();
    assert_eq!(text_of(&events), "Once upon");
    assert!(
        matches!(events.last(), Some(Err(LlmError::Timeout(_)))),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_slow_first_token_times_out_after_the_retries() {
    let server = FakeServer::start(vec![Reply::Stream(vec![
        Frame::Pause(Duration::from_secs(5)),
        text_chunk("too late"),
    ])])
    .await
    .unwrap();
    let err = collect(&guarded(&server, 2, CircuitBreaker::default()))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Timeout(_)), "{err:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_failing_provider_opens_the_circuit_and_is_not_called() {
    let server = FakeServer::start(vec![Reply::error(500, "down")])
        .await
        .unwrap();
    let provider = guarded(&server, 1, CircuitBreaker::new(2, Duration::from_secs(60)));
    for _ in 0..2 {
        let err = collect(&provider).await.unwrap_err();
        assert!(
            matches!(err, LlmError::Rejected { status: 500, .. }),
            "{err:?}"
        );
    }
    let err = collect(&provider).await.unwrap_err();
    assert!(matches!(err, LlmError::CircuitOpen(_)), "{err:?}");
    assert!(
        err.to_string().contains("calls resume in"),
        "a message for people: {err}"
    );
    assert_eq!(
        server.requests().len(),
        2,
        "the open circuit made no request"
    );
}

/// The base request continued: the model's "Hi.", then a question with an image.
fn with_image(model: &str, media_type: &str, data: &'static [u8]) -> ChatRequest {
    let mut request = request();
    request.model = model.into();
    request.messages.push(Message::text(Role::Assistant, "Hi."));
    request.messages.push(Message {
        role: Role::User,
        parts: vec![
            Part::Text("And this?".into()),
            Part::Image {
                media_type: media_type.into(),
                data: Arc::from(data),
            },
        ],
    });
    request
}

/// The events of a reply that thought "Considering…" and said "Hello there.".
fn considered_reply(usage: Usage) -> Vec<Result<Event, LlmError>> {
    vec![
        Ok(Event::Reasoning("Considering…".into())),
        Ok(Event::Text("Hello".into())),
        Ok(Event::Text(" there.".into())),
        Ok(Event::Finish(FinishReason::Stop)),
        Ok(Event::Usage(usage)),
    ]
}

fn gemini(server: &FakeServer) -> Gemini {
    Gemini::new(&GeminiSettings {
        base_url: Some(server.url()),
        api_key: "gemini-key".to_owned().into(),
    })
    .unwrap()
}

#[tokio::test]
async fn gemini_streams_thoughts_text_finish_and_usage_from_its_wire_format() {
    let server = FakeServer::start(vec![Reply::Stream(vec![
        gemini_chunk(&[("Considering…", true)], None, Some((9, 0, 0, 4))),
        gemini_chunk(&[("Hello", false)], None, Some((9, 1, 0, 4))),
        gemini_chunk(&[(" there.", false)], Some("STOP"), Some((9, 3, 2, 4))),
    ])])
    .await
    .unwrap();
    let request = with_image("gemini-2.5-flash", "image/webp", b"RIFF");
    let events: Vec<_> = gemini(&server)
        .stream(request)
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(
        events,
        considered_reply(Usage {
            input_tokens: 9,
            output_tokens: 7,
            cached_input_tokens: 2,
        }),
        "thinking counts as output; usage is sent once"
    );

    let sent = &server.requests()[0];
    assert_eq!(
        sent.target,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(sent.header("x-goog-api-key"), Some("gemini-key"));
    let body = &sent.body;
    assert_eq!(body["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(body["contents"][0]["role"], "user");
    assert_eq!(body["contents"][1]["role"], "model");
    assert_eq!(
        body["contents"][2]["parts"][1]["inlineData"]["mimeType"],
        "image/webp"
    );
    assert_eq!(
        body["contents"][2]["parts"][1]["inlineData"]["data"],
        "UklGRg=="
    );
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 64);
}

#[tokio::test]
async fn gemini_errors_before_and_during_the_stream_are_reported() {
    let server = FakeServer::start(vec![
        Reply::Status {
            status: 400,
            body: r#"{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}"#
                .into(),
        },
        Reply::Stream(vec![
            gemini_chunk(&[("Half", false)], None, None),
            Frame::Cut,
        ]),
        Reply::Stream(vec![Frame::Data("<html>".into())]),
    ])
    .await
    .unwrap();
    let provider = gemini(&server);
    let err = collect(&provider).await.unwrap_err();
    assert_eq!(
        err,
        LlmError::Rejected {
            status: 400,
            message: "API key not valid.".into()
        }
    );
    let cut = collect(&provider).await.unwrap();
    assert_eq!(text_of(&cut), "Half");
    assert!(
        matches!(cut.last(), Some(Err(LlmError::Stream(_)))),
        "{cut:?}"
    );
    let garbage = collect(&provider).await.unwrap();
    assert!(
        matches!(garbage.last(), Some(Err(LlmError::Protocol(_)))),
        "{garbage:?}"
    );
}

fn bedrock(server: &FakeServer) -> Bedrock {
    Bedrock::new(BedrockSettings {
        region: Some("us-west-2".into()),
        endpoint_url: Some(server.url()),
        api_key: Some("bedrock-key".to_owned().into()),
    })
}

const CLAUDE: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

#[tokio::test]
async fn bedrock_streams_reasoning_text_finish_and_usage_from_event_stream_frames() {
    let mut frames = vec![
        bedrock_event("messageStart", &serde_json::json!({ "role": "assistant" })),
        bedrock_event(
            "contentBlockDelta",
            &serde_json::json!({
                "contentBlockIndex": 0,
                "delta": { "reasoningContent": { "text": "Considering…" } },
            }),
        ),
        bedrock_text("Hello"),
        Frame::Pause(Duration::from_millis(150)),
        bedrock_text(" there."),
    ];
    frames.extend(bedrock_end("end_turn", (10, 3, 4, 2)));
    let server = FakeServer::start(vec![Reply::EventStream(frames)])
        .await
        .unwrap();
    let mut request = with_image(CLAUDE, "image/png", b"PNG!");
    // A second user turn in a row (the reply between them failed) joins the first.
    request.messages.push(Message::text(Role::User, "Also."));
    let events: Vec<_> = bedrock(&server)
        .stream(request)
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(
        events,
        considered_reply(Usage {
            input_tokens: 16,
            output_tokens: 3,
            cached_input_tokens: 4,
        }),
        "cache reads and writes count as input"
    );

    let sent = &server.requests()[0];
    assert_eq!(
        sent.target,
        "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"
    );
    assert_eq!(sent.header("authorization"), Some("Bearer bedrock-key"));
    let body = &sent.body;
    assert_eq!(body["system"], serde_json::json!([{ "text": "Be brief." }]));
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{body}");
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["content"][0]["text"], "Say hello.");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(
        messages[2]["content"],
        serde_json::json!([
            { "text": "And this?" },
            { "image": { "format": "png", "source": { "bytes": "UE5HIQ==" } } },
            { "text": "Also." },
        ])
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 64);
    assert!((body["inferenceConfig"]["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
}

#[tokio::test]
async fn bedrock_signs_with_the_aws_credential_chain_when_it_has_no_key() {
    use aws_sdk_bedrockruntime::config::{
        BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
    };
    let server = FakeServer::start(vec![Reply::bedrock(&["Signed."], 5, 2)])
        .await
        .unwrap();
    let shared = |region: Option<&'static str>| {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region.map(Region::from_static))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            )))
            .build()
    };
    let settings = BedrockSettings {
        region: None,
        endpoint_url: Some(server.url()),
        api_key: None,
    };
    let provider = Bedrock::with_config(settings.clone(), shared(Some("eu-west-1")));
    let events = collect(&provider).await.unwrap();
    assert_eq!(text_of(&events), "Signed.");
    let authorization = server.requests()[0]
        .header("authorization")
        .unwrap_or_default()
        .to_owned();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            && authorization.contains("/eu-west-1/bedrock/aws4_request"),
        "{authorization}"
    );

    let nowhere = Bedrock::with_config(settings, shared(None));
    let err = collect(&nowhere).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Setup(m) if m.contains("AWS_REGION")),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1, "nothing sent without a region");
}

#[tokio::test]
async fn bedrock_errors_before_and_during_the_stream_are_reported() {
    let mut corrupt = match bedrock_text("Broken") {
        Frame::Bytes(bytes) => bytes,
        other => panic!("{other:?}"),
    };
    // Damage the payload: the message checksum no longer matches.
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    let server = FakeServer::start(vec![
        Reply::bedrock_error(400, "ValidationException", "The model id is invalid."),
        Reply::bedrock_error(429, "ThrottlingException", "Too many requests."),
        Reply::EventStream(vec![
            bedrock_text("Half"),
            bedrock_exception("modelStreamErrorException", "The model stopped."),
        ]),
        Reply::EventStream(vec![bedrock_text("Half"), Frame::Cut]),
        Reply::EventStream(vec![bedrock_text("Half"), Frame::Bytes(corrupt)]),
    ])
    .await
    .unwrap();
    let provider = bedrock(&server);
    assert_eq!(
        collect(&provider).await.unwrap_err(),
        LlmError::Rejected {
            status: 400,
            message: "The model id is invalid.".into()
        }
    );
    let throttled = collect(&provider).await.unwrap_err();
    assert!(throttled.is_transient(), "{throttled:?}");

    let failed = collect(&provider).await.unwrap();
    assert_eq!(text_of(&failed), "Half");
    assert_eq!(
        failed.last(),
        Some(&Err(LlmError::Stream("The model stopped.".into())))
    );
    let cut = collect(&provider).await.unwrap();
    assert_eq!(text_of(&cut), "Half");
    assert!(
        matches!(cut.last(), Some(Err(LlmError::Stream(_)))),
        "{cut:?}"
    );
    let garbage = collect(&provider).await.unwrap();
    assert_eq!(text_of(&garbage), "Half");
    assert!(
        matches!(garbage.last(), Some(Err(LlmError::Protocol(_)))),
        "{garbage:?}"
    );
}

mod registry {
    use sqlx::PgPool;

    use super::*;
    use crate::{
        accounts::admin::Actor,
        llm::registry::{EnvironmentKeys, Registry, RegistryError},
        models::{self, ProviderInput},
    };

    async fn admin(pool: &PgPool) -> Actor<'static> {
        let id = sqlx::query_scalar(
            "insert into users (email, display_name, is_email_verified, email_verified_at) values ('admin@school.org', 'Admin', true, now()) returning id",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        Actor {
            user_id: id,
            ip: None,
        }
    }

    fn input(kind: &str, base_url: String) -> ProviderInput {
        ProviderInput {
            kind: kind.into(),
            name: format!("{kind} test"),
            base_url: Some(base_url),
            ..ProviderInput::default()
        }
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn clients_follow_the_catalogue_and_keys_go_only_where_they_belong(pool: PgPool) {
        let server =
            FakeServer::start(vec![Reply::text(&["Hi"], 1, 1), Reply::text(&["Hi"], 1, 1)])
                .await
                .unwrap();
        let actor = admin(&pool).await;
        let registry = Registry::new(
            EnvironmentKeys {
                openai: Some("env-key".to_owned().into()),
                gemini: Some("env-gemini-key".to_owned().into()),
                local_model: "unused".into(),
                ..EnvironmentKeys::default()
            },
            RetryPolicy::default(),
        );
        let secrets = registry.secrets();
        let mut settings = input("openai", server.base_url());
        let provider = models::save_provider(&pool, secrets, actor, None, &settings)
            .await
            .unwrap();
        // The server's key is OpenAI's: it never goes to another host.
        let client = registry.provider(&pool, provider.id).await.unwrap();
        assert_eq!(text_of(&collect(&client).await.unwrap()), "Hi");
        let sent = server.requests()[0]
            .header("authorization")
            .map(str::to_owned);
        assert!(
            !sent.as_deref().unwrap_or_default().contains("env-key"),
            "{sent:?}"
        );

        settings.api_key = Some("stored-key".into());
        models::save_provider(&pool, secrets, actor, Some(provider.id), &settings)
            .await
            .unwrap();
        let stored: String = sqlx::query_scalar("select api_key from ai_providers where id = $1")
            .bind(provider.id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(!stored.contains("stored-key"), "sealed at rest: {stored}");
        let client = registry.provider(&pool, provider.id).await.unwrap();
        collect(&client).await.unwrap();
        assert_eq!(
            server.requests()[1].header("authorization"),
            Some("Bearer stored-key"),
            "a changed provider gets a new client"
        );

        // Pointing the provider elsewhere without a new key drops the stored one.
        settings.api_key = None;
        settings.base_url = Some("http://127.0.0.1:9/v1".into());
        let moved = models::save_provider(&pool, secrets, actor, Some(provider.id), &settings)
            .await
            .unwrap();
        assert!(
            !moved.has_api_key,
            "the key does not follow the provider elsewhere"
        );
        // Renaming it keeps the key.
        settings.api_key = Some("another-key".into());
        models::save_provider(&pool, secrets, actor, Some(provider.id), &settings)
            .await
            .unwrap();
        settings.api_key = None;
        settings.name = "renamed".into();
        let renamed = models::save_provider(&pool, secrets, actor, Some(provider.id), &settings)
            .await
            .unwrap();
        assert!(renamed.has_api_key);

        let gemini =
            models::save_provider(&pool, secrets, actor, None, &input("gemini", server.url()))
                .await
                .unwrap();
        let err = registry.provider(&pool, gemini.id).await.err().unwrap();
        assert!(matches!(err, RegistryError::NeedsOwnKey), "{err}");

        // A key sealed under another server key is reported, not sent garbled.
        let other = Registry::new(EnvironmentKeys::default(), RetryPolicy::default());
        let err = other.provider(&pool, provider.id).await.err().unwrap();
        assert!(matches!(err, RegistryError::Sealed(_)), "{err}");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn keys_stored_in_plain_text_are_sealed_at_start(pool: PgPool) {
        sqlx::query(
            "insert into ai_providers (kind, name, api_key) values ('openai', 'Old', 'sk-old')",
        )
        .execute(&pool)
        .await
        .unwrap();
        let registry = Registry::new(EnvironmentKeys::default(), RetryPolicy::default());
        assert_eq!(
            models::seal_stored_keys(&pool, registry.secrets())
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            models::seal_stored_keys(&pool, registry.secrets())
                .await
                .unwrap(),
            0
        );
        let (id, stored): (uuid::Uuid, String) =
            sqlx::query_as("select id, api_key from ai_providers")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(!stored.contains("sk-old"));
        let connection = models::provider_connection(&pool, registry.secrets(), id)
            .await
            .unwrap()
            .unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(connection.api_key.unwrap().expose_secret(), "sk-old");
        // Pointed elsewhere behind the admin page's back, the key no longer opens.
        sqlx::query("update ai_providers set base_url = 'http://attacker.example/v1'")
            .execute(&pool)
            .await
            .unwrap();
        assert!(
            models::provider_connection(&pool, registry.secrets(), id)
                .await
                .is_err()
        );
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_bedrock_provider_is_called_in_its_region_at_its_endpoint_with_its_key(pool: PgPool) {
        let server = FakeServer::start(vec![Reply::bedrock(&["From Bedrock."], 4, 3)])
            .await
            .unwrap();
        let actor = admin(&pool).await;
        let mut settings = ProviderInput {
            region: Some("Frankfurt".into()),
            api_key: Some("bedrock-key".into()),
            ..input("bedrock", server.url())
        };
        let registry = Registry::new(EnvironmentKeys::default(), RetryPolicy::default());
        let secrets = registry.secrets();
        let refused = models::save_provider(&pool, secrets, actor, None, &settings)
            .await
            .err()
            .unwrap();
        assert!(refused.to_string().contains("us-east-1"), "{refused}");
        settings.region = Some(" EU-Central-1 ".into());
        let provider = models::save_provider(&pool, secrets, actor, None, &settings)
            .await
            .unwrap();
        assert_eq!(provider.region.as_deref(), Some("eu-central-1"));
        assert!(provider.has_api_key);

        let client = registry.provider(&pool, provider.id).await.unwrap();
        assert_eq!(text_of(&collect(&client).await.unwrap()), "From Bedrock.");
        let sent = &server.requests()[0];
        assert_eq!(sent.target, "/model/fake-model/converse-stream");
        assert_eq!(sent.header("authorization"), Some("Bearer bedrock-key"));

        // Other kinds have no region.
        let openai = models::save_provider(
            &pool,
            secrets,
            actor,
            None,
            &ProviderInput {
                region: Some("us-east-1".into()),
                ..input("openai", server.base_url())
            },
        )
        .await
        .unwrap();
        assert_eq!(openai.region, None);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn an_openai_compatible_server_lists_its_models(pool: PgPool) {
        let server = FakeServer::start(vec![Reply::Status {
            status: 200,
            body: r#"{"object":"list","data":[{"id":"qwen3:4b","object":"model"},{"id":"llama3.2:1b","object":"model"}]}"#.into(),
        }])
        .await
        .unwrap();
        let actor = admin(&pool).await;
        let registry = Registry::new(EnvironmentKeys::default(), RetryPolicy::default());
        let provider = models::save_provider(
            &pool,
            registry.secrets(),
            actor,
            None,
            &input("openai", server.base_url()),
        )
        .await
        .unwrap();
        assert_eq!(
            registry.discover(&pool, provider.id).await.unwrap(),
            ["llama3.2:1b", "qwen3:4b"]
        );
        assert_eq!(server.requests()[0].target, "/v1/models");
    }
}

/// The built-in model, for real (short prompts; the file comes from `scripts/setup.sh`).
mod local {
    use futures::StreamExt;

    use crate::llm::{
        ChatProvider, ChatRequest, Event, FinishReason, LlmError, Message, Role,
        local::{Local, SMOLLM2_FILE},
    };

    fn model() -> Local {
        let path = std::env::var_os("LOCAL_MODEL_PATH").map_or_else(
            || std::path::PathBuf::from("models").join(SMOLLM2_FILE),
            Into::into,
        );
        assert!(
            path.is_file(),
            "the built-in model is missing at {}: run scripts/setup.sh",
            path.display()
        );
        Local::new(path)
    }

    fn ask(text: &str, max: u32) -> ChatRequest {
        ChatRequest {
            model: "smollm2-135m-instruct".into(),
            messages: vec![Message::text(Role::User, text)],
            max_output_tokens: Some(max),
            temperature: Some(0.0),
        }
    }

    async fn collect(local: &Local, request: ChatRequest) -> Vec<Event> {
        local
            .stream(request)
            .await
            .expect("accepted")
            .map(|event| event.expect("no error"))
            .collect()
            .await
    }

    fn text(events: &[Event]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn answers_in_words_then_usage_and_finish() {
        let local = model();
        let events = collect(&local, ask("What is the capital of France?", 24)).await;
        let reply = text(&events);
        assert!(reply.contains("Paris"), "reply: {reply:?}");
        let usage = events.iter().find_map(|e| match e {
            Event::Usage(u) => Some(*u),
            _ => None,
        });
        let usage = usage.expect("usage reported");
        assert!(usage.input_tokens > 10, "{usage:?}");
        assert!(
            usage.output_tokens >= 1 && usage.output_tokens <= 24,
            "{usage:?}"
        );
        assert!(matches!(
            events.last(),
            Some(Event::Finish(FinishReason::Stop | FinishReason::Length))
        ));
        // Greedy decoding is repeatable.
        let again = collect(&local, ask("What is the capital of France?", 24)).await;
        assert_eq!(text(&again), reply);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn stops_at_the_output_limit() {
        let events = collect(&model(), ask("Write a long story about a dragon.", 6)).await;
        assert!(
            events.contains(&Event::Finish(FinishReason::Length)),
            "{events:?}"
        );
        let usage = events.iter().find_map(|e| match e {
            Event::Usage(u) => Some(u.output_tokens),
            _ => None,
        });
        assert_eq!(usage, Some(6));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn dropping_the_stream_frees_the_model_for_the_next_call() {
        let local = model();
        let mut first = local
            .stream(ask("Count from one to one hundred.", 400))
            .await
            .expect("accepted");
        assert!(matches!(first.next().await, Some(Ok(Event::Text(_)))));
        drop(first);
        // One generation at a time: this only starts once the first one has stopped.
        let started = std::time::Instant::now();
        let events = collect(&local, ask("Say hi.", 4)).await;
        assert!(!text(&events).is_empty());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the stopped generation kept the model"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn refuses_a_message_longer_than_it_reads() {
        let long = "word ".repeat(5000);
        let Err(err) = model().stream(ask(&long, 8)).await else {
            panic!("a 5000-word message was accepted");
        };
        assert!(
            matches!(&err, LlmError::Rejected { status: 400, message } if message.contains("too long")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_missing_file_says_where_it_was_looked_for() {
        let Err(err) = Local::new("/nonexistent/model.gguf")
            .stream(ask("hi", 4))
            .await
        else {
            panic!("no model file, yet accepted");
        };
        assert!(
            matches!(&err, LlmError::Rejected { status: 503, message } if message.contains("/nonexistent/model.gguf")),
            "{err:?}"
        );
    }
}
