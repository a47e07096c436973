//! Who may call what: the authorization matrix over every server function and route, and
//! the sign-in flow over HTTP.
//!
//! [`SERVER_FUNCTIONS`] must name every registered server function: adding one without
//! deciding who may call it fails `every_server_function_has_an_access_rule`.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use sqlx::PgPool;
use studio_core::accounts::{
    password,
    sessions::{self, Origin, SessionPolicy},
    users,
};
use tower::ServiceExt;

use crate::{router, set_cookies};

/// Who may call a server function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone, signed in or not (sign-in itself, who-am-I).
    Public,
    /// Anyone signed in, whatever their roles (an unverified account's own page).
    SignedIn,
    /// Signed-in users whose roles grant this tool.
    Tool(&'static str),
}

/// Every server function, with who may call it and a valid request body (form-encoded for
/// the sign-in functions, JSON for the admin ones).
const SERVER_FUNCTIONS: &[(&str, Access, &str)] = &[
    ("/api/auth/current-user", Access::Public, ""),
    ("/api/auth/options", Access::Public, ""),
    (
        "/api/auth/sign-in",
        Access::Public,
        "email=nobody%40school.org&password=wrong+password",
    ),
    (
        "/api/auth/sign-up",
        Access::Public,
        "email=&display_name=&password=",
    ),
    ("/api/auth/sign-out", Access::Public, ""),
    (
        "/api/auth/verify-email",
        Access::Public,
        "token=not-a-token&password=x",
    ),
    ("/api/auth/resend-verification", Access::SignedIn, ""),
    (
        "/api/auth/change-email",
        Access::SignedIn,
        "email=x%40school.org",
    ),
    (
        "/api/auth/forgot-password",
        Access::Public,
        "email=nobody%40school.org",
    ),
    (
        "/api/auth/reset-password",
        Access::Public,
        "token=not-a-token&password=a+long+enough+password",
    ),
    ("/api/auth/invitation", Access::Public, "token=not-a-token"),
    (
        "/api/auth/accept-invitation",
        Access::Public,
        "token=not-a-token&display_name=X&password=a+long+enough+password",
    ),
    (
        "/api/auth/setup",
        Access::Public,
        "token=not-a-token&email=x%40school.org&display_name=X&password=a+long+enough+password",
    ),
    (
        "/api/admin/users",
        Access::Tool("admin"),
        r#"{"search":"","offset":0,"pending_only":false}"#,
    ),
    (
        "/api/admin/users/approve",
        Access::Tool("admin"),
        r#"{"user_id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/admin/users/refuse",
        Access::Tool("admin"),
        r#"{"user_id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/admin/users/invite",
        Access::Tool("admin"),
        r#"{"email":"","role_ids":[]}"#,
    ),
    (
        "/api/admin/mail",
        Access::Tool("admin"),
        r#"{"before":null}"#,
    ),
    (
        "/api/admin/users/roles",
        Access::Tool("admin"),
        r#"{"user_id":"00000000-0000-0000-0000-000000000000","role_ids":[]}"#,
    ),
    (
        "/api/admin/users/disabled",
        Access::Tool("admin"),
        r#"{"user_id":"00000000-0000-0000-0000-000000000000","disabled":false}"#,
    ),
    (
        "/api/admin/users/revoke-sessions",
        Access::Tool("admin"),
        r#"{"user_id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/admin/users/delete",
        Access::Tool("admin"),
        r#"{"user_id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    ("/api/admin/roles", Access::Tool("admin"), "{}"),
    (
        "/api/admin/roles/create",
        Access::Tool("admin"),
        r#"{"name":"","description":""}"#,
    ),
    (
        "/api/admin/roles/rename",
        Access::Tool("admin"),
        r#"{"role_id":"00000000-0000-0000-0000-000000000000","name":"x"}"#,
    ),
    (
        "/api/admin/roles/delete",
        Access::Tool("admin"),
        r#"{"role_id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/admin/roles/tools",
        Access::Tool("admin"),
        r#"{"role_id":"00000000-0000-0000-0000-000000000000","tools":[]}"#,
    ),
    (
        "/api/admin/settings/local-sign-up",
        Access::Tool("admin"),
        r#"{"open":true}"#,
    ),
    ("/api/admin/models", Access::Tool("admin"), "{}"),
    (
        "/api/admin/models/provider/save",
        Access::Tool("admin"),
        r#"{"form":{"id":"","kind":"openai","name":"","base_url":"","api_key":"","clear_api_key":false}}"#,
    ),
    (
        "/api/admin/models/provider/delete",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/admin/models/provider/discover",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/admin/models/save",
        Access::Tool("admin"),
        r#"{"form":{"id":"","provider_id":"","model_key":"","display_name":"","description":"","supports_vision":false,"supports_tools":false,"supports_reasoning":false,"context_tokens":"","max_output_tokens":"","input_price":"","output_price":"","cached_input_price":"","is_active":true,"role_ids":[]}}"#,
    ),
    (
        "/api/admin/models/delete",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/admin/audit",
        Access::Tool("admin"),
        r#"{"kind":"all","before":null}"#,
    ),
    (
        "/api/admin/jobs",
        Access::Tool("admin"),
        r#"{"status":"all"}"#,
    ),
    (
        "/api/admin/jobs/retry",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/admin/jobs/discard",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    ("/api/chat/models", Access::Tool("chat"), "{}"),
    ("/api/assistants/overview", Access::SignedIn, "{}"),
    (
        "/api/assistants/builder",
        Access::Tool("assistant-architect"),
        r#"{"id":null}"#,
    ),
    (
        "/api/assistants/save",
        Access::Tool("assistant-architect"),
        r#"{"id":null,"definition":{"name":"","description":"","icon":"sparkles","share_knowledge":false,"fields":[],"prompts":[]}}"#,
    ),
    (
        "/api/assistants/submit",
        Access::Tool("assistant-architect"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/assistants/form",
        Access::SignedIn,
        r#"{"id":"00000000-0000-0000-0000-000000000000","again":null,"draft":false}"#,
    ),
    (
        "/api/assistants/start",
        Access::SignedIn,
        r#"{"id":"00000000-0000-0000-0000-000000000000","inputs":{},"draft":false}"#,
    ),
    (
        "/api/assistants/continue",
        Access::Tool("chat"),
        r#"{"run":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/admin/assistants",
        Access::Tool("admin"),
        r#"{"status":""}"#,
    ),
    (
        "/api/admin/assistants/detail",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/admin/assistants/approve",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","roles":[]}"#,
    ),
    (
        "/api/admin/assistants/reject",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","note":"x"}"#,
    ),
    (
        "/api/admin/assistants/usage",
        Access::Tool("admin"),
        r#"{"days":30}"#,
    ),
    (
        "/api/admin/assistants/place",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","parent":""}"#,
    ),
    (
        "/api/admin/assistants/disable",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","disabled":true}"#,
    ),
    ("/api/schedules/list", Access::SignedIn, "{}"),
    (
        "/api/schedules/editor",
        Access::SignedIn,
        r#"{"id":null,"assistant":null}"#,
    ),
    (
        "/api/schedules/preview",
        Access::SignedIn,
        r#"{"recurrence":{"every":"daily","at":"08:00","days":[],"month_day":"1","pattern":""},"time_zone":"Europe/London"}"#,
    ),
    (
        "/api/schedules/save",
        Access::SignedIn,
        r#"{"id":null,"draft":{"name":"x","assistant_id":"","inputs":{},"recurrence":{"every":"daily","at":"08:00","days":[],"month_day":"1","pattern":""},"time_zone":"UTC","catch_up":false,"email":false}}"#,
    ),
    (
        "/api/schedules/pause",
        Access::SignedIn,
        r#"{"id":"00000000-0000-0000-0000-000000000000","pause":true}"#,
    ),
    (
        "/api/schedules/delete",
        Access::SignedIn,
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/schedules/run",
        Access::SignedIn,
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    ("/api/navigation/menu", Access::Public, "{}"),
    (
        "/api/navigation/page",
        Access::SignedIn,
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    ("/api/admin/navigation/list", Access::Tool("admin"), "{}"),
    (
        "/api/admin/navigation/save",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","item":{"parent_id":"","kind":"link","label":"x","icon":"link","href":"/x","description":"","tool":"","roles":[],"hidden":false}}"#,
    ),
    (
        "/api/admin/navigation/reorder",
        Access::Tool("admin"),
        r#"{"parent":"00000000-0000-0000-0000-000000000000","order":[]}"#,
    ),
    (
        "/api/admin/navigation/delete",
        Access::Tool("admin"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    ("/api/notifications/list", Access::SignedIn, "{}"),
    (
        "/api/notifications/read",
        Access::SignedIn,
        r#"{"id":null}"#,
    ),
    (
        "/api/chat/conversations",
        Access::Tool("chat"),
        r#"{"search":"","archived":false,"folder_id":null,"offset":0}"#,
    ),
    (
        "/api/chat/conversation",
        Access::Tool("chat"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","before":null}"#,
    ),
    (
        "/api/chat/send",
        Access::Tool("chat"),
        r#"{"conversation_id":null,"replacing":null,"model_id":"","text":"hi","images":[],"repositories":[]}"#,
    ),
    (
        "/api/chat/regenerate",
        Access::Tool("chat"),
        r#"{"reply_id":"00000000-0000-0000-0000-000000000000","model_id":""}"#,
    ),
    (
        "/api/chat/stop",
        Access::Tool("chat"),
        r#"{"reply_id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/chat/branch",
        Access::Tool("chat"),
        r#"{"message_id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/chat/rename",
        Access::Tool("chat"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","title":"x"}"#,
    ),
    (
        "/api/chat/pin",
        Access::Tool("chat"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","pinned":true}"#,
    ),
    (
        "/api/chat/archive",
        Access::Tool("chat"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","archived":true}"#,
    ),
    (
        "/api/chat/delete",
        Access::Tool("chat"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    ("/api/chat/folders", Access::Tool("chat"), "{}"),
    (
        "/api/chat/folder/create",
        Access::Tool("chat"),
        r#"{"name":""}"#,
    ),
    (
        "/api/chat/folder/delete",
        Access::Tool("chat"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/chat/move",
        Access::Tool("chat"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","folder_id":null}"#,
    ),
    (
        "/api/knowledge/list",
        Access::Tool("knowledge-repositories"),
        r#"{}"#,
    ),
    (
        "/api/knowledge/create",
        Access::Tool("knowledge-repositories"),
        r#"{"name":"","description":"","is_public":false}"#,
    ),
    (
        "/api/knowledge/update",
        Access::Tool("knowledge-repositories"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","name":"x","description":"","is_public":false}"#,
    ),
    (
        "/api/knowledge/delete",
        Access::Tool("knowledge-repositories"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/knowledge/repository",
        Access::Tool("knowledge-repositories"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/knowledge/shares",
        Access::Tool("knowledge-repositories"),
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/knowledge/share",
        Access::Tool("knowledge-repositories"),
        r#"{"id":"00000000-0000-0000-0000-000000000000","emails":"","roles":[]}"#,
    ),
    (
        "/api/knowledge/add-text",
        Access::Tool("knowledge-repositories"),
        r#"{"repository":"00000000-0000-0000-0000-000000000000","title":"","text":""}"#,
    ),
    (
        "/api/knowledge/begin-upload",
        Access::Tool("knowledge-repositories"),
        r#"{"repository":"00000000-0000-0000-0000-000000000000","name":"a.txt","size":1}"#,
    ),
    (
        "/api/knowledge/finish-upload",
        Access::Tool("knowledge-repositories"),
        r#"{"repository":"00000000-0000-0000-0000-000000000000","item":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/knowledge/add-url",
        Access::Tool("knowledge-repositories"),
        r#"{"repository":"00000000-0000-0000-0000-000000000000","url":"https://example.com/"}"#,
    ),
    (
        "/api/knowledge/reprocess",
        Access::Tool("knowledge-repositories"),
        r#"{"repository":"00000000-0000-0000-0000-000000000000","item":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/knowledge/remove",
        Access::Tool("knowledge-repositories"),
        r#"{"repository":"00000000-0000-0000-0000-000000000000","item":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/knowledge/chunks",
        Access::Tool("knowledge-repositories"),
        r#"{"repository":"00000000-0000-0000-0000-000000000000","item":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/knowledge/items",
        Access::Tool("knowledge-repositories"),
        r#"{"repository":"00000000-0000-0000-0000-000000000000"}"#,
    ),
    (
        "/api/knowledge/search",
        Access::Tool("knowledge-repositories"),
        r#"{"query":"","repository":"","mode":"hybrid","weight":0.7}"#,
    ),
];

/// The people the matrix checks, by the role they hold.
const PERSONAS: &[Option<&str>] = &[None, Some("student"), Some("staff"), Some("administrator")];

/// A verified user holding exactly `role`; returns their id.
pub(crate) async fn persona(pool: &PgPool, role: &str) -> uuid::Uuid {
    let email = format!("{role}-{}@school.org", uuid::Uuid::new_v4().simple());
    let id: uuid::Uuid = sqlx::query_scalar(
        "insert into users (email, display_name, password_hash, password_set_at, is_email_verified, email_verified_at)
         values ($1, $2, $3, now(), true, now()) returning id",
    )
    .bind(email)
    .bind(role)
    .bind(password::hash("persona password 1").unwrap())
    .fetch_one(pool)
    .await
    .unwrap();
    users::grant_role_by_name(pool, id, role).await.unwrap();
    id
}

/// A cookie header for a new session of `user_id` (each call its own: sign-out ends one).
pub(crate) async fn session_cookie(pool: &PgPool, user_id: uuid::Uuid) -> String {
    let session = sessions::create(pool, user_id, Origin::default(), SessionPolicy::default())
        .await
        .unwrap();
    format!("__Host-aistudio-session={}", session.token)
}

pub(crate) async fn post(
    router: &Router,
    path: &str,
    body: &str,
    cookie: Option<&str>,
) -> (StatusCode, String, Vec<String>) {
    let (status, headers, body) = post_answer(router, path, body, cookie).await;
    (status, body, set_cookies(&headers))
}

/// Posts `body` (JSON when it starts with `{`, else a form) as a same-origin browser would;
/// answers the status, the headers and the body.
pub(crate) async fn post_answer(
    router: &Router,
    path: &str,
    body: &str,
    cookie: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = Request::post(path)
        .header(header::HOST, "studio.test")
        .header(header::ORIGIN, "http://studio.test")
        .header(
            header::CONTENT_TYPE,
            if body.starts_with('{') {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            },
        );
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn every_server_function_has_an_access_rule(pool: PgPool) {
    // Registering the router registers the server functions.
    let _router = router(pool, None);
    let mut missing: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .filter(|path| !SERVER_FUNCTIONS.iter().any(|(known, _, _)| known == path))
        .collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "server functions without an entry in SERVER_FUNCTIONS: {missing:?}"
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn each_persona_gets_exactly_the_expected_access(pool: PgPool) {
    let router = router(pool.clone(), None);
    for role in PERSONAS {
        let user = match role {
            Some(role) => Some(persona(&pool, role).await),
            None => None,
        };
        for (path, access, body) in SERVER_FUNCTIONS {
            let cookie = match user {
                Some(user) => Some(session_cookie(&pool, user).await),
                None => None,
            };
            let (status, text, _) = post(&router, path, body, cookie.as_deref()).await;
            let allowed = match access {
                Access::Public => true,
                Access::SignedIn => role.is_some(),
                Access::Tool(tool) => role.is_some_and(|role| default_grants(role).contains(tool)),
            };
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{role:?} refused {path}: {status} {text}"
                );
            } else {
                let expected = if role.is_some() {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::UNAUTHORIZED
                };
                assert_eq!(status, expected, "{role:?} on {path}: {text}");
            }
        }
    }
}

/// The tools each system role is granted by the first migration.
fn default_grants(role: &str) -> &'static [&'static str] {
    match role {
        "administrator" => &[
            "chat",
            "model-compare",
            "prompt-library",
            "assistant-architect",
            "knowledge-repositories",
            "schedules",
            "ideas",
            "admin",
        ],
        "staff" => &[
            "chat",
            "model-compare",
            "prompt-library",
            "assistant-architect",
            "knowledge-repositories",
            "schedules",
            "ideas",
        ],
        "student" => &["chat", "model-compare", "prompt-library", "ideas"],
        _ => &[],
    }
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn sign_in_sets_a_session_cookie_that_identifies_the_user(pool: PgPool) {
    let router = router(pool.clone(), None);
    let staff = persona(&pool, "staff").await;
    let email: String = sqlx::query_scalar("select email from users where id = $1")
        .bind(staff)
        .fetch_one(&pool)
        .await
        .unwrap();
    let form = format!(
        "email={}&password=persona+password+1",
        email.replace('@', "%40")
    );
    let (status, next, cookies) = post(&router, "/api/auth/sign-in", &form, None).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_eq!(next, "\"/\"");
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-aistudio-session="))
        .expect("a session cookie");
    for part in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(part), "{session}");
    }
    let cookie = session.split(';').next().unwrap();

    let (status, body, _) = post(&router, "/api/auth/current-user", "", Some(cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let user: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(user["email"], email);
    assert_eq!(user["roles"], serde_json::json!(["staff"]));
    assert_eq!(user["is_verified"], true);

    let (_, _, cleared) = post(&router, "/api/auth/sign-out", "", Some(cookie)).await;
    assert!(cleared.iter().any(|c| c.contains("Max-Age=0")));
    let (_, body, _) = post(&router, "/api/auth/current-user", "", Some(cookie)).await;
    assert_eq!(
        body, "null",
        "the revoked session no longer identifies anyone"
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn bad_input_is_a_400_with_a_message_never_a_500(pool: PgPool) {
    let router = router(pool, None);
    let cases = [
        (
            "/api/auth/sign-up",
            "email=&display_name=Ada&password=a+long+enough+password",
            "email address",
        ),
        (
            "/api/auth/sign-up",
            "email=ada%40school.org&display_name=&password=a+long+enough+password",
            "name",
        ),
        (
            "/api/auth/sign-up",
            "email=ada%40school.org&display_name=Ada&password=short",
            "12 characters",
        ),
        (
            "/api/auth/sign-in",
            "email=ada%40school.org&password=whatever+it+is",
            "not right",
        ),
    ];
    for (path, body, needle) in cases {
        let (status, text, _) = post(&router, path, body, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {text}");
        assert!(text.contains(needle), "{text}");
    }
    let oversize = format!(
        "email=ada%40school.org&display_name={}&password=a+long+enough+password",
        "a".repeat(300)
    );
    let (status, text, _) = post(&router, "/api/auth/sign-up", &oversize, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn cross_site_posts_are_refused_before_any_work(pool: PgPool) {
    let router = router(pool.clone(), None);
    let request = Request::post("/api/auth/sign-up")
        .header(header::HOST, "studio.test")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "email=x%40school.org&display_name=X&password=a+long+enough+password",
        ))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn an_expired_session_is_asked_to_sign_in_again_and_its_cookie_cleared(pool: PgPool) {
    let router = router(pool.clone(), None);
    let admin = persona(&pool, "administrator").await;
    let cookie = session_cookie(&pool, admin).await;
    let (status, _, _) = post(&router, "/api/admin/roles", "{}", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);

    sqlx::query("update sessions set idle_expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let (status, text, cookies) = post(&router, "/api/admin/roles", "{}", Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    assert!(text.contains("Unauthenticated"), "{text}");
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-aistudio-session=;") && c.contains("Max-Age=0")),
        "the dead cookie is cleared: {cookies:?}"
    );

    // A page is sent to the sign-in page, which will bring the person back.
    let (status, headers, page) = crate::get(
        &router,
        "/admin/users?page=2",
        &[("cookie", cookie.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(
        headers.get(header::LOCATION).unwrap(),
        "/sign-in?next=%2Fadmin%2Fusers%3Fpage%3D2"
    );
    assert!(headers.get_all(header::SET_COOKIE).iter().count() >= 1);
}

/// An id that is not an id names nothing: every server function and route that takes one
/// answers it as it answers an unknown one, 404, never 400 in some places and 500 in others.
#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_malformed_id_is_not_found_everywhere(pool: PgPool) {
    const ZERO: &str = "00000000-0000-0000-0000-000000000000";
    let router = router(pool.clone(), None);
    let admin = persona(&pool, "administrator").await;
    let mut checked = 0;
    for (path, _, body) in SERVER_FUNCTIONS
        .iter()
        .filter(|(_, _, body)| body.contains(ZERO))
    {
        let cookie = session_cookie(&pool, admin).await;
        let malformed = body.replace(ZERO, "not-an-id");
        let (status, text, _) = post(&router, path, &malformed, Some(&cookie)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} {malformed}: {text}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} server functions take an id");

    let cookie = session_cookie(&pool, admin).await;
    let headers = [("cookie", cookie.as_str())];
    for uri in [
        "/api/chat/replies/not-an-id/events",
        "/api/chat/images/not-an-id",
        "/api/knowledge/repositories/not-an-id/items/not-an-id/original",
        "/api/knowledge/repositories/not-an-id/events",
    ] {
        let (status, _, text) = crate::get(&router, uri, &headers).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {text}");
    }
    let (status, text, _) = post(
        &router,
        "/api/knowledge/repositories/not-an-id/files",
        "some text",
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
}
