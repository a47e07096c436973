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
        local_sign_up_open: studio_core::accounts::sign_up::is_local_sign_up_open(&state.pool)
            .await?,
        verification_by_email: state.accounts.mail_enabled,
        allowed_domains: state.accounts.allowed_domains.domains().to_vec(),
    })
}

/// Creates a local account that waits for its address to be verified. Answers with what to
/// do next, the same whether or not the address already had an account (its owner is told by
/// mail instead). Cheap checks come first; the password is hashed last, in the bounded pool.
#[server(endpoint = "auth/sign-up")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn sign_up(
    email: String,
    display_name: String,
    password: String,
) -> Result<String, AppError> {
    use studio_core::accounts::{Verification, password as passwords, sign_up, users};

    let state = expect_context::<crate::ssr::AppState>();
    let email = users::normalize_email(&email).map_err(AppError::Invalid)?;
    let allowed = &state.accounts.allowed_domains;
    if !allowed.allows(&email) {
        return Err(AppError::Invalid(format!(
            "Only addresses at {} can sign up here.",
            allowed.domains().join(", ")
        )));
    }
    let display_name = display_name_checked(&display_name)?;
    passwords::check_new(&password).map_err(AppError::Invalid)?;
    if !sign_up::is_local_sign_up_open(&state.pool).await? {
        return Err(sign_up_closed());
    }
    state
        .guards
        .account_requests
        .check(super::ssr::client_ip_addr())
        .map_err(|busy| {
            AppError::too_many("Too many sign-ups from your network", busy.retry_after)
        })?;
    let password_hash = hash_password(&state, password).await?;
    let new_user = sign_up::NewLocalUser {
        email: email.clone(),
        display_name,
        password_hash,
    };
    match sign_up::sign_up_local(&state.pool, &state.accounts, &new_user).await {
        Ok(sign_up::SignUpOutcome::Created(user)) => {
            tracing::info!(user.id = %user.id, "local account created, waiting for verification");
        }
        Ok(sign_up::SignUpOutcome::AlreadyRegistered) => {
            tracing::info!("sign-up with an address that has an account; its owner was told");
        }
        Err(sign_up::SignUpError::SignUpClosed) => return Err(sign_up_closed()),
        Err(sign_up::SignUpError::Database(err)) => return Err(err.into()),
    }
    Ok(match state.accounts.verification() {
        Verification::EmailLink => format!(
            "Check your inbox: we sent a link to {email}. Open it to confirm your address; then your account is ready."
        ),
        Verification::AdminApproval => format!(
            "Thanks. An administrator will approve the account for {email}; you can sign in to see whether they have."
        ),
    })
}

#[cfg(feature = "ssr")]
fn sign_up_closed() -> AppError {
    AppError::Invalid(
        "Sign-up with a password is turned off. Ask an administrator for access.".into(),
    )
}

/// A display name as typed, trimmed and checked.
#[cfg(feature = "ssr")]
pub(super) fn display_name_checked(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::Invalid("Enter your name.".into()));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(AppError::Invalid(format!(
            "Use at most {MAX_NAME_LEN} characters for your name."
        )));
    }
    // Line breaks, tabs and the marks that reverse text would garble every list it shows in.
    let unprintable = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if name.chars().any(unprintable) {
        return Err(AppError::Invalid(
            "Use letters, digits, spaces and punctuation in your name: no line breaks, tabs or control characters.".into(),
        ));
    }
    Ok(name.to_owned())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::display_name_checked;

    #[test]
    fn names_are_trimmed_and_control_characters_refused() {
        assert_eq!(
            display_name_checked("  Ada Lovelace ").unwrap(),
            "Ada Lovelace"
        );
        assert_eq!(
            display_name_checked("Zoë O'Brien-Ngata").unwrap(),
            "Zoë O'Brien-Ngata"
        );
        for bad in ["Ada\nAdmin", "Ada\tx", "Ada\u{7}", "Ada\u{202e}nimda", ""] {
            assert!(display_name_checked(bad).is_err(), "{bad:?}");
        }
    }
}

/// Hashes a password in the server's bounded pool.
#[cfg(feature = "ssr")]
async fn hash_password(state: &crate::ssr::AppState, password: String) -> Result<String, AppError> {
    use studio_core::{accounts::password as passwords, limits::PoolError};

    match passwords::hash_in(&state.guards.hashing, password).await {
        Ok(hash) => Ok(hash),
        Err(PoolError::Busy(busy)) => Err(server_busy(busy)),
        Err(PoolError::Failed(err)) => Err(anyhow::anyhow!("password hashing: {err}").into()),
    }
}

#[cfg(feature = "ssr")]
fn server_busy(busy: studio_core::limits::TooMany) -> AppError {
    AppError::too_many("The server is busy checking passwords", busy.retry_after)
}

/// Signs in with email and password. Returns where to go next: `next` (a path on this site)
/// or the home page, or first the address check for an unverified account.
#[server(endpoint = "auth/sign-in")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn sign_in(
    email: String,
    password: String,
    #[server(default)] next: Option<String>,
) -> Result<String, AppError> {
    use studio_core::accounts::{
        oidc::safe_return_to,
        sign_in::{self, SignInError},
        verification,
    };

    let state = expect_context::<crate::ssr::AppState>();
    let ip = super::ssr::client_ip();
    let limits = state.accounts.rate_limits;
    let hashing = &state.guards.hashing;
    match sign_in::with_password(
        &state.pool,
        hashing,
        &email,
        &password,
        ip.as_deref(),
        limits,
    )
    .await
    {
        Ok(user) => {
            tracing::info!(user.id = %user.id, "signed in with a password");
            start_session(&state, user.id).await?;
            let verified = verification::is_verified(&state.pool, user.id).await?;
            Ok(if verified {
                safe_return_to(next.as_deref())
            } else {
                "/verify-email".to_owned()
            })
        }
        Err(SignInError::InvalidCredentials) => Err(AppError::Invalid(
            "The email or password is not right.".into(),
        )),
        Err(SignInError::Throttled(wait)) => Err(AppError::too_many(
            "Too many failed attempts for this account from your network",
            wait,
        )),
        Err(SignInError::Busy(busy)) => Err(server_busy(busy)),
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
    let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
    let session = super::ssr::begin_session(state, &parts, user_id, None).await?;
    set_session_cookie(state, Some(&session.token));
    Ok(())
}

#[cfg(feature = "ssr")]
pub(super) fn set_session_cookie(state: &crate::ssr::AppState, token: Option<&str>) {
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
