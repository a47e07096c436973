//! Chat turns started in the worker's process: the same engine as the server's, without it.

use std::time::Duration;

use futures::StreamExt;
use sqlx::PgPool;
use studio_core::{
    accounts::users,
    chat::{
        self, Turn,
        live::Update,
        turn::{Ask, TurnError},
    },
    limits::LimitsConfig,
    llm::{
        registry::EnvironmentKeys,
        testing::{FakeServer, Reply},
    },
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A user with the `role` and a model on the fake provider that every role may use, priced
/// $2 / $8 per million tokens in / out.
pub(crate) async fn user_and_model(pool: &PgPool, server: &FakeServer, role: &str) -> (Uuid, Uuid) {
    let user: Uuid = sqlx::query_scalar(
        "insert into users (email, display_name, is_email_verified, email_verified_at)
         values ($1, 'Runner', true, now()) returning id",
    )
    .bind(format!("{}@school.org", Uuid::new_v4().simple()))
    .fetch_one(pool)
    .await
    .unwrap();
    users::grant_role_by_name(pool, user, role).await.unwrap();
    let provider: Uuid = sqlx::query_scalar(
        "insert into ai_providers (kind, name, base_url) values ('openai', $2, $1) returning id",
    )
    .bind(server.base_url())
    .bind(format!("Fake at {}", server.url()))
    .fetch_one(pool)
    .await
    .unwrap();
    let model: Uuid = sqlx::query_scalar(
        "insert into ai_models (provider_id, model_key, display_name, input_price, output_price)
         values ($1, 'fake-model', 'Fake', 2, 8) returning id",
    )
    .bind(provider)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query("insert into ai_model_roles (model_id, role_id) select $1, id from roles")
        .bind(model)
        .execute(pool)
        .await
        .unwrap();
    (user, model)
}

fn ask(user_id: Uuid, model_id: Uuid, text: &str) -> Ask {
    Ask {
        user_id,
        model_id,
        turn: Turn::Message {
            conversation_id: None,
            replacing: None,
            text: text.into(),
            images: Vec::new(),
            documents: Vec::new(),
        },
        repositories: None,
        feature: "assistant",
    }
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_turn_started_in_the_worker_streams_its_reply_and_records_usage(pool: PgPool) {
    let server = FakeServer::start(vec![Reply::text(&["Hello ", "from the worker."], 12, 5)])
        .await
        .unwrap();
    let (user, model) = user_and_model(&pool, &server, "staff").await;
    let engine = workers::turn_engine(
        &super::knowledge::pipeline(&pool),
        EnvironmentKeys::default(),
        LimitsConfig::default(),
        CancellationToken::new(),
    );

    let begun = engine.begin(ask(user, model, "Say hello")).await.unwrap();
    // Followed while it is written: what it had, then each piece, then how it ended.
    assert!(
        engine
            .follow(Uuid::new_v4(), begun.reply_id)
            .await
            .unwrap()
            .is_none(),
        "only its owner follows a reply"
    );
    let updates = engine.follow(user, begun.reply_id).await.unwrap().unwrap();
    let updates: Vec<Update> = tokio::time::timeout(Duration::from_secs(10), updates.collect())
        .await
        .expect("the reply ends");
    let mut text = String::new();
    for update in &updates {
        match update {
            Update::Snapshot(now) => text.clone_from(&now.content),
            Update::Text(piece) => text.push_str(piece),
            Update::Reasoning(_) | Update::Done { .. } => {}
        }
    }
    assert_eq!(
        updates.last(),
        Some(&Update::Done {
            status: "complete".into(),
            error: None
        })
    );
    assert_eq!(text, "Hello from the worker.");

    let sent = &server.requests()[0];
    assert_eq!(
        sent.body["messages"][0]["content"], "Say hello",
        "{}",
        sent.body
    );
    let saved = chat::saved_reply(&pool, begun.reply_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (saved.content.as_str(), saved.status.as_str()),
        ("Hello from the worker.", "complete")
    );
    let (feature, input, output, cost, conversation): (String, i32, i32, String, Uuid) =
        sqlx::query_as(
            "select feature, input_tokens, output_tokens, cost::text, conversation_id
             from usage_records where message_id = $1",
        )
        .bind(begun.reply_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (feature.as_str(), input, output, conversation),
        ("assistant", 12, 5, begun.conversation_id)
    );
    // 12 x $2 + 5 x $8 per million tokens.
    assert_eq!(cost, "0.00006400");
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn the_worker_refuses_what_the_server_refuses_before_anything_is_saved(pool: PgPool) {
    let server = FakeServer::start(vec![Reply::text(&["never"], 1, 1)])
        .await
        .unwrap();
    let (user, model) = user_and_model(&pool, &server, "student").await;
    let engine = workers::turn_engine(
        &super::knowledge::pipeline(&pool),
        EnvironmentKeys::default(),
        LimitsConfig {
            ai_calls_per_minute: 1,
            ..LimitsConfig::default()
        },
        CancellationToken::new(),
    );
    // A model the user's roles do not allow.
    sqlx::query("delete from ai_model_roles where model_id = $1")
        .bind(model)
        .execute(&pool)
        .await
        .unwrap();
    let refused = engine.begin(ask(user, model, "hi")).await.unwrap_err();
    assert!(
        matches!(&refused, TurnError::Invalid(m) if m.contains("cannot use that model")),
        "{refused:?}"
    );
    // Knowledge the user may not use (students have no repositories).
    sqlx::query("insert into ai_model_roles (model_id, role_id) select $1, id from roles")
        .bind(model)
        .execute(&pool)
        .await
        .unwrap();
    let refused = engine
        .begin(Ask {
            repositories: Some(vec![Uuid::new_v4()]),
            ..ask(user, model, "hi")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, TurnError::Invalid(m) if m.contains("knowledge")),
        "{refused:?}"
    );
    let saved: i64 = sqlx::query_scalar("select count(*) from conversations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(saved, 0);
    assert!(server.requests().is_empty());
    // The user's limits hold here as in the server: one call a minute.
    engine.begin(ask(user, model, "hi")).await.unwrap();
    let refused = engine.begin(ask(user, model, "again")).await.unwrap_err();
    assert!(matches!(refused, TurnError::TooMany { .. }), "{refused:?}");
}

/// Runs the queue until it has nothing ready.
pub(crate) async fn drain(pool: &PgPool) {
    let runner = workers::Runner::new(pool.clone(), super::handlers(pool), super::config());
    let never = CancellationToken::new();
    while runner.run_once(&never).await.unwrap() != workers::Outcome::Empty {}
}

/// `begin`s `text` in a new chat and waits for its reply to end.
async fn chat_turn(
    engine: &studio_core::chat::turn::Engine,
    user: Uuid,
    model: Uuid,
    text: &str,
) -> Uuid {
    let begun = engine
        .begin(Ask {
            feature: "chat",
            ..ask(user, model, text)
        })
        .await
        .unwrap();
    let updates = engine.follow(user, begun.reply_id).await.unwrap().unwrap();
    tokio::time::timeout(Duration::from_secs(10), updates.collect::<Vec<_>>())
        .await
        .expect("the reply ends");
    begun.conversation_id
}

async fn title(pool: &PgPool, conversation: Uuid) -> String {
    sqlx::query_scalar("select title from conversations where id = $1")
        .bind(conversation)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_chat_is_titled_by_its_model_after_the_first_reply_unless_renamed(pool: PgPool) {
    let server = FakeServer::start(vec![
        Reply::text(&["Fractions are ", "parts of a whole."], 12, 5),
        Reply::text(&["\"Understanding ", "fractions.\"\n"], 40, 3),
        Reply::text(&["Halves and quarters."], 20, 4),
        Reply::text(&["Sure."], 12, 1),
    ])
    .await
    .unwrap();
    let (user, model) = user_and_model(&pool, &server, "staff").await;
    let engine = workers::turn_engine(
        &super::knowledge::pipeline(&pool),
        EnvironmentKeys::default(),
        LimitsConfig::default(),
        CancellationToken::new(),
    );
    let question = "## What are *fractions*?\nExplain simply.";
    let conversation = chat_turn(&engine, user, model, question).await;
    // Until the model has written one, the title is the first line in plain text.
    assert_eq!(title(&pool, conversation).await, "What are fractions?");
    drain(&pool).await;
    assert_eq!(title(&pool, conversation).await, "Understanding fractions");
    // The model was shown the exchange and asked for a title alone.
    let asked = &server.requests()[1].body;
    assert_eq!(asked["max_tokens"], 24, "{asked}");
    assert!(
        asked["messages"][0]["content"]
            .as_str()
            .unwrap()
            .starts_with("Write a title")
    );
    let shown = asked["messages"][1]["content"].as_str().unwrap();
    assert!(shown.contains("What are *fractions*?") && shown.contains("parts of a whole"));
    // The call is paid for like any other: $2 / $8 per million tokens in / out.
    let (feature, input, output, cost): (String, i32, i32, String) = sqlx::query_as(
        "select feature, input_tokens, output_tokens, cost::text from usage_records
         where conversation_id = $1 and message_id is null",
    )
    .bind(conversation)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((feature.as_str(), input, output), ("title", 40, 3));
    assert_eq!(cost, "0.00010400");

    // A later reply asks for no title again.
    let begun = engine
        .begin(Ask {
            feature: "chat",
            turn: Turn::Message {
                conversation_id: Some(conversation),
                replacing: None,
                text: "And halves?".into(),
                images: Vec::new(),
                documents: Vec::new(),
            },
            ..ask(user, model, "")
        })
        .await
        .unwrap();
    let updates = engine.follow(user, begun.reply_id).await.unwrap().unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), updates.collect::<Vec<_>>()).await;
    drain(&pool).await;
    assert_eq!(server.requests().len(), 3);

    // Renamed before the title job ran: the person's name stays.
    let renamed = chat_turn(&engine, user, model, "Plan a trip").await;
    chat::rename(&pool, user, renamed, "Museum visit")
        .await
        .unwrap();
    drain(&pool).await;
    assert_eq!(title(&pool, renamed).await, "Museum visit");
    assert_eq!(
        server.requests().len(),
        4,
        "no title call for a renamed chat"
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn many_turns_at_once_start_even_when_they_outnumber_the_connections(pool: PgPool) {
    // A request that held a connection while it waited for another would wait here on the
    // others until the pool gave up: three connections, sixteen turns at once.
    let small = sqlx::postgres::PgPoolOptions::new()
        .max_connections(3)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let server = FakeServer::start(vec![Reply::text(&["Fine."], 3, 1)])
        .await
        .unwrap();
    // Staff may use knowledge: each turn also reads its conversation's repositories.
    let (user, model) = user_and_model(&small, &server, "staff").await;
    let engine = workers::turn_engine(
        &super::knowledge::pipeline(&small),
        EnvironmentKeys::default(),
        LimitsConfig {
            ai_calls_per_minute: 100,
            live_generations_per_user: 100,
            ..LimitsConfig::default()
        },
        CancellationToken::new(),
    );
    let mut conversations = Vec::new();
    for n in 0..4 {
        let begun = engine
            .begin(Ask {
                repositories: Some(Vec::new()),
                ..ask(user, model, &format!("Conversation {n}"))
            })
            .await
            .unwrap();
        conversations.push(begun.conversation_id);
    }
    let turns = (0..16).map(|n| {
        let engine = engine.clone();
        let conversation = (n % 2 == 0).then(|| conversations[n % 4]);
        async move {
            engine
                .begin(Ask {
                    turn: Turn::Message {
                        conversation_id: conversation,
                        replacing: None,
                        text: format!("Turn {n}"),
                        images: Vec::new(),
                        documents: Vec::new(),
                    },
                    repositories: Some(Vec::new()),
                    ..ask(user, model, "")
                })
                .await
        }
    });
    let begun = tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(turns))
        .await
        .expect("every turn starts");
    for turn in begun {
        turn.unwrap();
    }
    let saved: i64 = sqlx::query_scalar("select count(*) from messages where role = 'user'")
        .fetch_one(&small)
        .await
        .unwrap();
    assert_eq!(saved, 20);
}
