//! OpenID Connect sign-in end to end against a real provider on loopback
//! (`end2end/support/oidc-provider.mjs`, oauth2-mock-server): the browser's part is played
//! with plain HTTP requests that carry the cookies a browser would.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use sqlx::PgPool;
use studio_core::accounts::{
    AccountsConfig,
    oidc::{OidcConfig, ProviderConfig},
    provision::AllowedDomains,
};
use tower::ServiceExt;

use crate::{router_with, set_cookies};

/// The test provider, stopped when dropped.
struct Provider {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    issuer: String,
}

impl Provider {
    fn start() -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../end2end/support/oidc-provider.mjs"
        );
        let mut child = Command::new("node")
            .arg(script)
            .arg("0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs the test provider (make test installs end2end's packages)");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let issuer = line
            .trim()
            .strip_prefix("issuer ")
            .unwrap_or_else(|| panic!("the provider did not start: {line:?}"))
            .to_owned();
        Self {
            child,
            stdin,
            stdout,
            issuer,
        }
    }

    /// Changes what later ID tokens say (see the script).
    fn set(&mut self, command: serde_json::Value) {
        writeln!(self.stdin, "{command}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ok");
    }

    fn config(&self) -> OidcConfig {
        config_for(&self.issuer)
    }
}

/// One provider called `test` at `issuer`, for a site at http://studio.test.
fn config_for(issuer: &str) -> OidcConfig {
    OidcConfig {
        providers: vec![ProviderConfig {
            id: "test".to_owned(),
            label: "Test provider".to_owned(),
            issuer: issuer.to_owned(),
            client_id: "studio-client".to_owned(),
            client_secret: None,
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            logout_url: None,
        }],
        public_url: url::Url::parse("http://studio.test/").unwrap(),
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running provider and a router configured for it.
fn with_provider(pool: &PgPool, accounts: AccountsConfig) -> (Provider, Router) {
    let provider = Provider::start();
    let router = router_with(pool.clone(), None, accounts, provider.config());
    (provider, router)
}

struct Reply {
    status: StatusCode,
    location: String,
    cookies: Vec<String>,
    body: String,
}

impl Reply {
    /// The `name=value` part of the `Set-Cookie` for `name`, if set to a non-empty value.
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .map(|c| c.split(';').next().unwrap().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")) && c.len() > name.len() + 1)
    }
}

async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let cookies = set_cookies(response.headers());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        location,
        cookies,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn get(router: &Router, uri: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::get(uri).header(header::HOST, "studio.test");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

const STATE_COOKIE: &str = "__Host-aistudio-oidc";
const SESSION_COOKIE: &str = "__Host-aistudio-session";

/// Starts a sign-in and lets the provider approve it. Returns the callback path and the
/// state cookie the browser holds.
async fn to_callback(router: &Router, start: &str) -> (String, String) {
    let started = get(router, start, None).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let state_cookie = started.cookie(STATE_COOKIE).expect("a state cookie");
    let authorize = reqwest::Url::parse(&started.location).unwrap();
    let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_id"], "studio-client");
    assert_eq!(
        query["redirect_uri"],
        "http://studio.test/auth/oidc/test/callback"
    );
    assert!(query.contains_key("nonce") && query.contains_key("state"));

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let approved = browser.get(authorize).send().await.unwrap();
    assert!(approved.status().is_redirection(), "{}", approved.status());
    let back = reqwest::Url::parse(
        approved
            .headers()
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let path = format!("{}?{}", back.path(), back.query().unwrap_or_default());
    (path, state_cookie)
}

/// A whole sign-in through the provider: the final reply from our callback.
async fn sign_in(router: &Router, start: &str) -> Reply {
    let (callback, state_cookie) = to_callback(router, start).await;
    get(router, &callback, Some(&state_cookie)).await
}

async fn current_user(router: &Router, session: &str) -> serde_json::Value {
    let request = Request::post("/api/auth/current-user")
        .header(header::HOST, "studio.test")
        .header(header::ORIGIN, "http://studio.test")
        .header(header::COOKIE, session)
        .body(Body::empty())
        .unwrap();
    serde_json::from_str(&send(router, request).await.body).unwrap()
}

async fn user_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from users")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn signing_in_through_the_provider_creates_the_account_and_a_session(pool: PgPool) {
    let (provider, router) = with_provider(&pool, AccountsConfig::default());

    let done = sign_in(&router, "/auth/oidc/test/start?next=/admin/users").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location, "/admin/users", "back where sign-in started");
    assert!(
        done.cookies
            .iter()
            .any(|c| c.starts_with(&format!("{STATE_COOKIE}=;")) && c.contains("Max-Age=0")),
        "the state cookie is cleared: {:?}",
        done.cookies
    );
    let session = done.cookie(SESSION_COOKIE).expect("a session cookie");
    let user = current_user(&router, &session).await;
    assert_eq!(user["email"], "oidc.user@school.example");
    assert_eq!(user["display_name"], "Olive Provider");
    assert_eq!(
        user["roles"],
        serde_json::json!(["staff"]),
        "the rule's role: being first makes nobody administrator"
    );

    // Signing in again finds the same account.
    let again = sign_in(&router, "/auth/oidc/test/start").await;
    assert_eq!(again.location, "/");
    assert!(again.cookie(SESSION_COOKIE).is_some());
    assert_eq!(user_count(&pool).await, 1);

    // Sign-out ends our session and sends the browser to the provider's end-session endpoint.
    let request = Request::post("/api/auth/sign-out")
        .header(header::HOST, "studio.test")
        .header(header::ORIGIN, "http://studio.test")
        .header(header::COOKIE, &session)
        .body(Body::empty())
        .unwrap();
    let signed_out = send(&router, request).await;
    assert_eq!(signed_out.status, StatusCode::OK);
    let next: String = serde_json::from_str(&signed_out.body).unwrap();
    let next = reqwest::Url::parse(&next).unwrap();
    assert_eq!(
        next.as_str().split('?').next().unwrap(),
        format!("{}/endsession", provider.issuer)
    );
    let query: std::collections::HashMap<_, _> = next.query_pairs().into_owned().collect();
    assert_eq!(
        query["post_logout_redirect_uri"],
        "http://studio.test/sign-in"
    );
    assert_eq!(query["client_id"], "studio-client");
    assert_eq!(
        current_user(&router, &session).await,
        serde_json::Value::Null
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn forged_or_mismatched_id_tokens_are_refused(pool: PgPool) {
    let (mut provider, router) = with_provider(&pool, AccountsConfig::default());
    let cases = [
        ("tampered signature", serde_json::json!({ "tamper": true })),
        (
            "wrong nonce",
            serde_json::json!({ "tamper": false, "claims": { "nonce": "not-ours" } }),
        ),
        (
            "wrong audience",
            serde_json::json!({ "claims": { "aud": "another-client" } }),
        ),
        (
            "wrong issuer",
            serde_json::json!({ "claims": { "iss": "http://127.0.0.1:1" } }),
        ),
        (
            "expired",
            serde_json::json!({ "claims": { "exp": 1_000_000_000 } }),
        ),
    ];
    for (case, command) in cases {
        provider.set(command);
        let done = sign_in(&router, "/auth/oidc/test/start").await;
        assert_eq!(
            done.location, "/sign-in?error=invalid-token",
            "{case}: {}",
            done.body
        );
        assert!(done.cookie(SESSION_COOKIE).is_none(), "{case}: no session");
    }
    assert_eq!(user_count(&pool).await, 0, "nobody was created");
    // Each refusal is in the audit log, for the reason the case set up.
    let reasons: Vec<String> = sqlx::query_scalar(
        "select after->>'detail' from audit_log where action = 'auth.sign_in_failed' order by created_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected = ["Signature", "nonce", "audiences", "issuer", "Expired"];
    assert_eq!(reasons.len(), expected.len(), "{reasons:?}");
    for (reason, needle) in reasons.iter().zip(expected) {
        assert!(reason.contains(needle), "{reason:?} lacks {needle:?}");
    }

    provider.set(serde_json::json!({ "claims": {} }));
    let done = sign_in(&router, "/auth/oidc/test/start").await;
    assert!(done.cookie(SESSION_COOKIE).is_some(), "{}", done.location);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_replayed_or_foreign_callback_is_refused_with_a_clear_page(pool: PgPool) {
    let (_provider, router) = with_provider(&pool, AccountsConfig::default());

    let (callback, state_cookie) = to_callback(&router, "/auth/oidc/test/start").await;
    let first = get(&router, &callback, Some(&state_cookie)).await;
    assert!(first.cookie(SESSION_COOKIE).is_some());
    let replayed = get(&router, &callback, Some(&state_cookie)).await;
    assert_eq!(replayed.location, "/sign-in?error=expired");
    assert!(replayed.cookie(SESSION_COOKIE).is_none());

    // A callback from a sign-in this browser did not start (login CSRF): no state cookie.
    let (callback, _) = to_callback(&router, "/auth/oidc/test/start").await;
    let foreign = get(&router, &callback, None).await;
    assert_eq!(foreign.location, "/sign-in?error=expired");
    // Nor does it work afterwards from the right browser: the attempt used it up.
    let (callback, state_cookie) = to_callback(&router, "/auth/oidc/test/start").await;
    let wrong_cookie = format!("{STATE_COOKIE}=someone-elses-state");
    assert_eq!(
        get(&router, &callback, Some(&wrong_cookie)).await.location,
        "/sign-in?error=expired"
    );
    assert_eq!(
        get(&router, &callback, Some(&state_cookie)).await.location,
        "/sign-in?error=expired"
    );

    // Garbage and provider errors land on the same page, never a 500.
    for (uri, expected) in [
        ("/auth/oidc/test/callback", "expired"),
        ("/auth/oidc/test/callback?state=&code=", "expired"),
        ("/auth/oidc/test/callback?code=a&code=b&state=x", "expired"),
        (
            "/auth/oidc/nobody/callback?code=a&state=b",
            "unknown-provider",
        ),
        ("/auth/oidc/nobody/start", "unknown-provider"),
    ] {
        let reply = get(&router, uri, Some(&state_cookie)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{uri}: {}", reply.body);
        assert_eq!(
            reply.location,
            format!("/sign-in?error={expected}"),
            "{uri}"
        );
    }
    let started = get(&router, "/auth/oidc/test/start", None).await;
    let state_cookie = started.cookie(STATE_COOKIE).unwrap();
    let state = state_cookie.split_once('=').unwrap().1;
    let denied = get(
        &router,
        &format!("/auth/oidc/test/callback?error=access_denied&state={state}"),
        Some(&state_cookie),
    )
    .await;
    assert_eq!(denied.location, "/sign-in?error=denied");

    // The page the browser lands on says what happened.
    let page = get(&router, "/sign-in?error=expired", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("That sign-in expired or was already used"),
        "{}",
        page.body
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn accounts_outside_the_allowed_domains_are_refused(pool: PgPool) {
    let accounts = AccountsConfig {
        allowed_domains: AllowedDomains::parse("school.org"),
        ..AccountsConfig::default()
    };
    let (_provider, router) = with_provider(&pool, accounts);
    let done = sign_in(&router, "/auth/oidc/test/start").await;
    assert_eq!(done.location, "/sign-in?error=domain");
    assert!(done.cookie(SESSION_COOKIE).is_none());
    assert_eq!(user_count(&pool).await, 0);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn an_unreachable_provider_is_reported_not_a_500(pool: PgPool) {
    // Nothing listens on the discard port.
    let config = config_for("http://127.0.0.1:9");
    let router = router_with(pool, None, AccountsConfig::default(), config);
    let reply = get(&router, "/auth/oidc/test/start", None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location, "/sign-in?error=unavailable");
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn pre_account_takeover_a_squatted_address_is_not_linked_and_loses_its_password(
    pool: PgPool,
) {
    let (_provider, router) = with_provider(&pool, crate::accounts());
    // A stranger signs up first with the address the provider will vouch for.
    let request = Request::post("/api/auth/sign-up")
        .header(header::HOST, "studio.test")
        .header(header::ORIGIN, "http://studio.test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "email=oidc.user%40school.example&display_name=Squatter&password=the+squatters+password",
        ))
        .unwrap();
    assert_eq!(send(&router, request).await.status, StatusCode::OK);

    let refused = sign_in(&router, "/auth/oidc/test/start").await;
    assert_eq!(refused.location, "/sign-in?error=unverified-account");
    assert!(refused.cookie(SESSION_COOKIE).is_none());
    let linked: i64 = sqlx::query_scalar("select count(*) from user_identities")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(linked, 0);
    let page = get(&router, "/sign-in?error=unverified-account", None).await;
    assert!(page.body.contains("never verified"), "{}", page.body);

    // An administrator approves the account; the owner's provider sign-in then links it,
    // and the squatter's password no longer opens it.
    let id: uuid::Uuid = sqlx::query_scalar("select id from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let admin = crate::access::persona(&pool, "administrator").await;
    studio_core::accounts::admin::approve_user(
        &pool,
        &crate::accounts(),
        studio_core::accounts::admin::Actor {
            user_id: admin,
            ip: None,
        },
        id,
    )
    .await
    .unwrap();
    let linked = sign_in(&router, "/auth/oidc/test/start").await;
    assert!(
        linked.cookie(SESSION_COOKIE).is_some(),
        "{}",
        linked.location
    );
    let request = Request::post("/api/auth/sign-in")
        .header(header::HOST, "studio.test")
        .header(header::ORIGIN, "http://studio.test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "email=oidc.user%40school.example&password=the+squatters+password",
        ))
        .unwrap();
    let by_password = send(&router, request).await;
    assert_eq!(
        by_password.status,
        StatusCode::BAD_REQUEST,
        "{}",
        by_password.body
    );
}
