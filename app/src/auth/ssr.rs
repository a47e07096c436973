//! Server side of sign-in: the session cookie, and the checks every page, server function
//! and route uses.

use http::{HeaderMap, HeaderValue, header};
use leptos::prelude::{expect_context, use_context};
use studio_core::accounts::{
    access,
    sessions::{self, SessionUser},
};

use super::CurrentUser;
use crate::{error::AppError, ssr::AppState};

/// The session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const SESSION_COOKIE: &str = "__Host-aistudio-session";
/// The same cookie where `Secure` is off (`COOKIE_SECURE=false`), which `__Host-` forbids.
pub const INSECURE_SESSION_COOKIE: &str = "aistudio-session";

/// The request's live session, put into the request extensions by the session middleware.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: SessionUser,
    pub token: String,
}

/// The session cookie's name under the given `Secure` setting.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SESSION_COOKIE
    } else {
        INSECURE_SESSION_COOKIE
    }
}

/// The session token a request carries, if any.
pub fn session_token(headers: &HeaderMap, secure: bool) -> Option<String> {
    read_cookie(headers, cookie_name(secure))
}

/// The value of the request's cookie called `name`, if any.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// `Set-Cookie` for a new session (`Some(token)`) or for removing it (`None`).
pub fn session_cookie(token: Option<&str>, secure: bool, max_age_secs: i64) -> HeaderValue {
    http_only_cookie(cookie_name(secure), token, secure, max_age_secs)
}

/// `Set-Cookie` for one of our cookies: HttpOnly, Path=/, SameSite=Lax (so it comes along on
/// top-level navigations from other sites, such as a provider's redirect back), Secure when
/// `secure`. `None` removes it.
pub fn http_only_cookie(
    name: &str,
    value: Option<&str>,
    secure: bool,
    max_age_secs: i64,
) -> HeaderValue {
    let max_age = match value {
        Some(_) => cookie::time::Duration::seconds(max_age_secs),
        None => cookie::time::Duration::ZERO,
    };
    let cookie = cookie::Cookie::build((name, value.unwrap_or_default()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(cookie::SameSite::Lax)
        .max_age(max_age)
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The request's session, if signed in.
pub fn authenticated() -> Option<Authenticated> {
    use_context::<http::request::Parts>()?
        .extensions
        .get::<Authenticated>()
        .cloned()
}

/// The signed-in user's id, or `Unauthenticated`: for what every signed-in person may do
/// (their own schedules, notifications, runs), without reading their roles and tools.
pub fn require_user_id() -> Result<uuid::Uuid, AppError> {
    authenticated()
        .map(|session| session.user.user_id)
        .ok_or(AppError::Unauthenticated)
}

/// The signed-in user with their roles and tools, or `Unauthenticated`.
pub async fn require_user() -> Result<CurrentUser, AppError> {
    let session = authenticated().ok_or(AppError::Unauthenticated)?;
    let state = expect_context::<AppState>();
    let user = session.user;
    let access::Grants { roles, tools } = access::grants(&state.pool, user.user_id).await?;
    Ok(CurrentUser {
        id: user.user_id.to_string(),
        email: user.email,
        display_name: user.display_name,
        is_verified: user.is_verified,
        roles,
        tools,
    })
}

/// The signed-in user if one of their roles grants `tool`; `Unauthenticated` or `Forbidden`
/// otherwise. Every server function of a tool starts with this.
pub async fn require_tool(tool: &str) -> Result<CurrentUser, AppError> {
    let user = require_user().await?;
    if user.can_use(tool) {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

/// The client's address (for rate limits and the audit log): the peer's, or through a
/// trusted proxy the address it forwarded for.
pub fn client_ip() -> Option<String> {
    crate::ssr::ClientIp::of(&use_context::<http::request::Parts>()?)
}

/// The client's address, parsed (for rate limits).
pub fn client_ip_addr() -> Option<std::net::IpAddr> {
    use_context::<http::request::Parts>()?
        .extensions
        .get::<crate::ssr::ClientIp>()
        .map(|ip| ip.0)
}

/// Starts a session for `user_id` from the request whose parts these are. The session the
/// browser held before, whoever's it was, is revoked: signing in as someone else never
/// leaves the previous account signed in behind the cookie.
pub async fn begin_session(
    state: &AppState,
    parts: &http::request::Parts,
    user_id: uuid::Uuid,
    provider: Option<&str>,
) -> sqlx::Result<sessions::NewSession> {
    if let Some(previous) = parts.extensions.get::<Authenticated>() {
        sessions::revoke(&state.pool, &previous.token).await?;
    }
    let ip = crate::ssr::ClientIp::of(parts);
    let origin = sessions::Origin {
        ip: ip.as_deref(),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok()),
        provider,
    };
    sessions::create(&state.pool, user_id, origin, state.accounts.sessions).await
}

/// For axum routes outside server functions: the signed-in user's id if one of their roles
/// grants `tool`, else the status and text to answer with.
pub async fn route_user(
    state: &AppState,
    session: Option<&Authenticated>,
    tool: &str,
) -> Result<uuid::Uuid, (http::StatusCode, &'static str)> {
    let session = session.ok_or((http::StatusCode::UNAUTHORIZED, "Please sign in."))?;
    match access::tool_slugs(&state.pool, session.user.user_id).await {
        Ok(tools) if tools.iter().any(|t| t == tool) => Ok(session.user.user_id),
        Ok(_) => Err((
            http::StatusCode::FORBIDDEN,
            "You don't have access to this.",
        )),
        Err(err) => {
            tracing::error!(error = %err, "could not read tools");
            Err((
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong.",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_token_is_read_from_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; __Host-aistudio-session=tok123; x=1"),
        );
        assert_eq!(session_token(&headers, true).as_deref(), Some("tok123"));
        assert_eq!(session_token(&headers, false), None);
    }

    #[test]
    fn the_session_cookie_is_http_only_lax_and_secure() {
        let set = session_cookie(Some("tok"), true, 3600);
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-aistudio-session=tok;"), "{set}");
        for part in [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
        let cleared = session_cookie(None, true, 3600);
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
    }
}
