//! Trust at the door, over HTTP against the real router and Postgres: verified addresses and
//! the first administrator, abuse limits, host and origin pinning, text and content bounds,
//! and the small leaks. Each test is named after the problem it guards against.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::ConnectInfo,
    http::{HeaderMap, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use sqlx::PgPool;
use studio_core::{
    accounts::AccountsConfig,
    limits::{Guards, LimitsConfig},
};
use tower::ServiceExt;
use uuid::Uuid;

use crate::{
    access::{persona, session_cookie},
    accounts, router_with_all, set_cookies,
};

/// One request as a browser on `ip` would send it to http://studio.test.
struct Call<'a> {
    method: &'a str,
    path: &'a str,
    body: String,
    cookie: Option<&'a str>,
    host: &'a str,
    origin: Option<&'a str>,
    ip: &'a str,
    headers: Vec<(&'a str, String)>,
}

impl<'a> Call<'a> {
    fn post(path: &'a str, body: impl Into<String>) -> Self {
        Self {
            method: "POST",
            path,
            body: body.into(),
            cookie: None,
            host: "studio.test",
            origin: Some("http://studio.test"),
            ip: "203.0.113.10",
            headers: Vec::new(),
        }
    }

    fn get(path: &'a str) -> Self {
        Self {
            method: "GET",
            origin: None,
            ..Self::post(path, "")
        }
    }

    fn cookie(mut self, cookie: &'a str) -> Self {
        self.cookie = Some(cookie);
        self
    }

    fn from(mut self, ip: &'a str) -> Self {
        self.ip = ip;
        self
    }

    async fn send(self, router: &Router) -> Reply {
        let mut request = Request::builder()
            .method(self.method)
            .uri(self.path)
            .header(header::HOST, self.host);
        if let Some(origin) = self.origin {
            request = request.header(header::ORIGIN, origin);
        }
        if !self.body.is_empty() {
            let kind = if self.body.starts_with('{') {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            };
            request = request.header(header::CONTENT_TYPE, kind);
        }
        if let Some(cookie) = self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let mut request = request.body(Body::from(self.body)).unwrap();
        let peer: SocketAddr = format!("{}:40000", self.ip).parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            cookies: set_cookies(&headers),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    cookies: Vec<String>,
    body: String,
}

impl Reply {
    /// The session cookie this reply set, as a `Cookie` header value.
    fn session(&self) -> Option<String> {
        self.cookies
            .iter()
            .find(|c| c.starts_with("__Host-aistudio-session=") && !c.contains("Max-Age=0"))
            .map(|c| c.split(';').next().unwrap().to_owned())
    }
}

/// A router over `pool` with these account settings and limits.
fn site(pool: &PgPool, accounts: AccountsConfig, limits: LimitsConfig) -> (Router, Arc<Guards>) {
    site_behind(pool, accounts, limits, Vec::new())
}

fn site_behind(
    pool: &PgPool,
    accounts: AccountsConfig,
    limits: LimitsConfig,
    proxies: Vec<ipnet::IpNet>,
) -> (Router, Arc<Guards>) {
    let guards = Arc::new(Guards::new(limits));
    let knowledge = app::ssr::Knowledge::new(studio_core::knowledge::pipeline::Pipeline::local(
        pool.clone(),
        std::env::temp_dir().join("aistudio-test-files"),
    ));
    let oidc = studio_core::accounts::oidc::OidcConfig {
        providers: Vec::new(),
        public_url: url::Url::parse("http://studio.test/").unwrap(),
    };
    let router = router_with_all(
        pool.clone(),
        None,
        accounts,
        oidc,
        knowledge,
        guards.clone(),
        proxies,
        None,
    );
    (router, guards)
}

fn with_mail() -> AccountsConfig {
    AccountsConfig {
        mail_enabled: true,
        ..accounts()
    }
}

fn sign_up_form(email: &str) -> String {
    format!(
        "email={}&display_name=Someone&password=a+long+enough+password",
        email.replace('@', "%40")
    )
}

fn sign_in_form(email: &str, password: &str) -> String {
    format!(
        "email={}&password={}",
        email.replace('@', "%40"),
        password.replace(' ', "+")
    )
}

async fn current_user(router: &Router, cookie: &str) -> serde_json::Value {
    let reply = Call::post("/api/auth/current-user", "")
        .cookie(cookie)
        .send(router)
        .await;
    serde_json::from_str(&reply.body).unwrap()
}

/// The token in the newest link mailed to `to`.
async fn mailed_token(pool: &PgPool, to: &str) -> String {
    let link: String = sqlx::query_scalar(
        "select link from mail_outbox where to_address = $1 and link is not null order by created_at desc limit 1",
    )
    .bind(to)
    .fetch_one(pool)
    .await
    .unwrap();
    link.split("token=").nth(1).unwrap().to_owned()
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn self_chosen_roles_an_unverified_address_reaches_no_tool_until_its_link_is_used(
    pool: PgPool,
) {
    let (router, _) = site(&pool, with_mail(), LimitsConfig::default());
    let signed_up = Call::post("/api/auth/sign-up", sign_up_form("teacher@school.org"))
        .send(&router)
        .await;
    assert_eq!(signed_up.status, StatusCode::OK, "{}", signed_up.body);
    assert!(
        signed_up.body.contains("Check your inbox"),
        "{}",
        signed_up.body
    );
    assert_eq!(signed_up.session(), None, "signing up signs nobody in");

    let signed_in = Call::post(
        "/api/auth/sign-in",
        sign_in_form("teacher@school.org", "a long enough password"),
    )
    .send(&router)
    .await;
    assert_eq!(signed_in.body, "\"/verify-email\"");
    let cookie = signed_in.session().unwrap();
    let user = current_user(&router, &cookie).await;
    assert_eq!(user["is_verified"], false);
    assert_eq!(user["roles"], serde_json::json!([]));
    for (path, body) in [
        ("/api/chat/models", "{}"),
        ("/api/knowledge/list", "{}"),
        ("/api/admin/roles", "{}"),
    ] {
        let refused = Call::post(path, body).cookie(&cookie).send(&router).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.body
        );
    }

    // The link, opened in the browser that signed in: verified, with the rule's role.
    let token = mailed_token(&pool, "teacher@school.org").await;
    let verified = Call::post("/api/auth/verify-email", format!("token={token}"))
        .cookie(&cookie)
        .send(&router)
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let user = current_user(&router, &cookie).await;
    assert_eq!(user["roles"], serde_json::json!(["staff"]));
    let allowed = Call::post("/api/chat/models", "{}")
        .cookie(&cookie)
        .send(&router)
        .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn self_chosen_roles_without_mail_an_administrator_approves_first(pool: PgPool) {
    let (router, _) = site(&pool, accounts(), LimitsConfig::default());
    let signed_up = Call::post("/api/auth/sign-up", sign_up_form("2024001@school.org"))
        .send(&router)
        .await;
    assert!(
        signed_up.body.contains("administrator will approve"),
        "{}",
        signed_up.body
    );
    let admin = persona(&pool, "administrator").await;
    let admin_cookie = session_cookie(&pool, admin).await;
    let pending = Call::post(
        "/api/admin/users",
        r#"{"search":"","offset":0,"pending_only":true}"#,
    )
    .cookie(&admin_cookie)
    .send(&router)
    .await;
    let pending: serde_json::Value = serde_json::from_str(&pending.body).unwrap();
    assert_eq!(pending["total"], 1);
    let id = pending["users"][0]["id"].as_str().unwrap().to_owned();
    let approved = Call::post(
        "/api/admin/users/approve",
        format!(r#"{{"user_id":"{id}"}}"#),
    )
    .cookie(&admin_cookie)
    .send(&router)
    .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let signed_in = Call::post(
        "/api/auth/sign-in",
        sign_in_form("2024001@school.org", "a long enough password"),
    )
    .send(&router)
    .await;
    assert_eq!(signed_in.body, "\"/\"");
    let user = current_user(&router, &signed_in.session().unwrap()).await;
    assert_eq!(user["roles"], serde_json::json!(["student"]));
    // The mail that would have gone out waits in the outbox, readable by administrators.
    let outbox = Call::post("/api/admin/mail", r#"{"before":null}"#)
        .cookie(&admin_cookie)
        .send(&router)
        .await;
    assert_eq!(outbox.status, StatusCode::OK, "{}", outbox.body);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn first_administrator_only_the_setup_link_makes_one(pool: PgPool) {
    let (router, _) = site(&pool, accounts(), LimitsConfig::default());
    // Being first to sign up gives nothing.
    Call::post("/api/auth/sign-up", sign_up_form("early@school.org"))
        .send(&router)
        .await;
    let signed_in = Call::post(
        "/api/auth/sign-in",
        sign_in_form("early@school.org", "a long enough password"),
    )
    .send(&router)
    .await;
    let user = current_user(&router, &signed_in.session().unwrap()).await;
    assert_eq!(user["roles"], serde_json::json!([]));

    let link = studio_core::accounts::setup::issue_link(&pool, &accounts())
        .await
        .unwrap()
        .unwrap();
    assert!(
        link.starts_with("http://studio.test/setup?token="),
        "{link}"
    );
    let token = link.split("token=").nth(1).unwrap();
    let form = |token: &str| {
        format!(
            "token={token}&email=head%40school.org&display_name=Head&password=the+operator%27s+password"
        )
    };
    let forged = Call::post("/api/auth/setup", form(&"A".repeat(43)))
        .send(&router)
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.body);
    let made = Call::post("/api/auth/setup", form(token))
        .send(&router)
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let user = current_user(&router, &made.session().unwrap()).await;
    assert_eq!(user["roles"], serde_json::json!(["administrator"]));
    let again = Call::post("/api/auth/setup", form(token))
        .send(&router)
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn unauthenticated_exhaustion_closed_sign_up_hashes_nothing_and_clients_are_limited(
    pool: PgPool,
) {
    let limits = LimitsConfig {
        account_requests_per_ip_hour: 3,
        hash_concurrency: 1,
        hash_queue: 0,
        ..LimitsConfig::default()
    };
    let (router, guards) = site(&pool, accounts(), limits);

    // Three sign-ups from one address, then 429 with when to come back; others still may.
    for n in 0..3 {
        let reply = Call::post(
            "/api/auth/sign-up",
            sign_up_form(&format!("p{n}@school.org")),
        )
        .send(&router)
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let refused = Call::post("/api/auth/sign-up", sign_up_form("p4@school.org"))
        .send(&router)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("Too many sign-ups from your network"),
        "{}",
        refused.body
    );
    let retry: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 60, "{retry}");
    let elsewhere = Call::post("/api/auth/sign-up", sign_up_form("p5@school.org"))
        .from("198.51.100.20")
        .send(&router)
        .await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.body);

    // With the one hashing place taken, a sign-up is told the server is busy...
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let (started, holding) = tokio::sync::oneshot::channel::<()>();
    let holder = {
        let guards = guards.clone();
        tokio::spawn(async move {
            guards
                .hashing
                .run(move || {
                    let _ = started.send(());
                    hold.recv().ok()
                })
                .await
        })
    };
    holding.await.unwrap();
    let busy = Call::post("/api/auth/sign-up", sign_up_form("p6@school.org"))
        .from("198.51.100.21")
        .send(&router)
        .await;
    assert_eq!(busy.status, StatusCode::TOO_MANY_REQUESTS, "{}", busy.body);
    assert!(busy.body.contains("busy"), "{}", busy.body);
    // ...but once sign-up is closed, the refusal comes before any hashing is asked for.
    sqlx::query("update settings set value = 'false' where key = 'accounts.local_sign_up'")
        .execute(&pool)
        .await
        .unwrap();
    let closed = Call::post("/api/auth/sign-up", sign_up_form("p7@school.org"))
        .from("198.51.100.22")
        .send(&router)
        .await;
    assert_eq!(closed.status, StatusCode::BAD_REQUEST, "{}", closed.body);
    assert!(closed.body.contains("turned off"), "{}", closed.body);
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn lock_out_of_others_a_guessing_client_waits_and_the_owner_signs_in(pool: PgPool) {
    let proxy: ipnet::IpNet = "10.0.0.0/8".parse().unwrap();
    let (router, _) = site_behind(&pool, accounts(), LimitsConfig::default(), vec![proxy]);
    let owner = persona(&pool, "administrator").await;
    let email: String = sqlx::query_scalar("select email from users where id = $1")
        .bind(owner)
        .fetch_one(&pool)
        .await
        .unwrap();
    // Behind the load balancer every request comes from 10.0.0.2; X-Forwarded-For says who.
    let through = |client: &str, password: &str| {
        let mut call =
            Call::post("/api/auth/sign-in", sign_in_form(&email, password)).from("10.0.0.2");
        call.headers
            .push(("x-forwarded-for", format!("{client}, 10.0.0.1")));
        call
    };
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            through("203.0.113.66", "wrong password!")
                .send(&router)
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::BAD_REQUEST,
            StatusCode::BAD_REQUEST,
            StatusCode::BAD_REQUEST,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
        ]
    );
    let owner_in = through("198.51.100.9", "persona password 1")
        .send(&router)
        .await;
    assert_eq!(owner_in.status, StatusCode::OK, "{}", owner_in.body);
    // A client's own X-Forwarded-For, not through the proxy, is ignored.
    let mut spoofed = Call::post("/api/auth/sign-in", sign_in_form(&email, "wrong password!"))
        .from("203.0.113.66");
    spoofed
        .headers
        .push(("x-forwarded-for", "198.51.100.9".into()));
    assert_eq!(
        spoofed.send(&router).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn origin_and_host_a_rebound_name_is_refused_before_any_work(pool: PgPool) {
    let (router, _) = site(&pool, accounts(), LimitsConfig::default());
    // A DNS-rebinding page on attacker.example, now resolving here, claims the setup.
    let mut rebound = Call::post(
        "/api/auth/setup",
        "token=x&email=a%40b.org&display_name=A&password=a+long+enough+password",
    );
    rebound.host = "attacker.example:3000";
    rebound.origin = Some("http://attacker.example:3000");
    let reply = rebound.send(&router).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("PUBLIC_URL"), "{}", reply.body);
    let mut page = Call::get("/");
    page.host = "attacker.example:3000";
    assert_eq!(page.send(&router).await.status, StatusCode::BAD_REQUEST);
    // Our host but a foreign origin: refused as cross-site.
    let mut forged = Call::post("/api/auth/sign-up", sign_up_form("x@school.org"));
    forged.origin = Some("http://attacker.example");
    assert_eq!(forged.send(&router).await.status, StatusCode::FORBIDDEN);
    // Load balancers probe by address.
    let mut probe = Call::get("/healthz");
    probe.host = "10.0.0.5:3000";
    assert_eq!(probe.send(&router).await.status, StatusCode::OK);
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn provider_keys_errors_reach_admins_as_a_category_only(pool: PgPool) {
    use studio_core::llm::testing::{FakeServer, Reply as Fake};
    let server = FakeServer::start(vec![Fake::error(
        500,
        "upstream http://10.1.2.3:8080/internal/secret-path failed",
    )])
    .await
    .unwrap();
    let (router, _) = site(&pool, accounts(), LimitsConfig::default());
    let admin = persona(&pool, "administrator").await;
    let cookie = session_cookie(&pool, admin).await;
    let provider: Uuid = sqlx::query_scalar(
        "insert into ai_providers (kind, name, base_url) values ('openai', 'Lab', $1) returning id",
    )
    .bind(server.base_url())
    .fetch_one(&pool)
    .await
    .unwrap();
    let reply = Call::post(
        "/api/admin/models/provider/discover",
        format!(r#"{{"id":"{provider}"}}"#),
    )
    .cookie(&cookie)
    .send(&router)
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("internal error"), "{}", reply.body);
    assert!(
        !reply.body.contains("10.1.2.3") && !reply.body.contains("secret-path"),
        "{}",
        reply.body
    );
}

/// A file sent to an upload route as its body, as the browser code sends it.
async fn upload(
    router: &Router,
    path: &str,
    cookie: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, String) {
    let mut request = Request::post(path)
        .header(header::HOST, "studio.test")
        .header(header::ORIGIN, "http://studio.test")
        .header(header::COOKIE, cookie)
        .header("x-file-name", name)
        .body(Body::from(bytes))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo::<SocketAddr>("203.0.113.10:1".parse().unwrap()));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A PDF whose one content stream inflates to `inflated` bytes of spaces.
fn pdf_bomb(inflated: usize) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![b' '; 1 << 20];
    for _ in 0..inflated / block.len() {
        encoder.write_all(&block).unwrap();
    }
    let stream = encoder.finish().unwrap();
    let mut pdf = b"%PDF-1.5\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n".to_vec();
    pdf.extend_from_slice(
        format!(
            "4 0 obj << /Length {} /Filter /FlateDecode >> stream\n",
            stream.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(&stream);
    pdf.extend_from_slice(b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
    pdf
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn memory_blow_ups_a_pdf_that_inflates_is_refused_and_per_user_bounds_hold(pool: PgPool) {
    let limits = LimitsConfig {
        event_streams_per_user: 1,
        storage_quota_bytes: 40,
        ..LimitsConfig::default()
    };
    let (router, _) = site(&pool, accounts(), limits);
    let staff = persona(&pool, "staff").await;
    let cookie = session_cookie(&pool, staff).await;

    // 200 MB of text in a 200 KB file.
    let bomb = pdf_bomb(200 << 20);
    assert!(bomb.len() < 400_000, "{}", bomb.len());
    let (status, body) = upload(&router, "/api/chat/documents", &cookie, "report.pdf", bomb).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("expands to more than 128 MB"), "{body}");

    // Storage: a 29-byte image fits a 40-byte quota once, not twice.
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    let image = || {
        upload(
            &router,
            "/api/chat/images",
            &cookie,
            "dot.png",
            PNG.to_vec(),
        )
    };
    assert_eq!(image().await.0, StatusCode::OK);
    let (status, body) = image().await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("Your storage is full"), "{body}");

    // Event streams: one open at a time for this user.
    let repository: Uuid = sqlx::query_scalar(
        "insert into knowledge_repositories (owner_id, name) values ($1, 'Mine') returning id",
    )
    .bind(staff)
    .fetch_one(&pool)
    .await
    .unwrap();
    let events = format!("/api/knowledge/repositories/{repository}/events");
    let open = |cookie: String| {
        let events = events.clone();
        let router = router.clone();
        async move {
            let mut request = Request::get(events)
                .header(header::HOST, "studio.test")
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap();
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>("203.0.113.10:1".parse().unwrap()));
            router.oneshot(request).await.unwrap()
        }
    };
    let first = open(cookie.clone()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = open(cookie.clone()).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    drop(first);
    let third = open(cookie.clone()).await;
    assert_eq!(
        third.status(),
        StatusCode::OK,
        "a closed stream gives its place back"
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn memory_blow_ups_live_replies_per_user_are_bounded(pool: PgPool) {
    use studio_core::llm::testing::{FakeServer, Frame, Reply as Fake, done, text_chunk};
    let server = FakeServer::start(vec![Fake::Stream(vec![
        text_chunk("Slow"),
        Frame::Pause(Duration::from_secs(30)),
        done(),
    ])])
    .await
    .unwrap();
    let limits = LimitsConfig {
        live_generations_per_user: 1,
        ..LimitsConfig::default()
    };
    let (router, _) = site(&pool, accounts(), limits);
    let staff = persona(&pool, "staff").await;
    let cookie = session_cookie(&pool, staff).await;
    let provider: Uuid = sqlx::query_scalar(
        "insert into ai_providers (kind, name, base_url) values ('openai', 'Fake', $1) returning id",
    )
    .bind(server.base_url())
    .fetch_one(&pool)
    .await
    .unwrap();
    let model: Uuid = sqlx::query_scalar(
        "insert into ai_models (provider_id, model_key, display_name) values ($1, 'fake', 'Fake') returning id",
    )
    .bind(provider)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("insert into ai_model_roles (model_id, role_id) select $1, id from roles")
        .bind(model)
        .execute(&pool)
        .await
        .unwrap();
    let send = || {
        Call::post(
            "/api/chat/send",
            serde_json::json!({
                "conversation_id": null, "replacing": null, "model_id": model,
                "text": "Hello", "images": [], "repositories": [],
            })
            .to_string(),
        )
        .cookie(&cookie)
        .send(&router)
    };
    assert_eq!(send().await.status, StatusCode::OK);
    let second = send().await;
    assert_eq!(
        second.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        second.body
    );
    assert!(
        second.body.contains("replies being written"),
        "{}",
        second.body
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn nul_characters_are_a_400_with_a_message_never_a_500(pool: PgPool) {
    let (router, _) = site(&pool, accounts(), LimitsConfig::default());
    let staff = persona(&pool, "staff").await;
    let cookie = session_cookie(&pool, staff).await;
    let calls = [
        (
            "/api/chat/folder/create",
            r#"{"name":"a\u0000b"}"#.to_owned(),
        ),
        (
            "/api/chat/conversations",
            r#"{"search":"x\u0000","archived":false,"folder_id":null,"offset":0}"#.to_owned(),
        ),
        (
            "/api/knowledge/create",
            r#"{"name":"Bad\u0000name","description":""}"#.to_owned(),
        ),
        (
            "/api/auth/sign-up",
            "email=n%40school.org&display_name=a%00b&password=a+long+enough+password".to_owned(),
        ),
    ];
    for (path, body) in calls {
        let reply = Call::post(path, body).cookie(&cookie).send(&router).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.body
        );
        assert!(
            reply.body.contains("NUL character"),
            "{path}: {}",
            reply.body
        );
    }
    // A backslash followed by "u0000" is text, and goes through.
    let fine = Call::post("/api/chat/folder/create", r#"{"name":"a\\u0000b"}"#)
        .cookie(&cookie)
        .send(&router)
        .await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.body);
    // Files are not text fields: a JSON document with an escaped NUL uploads as a file (its
    // text is cleaned when it is read).
    let repository: Uuid = sqlx::query_scalar(
        "insert into knowledge_repositories (owner_id, name) values ($1, 'Mine') returning id",
    )
    .bind(staff)
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut request = Request::post(format!("/api/knowledge/repositories/{repository}/files"))
        .header(header::HOST, "studio.test")
        .header(header::ORIGIN, "http://studio.test")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-file-name", "data.json")
        .body(Body::from(r#"{"note":"a\u0000b"}"#))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo::<SocketAddr>("203.0.113.10:1".parse().unwrap()));
    let uploaded = router.clone().oneshot(request).await.unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    // Anonymous bodies are small.
    let huge = Call::post(
        "/api/auth/sign-in",
        format!("email={}", "a".repeat(100_000)),
    )
    .send(&router)
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(huge.body.contains("more than 64 KB"), "{}", huge.body);
    // Whatever the body claims to be: the framework would read it all.
    let mut request = Request::post("/api/auth/sign-in")
        .header(header::HOST, "studio.test")
        .header(header::ORIGIN, "http://studio.test")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("a".repeat(100_000)))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo::<SocketAddr>("203.0.113.10:1".parse().unwrap()));
    let plain = router.clone().oneshot(request).await.unwrap();
    assert_eq!(plain.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn small_leaks_sign_up_answers_alike_and_the_owner_hears_of_it(pool: PgPool) {
    let (router, _) = site(&pool, with_mail(), LimitsConfig::default());
    let owner = persona(&pool, "staff").await;
    let email: String = sqlx::query_scalar("select email from users where id = $1")
        .bind(owner)
        .fetch_one(&pool)
        .await
        .unwrap();
    let taken = Call::post("/api/auth/sign-up", sign_up_form(&email))
        .send(&router)
        .await;
    let fresh = Call::post("/api/auth/sign-up", sign_up_form("new.person@school.org"))
        .send(&router)
        .await;
    assert_eq!(taken.status, fresh.status);
    assert_eq!(
        taken.body.replace(&email, "X"),
        fresh.body.replace("new.person@school.org", "X")
    );
    assert_eq!(taken.cookies, fresh.cookies);
    let kinds: Vec<String> =
        sqlx::query_scalar("select kind from mail_outbox where to_address = $1")
            .bind(&email)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(kinds, ["sign_up_attempt"]);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn small_leaks_signing_in_as_someone_else_ends_the_previous_session(pool: PgPool) {
    let (router, _) = site(&pool, accounts(), LimitsConfig::default());
    let first = persona(&pool, "staff").await;
    let second = persona(&pool, "student").await;
    let first_cookie = session_cookie(&pool, first).await;
    let email: String = sqlx::query_scalar("select email from users where id = $1")
        .bind(second)
        .fetch_one(&pool)
        .await
        .unwrap();
    let switched = Call::post(
        "/api/auth/sign-in",
        sign_in_form(&email, "persona password 1"),
    )
    .cookie(&first_cookie)
    .send(&router)
    .await;
    assert_eq!(switched.status, StatusCode::OK, "{}", switched.body);
    assert_eq!(
        current_user(&router, &first_cookie).await,
        serde_json::Value::Null
    );
    let live: i64 = sqlx::query_scalar(
        "select count(*) from sessions where user_id = $1 and revoked_at is null",
    )
    .bind(first)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(live, 0);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn small_leaks_metrics_and_health_details_are_for_the_operator(pool: PgPool) {
    // The test site (studio.test) is not loopback: without a token /metrics is not served.
    let (router, _) = site(&pool, accounts(), LimitsConfig::default());
    assert_eq!(
        Call::get("/metrics").send(&router).await.status,
        StatusCode::NOT_FOUND
    );
    let health = Call::get("/health").send(&router).await;
    let report: serde_json::Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(report["status"], "ok");
    assert!(report.get("version").is_none(), "{}", health.body);

    let with_token = crate::router(pool.clone(), Some("s3cret"));
    let (_, _, body) = crate::get(
        &with_token,
        "/health",
        &[("authorization", "Bearer s3cret")],
    )
    .await;
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(report["version"].is_string(), "{body}");
}
