//! Assistant runs over HTTP: a run's events for the person who started it, and nobody else.

use sqlx::PgPool;
use studio_core::{
    accounts::admin::Actor,
    assistants::{
        inputs::{Inputs, Value},
        run,
        store::{self, Definition, Field, FieldKind, Prompt},
    },
};
use uuid::Uuid;

use crate::{
    access::{persona, session_cookie},
    get, router,
};

/// A run of a one-prompt assistant by a student, ended as a worker would have left it.
async fn finished_run(pool: &PgPool) -> (Uuid, Uuid) {
    let admin = persona(pool, "administrator").await;
    let owner = persona(pool, "staff").await;
    let student = persona(pool, "student").await;
    // Never called: the run is ended here as its job would have.
    let model = crate::chat::model_at(pool, "http://127.0.0.1:9/v1").await;
    let definition = Definition {
        name: "Rubric".into(),
        description: String::new(),
        icon: "letter".into(),
        category: String::new(),
        share_knowledge: false,
        fields: vec![Field {
            name: "standard".into(),
            label: "Standard".into(),
            help: String::new(),
            kind: FieldKind::ShortText,
            required: true,
            options: Vec::new(),
        }],
        prompts: vec![Prompt {
            key: "rubric".into(),
            name: "Rubric".into(),
            content: "A rubric for {{standard}}".into(),
            system: None,
            model_id: Some(model),
            repositories: Vec::new(),
        }],
    };
    let id = store::create(pool, owner, &definition).await.unwrap();
    store::submit(pool, owner, id).await.unwrap();
    let students: Uuid = sqlx::query_scalar("select id from roles where name = 'student'")
        .fetch_one(pool)
        .await
        .unwrap();
    let actor = Actor {
        user_id: admin,
        ip: None,
    };
    store::approve(pool, actor, id, &[students]).await.unwrap();
    let inputs = Inputs::from([("standard".to_owned(), Value::One("Fractions".into()))]);
    let run_id = run::start(pool, student, id, &inputs).await.unwrap();
    sqlx::query(
        "update assistant_run_steps set status = 'succeeded', output = 'Four levels.', input = 'x',
             input_tokens = 5, output_tokens = 3, cost = 0.5, started_at = now(), finished_at = now()
         where run_id = $1",
    )
    .bind(run_id)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "update assistant_runs set status = 'succeeded', started_at = now(), finished_at = now() where id = $1",
    )
    .bind(run_id)
    .execute(pool)
    .await
    .unwrap();
    (run_id, student)
}

/// The events of an SSE body: (name, data as JSON).
fn events(body: &str) -> Vec<(String, serde_json::Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name.to_owned(), serde_json::from_str(data).unwrap()))
        })
        .collect()
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_run_streams_as_events_to_the_person_who_started_it_only(pool: PgPool) {
    let router = router(pool.clone(), None);
    let (run_id, student) = finished_run(&pool).await;
    let cookie = session_cookie(&pool, student).await;
    let path = format!("/api/assistants/runs/{run_id}/events");

    let (status, headers, body) = get(&router, &path, &[("cookie", &cookie)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "text/event-stream");
    let events = events(&body);
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["run", "run-ended"], "{body}");
    let run = &events[0].1;
    assert_eq!(run["assistant_name"], "Rubric");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["inputs"]["standard"], "Fractions");
    assert_eq!(run["steps"][0]["output"], "Four levels.");
    assert_eq!(run["steps"][0]["model"], "Fake");
    assert_eq!(run["steps"][0]["output_tokens"], 3);
    assert_eq!(events[1].1["status"], "succeeded");

    // Nobody else reads it: signed out, another student; a malformed
    // id is a run nobody has.
    let (status, _, _) = get(&router, &path, &[]).await;
    assert_eq!(status, 401);
    let other = persona(&pool, "student").await;
    let other = session_cookie(&pool, other).await;
    let (status, _, _) = get(&router, &path, &[("cookie", &other)]).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(
        &router,
        "/api/assistants/runs/not-a-run/events",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(status, 404);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn the_unread_count_streams_to_the_signed_in_person(pool: PgPool) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let router = router(pool.clone(), None);
    let (run_id, student) = finished_run(&pool).await;
    sqlx::query(
        "insert into notifications (user_id, kind, title, run_id) values ($1, 'run_ended', 'Done', $2), ($1, 'other', 'Hello', null)",
    )
    .bind(student)
    .bind(run_id)
    .execute(&pool)
    .await
    .unwrap();
    let cookie = session_cookie(&pool, student).await;
    let request = axum::http::Request::get("/api/notifications/events")
        .header("host", "studio.test")
        .header("cookie", &cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    // The stream stays open: its first event is the count now.
    let mut body = response.into_body();
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
        .await
        .expect("a first event")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&first).unwrap(),
        "event: unread\ndata: {\"count\":2}\n\n"
    );

    let (status, _, _) = get(&router, "/api/notifications/events", &[]).await;
    assert_eq!(status, 401);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_finished_run_downloads_as_markdown_and_goes_on_as_a_conversation(pool: PgPool) {
    let router = router(pool.clone(), None);
    let (run_id, student) = finished_run(&pool).await;
    let cookie = session_cookie(&pool, student).await;
    let path = format!("/api/assistants/runs/{run_id}/markdown");

    let (status, headers, body) = get(&router, &path, &[("cookie", &cookie)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "text/markdown; charset=utf-8");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"rubric-") && disposition.ends_with(".md\""),
        "{disposition}"
    );
    assert!(body.starts_with("# Rubric\n"), "{body}");
    assert!(body.contains("- **standard**: Fractions"), "{body}");
    assert!(body.contains("## Rubric\n\nFour levels."), "{body}");
    // Nobody else's, and not signed out.
    let other = persona(&pool, "student").await;
    let other = session_cookie(&pool, other).await;
    assert_eq!(get(&router, &path, &[("cookie", &other)]).await.0, 404);
    assert_eq!(get(&router, &path, &[]).await.0, 401);

    // The results become a conversation of the runner's, with the results as its first answer.
    let args = format!("{{\"run\":\"{run_id}\"}}");
    let (status, body, _) =
        crate::access::post(&router, "/api/assistants/continue", &args, Some(&cookie)).await;
    assert_eq!(status, 200, "{body}");
    let conversation: Uuid = serde_json::from_str::<String>(&body)
        .unwrap()
        .parse()
        .unwrap();
    let (owner, answer): (Uuid, String) = sqlx::query_as(
        "select c.user_id, m.content from conversations c join messages m on m.id = c.current_message_id where c.id = $1",
    )
    .bind(conversation)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (owner, answer.as_str()),
        (student, "## Rubric\n\nFour levels.")
    );
    let (status, _, _) =
        crate::access::post(&router, "/api/assistants/continue", &args, Some(&other)).await;
    assert_eq!(status, 404);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn administrators_export_and_import_assistants_and_nobody_else_does(pool: PgPool) {
    let router = router(pool.clone(), None);
    let (run_id, student) = finished_run(&pool).await;
    let assistant: Uuid =
        sqlx::query_scalar("select assistant_id from assistant_runs where id = $1")
            .bind(run_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    let admin = persona(&pool, "administrator").await;
    let admin_cookie = session_cookie(&pool, admin).await;
    let student_cookie = session_cookie(&pool, student).await;
    let path = format!("/api/admin/assistants/export?ids={assistant},not-an-id");

    let (status, headers, file) = get(&router, &path, &[("cookie", &admin_cookie)]).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(headers["content-type"], "application/json");
    let parsed: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(parsed["format"], 1);
    assert_eq!(parsed["assistants"][0]["name"], "Rubric");
    assert_eq!(
        get(&router, &path, &[("cookie", &student_cookie)]).await.0,
        403
    );

    let (status, body, _) = crate::access::post(
        &router,
        "/api/admin/assistants/import",
        &file,
        Some(&admin_cookie),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let lines: Vec<String> = serde_json::from_str(&body).unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("Rubric: "), "{lines:?}");
    let owned: i64 = sqlx::query_scalar("select count(*) from assistants where owner_id = $1")
        .bind(admin)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(owned, 1);

    let (status, _, _) = crate::access::post(
        &router,
        "/api/admin/assistants/import",
        "{\"not\":\"assistants\"}",
        Some(&admin_cookie),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _, _) = crate::access::post(
        &router,
        "/api/admin/assistants/import",
        &file,
        Some(&student_cookie),
    )
    .await;
    assert_eq!(status, 403);
}
