//! Server functions behind the links the server sends or prints: verifying an address
//! (and, while unverified, asking for a new link or correcting the address), resetting a
//! password, accepting an invitation, and creating the first administrator.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
mod support {
    use leptos::prelude::*;
    use studio_core::accounts::verification::VerifyError;

    use crate::{error::AppError, ssr::AppState};

    impl From<VerifyError> for AppError {
        fn from(err: VerifyError) -> Self {
            match err {
                VerifyError::Expired => AppError::Invalid(
                    "This link has expired or was used already. Ask for a new one.".into(),
                ),
                VerifyError::WrongPassword => AppError::Invalid(
                    "That is not the password of this account. Enter the password you chose when you signed up.".into(),
                ),
                VerifyError::DomainNotAllowed(domain) => AppError::Invalid(format!(
                    "Addresses at {domain} may not use this site."
                )),
                VerifyError::AlreadyVerified => {
                    AppError::Invalid("Your address is verified already.".into())
                }
                VerifyError::TooSoon => AppError::Invalid(
                    "We sent a link less than a minute ago. Check your inbox (and spam folder) first."
                        .into(),
                ),
                VerifyError::NoMail => AppError::Invalid(
                    "This server sends no mail: an administrator approves new accounts.".into(),
                ),
                VerifyError::Busy(busy) => AppError::too_many(
                    "The server is busy checking passwords",
                    busy.retry_after,
                ),
                VerifyError::Database(err) => err.into(),
                VerifyError::Internal(err) => err.into(),
            }
        }
    }

    /// The signed-in session's account while its address is unverified.
    pub fn unverified_session() -> Result<uuid::Uuid, AppError> {
        let session = crate::auth::ssr::authenticated().ok_or(AppError::Unauthenticated)?;
        if session.user.is_verified {
            return Err(AppError::Invalid(
                "Your address is verified already.".into(),
            ));
        }
        Ok(session.user.user_id)
    }

    /// Signs this browser in as `user_id` (replacing any session it had).
    pub async fn sign_in_as(state: &AppState, user_id: uuid::Uuid) -> Result<(), AppError> {
        let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
        let session = crate::auth::ssr::begin_session(state, &parts, user_id, None).await?;
        super::super::api::set_session_cookie(state, Some(&session.token));
        Ok(())
    }

    /// One more account request from this client (resends, resets).
    pub fn count_request(state: &AppState, what: &str) -> Result<(), AppError> {
        state
            .guards
            .account_requests
            .check(crate::auth::ssr::client_ip_addr())
            .map_err(|busy| AppError::too_many(what, busy.retry_after))
    }
}

/// Verifies an address with the link's token. A browser not signed in to that account gives
/// its password. Signs the browser in and returns where to go next.
#[server(endpoint = "auth/verify-email")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn verify_email(token: String, password: Option<String>) -> Result<String, AppError> {
    use studio_core::accounts::verification;

    let state = expect_context::<crate::ssr::AppState>();
    let signed_in_as = super::ssr::authenticated().map(|s| s.user.user_id);
    let password = password.filter(|p| !p.is_empty());
    let user = verification::verify_with_link(
        &state.pool,
        &state.guards.hashing,
        &state.accounts,
        token.trim(),
        signed_in_as,
        password,
    )
    .await?;
    tracing::info!(user.id = %user.id, "address verified");
    if signed_in_as != Some(user.id) {
        support::sign_in_as(&state, user.id).await?;
    }
    Ok("/".to_owned())
}

/// Sends the signed-in, unverified account a new verification link.
#[server(endpoint = "auth/resend-verification")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn resend_verification() -> Result<String, AppError> {
    use studio_core::accounts::verification;

    let state = expect_context::<crate::ssr::AppState>();
    let user_id = support::unverified_session()?;
    support::count_request(&state, "Too many links asked for from your network")?;
    verification::resend(&state.pool, &state.accounts, user_id).await?;
    Ok("We sent a new link. It works once, for 24 hours.".to_owned())
}

/// Moves the signed-in, unverified account to another address and sends the link there.
#[server(endpoint = "auth/change-email")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn change_email(email: String) -> Result<String, AppError> {
    use studio_core::accounts::{users, verification};

    let state = expect_context::<crate::ssr::AppState>();
    let user_id = support::unverified_session()?;
    let email = users::normalize_email(&email).map_err(AppError::Invalid)?;
    support::count_request(&state, "Too many changes from your network")?;
    verification::change_address(&state.pool, &state.accounts, user_id, &email).await?;
    Ok(if state.accounts.mail_enabled {
        format!("We sent a link to {email}. Open it to confirm that address.")
    } else {
        format!("Saved. An administrator will approve the account for {email}.")
    })
}

/// Mails a password-reset link to the address if it has an account. Answers the same either
/// way.
#[server(endpoint = "auth/forgot-password")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn request_password_reset(email: String) -> Result<String, AppError> {
    use studio_core::accounts::{recovery, users};

    let state = expect_context::<crate::ssr::AppState>();
    let email = users::normalize_email(&email).map_err(AppError::Invalid)?;
    support::count_request(&state, "Too many reset requests from your network")?;
    recovery::request_reset(&state.pool, &state.accounts, &email).await?;
    Ok(if state.accounts.mail_enabled {
        format!(
            "If an account uses {email}, we sent it a link to choose a new password. It works once, for 24 hours."
        )
    } else {
        "This server sends no mail: ask an administrator, who can read the reset link in the outbox.".to_owned()
    })
}

/// Sets a new password with a reset link's token, ends every session of the account, signs
/// this browser in and returns where to go next.
#[server(endpoint = "auth/reset-password")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn reset_password(token: String, password: String) -> Result<String, AppError> {
    use studio_core::accounts::{password as passwords, recovery};

    let state = expect_context::<crate::ssr::AppState>();
    passwords::check_new(&password).map_err(AppError::Invalid)?;
    let user = recovery::reset_password(
        &state.pool,
        &state.guards.hashing,
        &state.accounts,
        token.trim(),
        password,
    )
    .await?;
    tracing::info!(user.id = %user.id, "password reset; every session ended");
    support::sign_in_as(&state, user.id).await?;
    Ok("/".to_owned())
}

/// The address a live invitation is for, or `None` when the link is dead.
#[server(endpoint = "auth/invitation")]
pub async fn get_invitation(token: String) -> Result<Option<String>, AppError> {
    let state = expect_context::<crate::ssr::AppState>();
    Ok(studio_core::accounts::invitations::invited_address(&state.pool, token.trim()).await?)
}

/// Accepts an invitation: name and password chosen, address verified, the invitation's
/// roles granted. Signs the browser in and returns where to go next.
#[server(endpoint = "auth/accept-invitation")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn accept_invitation(
    token: String,
    display_name: String,
    password: String,
) -> Result<String, AppError> {
    use studio_core::accounts::{invitations, password as passwords};

    let state = expect_context::<crate::ssr::AppState>();
    let display_name = super::api::display_name_checked(&display_name)?;
    passwords::check_new(&password).map_err(AppError::Invalid)?;
    let user = invitations::accept(
        &state.pool,
        &state.guards.hashing,
        &state.accounts,
        token.trim(),
        &display_name,
        password,
    )
    .await?;
    tracing::info!(user.id = %user.id, "invitation accepted");
    support::sign_in_as(&state, user.id).await?;
    Ok("/".to_owned())
}

/// Creates the first administrator with the setup link's token. Signs the browser in and
/// returns where to go next.
#[server(endpoint = "auth/setup")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn create_first_admin(
    token: String,
    email: String,
    display_name: String,
    password: String,
) -> Result<String, AppError> {
    use studio_core::accounts::{password as passwords, setup, users};

    let state = expect_context::<crate::ssr::AppState>();
    let email = users::normalize_email(&email).map_err(AppError::Invalid)?;
    let display_name = super::api::display_name_checked(&display_name)?;
    passwords::check_new(&password).map_err(AppError::Invalid)?;
    let user = setup::create_first_admin(
        &state.pool,
        &state.guards.hashing,
        token.trim(),
        &email,
        &display_name,
        password,
    )
    .await
    .map_err(|err| match err {
        studio_core::accounts::verification::VerifyError::Expired => AppError::Invalid(
            "This setup link has expired, was used, or an administrator exists already. Restart the server for a new link if none exists.".into(),
        ),
        other => other.into(),
    })?;
    tracing::info!(user.id = %user.id, "first administrator created");
    support::sign_in_as(&state, user.id).await?;
    Ok("/admin/users".to_owned())
}
