//! HTTP-level tests of the router against a real database, without a browser.

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns fail the test loudly"
)]

mod access;
mod assistants;
mod chat;
mod knowledge;
mod oidc;
mod process;
mod trust;

use app::ssr::AppState;
use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use studio_core::accounts::{
    AccountsConfig,
    oidc::{Oidc, OidcConfig},
};
use tower::ServiceExt;

/// The address every test request names (`Host`, `Origin`).
const SITE: &str = "http://studio.test";

fn router(pool: PgPool, metrics_token: Option<&str>) -> Router {
    let oidc = OidcConfig {
        providers: Vec::new(),
        public_url: url::Url::parse(SITE).unwrap(),
    };
    router_with(pool, metrics_token, accounts(), oidc)
}

/// The account settings tests run with: links on the test site.
fn accounts() -> AccountsConfig {
    AccountsConfig {
        public_url: url::Url::parse(SITE).unwrap(),
        ..AccountsConfig::default()
    }
}

fn router_with(
    pool: PgPool,
    metrics_token: Option<&str>,
    accounts: AccountsConfig,
    oidc: OidcConfig,
) -> Router {
    let knowledge = app::ssr::Knowledge::new(studio_core::knowledge::pipeline::Pipeline::local(
        pool.clone(),
        std::env::temp_dir().join("aistudio-test-files"),
    ));
    router_with_knowledge(pool, metrics_token, accounts, oidc, knowledge)
}

/// The router with knowledge kept as `knowledge` says (S3 rather than a folder, say).
fn router_with_knowledge(
    pool: PgPool,
    metrics_token: Option<&str>,
    accounts: AccountsConfig,
    oidc: OidcConfig,
    knowledge: app::ssr::Knowledge,
) -> Router {
    router_with_all(
        pool,
        metrics_token,
        accounts,
        oidc,
        knowledge,
        std::sync::Arc::default(),
        Vec::new(),
        None,
    )
}

/// The router with everything chosen: the limiters (shared, so a test can occupy them),
/// trusted proxies (the site is http://studio.test) and the folder of the site's files.
#[expect(
    clippy::too_many_arguments,
    reason = "each test chooses a few of these"
)]
fn router_with_all(
    pool: PgPool,
    metrics_token: Option<&str>,
    accounts: AccountsConfig,
    oidc: OidcConfig,
    knowledge: app::ssr::Knowledge,
    guards: std::sync::Arc<studio_core::limits::Guards>,
    trusted_proxies: Vec<ipnet::IpNet>,
    site_root: Option<&std::path::Path>,
) -> Router {
    let mut leptos_options = LeptosOptions::builder().output_name("aistudio").build();
    if let Some(root) = site_root {
        leptos_options.site_root = root.to_string_lossy().into_owned().into();
    }
    let state = AppState {
        leptos_options,
        pool: pool.clone(),
        accounts,
        oidc: std::sync::Arc::new(Oidc::new(oidc).unwrap()),
        llm: std::sync::Arc::new(studio_core::llm::registry::Registry::new(
            studio_core::llm::registry::EnvironmentKeys::default(),
            studio_core::llm::RetryPolicy::default(),
        )),
        generations: std::sync::Arc::default(),
        shutdown: tokio_util::sync::CancellationToken::new(),
        knowledge: std::sync::Arc::new(knowledge),
        guards,
        bell: std::sync::Arc::default(),
    };
    let operations = server::routes::Operations {
        site: server::edge::SiteConfig {
            public_urls: vec![url::Url::parse(SITE).unwrap()],
            trusted_proxies,
            listens_locally: false,
        },
        metrics: server::metrics::install().unwrap(),
        token: metrics_token.map(Into::into),
        metrics_elsewhere: false,
    };
    server::routes::router(state, &operations)
}

/// Every `Set-Cookie` of a response, as sent.
fn set_cookies(headers: &axum::http::HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn get(
    router: &Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = Request::get(uri);
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        request = request.header(header::HOST, "studio.test");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// Bundles are served as built (brotli when the browser takes it), cached for good, and never
/// carry a status or a redirect from a page rendered before them; a missing file is the
/// not-found page.
#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn site_files_are_served_as_built_whatever_was_rendered_before(pool: PgPool) {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/chunk_1.abc.wasm"), b"\0asm plain").unwrap();
    std::fs::write(site.path().join("pkg/chunk_1.abc.wasm.br"), b"compressed").unwrap();
    let oidc = OidcConfig {
        providers: Vec::new(),
        public_url: url::Url::parse(SITE).unwrap(),
    };
    let knowledge = app::ssr::Knowledge::new(studio_core::knowledge::pipeline::Pipeline::local(
        pool.clone(),
        std::env::temp_dir().join("aistudio-test-files"),
    ));
    let router = router_with_all(
        pool,
        None,
        accounts(),
        oidc,
        knowledge,
        std::sync::Arc::default(),
        Vec::new(),
        Some(site.path()),
    );
    for _ in 0..3 {
        // A page that sets a status of its own (the not-found page answers 404).
        let (status, _, _) = get(&router, "/no/such/page", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, headers, body) = get(
            &router,
            "/pkg/chunk_1.abc.wasm",
            &[("accept-encoding", "br, gzip")],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(!headers.contains_key(header::LOCATION), "{headers:?}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(headers[header::CONTENT_ENCODING], "br");
        assert_eq!(body, "compressed");
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
    }
    let (status, _, body) = get(&router, "/pkg/chunk_1.abc.wasm", &[]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "\0asm plain"));
    let (status, _, _) = get(&router, "/pkg/missing.wasm", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn health_is_ok_on_a_migrated_database(pool: PgPool) {
    let (status, headers, body) = get(&router(pool, None), "/health", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["status"], "ok");
    assert_eq!(report["checks"][0]["name"], "database");
    assert_eq!(report["checks"][0]["ok"], true);
}

#[sqlx::test(migrations = false)]
async fn health_is_503_with_the_reason_when_migrations_are_missing(pool: PgPool) {
    let (status, _, body) = get(&router(pool, None), "/health", &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["status"], "unavailable");
    assert!(
        report["checks"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("migrations not applied"),
        "{body}"
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn health_is_503_when_the_database_is_gone(pool: PgPool) {
    let router = router(pool.clone(), None);
    pool.close().await;
    let (status, _, body) = get(&router, "/health", &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("unreachable"), "{body}");
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn liveness_needs_nothing_but_the_process(pool: PgPool) {
    let router = router(pool.clone(), None);
    pool.close().await;
    let (status, _, body) = get(&router, "/healthz", &[]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn metrics_report_the_queue_and_honour_the_token(pool: PgPool) {
    studio_core::db::jobs::enqueue(
        &pool,
        &studio_core::db::jobs::NewJob::new("ping", serde_json::json!({})),
    )
    .await
    .unwrap();
    let router = router(pool, Some("s3cret"));

    let (status, _, _) = get(&router, "/metrics", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = get(&router, "/metrics", &[("authorization", "Bearer wrong")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _, body) = get(&router, "/metrics", &[("authorization", "Bearer s3cret")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"jobs_queue_depth{kind="ping",status="queued"} 1"#),
        "{body}"
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn every_response_carries_the_security_headers_and_a_request_id(pool: PgPool) {
    let (_, headers, _) = get(
        &router(pool, None),
        "/healthz",
        &[("x-request-id", "abc-123")],
    )
    .await;
    assert_eq!(headers["x-request-id"], "abc-123");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn pages_get_a_fresh_nonce_in_their_policy_and_scripts(pool: PgPool) {
    let router = router(pool, None);
    let (status, headers, html) = get(&router, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let policy = headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap()
        .to_owned();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")));
    assert!(html.contains("Welcome to AI Studio"));

    let (_, again, _) = get(&router, "/", &[]).await;
    assert_ne!(
        again[header::CONTENT_SECURITY_POLICY].to_str().unwrap(),
        policy,
        "one nonce per response"
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn unknown_pages_are_404_and_still_rendered(pool: PgPool) {
    let (status, _, html) = get(&router(pool, None), "/definitely/not/here", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"));
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn the_theme_cookie_is_rendered_on_the_html_element(pool: PgPool) {
    let router = router(pool, None);
    let (_, _, html) = get(&router, "/", &[("cookie", "theme=dark")]).await;
    assert!(
        html.contains(r#"data-theme="dark""#),
        "{}",
        &html[..html.len().min(400)]
    );
    let (_, _, html) = get(&router, "/", &[("cookie", "theme=bogus")]).await;
    assert!(html.contains(r#"data-theme="system""#));
}
