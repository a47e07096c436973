//! Knowledge over HTTP: uploads streamed to storage with their limit and content check, who
//! may upload and download, and the items' event stream.

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use sqlx::PgPool;
use studio_core::knowledge::repos::{self, RepositoryFields};
use tower::ServiceExt;
use uuid::Uuid;

use crate::{
    access::{persona, post, session_cookie},
    router,
};

async fn upload(
    router: &Router,
    cookie: &str,
    repository: Uuid,
    name: &str,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let request = Request::post(format!("/api/knowledge/repositories/{repository}/files"))
        .header(header::HOST, "studio.test")
        .header(header::ORIGIN, "http://studio.test")
        .header(header::COOKIE, cookie)
        .header("x-file-name", name)
        .body(Body::from(body))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn fetch(router: &Router, cookie: &str, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body.to_vec())
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn uploads_are_checked_stored_queued_and_served_to_readers_only(pool: PgPool) {
    let router = router(pool.clone(), None);
    let owner = persona(&pool, "staff").await;
    let other = persona(&pool, "staff").await;
    let student = persona(&pool, "student").await;
    let (owner_cookie, other_cookie, student_cookie) = (
        session_cookie(&pool, owner).await,
        session_cookie(&pool, other).await,
        session_cookie(&pool, student).await,
    );
    let repository = repos::create(
        &pool,
        owner,
        &RepositoryFields {
            name: "Lessons".into(),
            description: String::new(),
            is_public: false,
        },
    )
    .await
    .unwrap();

    let text = "Fractions: a half is one of two equal parts."
        .as_bytes()
        .to_vec();
    let (status, body) = upload(
        &router,
        &owner_cookie,
        repository,
        "Fr%C3%A4ctions%20week%201.txt",
        text.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id: serde_json::Value = serde_json::from_str(&body).unwrap();
    let item: Uuid = id["id"].as_str().unwrap().parse().unwrap();
    let (name, kind, status, size): (String, String, String, i64) =
        sqlx::query_as("select name, kind, status, size_bytes from knowledge_items where id = $1")
            .bind(item)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (name.as_str(), kind.as_str(), status.as_str(), size),
        ("Fräctions week 1.txt", "file", "queued", text.len() as i64)
    );
    let jobs: i64 = sqlx::query_scalar(
        "select count(*) from jobs where kind = 'knowledge-ingest' and payload->>'item_id' = $1",
    )
    .bind(item.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(jobs, 1);

    // The original comes back as a download, to readers only.
    let original = format!("/api/knowledge/repositories/{repository}/items/{item}/original");
    let (status, headers, bytes) = fetch(&router, &owner_cookie, &original).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, text);
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''Fr%C3%A4ctions%20week%201.txt"),
        "{disposition}"
    );
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/octet-stream",
        "never rendered by the browser"
    );
    let (status, _, _) = fetch(&router, &other_cookie, &original).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = fetch(&router, &student_cookie, &original).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "students lack the tool");

    // Only the owner adds; a binary under a document's name is refused with the reason.
    let (status, _) = upload(&router, &other_cookie, repository, "x.txt", text.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01".to_vec();
    let (status, body) = upload(&router, &owner_cookie, repository, "notes.pdf", png).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body.contains("notes.pdf is a png file"), "{body}");
    let items: i64 =
        sqlx::query_scalar("select count(*) from knowledge_items where repository_id = $1")
            .bind(repository)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(items, 1, "refused uploads leave no item");

    // Shared with the colleague: now they read it too.
    repos::set_shares(
        &pool,
        owner,
        repository,
        &repos::Shares {
            user_emails: vec![
                sqlx::query_scalar::<_, String>("select email from users where id = $1")
                    .bind(other)
                    .fetch_one(&pool)
                    .await
                    .unwrap(),
            ],
            role_names: vec![],
        },
    )
    .await
    .unwrap();
    let (status, _, bytes) = fetch(&router, &other_cookie, &original).await;
    assert_eq!((status, bytes), (StatusCode::OK, text));
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn uploads_over_the_limit_are_refused_before_anything_is_kept(pool: PgPool) {
    let router = router(pool.clone(), None);
    let owner = persona(&pool, "staff").await;
    let cookie = session_cookie(&pool, owner).await;
    let (status, body, _) = post(
        &router,
        "/api/knowledge/create",
        r#"{"name":"Big","description":"","is_public":false}"#,
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let repository: Uuid = serde_json::from_str::<String>(&body)
        .unwrap()
        .parse()
        .unwrap();

    // One byte over the 100 MB default, declared by the body's length.
    let (status, body) = upload(
        &router,
        &cookie,
        repository,
        "huge.txt",
        vec![b'a'; 100_000_001],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body.contains("huge.txt is larger than the 100 MB allowed"),
        "{body}"
    );
    let items: i64 = sqlx::query_scalar("select count(*) from knowledge_items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(items, 0);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn the_event_stream_starts_with_the_items_as_they_are(pool: PgPool) {
    let router = router(pool.clone(), None);
    let owner = persona(&pool, "staff").await;
    let cookie = session_cookie(&pool, owner).await;
    let repository = repos::create(
        &pool,
        owner,
        &RepositoryFields {
            name: "Live".into(),
            description: String::new(),
            is_public: false,
        },
    )
    .await
    .unwrap();
    let (status, _) = upload(
        &router,
        &cookie,
        repository,
        "a.md",
        b"# A\n\nText.".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let request = Request::get(format!("/api/knowledge/repositories/{repository}/events"))
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut body = response.into_body();
    let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let text = String::from_utf8_lossy(&frame);
    assert!(text.starts_with("event: items\ndata: ["), "{text}");
    assert!(
        text.contains(r#""name":"a.md""#) && text.contains(r#""status":"queued""#),
        "{text}"
    );

    let stranger = persona(&pool, "staff").await;
    let cookie = session_cookie(&pool, stranger).await;
    let request = Request::get(format!("/api/knowledge/repositories/{repository}/events"))
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
