//! Server functions for signing up, in and out, and asking who is signed in.

use leptos::prelude::*;

use super::{CurrentUser, SignInOptions};
use crate::error::AppError;

/// Longest display name accepted, in characters.
#[cfg(feature = "ssr")]
const MAX_NAME_LEN: usize = 200;

/// Who is signed in, or `None`.
#[server(endpoint = "auth/current-user")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    match super::ssr::require_user().await {
        Ok(user) => Ok(Some(user)),
        Err(AppError::Unauthenticated) => Ok(None),
        Err(err) => Err(err),
    }
}

/// What the sign-in page offers (providers, whether sign-up is open).
#[server(endpoint = "auth/options")]
pub async fn get_sign_in_options() -> Result<SignInOptions, AppError> {
    let state = expect_context::<crate::ssr::AppState>();
    Ok(SignInOptions {
        providers: state
            .oidc
            .providers()
            .map(|(id, label)| (id.to_owned(), label.to_owned()))
            .collect(),
        local_sign_up_open: studio_core::accounts::users::is_local_sign_up_open(&state.pool)
            .await?,
        allowed_domains: state.accounts.allowed_domains.domains().to_vec(),
    })
}

/// Creates a local account and signs it in. Returns where to go next.
#[server(endpoint = "auth/sign-up")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn sign_up(
    email: String,
    display_name: String,
    password: String,
) -> Result<String, AppError> {
    use studio_core::accounts::{password as passwords, users};

    let state = expect_context::<crate::ssr::AppState>();
    let email = users::normalize_email(&email).map_err(AppError::Invalid)?;
    let allowed = &state.accounts.allowed_domains;
    if !allowed.allows(&email) {
        return Err(AppError::Invalid(format!(
            "Only addresses at {} can sign up here.",
            allowed.domains().join(", ")
        )));
    }
    let display_name = display_name.trim().to_owned();
    if display_name.is_empty() {
        return Err(AppError::Invalid("Enter your name.".into()));
    }
    if display_name.chars().count() > MAX_NAME_LEN {
        return Err(AppError::Invalid(format!(
            "Use at most {MAX_NAME_LEN} characters for your name."
        )));
    }
    passwords::check_new(&password).map_err(AppError::Invalid)?;
    let password_hash = tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|err| anyhow::anyhow!("password hashing did not finish: {err}"))??;
    let new_user = users::NewLocalUser {
        email,
        display_name,
        password_hash,
    };
    let user = match users::sign_up_local(&state.pool, &new_user, &state.accounts.role_rule).await {
        Ok(user) => user,
        Err(users::SignUpError::SignUpClosed) => {
            return Err(AppError::Invalid(
                "Sign-up with a password is turned off. Ask an administrator for access.".into(),
            ));
        }
        Err(users::SignUpError::EmailTaken) => {
            return Err(AppError::Invalid(
                "An account with this email already exists. Sign in instead.".into(),
            ));
        }
        Err(users::SignUpError::Database(err)) => return Err(err.into()),
    };
    tracing::info!(user.id = %user.id, "local account created");
    start_session(&state, user.id).await?;
    Ok("/".to_owned())
}

/// Signs in with email and password. Returns where to go next.
#[server(endpoint = "auth/sign-in")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn sign_in(email: String, password: String) -> Result<String, AppError> {
    use studio_core::accounts::sign_in::{self, SignInError};

    let state = expect_context::<crate::ssr::AppState>();
    let ip = super::ssr::client_ip();
    let limits = state.accounts.rate_limits;
    match sign_in::with_password(&state.pool, &email, &password, ip.as_deref(), limits).await {
        Ok(user) => {
            tracing::info!(user.id = %user.id, "signed in with a password");
            start_session(&state, user.id).await?;
            Ok("/".to_owned())
        }
        Err(SignInError::InvalidCredentials) => Err(AppError::Invalid(
            "The email or password is not right.".into(),
        )),
        Err(SignInError::RateLimited) => Err(AppError::Invalid(
            "Too many attempts. Wait 15 minutes and try again.".into(),
        )),
        Err(SignInError::Disabled) => Err(AppError::Invalid(
            "This account is disabled. Ask an administrator for help.".into(),
        )),
        Err(SignInError::Database(err)) => Err(err.into()),
        Err(SignInError::Internal(err)) => Err(err.into()),
    }
}

/// Ends this browser's session. Returns where to go next: the provider's sign-out page when
/// the session came from a provider that has one (which comes back to `/sign-in`).
#[server(endpoint = "auth/sign-out")]
pub async fn sign_out() -> Result<String, AppError> {
    let state = expect_context::<crate::ssr::AppState>();
    let mut next = "/sign-in".to_owned();
    if let Some(session) = super::ssr::authenticated() {
        studio_core::accounts::sessions::revoke(&state.pool, &session.token).await?;
        tracing::info!(user.id = %session.user.user_id, "signed out");
        if let Some(provider) = &session.user.provider
            && let Some(url) = state.oidc.logout_url(provider, "/sign-in").await
        {
            next = url.to_string();
        }
    }
    set_session_cookie(&state, None);
    Ok(next)
}

#[cfg(feature = "ssr")]
async fn start_session(state: &crate::ssr::AppState, user_id: uuid::Uuid) -> Result<(), AppError> {
    let ip = super::ssr::client_ip();
    let agent = super::ssr::user_agent();
    let origin = studio_core::accounts::sessions::Origin {
        ip: ip.as_deref(),
        user_agent: agent.as_deref(),
        provider: None,
    };
    let session = studio_core::accounts::sessions::create(
        &state.pool,
        user_id,
        origin,
        state.accounts.sessions,
    )
    .await?;
    set_session_cookie(state, Some(&session.token));
    Ok(())
}

#[cfg(feature = "ssr")]
fn set_session_cookie(state: &crate::ssr::AppState, token: Option<&str>) {
    let lifetime = state.accounts.sessions.absolute.as_secs();
    let value = super::ssr::session_cookie(
        token,
        state.accounts.secure_cookies,
        i64::try_from(lifetime).unwrap_or(i64::MAX),
    );
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(http::header::SET_COOKIE, value);
    }
}
