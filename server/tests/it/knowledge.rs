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
        .header(header::HOST, "studio.test")
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
    assert!(body.contains("notes.pdf is in fact a .png file"), "{body}");
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
        .header(header::HOST, "studio.test")
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
        .header(header::HOST, "studio.test")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// A router whose knowledge originals go to a fresh bucket on moto, with a 1 MB limit.
async fn s3_router(pool: &PgPool) -> (Router, studio_core::knowledge::storage::Storage) {
    use studio_core::knowledge::{pipeline::Pipeline, s3::testing, storage::Storage};
    let storage = Storage::S3(testing::bucket(&testing::moto_config().await).await);
    let pipeline = Pipeline {
        storage: storage.clone(),
        ..Pipeline::local(pool.clone(), std::env::temp_dir())
    };
    let knowledge = app::ssr::Knowledge {
        max_upload_bytes: 1_000_000,
        ..app::ssr::Knowledge::new(pipeline)
    };
    let oidc = studio_core::accounts::oidc::OidcConfig {
        providers: Vec::new(),
        public_url: url::Url::parse("http://studio.test/").unwrap(),
    };
    let router =
        crate::router_with_knowledge(pool.clone(), None, crate::accounts(), oidc, knowledge);
    (router, storage)
}

/// Asks for a direct upload grant; the grant as JSON, or the refusal.
async fn begin(
    router: &Router,
    cookie: &str,
    repository: Uuid,
    name: &str,
    size: u64,
) -> (StatusCode, serde_json::Value) {
    let body = serde_json::json!({ "repository": repository, "name": name, "size": size });
    let (status, body, _) = post(
        router,
        "/api/knowledge/begin-upload",
        &body.to_string(),
        Some(cookie),
    )
    .await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    )
}

/// Sends `bytes` as the browser would with `grant`.
async fn put_granted(grant: &serde_json::Value, bytes: Vec<u8>) {
    let client = reqwest::Client::new();
    let mut request = client
        .request(
            grant["method"].as_str().unwrap().parse().unwrap(),
            grant["url"].as_str().unwrap(),
        )
        .body(bytes);
    for pair in grant["headers"].as_array().unwrap() {
        request = request.header(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

async fn finish(
    router: &Router,
    cookie: &str,
    repository: Uuid,
    item: &str,
) -> (StatusCode, String) {
    let body = serde_json::json!({ "repository": repository, "item": item });
    let (status, body, _) = post(
        router,
        "/api/knowledge/finish-upload",
        &body.to_string(),
        Some(cookie),
    )
    .await;
    (status, body)
}

async fn item_row(pool: &PgPool, item: &str) -> Option<(String, i64)> {
    sqlx::query_as("select status, size_bytes from knowledge_items where id = $1::uuid")
        .bind(item)
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn direct_uploads_to_s3_are_granted_checked_and_queued(pool: PgPool) {
    let (router, storage) = s3_router(&pool).await;
    let owner = persona(&pool, "staff").await;
    let other = persona(&pool, "staff").await;
    let (owner_cookie, other_cookie) = (
        session_cookie(&pool, owner).await,
        session_cookie(&pool, other).await,
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

    // The page learns that files go straight to the bucket.
    let (status, body, _) = post(
        &router,
        "/api/knowledge/repository",
        &serde_json::json!({ "id": repository }).to_string(),
        Some(&owner_cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""direct_uploads":true"#), "{body}");

    // Granted, sent, finished: stored in the bucket, queued with its job.
    let text = b"Fractions: a half is one of two equal parts.".to_vec();
    let (status, grant) = begin(
        &router,
        &owner_cookie,
        repository,
        "dir/Fractions.txt",
        text.len() as u64,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{grant}");
    let item = grant["item"].as_str().unwrap().to_owned();
    assert_eq!(
        item_row(&pool, &item).await,
        Some(("uploading".into(), text.len() as i64))
    );
    // Nobody else finishes it (a private repository is not there for them).
    let (status, _) = finish(&router, &other_cookie, repository, &item).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    put_granted(&grant, text.clone()).await;
    let (status, body) = finish(&router, &owner_cookie, repository, &item).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        item_row(&pool, &item).await,
        Some(("queued".into(), text.len() as i64))
    );
    let name: String = sqlx::query_scalar("select name from knowledge_items where id = $1::uuid")
        .bind(&item)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "Fractions.txt");
    let jobs: i64 = sqlx::query_scalar(
        "select count(*) from jobs where kind = 'knowledge-ingest' and payload->>'item_id' = $1",
    )
    .bind(&item)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(jobs, 1);
    // Finishing twice changes nothing.
    let (status, _) = finish(&router, &owner_cookie, repository, &item).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The download streams from the bucket.
    let original = format!("/api/knowledge/repositories/{repository}/items/{item}/original");
    let (status, _, bytes) = fetch(&router, &owner_cookie, &original).await;
    assert_eq!((status, bytes), (StatusCode::OK, text));

    // Over the limit: refused before anything is granted.
    let (status, refusal) = begin(&router, &owner_cookie, repository, "big.pdf", 1_000_001).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refusal}");
    assert!(refusal.to_string().contains("larger than"), "{refusal}");
    // Not the owner: no grant.
    let (status, _) = begin(&router, &other_cookie, repository, "a.txt", 10).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A renamed binary: refused once it has landed, and removed with its item.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    let (_, grant) = begin(
        &router,
        &owner_cookie,
        repository,
        "report.pdf",
        png.len() as u64,
    )
    .await;
    let item = grant["item"].as_str().unwrap().to_owned();
    put_granted(&grant, png).await;
    let (status, body) = finish(&router, &owner_cookie, repository, &item).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("report.pdf is in fact a .png file"), "{body}");
    assert_eq!(item_row(&pool, &item).await, None);
    let key = studio_core::knowledge::storage::original_key(repository, item.parse().unwrap());
    assert!(storage.size(&key).await.is_err());

    // Larger than granted once it landed (the browser sent more than it said).
    let (_, grant) = begin(&router, &owner_cookie, repository, "notes.txt", 10).await;
    let item = grant["item"].as_str().unwrap().to_owned();
    put_granted(&grant, vec![b'a'; 1_000_001]).await;
    let (status, body) = finish(&router, &owner_cookie, repository, &item).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("notes.txt is larger than"), "{body}");
    assert_eq!(item_row(&pool, &item).await, None);

    // Never sent: said so, and the item does not linger.
    let (_, grant) = begin(&router, &owner_cookie, repository, "lost.txt", 10).await;
    let item = grant["item"].as_str().unwrap().to_owned();
    let (status, body) = finish(&router, &owner_cookie, repository, &item).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("lost.txt did not arrive"), "{body}");
    assert_eq!(item_row(&pool, &item).await, None);
}
