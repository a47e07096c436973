//! Resolves the session cookie once per request: a live session puts
//! [`Authenticated`](app::auth::ssr::Authenticated) into the request extensions, where pages,
//! server functions and routes find it. A cookie for a dead session is cleared.

use app::{
    auth::ssr::{Authenticated, session_cookie, session_token},
    ssr::AppState,
};
use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::Response,
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
