//! Database tests of conversations and of replies written by a fake OpenAI server on loopback.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use rust_decimal::Decimal;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    live::{self, Delta, Generations, Job, Target, Update},
    *,
};
use crate::{
    llm::{
        ChatRequest,
        openai::{OpenAi, OpenAiSettings},
        testing::{FakeServer, Frame, Reply, done, finish_chunk, text_chunk, usage_chunk},
    },
    models::{self, Model},
    test_support::person,
};

/// A model priced at $1 / $2 / $0.5 per million input / output / cached tokens.
async fn model(pool: &PgPool) -> Model {
    let provider: Uuid = sqlx::query_scalar(
        "insert into ai_providers (kind, name) values ('openai', 'Fake') returning id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let id: Uuid = sqlx::query_scalar(
        r#"
        insert into ai_models (provider_id, model_key, display_name, input_price, output_price, cached_input_price)
        values ($1, 'fake-model', 'Fake model', 1, 2, 0.5) returning id
        "#,
    )
    .bind(provider)
    .fetch_one(pool)
    .await
    .unwrap();
    models::list_models(pool)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == id)
        .unwrap()
}

fn message(conversation_id: Option<Uuid>, text: &str) -> Turn {
    Turn::Message {
        conversation_id,
        replacing: None,
        text: text.into(),
        images: Vec::new(),
        documents: Vec::new(),
    }
}

struct Harness {
    pool: PgPool,
    generations: Arc<Generations>,
    model: Model,
    server: FakeServer,
}

impl Harness {
    async fn new(pool: PgPool, replies: Vec<Reply>) -> Self {
        let model = model(&pool).await;
        Self {
            pool,
            generations: Arc::default(),
            model,
            server: FakeServer::start(replies).await.unwrap(),
        }
    }

    async fn turn(&self, user_id: Uuid, turn: Turn) -> Started {
        let started = start_turn(
            &self.pool,
            user_id,
            self.model.id,
            turn,
            ImageBudget::default(),
        )
        .await
        .unwrap();
        let provider = OpenAi::new(&OpenAiSettings {
            base_url: Some(self.server.base_url()),
            api_key: Some("sk-test".to_owned().into()),
        })
        .unwrap();
        self.generations.start(
            Job {
                pool: self.pool.clone(),
                provider: Arc::new(provider),
                request: ChatRequest {
                    model: "fake-model".into(),
                    messages: started.history.clone(),
                    max_output_tokens: None,
                    temperature: None,
                },
                model: self.model.clone(),
                user_id,
                id: started.reply_id,
                target: Target::Reply {
                    conversation_id: started.conversation_id,
                },
                feature: "chat",
                slot: None,
            },
            &CancellationToken::new(),
        );
        started
    }

    /// Waits until the reply is no longer being written.
    async fn settled(&self, reply: Uuid) -> SavedReply {
        for _ in 0..500 {
            let saved = saved_reply(&self.pool, reply).await.unwrap().unwrap();
            if saved.status != "streaming" && self.generations.running() == 0 {
                return saved;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the reply never finished");
    }
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_reply_is_saved_with_its_usage_and_cost(pool: PgPool) {
    let h = Harness::new(
        pool,
        vec![Reply::Stream(vec![
            text_chunk("Hello"),
            text_chunk(", world."),
            finish_chunk("stop"),
            usage_chunk(1_000, 500, 400),
            done(),
        ])],
    )
    .await;
    let user = person(&h.pool, "a@example.org", "student").await;
    assert_eq!(last_used_model(&h.pool, user).await.unwrap(), None);
    let started = h
        .turn(
            user,
            message(
                None,
                "Say hello to the whole wide world, please, in a friendly way today",
            ),
        )
        .await;
    let saved = h.settled(started.reply_id).await;
    assert_eq!(saved.content, "Hello, world.");
    assert_eq!(saved.status, "complete");
    assert_eq!(
        last_used_model(&h.pool, user).await.unwrap(),
        Some(h.model.id),
        "a new chat starts with it"
    );

    let conversation = conversation(&h.pool, user, started.conversation_id, None)
        .await
        .unwrap();
    assert_eq!(
        conversation.summary.title,
        "Say hello to the whole wide world, please, in a friendly…"
    );
    let roles: Vec<&str> = conversation
        .messages
        .iter()
        .map(|m| m.role.as_str())
        .collect();
    assert_eq!(roles, ["user", "assistant"]);
    let usage = conversation.messages[1].usage.expect("usage per message");
    assert_eq!(
        (
            usage.input_tokens,
            usage.output_tokens,
            usage.cached_input_tokens
        ),
        (1_000, 500, 400)
    );
    // 600 input at $1/M + 400 cached at $0.5/M + 500 output at $2/M.
    let expected = Decimal::new(1_800, 6);
    assert_eq!(usage.cost, expected);
    assert_eq!(conversation.totals.cost, expected);

    // The finished reply alone, as the branch shows it: to its owner only.
    let (of, reply) = super::finished_reply(&h.pool, user, started.reply_id)
        .await
        .unwrap()
        .expect("the owner's finished reply");
    assert_eq!(of, started.conversation_id);
    assert_eq!(reply, conversation.messages[1]);
    let other = person(&h.pool, "b@example.org", "student").await;
    assert_eq!(
        super::finished_reply(&h.pool, other, started.reply_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        super::finished_reply(&h.pool, user, conversation.messages[0].id)
            .await
            .unwrap(),
        None,
        "a question is no reply"
    );
    assert_eq!(
        super::totals(&h.pool, started.conversation_id)
            .await
            .unwrap(),
        conversation.totals
    );

    let record = sqlx::query!(
        "select feature, status, model_key, first_token_ms, total_ms from usage_records where message_id = $1",
        started.reply_id
    )
    .fetch_one(&h.pool)
    .await
    .unwrap();
    assert_eq!(
        (
            record.feature.as_str(),
            record.status.as_str(),
            record.model_key.as_str()
        ),
        ("chat", "complete", "fake-model")
    );
    assert!(
        record
            .first_token_ms
            .is_some_and(|ms| ms <= record.total_ms)
    );

    // The provider saw the user's message.
    let body = &h.server.requests()[0].body;
    assert!(body.to_string().contains("whole wide world"), "{body}");
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn attaching_sees_everything_and_stop_keeps_what_came(pool: PgPool) {
    let h = Harness::new(
        pool,
        vec![Reply::Stream(vec![
            text_chunk("First part. "),
            Frame::Pause(Duration::from_secs(30)),
            text_chunk("Never sent."),
            finish_chunk("stop"),
            done(),
        ])],
    )
    .await;
    let user = person(&h.pool, "a@example.org", "student").await;
    let other = person(&h.pool, "b@example.org", "student").await;
    let started = h.turn(user, message(None, "Tell me a story")).await;
    // Someone else can neither watch nor stop it.
    assert!(h.generations.attach(other, started.reply_id).is_none());
    assert!(!h.generations.stop(other, started.reply_id));

    let (snapshot, mut deltas) = h.generations.attach(user, started.reply_id).unwrap();
    let mut seen = snapshot.content;
    while seen != "First part. " {
        match tokio::time::timeout(Duration::from_secs(5), deltas.recv())
            .await
            .unwrap()
            .unwrap()
        {
            Delta::Text(text) => seen.push_str(&text),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(h.generations.stop(user, started.reply_id));
    let done = loop {
        if let Delta::Done(outcome) = deltas.recv().await.unwrap() {
            break outcome;
        }
    };
    assert_eq!(done.status, "stopped");
    let saved = h.settled(started.reply_id).await;
    assert_eq!(
        (saved.content.as_str(), saved.status.as_str()),
        ("First part. ", "stopped")
    );
    let (status, output, estimated): (String, i32, bool) = sqlx::query_as(
        "select status, output_tokens, tokens_estimated from usage_records where message_id = $1",
    )
    .bind(started.reply_id)
    .fetch_one(&h.pool)
    .await
    .unwrap();
    // The provider never reported usage: 12 characters are about 3 tokens.
    assert_eq!((status.as_str(), output, estimated), ("stopped", 3, true));
}

/// The text a follower shows after `updates` (a snapshot replaces it), and how it ended.
fn shown(updates: &[Update]) -> (String, Option<&Update>) {
    let mut text = String::new();
    for update in updates {
        match update {
            Update::Snapshot(now) => text.clone_from(&now.content),
            Update::Text(piece) => text.push_str(piece),
            Update::Reasoning(_) | Update::Done { .. } => {}
        }
    }
    (text, updates.last())
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_follower_that_falls_behind_gets_a_snapshot_and_the_end_never_a_cut(pool: PgPool) {
    // More pieces at once than a follower's channel holds, a pause, then a few more.
    let piece = |i: usize| format!("{i} ");
    let mut frames: Vec<Frame> = (0..400).map(|i| text_chunk(&piece(i))).collect();
    frames.push(Frame::Pause(Duration::from_millis(600)));
    frames.extend((400..410).map(|i| text_chunk(&piece(i))));
    frames.extend([finish_chunk("stop"), done()]);
    let h = Harness::new(pool, vec![Reply::Stream(frames)]).await;
    let user = person(&h.pool, "a@example.org", "student").await;
    let other = person(&h.pool, "b@example.org", "student").await;
    let started = h.turn(user, message(None, "Count to 409")).await;
    let whole: String = (0..410).map(piece).collect();
    let complete = Update::Done {
        status: "complete".into(),
        error: None,
    };
    let follow = || live::follow(&h.generations, &h.pool, user, started.reply_id);
    assert!(
        live::follow(&h.generations, &h.pool, other, started.reply_id)
            .await
            .unwrap()
            .is_none()
    );
    // One reader starts reading while the reply is still written, far behind; another only
    // after it ended, every piece long gone from its channel.
    let slow = follow().await.unwrap().unwrap();
    let late = follow().await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let slow: Vec<Update> = tokio::time::timeout(Duration::from_secs(10), slow.collect())
        .await
        .unwrap();
    assert_eq!(shown(&slow), (whole.clone(), Some(&complete)));
    h.settled(started.reply_id).await;
    let late: Vec<Update> = tokio::time::timeout(Duration::from_secs(10), late.collect())
        .await
        .unwrap();
    assert_eq!(shown(&late), (whole.clone(), Some(&complete)));
    // However late it attached (before the pieces, among them or in the pause), it never
    // reads more than its channel holds: one behind by more catches up from a snapshot.
    assert!(
        late.len() <= 130,
        "caught up from a snapshot: {}",
        late.len()
    );
    // Followed once saved: the saved reply and its end.
    let saved: Vec<Update> = follow().await.unwrap().unwrap().collect().await;
    assert_eq!(shown(&saved), (whole, Some(&complete)));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_provider_failure_keeps_the_partial_reply_with_the_reason(pool: PgPool) {
    let h = Harness::new(
        pool,
        vec![
            Reply::Stream(vec![text_chunk("Half a"), Frame::Cut]),
            Reply::error(400, "This model's maximum context length is 10 tokens"),
        ],
    )
    .await;
    let user = person(&h.pool, "a@example.org", "student").await;
    let cut = h.turn(user, message(None, "Go")).await;
    let saved = h.settled(cut.reply_id).await;
    assert_eq!(
        (saved.content.as_str(), saved.status.as_str()),
        ("Half a", "failed")
    );
    assert!(
        saved
            .error
            .as_deref()
            .is_some_and(|e| e.contains("broke off")),
        "{saved:?}"
    );

    let refused = h
        .turn(user, message(Some(cut.conversation_id), "Again"))
        .await;
    let saved = h.settled(refused.reply_id).await;
    assert_eq!(saved.status, "failed");
    // The reader gets the kind of failure; the provider's own words stay in the server log.
    assert_eq!(
        saved.error.as_deref(),
        Some(
            "The provider refused the request: the request was not accepted (too long, or not supported by this model)."
        ),
    );
    // The failed reply is not sent back to the model as if it had said it.
    let body = h.server.requests()[1].body.to_string();
    assert!(!body.contains("Half a"), "{body}");
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn regenerate_and_edit_make_branches_the_user_can_switch(pool: PgPool) {
    let h = Harness::new(
        pool,
        vec![
            Reply::text(&["One."], 1, 1),
            Reply::text(&["Two."], 1, 1),
            Reply::text(&["Three."], 1, 1),
        ],
    )
    .await;
    let user = person(&h.pool, "a@example.org", "student").await;
    let first = h.turn(user, message(None, "Count")).await;
    h.settled(first.reply_id).await;
    let second = h
        .turn(
            user,
            Turn::Regenerate {
                reply: first.reply_id,
            },
        )
        .await;
    h.settled(second.reply_id).await;

    let shown = conversation(&h.pool, user, first.conversation_id, None)
        .await
        .unwrap();
    assert_eq!(shown.messages[1].content, "Two.");
    assert_eq!(
        shown.messages[1].siblings,
        [first.reply_id, second.reply_id]
    );

    select_branch(&h.pool, user, first.reply_id).await.unwrap();
    let shown = conversation(&h.pool, user, first.conversation_id, None)
        .await
        .unwrap();
    assert_eq!(shown.messages[1].content, "One.");

    // An edit is a sibling of the user message, with its own reply.
    let edited = h
        .turn(
            user,
            Turn::Message {
                conversation_id: Some(first.conversation_id),
                replacing: Some(first.user_message_id),
                text: "Count again".into(),
                images: Vec::new(),
                documents: Vec::new(),
            },
        )
        .await;
    h.settled(edited.reply_id).await;
    let shown = conversation(&h.pool, user, first.conversation_id, None)
        .await
        .unwrap();
    let texts: Vec<&str> = shown.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["Count again", "Three."]);
    assert_eq!(
        shown.messages[0].siblings,
        [first.user_message_id, edited.user_message_id]
    );
    // Going back to the first question shows its newest reply.
    select_branch(&h.pool, user, first.user_message_id)
        .await
        .unwrap();
    let shown = conversation(&h.pool, user, first.conversation_id, None)
        .await
        .unwrap();
    assert_eq!(shown.messages[1].content, "Two.");
    // The totals count every branch.
    assert_eq!(shown.totals.output_tokens, 3);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn the_list_searches_pins_archives_and_stays_private(pool: PgPool) {
    let h = Harness::new(
        pool,
        vec![
            Reply::text(&["Photosynthesis turns light into sugar."], 1, 1),
            Reply::text(&["Ok."], 1, 1),
        ],
    )
    .await;
    let user = person(&h.pool, "a@example.org", "student").await;
    let other = person(&h.pool, "b@example.org", "student").await;
    let biology = h.turn(user, message(None, "Explain plants")).await;
    h.settled(biology.reply_id).await;
    let history = h.turn(user, message(None, "Romans")).await;
    h.settled(history.reply_id).await;

    let find = |search: &str| ListQuery {
        search: Some(search.into()),
        ..ListQuery::default()
    };
    let ids = |list: Vec<Summary>| list.into_iter().map(|s| s.id).collect::<Vec<_>>();
    // Message text, with a prefix; titles; nothing for nonsense or markup.
    assert_eq!(
        ids(list(&h.pool, user, &find("photosynth")).await.unwrap()),
        [biology.conversation_id]
    );
    assert_eq!(
        ids(list(&h.pool, user, &find("ROMANS")).await.unwrap()),
        [history.conversation_id]
    );
    assert!(
        list(&h.pool, user, &find("zebra"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        list(&h.pool, user, &find("'):* & !")).await.unwrap().len(),
        2,
        "no words: everything"
    );
    assert!(
        list(&h.pool, other, &find("photosynthesis"))
            .await
            .unwrap()
            .is_empty()
    );

    // Newest first, pinned before that.
    assert_eq!(
        ids(list(&h.pool, user, &ListQuery::default()).await.unwrap()),
        [history.conversation_id, biology.conversation_id]
    );
    set_pinned(&h.pool, user, biology.conversation_id, true)
        .await
        .unwrap();
    assert_eq!(
        ids(list(&h.pool, user, &ListQuery::default()).await.unwrap()),
        [biology.conversation_id, history.conversation_id]
    );

    set_archived(&h.pool, user, history.conversation_id, true)
        .await
        .unwrap();
    assert_eq!(
        ids(list(&h.pool, user, &ListQuery::default()).await.unwrap()),
        [biology.conversation_id]
    );
    let archived = ListQuery {
        archived: true,
        ..ListQuery::default()
    };
    assert_eq!(
        ids(list(&h.pool, user, &archived).await.unwrap()),
        [history.conversation_id]
    );

    rename(
        &h.pool,
        user,
        biology.conversation_id,
        "  Plants   and light ",
    )
    .await
    .unwrap();
    assert_eq!(
        list(&h.pool, user, &ListQuery::default()).await.unwrap()[0].title,
        "Plants and light"
    );
    assert!(matches!(
        rename(&h.pool, user, biology.conversation_id, " ").await,
        Err(ChatError::Invalid(_))
    ));

    // Folders.
    let folder = create_folder(&h.pool, user, "Science").await.unwrap();
    assert!(matches!(
        create_folder(&h.pool, user, "science").await,
        Err(ChatError::Invalid(_))
    ));
    move_to_folder(&h.pool, user, biology.conversation_id, Some(folder))
        .await
        .unwrap();
    let in_folder = ListQuery {
        folder_id: Some(folder),
        ..ListQuery::default()
    };
    assert_eq!(
        ids(list(&h.pool, user, &in_folder).await.unwrap()),
        [biology.conversation_id]
    );
    let foreign = create_folder(&h.pool, other, "Mine").await.unwrap();
    assert!(matches!(
        move_to_folder(&h.pool, user, biology.conversation_id, Some(foreign)).await,
        Err(ChatError::NotFound)
    ));

    // Someone else's conversation does not exist for them.
    assert!(matches!(
        conversation(&h.pool, other, biology.conversation_id, None).await,
        Err(ChatError::NotFound)
    ));
    assert!(matches!(
        rename(&h.pool, other, biology.conversation_id, "Mine").await,
        Err(ChatError::NotFound)
    ));
    assert!(matches!(
        delete(&h.pool, other, biology.conversation_id).await,
        Err(ChatError::NotFound)
    ));
    assert!(matches!(
        start_turn(
            &h.pool,
            other,
            h.model.id,
            Turn::Regenerate {
                reply: biology.reply_id
            },
            ImageBudget::default()
        )
        .await,
        Err(ChatError::NotFound)
    ));
    assert!(!owns_reply(&h.pool, other, biology.reply_id).await.unwrap());
    assert!(owns_reply(&h.pool, user, biology.reply_id).await.unwrap());

    delete(&h.pool, user, biology.conversation_id)
        .await
        .unwrap();
    assert!(matches!(
        conversation(&h.pool, user, biology.conversation_id, None).await,
        Err(ChatError::NotFound)
    ));
    // The usage stays for reports.
    let records: i64 = sqlx::query_scalar("select count(*) from usage_records where user_id = $1")
        .bind(user)
        .fetch_one(&h.pool)
        .await
        .unwrap();
    assert_eq!(records, 2);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn replies_interrupted_by_a_restart_are_marked_stopped(pool: PgPool) {
    let model = model(&pool).await;
    let user = person(&pool, "a@example.org", "student").await;
    let started = start_turn(
        &pool,
        user,
        model.id,
        message(None, "Hi"),
        ImageBudget::default(),
    )
    .await
    .unwrap();
    assert_eq!(recover_interrupted(&pool).await.unwrap(), 1);
    let saved = saved_reply(&pool, started.reply_id).await.unwrap().unwrap();
    assert_eq!(saved.status, "stopped");
    assert!(saved.error.unwrap().contains("restarted"));
    assert!(matches!(
        start_turn(
            &pool,
            user,
            model.id,
            message(None, "   "),
            ImageBudget::default()
        )
        .await,
        Err(ChatError::Invalid(_))
    ));
}

#[test]
fn titles_come_from_the_first_line_cut_at_a_word() {
    assert_eq!(
        auto_title("\n  What is   photosynthesis?\nMore"),
        "What is photosynthesis?"
    );
    let long = "Please explain in great detail how the Roman Empire managed its provinces";
    assert_eq!(
        auto_title(long),
        "Please explain in great detail how the Roman Empire managed…"
    );
    assert_eq!(auto_title(""), "New chat");
    // Markdown marks are not part of a title.
    assert_eq!(
        auto_title("## Lesson one: *fractions*\nMore"),
        "Lesson one: fractions"
    );
    assert_eq!(auto_title("```rust\nfn main() {}\n```"), "fn main() {}");
    assert_eq!(
        auto_title("> - **Read** [the page](https://example.org) first"),
        "Read the page first"
    );
    assert_eq!(auto_title("1. `ls` and _cd_"), "ls and cd");
    assert_eq!(auto_title("| a | b |\n|---|---|"), "a b");
    assert_eq!(auto_title("#hashtag"), "hashtag");
}

#[test]
fn search_words_become_a_safe_prefix_query() {
    assert_eq!(
        ts_query("Photo synth").as_deref(),
        Some("'photo' & 'synth':*")
    );
    assert_eq!(ts_query("a'b | c:*").as_deref(), Some("'a' & 'b' & 'c':*"));
    assert_eq!(ts_query(" !& "), None);
}

/// The eight-byte PNG signature and the start of a header chunk: enough to be told a PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn images_are_checked_by_content_and_sent_to_the_model(pool: PgPool) {
    let h = Harness::new(pool, vec![Reply::text(&["A red dot."], 1, 1)]).await;
    let user = person(&h.pool, "a@example.org", "student").await;
    let other = person(&h.pool, "b@example.org", "student").await;

    let refusal = |result: Result<Uuid, ChatError>| match result {
        Err(ChatError::Invalid(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(
        refusal(upload_image(&h.pool, user, "notes.png", b"just text, named .png").await)
            .contains("notes.png is not a PNG, JPEG, WebP or GIF")
    );
    let huge = vec![0u8; MAX_IMAGE_BYTES + 1];
    assert!(
        refusal(upload_image(&h.pool, user, "big.png", &huge).await).contains("larger than 20 MB")
    );
    assert!(refusal(upload_image(&h.pool, user, "", b"").await).contains("empty"));

    let id = upload_image(&h.pool, user, "dot.png", PNG).await.unwrap();
    assert_eq!(
        image(&h.pool, user, id).await.unwrap(),
        Some(("image/png".to_owned(), PNG.to_vec()))
    );
    assert_eq!(
        image(&h.pool, other, id).await.unwrap(),
        None,
        "someone else's image"
    );
    // Someone else cannot send it.
    let stolen = start_turn(
        &h.pool,
        other,
        h.model.id,
        Turn::Message {
            conversation_id: None,
            replacing: None,
            text: "mine".into(),
            images: vec![id],
            documents: Vec::new(),
        },
        ImageBudget::default(),
    )
    .await;
    assert!(matches!(stolen, Err(ChatError::Invalid(m)) if m.contains("attach it again")));

    let started = h
        .turn(
            user,
            Turn::Message {
                conversation_id: None,
                replacing: None,
                text: "What is this?".into(),
                images: vec![id],
                documents: Vec::new(),
            },
        )
        .await;
    h.settled(started.reply_id).await;
    let body = h.server.requests()[0].body.to_string();
    assert!(body.contains("data:image/png;base64,iVBORw0KGgo"), "{body}");
    let shown = conversation(&h.pool, user, started.conversation_id, None)
        .await
        .unwrap();
    assert_eq!(shown.messages[0].image_ids, [id]);
    // Sent once: it cannot be attached again.
    let again = start_turn(
        &h.pool,
        user,
        h.model.id,
        Turn::Message {
            conversation_id: None,
            replacing: None,
            text: "Again".into(),
            images: vec![id],
            documents: Vec::new(),
        },
        ImageBudget::default(),
    )
    .await;
    assert!(matches!(again, Err(ChatError::Invalid(_))));

    // An edit keeps the images of the message it replaces.
    let edited = h
        .turn(
            user,
            Turn::Message {
                conversation_id: Some(started.conversation_id),
                replacing: Some(shown.messages[0].id),
                text: "And now?".into(),
                images: Vec::new(),
                documents: Vec::new(),
            },
        )
        .await;
    h.settled(edited.reply_id).await;
    let body = h.server.requests()[1].body.to_string();
    assert!(body.contains("data:image/png;base64,iVBORw0KGgo"), "{body}");
    let shown = conversation(&h.pool, user, started.conversation_id, None)
        .await
        .unwrap();
    assert_eq!(shown.messages[0].content, "And now?");
    assert_eq!(shown.messages[0].image_ids.len(), 1);
    assert_ne!(shown.messages[0].image_ids, [id], "a copy of its own");
    assert_eq!(
        image(&h.pool, user, shown.messages[0].image_ids[0])
            .await
            .unwrap(),
        Some(("image/png".to_owned(), PNG.to_vec()))
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn documents_go_to_the_model_as_text_before_the_question(pool: PgPool) {
    use super::documents::{MAX_DOCUMENT_CHARS, NewDocument, keep_document};

    let replies = (0..3).map(|_| Reply::text(&["Ethanol."], 1, 1)).collect();
    let h = Harness::new(pool, replies).await;
    let user = person(&h.pool, "reader@school.test", "student").await;
    let other = person(&h.pool, "other@school.test", "student").await;
    let document = |text: String| NewDocument {
        file_name: "Lab report.pdf".into(),
        content_kind: "pdf".into(),
        size_bytes: 1234,
        text,
    };
    let kept = keep_document(
        &h.pool,
        user,
        document("Yeast ferments sugar into ethanol.".into()),
    )
    .await
    .unwrap();
    assert!(!kept.truncated);
    let empty = keep_document(&h.pool, user, document("  \n ".into())).await;
    assert!(matches!(empty, Err(ChatError::Invalid(m)) if m.contains("No text was found")));
    let long = keep_document(&h.pool, user, document("word ".repeat(MAX_DOCUMENT_CHARS)))
        .await
        .unwrap();
    assert!(long.truncated);
    assert_eq!(long.chars, MAX_DOCUMENT_CHARS);

    // Someone else cannot send it.
    let with = |documents: Vec<Uuid>, text: &str| Turn::Message {
        conversation_id: None,
        replacing: None,
        text: text.into(),
        images: Vec::new(),
        documents,
    };
    let stolen = start_turn(
        &h.pool,
        other,
        h.model.id,
        with(vec![kept.id], "mine"),
        ImageBudget::default(),
    )
    .await;
    assert!(matches!(stolen, Err(ChatError::Invalid(m)) if m.contains("attach it again")));

    let started = h
        .turn(user, with(vec![kept.id], "What does yeast make?"))
        .await;
    h.settled(started.reply_id).await;
    let body = h.server.requests()[0].body.to_string();
    let (document_at, question_at) = (
        body.find("Yeast ferments sugar into ethanol.")
            .expect(&body),
        body.find("What does yeast make?").expect(&body),
    );
    assert!(document_at < question_at, "{body}");
    assert!(
        body.contains("attached the document \\\"Lab report.pdf\\\""),
        "{body}"
    );
    let shown = conversation(&h.pool, user, started.conversation_id, None)
        .await
        .unwrap();
    assert_eq!(shown.messages[0].document_names, ["Lab report.pdf"]);
    // Sent once: it cannot be attached again.
    let again = start_turn(
        &h.pool,
        user,
        h.model.id,
        with(vec![kept.id], "Again"),
        ImageBudget::default(),
    )
    .await;
    assert!(matches!(again, Err(ChatError::Invalid(_))));

    // A document alone is a message; a cut one says so.
    let started = h.turn(user, with(vec![long.id], "")).await;
    h.settled(started.reply_id).await;
    let body = h.server.requests()[1].body.to_string();
    assert!(body.contains("only its first 100000 characters"), "{body}");

    // An edit keeps the documents of the message it replaces.
    let edited = h
        .turn(
            user,
            Turn::Message {
                conversation_id: Some(started.conversation_id),
                replacing: Some(
                    conversation(&h.pool, user, started.conversation_id, None)
                        .await
                        .unwrap()
                        .messages[0]
                        .id,
                ),
                text: "Summarise it".into(),
                images: Vec::new(),
                documents: Vec::new(),
            },
        )
        .await;
    h.settled(edited.reply_id).await;
    let body = h.server.requests()[2].body.to_string();
    assert!(body.contains("only its first 100000 characters"), "{body}");
    assert!(body.contains("Summarise it"), "{body}");
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_send_carries_only_the_latest_turns_images_within_the_byte_budget(pool: PgPool) {
    let h = Harness::new(pool, vec![Reply::text(&["Seen."], 1, 1)]).await;
    let user = person(&h.pool, "a@example.org", "student").await;
    let budget = ImageBudget {
        turns: 2,
        max_bytes: 1_000_000,
    };
    let mut conversation_id = None;
    let mut last = None;
    for n in 0..4 {
        let image = upload_image(&h.pool, user, "dot.png", PNG).await.unwrap();
        let started = start_turn(
            &h.pool,
            user,
            h.model.id,
            message_with_image(conversation_id, &format!("Picture {n}"), image),
            budget,
        )
        .await
        .unwrap();
        conversation_id = Some(started.conversation_id);
        sqlx::query("update messages set status = 'complete', content = 'Seen.' where id = $1")
            .bind(started.reply_id)
            .execute(&h.pool)
            .await
            .unwrap();
        last = Some(started);
    }
    let history = last.unwrap().history;
    let parts: Vec<&llm::Part> = history.iter().flat_map(|m| &m.parts).collect();
    let images = parts
        .iter()
        .filter(|p| matches!(p, llm::Part::Image { .. }))
        .count();
    let left_out = parts
        .iter()
        .filter(|p| matches!(p, llm::Part::Text(t) if t == IMAGE_LEFT_OUT))
        .count();
    assert_eq!((images, left_out), (2, 2), "the two latest turns' images");
    assert!(
        matches!(history.last().unwrap().parts[0], llm::Part::Image { .. }),
        "the newest is among them"
    );

    // A byte budget smaller than one image leaves them all out, named.
    let tight = ImageBudget {
        turns: 3,
        max_bytes: 10,
    };
    let image = upload_image(&h.pool, user, "dot.png", PNG).await.unwrap();
    let started = start_turn(
        &h.pool,
        user,
        h.model.id,
        message_with_image(conversation_id, "One more", image),
        tight,
    )
    .await
    .unwrap();
    assert!(
        !started
            .history
            .iter()
            .flat_map(|m| &m.parts)
            .any(|p| matches!(p, llm::Part::Image { .. }))
    );
}

fn message_with_image(conversation_id: Option<Uuid>, text: &str, image: Uuid) -> Turn {
    Turn::Message {
        conversation_id,
        replacing: None,
        text: text.into(),
        images: vec![image],
        documents: Vec::new(),
    }
}
