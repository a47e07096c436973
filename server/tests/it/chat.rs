//! Chat over HTTP: a message sent through the server function, its reply streamed as
//! server-sent events from a fake OpenAI server, and who may read that stream.

use sqlx::PgPool;
use studio_core::llm::testing::{FakeServer, Frame, Reply, done, finish_chunk, text_chunk};
use uuid::Uuid;

use crate::{
    access::{persona, post, post_answer, session_cookie},
    get, router,
};

/// A provider on `server` with a model every role may use; returns the model's id.
async fn fake_model(pool: &PgPool, server: &FakeServer) -> Uuid {
    model_at(pool, &server.base_url()).await
}

/// A provider at `base_url` with a model every role may use; returns the model's id.
pub(crate) async fn model_at(pool: &PgPool, base_url: &str) -> Uuid {
    let provider: Uuid = sqlx::query_scalar(
        "insert into ai_providers (kind, name, base_url) values ('openai', 'Fake', $1) returning id",
    )
    .bind(base_url)
    .fetch_one(pool)
    .await
    .unwrap();
    let model: Uuid = sqlx::query_scalar(
        "insert into ai_models (provider_id, model_key, display_name) values ($1, 'fake', 'Fake') returning id",
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
    model
}

/// Sends `text` (in `conversation`, or a new one) to `model` as the session `cookie`, and
/// waits for the reply to be saved. Returns the conversation and reply ids.
async fn send_and_wait(
    router: &axum::Router,
    cookie: &str,
    model: Uuid,
    conversation: Option<&str>,
    text: &str,
    images: &[&str],
) -> (String, String) {
    let body = serde_json::json!({
        "conversation_id": conversation,
        "replacing": null,
        "model_id": model,
        "text": text,
        "images": images,
        "repositories": [],
    })
    .to_string();
    let (status, sent, _) = post(router, "/api/chat/send", &body, Some(cookie)).await;
    assert_eq!(status, 200, "{sent}");
    let sent: serde_json::Value = serde_json::from_str(&sent).unwrap();
    let ids = (
        sent["conversation_id"].as_str().unwrap().to_owned(),
        sent["reply_id"].as_str().unwrap().to_owned(),
    );
    // The event stream ends when the reply is saved.
    get(
        router,
        &format!("/api/chat/replies/{}/events", ids.1),
        &[("cookie", cookie)],
    )
    .await;
    ids
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_reply_streams_as_events_to_its_owner_only(pool: PgPool) {
    let server = FakeServer::start(vec![Reply::Stream(vec![
        text_chunk("Hello "),
        Frame::Pause(std::time::Duration::from_millis(200)),
        text_chunk("there."),
        finish_chunk("stop"),
        done(),
    ])])
    .await
    .unwrap();
    let router = router(pool.clone(), None);
    persona(&pool, "administrator").await;
    let model = fake_model(&pool, &server).await;
    let student = persona(&pool, "student").await;
    let cookie = session_cookie(&pool, student).await;

    let body = format!(
        r#"{{"conversation_id":null,"replacing":null,"model_id":"{model}","text":"Greet me","images":[],"repositories":[]}}"#
    );
    let (status, sent, _) = post(&router, "/api/chat/send", &body, Some(&cookie)).await;
    assert_eq!(status, 200, "{sent}");
    let sent: serde_json::Value = serde_json::from_str(&sent).unwrap();
    let reply = sent["reply_id"].as_str().unwrap().to_owned();
    let events = format!("/api/chat/replies/{reply}/events");

    // Attached while it is written: the stream ends after `done`.
    let (status, headers, body) = get(&router, &events, &[("cookie", &cookie)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "text/event-stream");
    assert!(body.starts_with("event: snapshot\n"), "{body}");
    let streamed: String = body
        .lines()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|pair| pair[0] == "event: text")
        .map(|pair| serde_json::from_str::<String>(&pair[1]["data: ".len()..]).unwrap())
        .collect();
    let snapshot: serde_json::Value =
        serde_json::from_str(&body.lines().nth(1).unwrap()["data: ".len()..]).unwrap();
    assert_eq!(
        format!("{}{streamed}", snapshot["content"].as_str().unwrap()),
        "Hello there."
    );
    // `done` says how it ended and brings the finished reply and the conversation's totals,
    // so the page reloads nothing.
    let done = body
        .lines()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|pair| pair[0] == "event: done")
        .map(|pair| pair[1]["data: ".len()..].to_owned())
        .unwrap_or_else(|| panic!("no done event: {body}"));
    let done: serde_json::Value = serde_json::from_str(&done).unwrap();
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["error"], serde_json::Value::Null, "{done}");
    assert_eq!(done["message"]["content"], "Hello there.", "{done}");
    assert_eq!(done["message"]["status"], "complete", "{done}");
    assert_eq!(done["message"]["html"], "<p>Hello there.</p>\n", "{done}");
    assert_eq!(done["totals"]["output_tokens"], 3, "{done}");

    // Afterwards: the saved reply and `done` at once.
    let (status, _, body) = get(&router, &events, &[("cookie", &cookie)]).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"data: {"content":"Hello there.","reasoning":""}"#),
        "{body}"
    );
    assert!(body.contains("event: done"), "{body}");

    // Nobody else can read it.
    let (status, _, _) = get(&router, &events, &[]).await;
    assert_eq!(status, 401);
    let other = persona(&pool, "student").await;
    let other_cookie = session_cookie(&pool, other).await;
    let (status, _, _) = get(&router, &events, &[("cookie", &other_cookie)]).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(
        &router,
        "/api/chat/replies/not-an-id/events",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(status, 404);
    sqlx::query(
        "delete from role_tools where tool_id = (select id from tools where slug = 'chat')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (status, _, _) = get(&router, &events, &[("cookie", &cookie)]).await;
    assert_eq!(status, 403);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn models_a_role_does_not_allow_are_refused(pool: PgPool) {
    let server = FakeServer::start(vec![Reply::text(&["never"], 1, 1)])
        .await
        .unwrap();
    let router = router(pool.clone(), None);
    persona(&pool, "administrator").await;
    let model = fake_model(&pool, &server).await;
    sqlx::query(
        "delete from ai_model_roles where model_id = $1 and role_id = (select id from roles where name = 'student')",
    )
    .bind(model)
    .execute(&pool)
    .await
    .unwrap();
    let student = persona(&pool, "student").await;
    let cookie = session_cookie(&pool, student).await;

    let (status, models, _) = post(&router, "/api/chat/models", "{}", Some(&cookie)).await;
    assert_eq!((status.as_u16(), models.as_str()), (200, "[]"));
    let body = format!(
        r#"{{"conversation_id":null,"replacing":null,"model_id":"{model}","text":"hi","images":[],"repositories":[]}}"#
    );
    let (status, text, _) = post(&router, "/api/chat/send", &body, Some(&cookie)).await;
    assert_eq!(status, 400);
    assert!(text.contains("You cannot use that model"), "{text}");
    // Nothing was saved and the provider was never called.
    let saved: i64 = sqlx::query_scalar("select count(*) from conversations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(saved, 0);
    assert!(server.requests().is_empty());
}

/// The eight-byte PNG signature and the start of a header chunk: enough to be told a PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

async fn upload(
    router: &axum::Router,
    name: &str,
    bytes: Vec<u8>,
    cookie: Option<&str>,
) -> (u16, String) {
    upload_to(router, "/api/chat/images", name, bytes, cookie).await
}

async fn upload_to(
    router: &axum::Router,
    path: &str,
    name: &str,
    bytes: Vec<u8>,
    cookie: Option<&str>,
) -> (u16, String) {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::post(path)
        .header("host", "studio.test")
        .header("origin", "http://studio.test")
        .header("x-file-name", name);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(bytes)).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn images_upload_checked_served_to_their_owner_and_refused_by_blind_models(pool: PgPool) {
    let server = FakeServer::start(vec![Reply::text(&["never"], 1, 1)])
        .await
        .unwrap();
    let router = router(pool.clone(), None);
    persona(&pool, "administrator").await;
    let model = fake_model(&pool, &server).await;
    let student = persona(&pool, "student").await;
    let cookie = session_cookie(&pool, student).await;

    assert_eq!(upload(&router, "dot.png", PNG.to_vec(), None).await.0, 401);
    let (status, text) = upload(
        &router,
        "report%20final.png",
        b"%PDF-1.7".to_vec(),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        text,
        "report final.png is not a PNG, JPEG, WebP or GIF image."
    );
    let (status, _) = upload(
        &router,
        "huge.png",
        vec![0; 21 * 1024 * 1024],
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 413);

    let (status, uploaded) = upload(&router, "dot.png", PNG.to_vec(), Some(&cookie)).await;
    assert_eq!(status, 200, "{uploaded}");
    let id = serde_json::from_str::<serde_json::Value>(&uploaded).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/chat/images/{id}");
    let (status, headers, _) = get(&router, &path, &[("cookie", &cookie)]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    let other = persona(&pool, "student").await;
    let other_cookie = session_cookie(&pool, other).await;
    assert_eq!(
        get(&router, &path, &[("cookie", &other_cookie)]).await.0,
        404
    );
    assert_eq!(get(&router, &path, &[]).await.0, 401);

    // The model cannot read images: refused before anything is saved or sent.
    let body = format!(
        r#"{{"conversation_id":null,"replacing":null,"model_id":"{model}","text":"what is it","images":["{id}"],"repositories":[]}}"#
    );
    let (status, text, _) = post(&router, "/api/chat/send", &body, Some(&cookie)).await;
    assert_eq!(status, 400);
    assert!(text.contains("cannot read images"), "{text}");
    assert!(server.requests().is_empty());

    // A model that reads images gets it; after a switch to one that cannot, later turns
    // send a note in its place instead of being refused by the provider.
    let set_vision = |on: bool| {
        sqlx::query("update ai_models set supports_vision = $1 where id = $2")
            .bind(on)
            .bind(model)
            .execute(&pool)
    };
    set_vision(true).await.unwrap();
    let (conversation, _) =
        send_and_wait(&router, &cookie, model, None, "what is it", &[&id]).await;
    assert!(server.requests()[0].body.to_string().contains("image_url"));
    set_vision(false).await.unwrap();
    send_and_wait(
        &router,
        &cookie,
        model,
        Some(&conversation),
        "and now?",
        &[],
    )
    .await;
    let later = server.requests()[1].body.to_string();
    assert!(!later.contains("image_url"), "{later}");
    assert!(later.contains("(An image was attached here.)"), "{later}");
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn finished_replies_come_rendered_with_highlighting_and_math(pool: PgPool) {
    let server = FakeServer::start(vec![Reply::text(
        &["```rust\nfn main() {}\n```\n\n", "Area: $\\pi r^2$"],
        5,
        2,
    )])
    .await
    .unwrap();
    let router = router(pool.clone(), None);
    persona(&pool, "administrator").await;
    let model = fake_model(&pool, &server).await;
    let student = persona(&pool, "student").await;
    let cookie = session_cookie(&pool, student).await;
    let (conversation, _) = send_and_wait(&router, &cookie, model, None, "Show me", &[]).await;

    let (status, body, _) = post(
        &router,
        "/api/chat/conversation",
        &format!(r#"{{"id":"{conversation}","before":null}}"#),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let detail: serde_json::Value = serde_json::from_str(&body).unwrap();
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages[0]["html"], "", "the user's text is shown as text");
    let html = messages[1]["html"].as_str().unwrap();
    assert!(
        html.contains("<pre class=\"hl-code\"><code class=\"language-rust\">"),
        "{html}"
    );
    assert!(html.contains("<math"), "{html}");
    assert_eq!(
        messages[1]["content"],
        "```rust\nfn main() {}\n```\n\nArea: $\\pi r^2$"
    );

    // The colours for those classes.
    let (status, headers, css) = get(&router, "/highlight.css", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/css; charset=utf-8");
    assert!(css.contains(".hl-"), "{css}");
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_conversation_with_knowledge_sends_sources_and_keeps_citations(pool: PgPool) {
    use studio_core::knowledge::{
        pipeline::Pipeline,
        repos::{self, ItemKind, NewItem, RepositoryFields},
        storage,
    };
    let server = FakeServer::start(vec![
        Reply::text(&["Pumice floats [1]."], 40, 5),
        Reply::text(&["Still pumice [1]."], 40, 5),
        Reply::text(&["From what I know."], 4, 5),
    ])
    .await
    .unwrap();
    let router = router(pool.clone(), None);
    persona(&pool, "administrator").await;
    let model = fake_model(&pool, &server).await;
    let teacher = persona(&pool, "staff").await;
    let cookie = session_cookie(&pool, teacher).await;

    // A repository with one processed item.
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::local(pool.clone(), dir.path());
    let repository = repos::create(
        &pool,
        teacher,
        &RepositoryFields {
            name: "Geology".into(),
            description: String::new(),
            is_public: false,
        },
    )
    .await
    .unwrap();
    let item = Uuid::new_v4();
    let key = storage::original_key(repository, item);
    pipeline
        .storage
        .put(
            &key,
            b"# Rocks\n\nPumice is a volcanic rock so light that it floats on water.",
        )
        .await
        .unwrap();
    repos::add_item(
        &pool,
        teacher,
        repository,
        &NewItem {
            id: item,
            kind: ItemKind::File,
            name: "rocks.md".into(),
            storage_key: Some(key),
            size_bytes: 10,
        },
    )
    .await
    .unwrap();
    pipeline
        .ingest(item, &tokio_util::sync::CancellationToken::new())
        .await
        .unwrap();

    let body = serde_json::json!({
        "conversation_id": null, "replacing": null, "model_id": model,
        "text": "Which rock floats?", "images": [], "repositories": [repository],
    })
    .to_string();
    let (status, sent, _) = post(&router, "/api/chat/send", &body, Some(&cookie)).await;
    assert_eq!(status, 200, "{sent}");
    let sent: serde_json::Value = serde_json::from_str(&sent).unwrap();
    let conversation = sent["conversation_id"].as_str().unwrap().to_owned();
    let reply = sent["reply_id"].as_str().unwrap().to_owned();
    get(
        &router,
        &format!("/api/chat/replies/{reply}/events"),
        &[("cookie", &cookie)],
    )
    .await;

    // The model was given the chunk as source [1], before the question.
    let request = &server.requests()[0].body;
    let messages = request["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    let sources = messages[0]["content"].as_str().unwrap();
    assert!(sources.contains("[1] rocks.md"), "{sources}");
    assert!(sources.contains("Pumice is a volcanic rock"), "{sources}");
    assert_eq!(messages.last().unwrap()["content"], "Which rock floats?");

    // The reply keeps its citation; the conversation remembers its repository.
    let (status, detail, _) = post(
        &router,
        "/api/chat/conversation",
        &serde_json::json!({ "id": conversation, "before": null }).to_string(),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 200, "{detail}");
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["repository_ids"], serde_json::json!([repository]));
    let answer = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "assistant")
        .unwrap();
    let citation = &answer["citations"][0];
    assert_eq!(citation["number"], 1);
    assert_eq!(citation["item_name"], "rocks.md");
    assert!(
        citation["content"]
            .as_str()
            .unwrap()
            .contains("floats on water")
    );
    assert_eq!(citation["repository_id"], repository.to_string());

    // The next turns: with the same repository it still answers from it; with none chosen,
    // the conversation no longer does.
    let next = |repositories: serde_json::Value| {
        serde_json::json!({
            "conversation_id": conversation, "replacing": null, "model_id": model,
            "text": "And which sinks?", "images": [], "repositories": repositories,
        })
        .to_string()
    };
    for (round, repositories) in [
        (1, serde_json::json!([repository])),
        (2, serde_json::json!([])),
    ] {
        let (status, sent, _) = post(
            &router,
            "/api/chat/send",
            &next(repositories),
            Some(&cookie),
        )
        .await;
        assert_eq!(status, 200, "{sent}");
        let sent: serde_json::Value = serde_json::from_str(&sent).unwrap();
        let reply = sent["reply_id"].as_str().unwrap();
        get(
            &router,
            &format!("/api/chat/replies/{reply}/events"),
            &[("cookie", &cookie)],
        )
        .await;
        let messages = server.requests()[round].body["messages"].clone();
        assert_eq!(
            messages[0]["role"] == "system",
            round == 1,
            "round {round}: {messages}"
        );
    }
    let (_, detail, _) = post(
        &router,
        "/api/chat/conversation",
        &serde_json::json!({ "id": conversation, "before": null }).to_string(),
        Some(&cookie),
    )
    .await;
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["repository_ids"], serde_json::json!([]));

    // Someone else's repository cannot be attached.
    let stranger = persona(&pool, "staff").await;
    let stranger_cookie = session_cookie(&pool, stranger).await;
    let (status, text, _) = post(&router, "/api/chat/send", &body, Some(&stranger_cookie)).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("not available to you"), "{text}");
    let saved: i64 = sqlx::query_scalar("select count(*) from conversations where user_id = $1")
        .bind(stranger)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(saved, 0, "nothing is saved for a refused turn");
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn documents_are_read_on_upload_and_their_text_goes_to_the_model(pool: PgPool) {
    let server = FakeServer::start(vec![Reply::text(&["Ethanol."], 1, 1)])
        .await
        .unwrap();
    let router = router(pool.clone(), None);
    persona(&pool, "administrator").await;
    let model = fake_model(&pool, &server).await;
    let student = persona(&pool, "student").await;
    let cookie = session_cookie(&pool, student).await;
    let path = "/api/chat/documents";

    let notes = b"# Yeast\n\nYeast ferments sugar into ethanol and carbon dioxide.".to_vec();
    assert_eq!(
        upload_to(&router, path, "notes.md", notes.clone(), None)
            .await
            .0,
        401
    );
    // Not what its name says; no text layer (and no OCR here).
    let (status, text) = upload_to(&router, path, "report.pdf", PNG.to_vec(), Some(&cookie)).await;
    assert_eq!(
        (status, text.as_str()),
        (
            415,
            "report.pdf is in fact a .png file, which cannot be read as a document"
        )
    );
    let blank = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF".to_vec();
    let (status, text) = upload_to(&router, path, "scan.pdf", blank, Some(&cookie)).await;
    assert_eq!(status, 422, "{text}");
    assert!(text.starts_with("scan.pdf could not be read"), "{text}");

    let (status, uploaded) =
        upload_to(&router, path, "Yeast%20notes.md", notes, Some(&cookie)).await;
    assert_eq!(status, 200, "{uploaded}");
    let uploaded: serde_json::Value = serde_json::from_str(&uploaded).unwrap();
    assert!(uploaded.get("note").is_none(), "{uploaded}");
    let body = serde_json::json!({
        "conversation_id": null, "replacing": null, "model_id": model,
        "text": "What does yeast make?", "images": [], "documents": [uploaded["id"]],
        "repositories": [],
    })
    .to_string();
    let (status, sent, _) = post(&router, "/api/chat/send", &body, Some(&cookie)).await;
    assert_eq!(status, 200, "{sent}");
    let sent: serde_json::Value = serde_json::from_str(&sent).unwrap();
    get(
        &router,
        &format!(
            "/api/chat/replies/{}/events",
            sent["reply_id"].as_str().unwrap()
        ),
        &[("cookie", &cookie)],
    )
    .await;
    let request = server.requests()[0].body.to_string();
    assert!(
        request.contains("Yeast ferments sugar into ethanol"),
        "{request}"
    );
    assert!(request.contains("Yeast notes.md"), "{request}");
    let (status, shown, _) = post(
        &router,
        "/api/chat/conversation",
        &serde_json::json!({ "id": sent["conversation_id"] }).to_string(),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert!(
        shown.contains(r#""document_names":["Yeast notes.md"]"#),
        "{shown}"
    );
}

/// Posts the composer's form as a browser without the page's script would; answers the status,
/// the `Location` header and the body.
async fn post_form(
    router: &axum::Router,
    form: &str,
    cookie: Option<&str>,
) -> (axum::http::StatusCode, String, String) {
    let (status, headers, body) = post_answer(router, "/chat/send", form, cookie).await;
    let location = headers
        .get(axum::http::header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, body)
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_message_sent_before_the_page_is_interactive_is_not_lost(pool: PgPool) {
    let server = FakeServer::start(vec![Reply::text(&["Hello ", "there"], 3, 2)])
        .await
        .unwrap();
    let router = router(pool.clone(), None);
    persona(&pool, "administrator").await;
    let model = fake_model(&pool, &server).await;
    let student = persona(&pool, "student").await;
    let cookie = session_cookie(&pool, student).await;

    // A new conversation: the browser is sent to it, the reply is written there.
    let form = format!("conversation_id=&model_id={model}&text=Line+one%0D%0A%0D%0ALine+two");
    let (status, location, body) = post_form(&router, &form, Some(&cookie)).await;
    assert_eq!(status, 303, "{body}");
    let conversation = location
        .strip_prefix("/chat/")
        .expect("a conversation page");
    let saved: String = sqlx::query_scalar(
        "select content from messages where conversation_id = $1::uuid and role = 'user'",
    )
    .bind(conversation)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(saved, "Line one\r\n\r\nLine two");

    // The next one goes into the same conversation.
    let form = format!("conversation_id={conversation}&model_id={model}&text=Again");
    let (status, again, _) = post_form(&router, &form, Some(&cookie)).await;
    assert_eq!((status.as_u16(), again.as_str()), (303, location.as_str()));

    // Refusals say why, and how to keep the text.
    let form = "conversation_id=&model_id=not-a-model&text=Hi";
    let (status, _, body) = post_form(&router, form, Some(&cookie)).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("You cannot use that model") && body.contains("Go back"),
        "{body}"
    );
    let form = format!("conversation_id=&model_id={model}&text=+++");
    let (status, _, body) = post_form(&router, &form, Some(&cookie)).await;
    assert_eq!(status, 400);
    assert!(body.contains("Write a message first."), "{body}");
    let stranger = persona(&pool, "student").await;
    let theirs = session_cookie(&pool, stranger).await;
    let form = format!("conversation_id={conversation}&model_id={model}&text=Mine");
    let (status, _, _) = post_form(&router, &form, Some(&theirs)).await;
    assert_eq!(status, 404);

    // Signed out: to sign-in, and back to the chat afterwards.
    let (status, location, _) = post_form(&router, &form, None).await;
    assert_eq!(
        (status.as_u16(), location.as_str()),
        (303, "/sign-in?next=%2Fchat")
    );
    let messages: i64 = sqlx::query_scalar("select count(*) from messages where role = 'user'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(messages, 2);
}
