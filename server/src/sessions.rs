//! Resolves the session cookie once per request: a live session puts
//! [`Authenticated`](app::auth::ssr::Authenticated) into the request extensions, where pages,
//! server functions and routes find it. A cookie for a dead session is cleared.
//!
//! [`sign_in_first`] sends a signed-out visitor of a signed-in page to the sign-in page, which
//! brings them back.

use app::{
    auth::ssr::{Authenticated, session_cookie, session_token},
    ssr::AppState,
};
use axum::{
    extract::{Request, State},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use studio_core::accounts::sessions;

pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let secure = state.accounts.secure_cookies;
    let Some(token) = session_token(request.headers(), secure) else {
        return next.run(request).await;
    };
    match sessions::authenticate(&state.pool, &token, state.accounts.sessions).await {
        Ok(Some(user)) => {
            request
                .extensions_mut()
                .insert(Authenticated { user, token });
            next.run(request).await
        }
        Ok(None) => {
            let mut response = next.run(request).await;
            response
                .headers_mut()
                .append(header::SET_COOKIE, session_cookie(None, secure, 0));
            response
        }
        Err(err) => {
            // Treat the request as signed out; pages that need a user will say so.
            tracing::warn!(error = %err, "could not check the session");
            next.run(request).await
        }
    }
}

/// A page (not an API call or a file) that only makes sense signed in.
fn needs_sign_in(path: &str) -> bool {
    app::SIGNED_IN_PAGES.iter().any(|page| {
        path.strip_prefix(page)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// `GET /chat` signed out is `303 /sign-in?next=/chat`: the sign-in page, then back.
pub async fn sign_in_first(request: Request, next: Next) -> Response {
    let is_page_load = matches!(*request.method(), Method::GET | Method::HEAD);
    if is_page_load
        && request.extensions().get::<Authenticated>().is_none()
        && needs_sign_in(request.uri().path())
    {
        let back = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let target: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &back)
            .finish();
        return Redirect::to(&format!("/sign-in?{target}")).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signed_in_pages_and_their_subpages_need_a_session() {
        for path in [
            "/chat",
            "/chat/3f1c",
            "/knowledge",
            "/knowledge/x",
            "/admin/users",
        ] {
            assert!(needs_sign_in(path), "{path}");
        }
        for path in [
            "/",
            "/sign-in",
            "/chatter",
            "/api/chat/send",
            "/pkg/app.wasm",
            "/admin-x",
        ] {
            assert!(!needs_sign_in(path), "{path}");
        }
    }
}
