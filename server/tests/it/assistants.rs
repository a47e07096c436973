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
