//! The two HTTP routes of OpenID Connect sign-in: `/auth/oidc/{provider}/start` sends the
//! browser to the provider, `/auth/oidc/{provider}/callback` receives it back, provisions the
//! account and starts a session. Every failure lands on the sign-in page with a reason code
//! ([`SignInProblem`]) that the page turns into a clear message; nothing here answers 500.

use axum::{
    extract::{Path, Query, State, rejection::QueryRejection},
    response::{IntoResponse, Redirect, Response},
};
use http::{HeaderValue, header, request::Parts};
use serde::Deserialize;
use studio_core::{
    accounts::{
        oidc::{Callback, LOGIN_TTL, OidcError},
        provision::{self, ProvisionError},
    },
    audit,
};

use super::{
    SignInProblem,
    ssr::{begin_session, http_only_cookie, read_cookie, session_cookie},
};
use crate::ssr::AppState;

/// Keeps the `state` of a sign-in in progress, binding the callback to this browser.
const STATE_COOKIE: &str = "__Host-aistudio-oidc";
const INSECURE_STATE_COOKIE: &str = "aistudio-oidc";

fn state_cookie_name(secure: bool) -> &'static str {
    if secure {
        STATE_COOKIE
    } else {
        INSECURE_STATE_COOKIE
    }
}

fn state_cookie(value: Option<&str>, secure: bool) -> HeaderValue {
    let lifetime = i64::try_from(LOGIN_TTL.as_secs()).unwrap_or(600);
    http_only_cookie(state_cookie_name(secure), value, secure, lifetime)
}

fn to_sign_in(problem: SignInProblem, secure: bool) -> Response {
    let target = format!("/sign-in?error={}", problem.code());
    (
        [(header::SET_COOKIE, state_cookie(None, secure))],
        Redirect::to(&target),
    )
        .into_response()
}

fn oidc_problem(err: &OidcError, provider: &str) -> SignInProblem {
    match err {
        OidcError::UnknownProvider(_) => SignInProblem::UnknownProvider,
        OidcError::LoginExpired => SignInProblem::Expired,
        OidcError::Denied(detail) => {
            tracing::info!(provider, detail, "the provider refused the sign-in");
            SignInProblem::Denied
        }
        OidcError::Unavailable(err) => {
            tracing::error!(
                provider,
                error = format!("{err:#}"),
                "sign-in provider failed"
            );
            SignInProblem::Unavailable
        }
        OidcError::InvalidToken(detail) => {
            tracing::warn!(provider, detail, "refused an ID token");
            SignInProblem::InvalidToken
        }
        OidcError::Database(err) => {
            tracing::error!(provider, error = %err, "database error during sign-in");
            SignInProblem::Unavailable
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// `GET /auth/oidc/{provider}/start[?next=/path]`
pub async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(query): Query<StartQuery>,
) -> Response {
    let secure = state.accounts.secure_cookies;
    match state
        .oidc
        .begin(&state.pool, &provider, query.next.as_deref())
        .await
    {
        Ok(begin) => (
            [(header::SET_COOKIE, state_cookie(Some(&begin.state), secure))],
            Redirect::to(begin.url.as_str()),
        )
            .into_response(),
        Err(err) => to_sign_in(oidc_problem(&err, &provider), secure),
    }
}

/// `GET /auth/oidc/{provider}/callback?code=...&state=...`
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    query: Result<Query<Callback>, QueryRejection>,
    parts: Parts,
) -> Response {
    let secure = state.accounts.secure_cookies;
    // A malformed query is treated like an empty one: it cannot match a sign-in.
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let ip = crate::ssr::ClientIp::of(&parts);
    let cookie_state = read_cookie(&parts.headers, state_cookie_name(secure));
    let identity = match state
        .oidc
        .finish(&state.pool, &provider, &query, cookie_state.as_deref())
        .await
    {
        Ok(identity) => identity,
        Err(err) => {
            if let OidcError::InvalidToken(detail) = &err {
                let event = audit::Event {
                    action: "auth.sign_in_failed",
                    after: Some(serde_json::json!({ "provider": provider, "detail": detail })),
                    ip: ip.as_deref(),
                    ..audit::Event::default()
                };
                if let Err(err) = audit::record(&state.pool, event).await {
                    tracing::error!(error = %err, "could not audit a refused ID token");
                }
            }
            return to_sign_in(oidc_problem(&err, &provider), secure);
        }
    };
    let user = match provision::provision(
        &state.pool,
        &identity,
        &state.accounts.role_rule,
        &state.accounts.allowed_domains,
        ip.as_deref(),
    )
    .await
    {
        Ok(user) => user,
        Err(err) => {
            let problem = match err {
                ProvisionError::MissingEmail => SignInProblem::NoEmail,
                ProvisionError::DomainNotAllowed(_) => SignInProblem::DomainNotAllowed,
                ProvisionError::Disabled => SignInProblem::Disabled,
                ProvisionError::EmailInUse => SignInProblem::EmailInUse,
                ProvisionError::UnverifiedAccount => SignInProblem::UnverifiedAccount,
                ProvisionError::Database(err) => {
                    tracing::error!(error = %err, "could not provision an account");
                    SignInProblem::Unavailable
                }
            };
            return to_sign_in(problem, secure);
        }
    };
    let session = match begin_session(&state, &parts, user.id, Some(&identity.provider)).await {
        Ok(session) => session,
        Err(err) => {
            tracing::error!(error = %err, "could not start a session");
            return to_sign_in(SignInProblem::Unavailable, secure);
        }
    };
    tracing::info!(user.id = %user.id, provider, "signed in through a provider");
    let lifetime = i64::try_from(state.accounts.sessions.absolute.as_secs()).unwrap_or(i64::MAX);
    let mut response = Redirect::to(&identity.return_to).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        session_cookie(Some(&session.token), secure, lifetime),
    );
    headers.append(header::SET_COOKIE, state_cookie(None, secure));
    response
}
