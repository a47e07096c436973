//! Local sign-up: accounts that wait for their address to be verified before they hold any
//! role, and the notice to an address's owner when someone tries it again.

use sqlx::{PgExecutor, PgPool};

use super::{
    AccountsConfig, Verification,
    users::{NewAccount, User, create_account},
};
use crate::mail::{outbox, templates};

/// A local account to create. The password is already checked and hashed.
#[derive(Debug, Clone)]
pub struct NewLocalUser {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
}

/// Why a sign-up was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error("sign-up with a password is turned off here")]
    SignUpClosed,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a sign-up did. The person signing up is told the same either way, so the form does
/// not reveal which addresses have accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUpOutcome {
    /// A new account, unverified and without a role, waiting for its link or an
    /// administrator.
    Created(User),
    /// The address has an account already; its owner was told someone tried.
    AlreadyRegistered,
}

/// Whether local sign-up is open (the `accounts.local_sign_up` setting).
pub async fn is_local_sign_up_open(executor: impl PgExecutor<'_>) -> sqlx::Result<bool> {
    let value = sqlx::query_scalar!(
        r#"
        select value
        from settings
        where key = 'accounts.local_sign_up'
        "#
    )
    .fetch_optional(executor)
    .await?;
    Ok(value.is_none_or(|value| value != serde_json::Value::Bool(false)))
}

/// How often the owner of an address is told that someone tried to sign up with it.
const ATTEMPT_NOTICE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Creates a local account that holds no role until its address is verified: by the link
/// mailed now, or, without mail, by an administrator. An address that has an account gets a
/// notice instead (at most one an hour), and nothing changes.
pub async fn sign_up_local(
    pool: &PgPool,
    config: &AccountsConfig,
    user: &NewLocalUser,
) -> Result<SignUpOutcome, SignUpError> {
    let mut tx = pool.begin().await?;
    if !is_local_sign_up_open(&mut *tx).await? {
        return Err(SignUpError::SignUpClosed);
    }
    let account = NewAccount {
        email: &user.email,
        display_name: &user.display_name,
        password_hash: Some(&user.password_hash),
        verified: false,
        provider: None,
    };
    let outcome = match create_account(&mut tx, &account, &config.role_rule).await? {
        Some(created) => {
            if config.verification() == Verification::EmailLink {
                super::verification::send_link(&mut tx, config, &created).await?;
            }
            SignUpOutcome::Created(created)
        }
        None => {
            if !outbox::sent_recently(
                &mut *tx,
                &user.email,
                "sign_up_attempt",
                ATTEMPT_NOTICE_EVERY,
            )
            .await?
            {
                let sign_in = config.page_url("/sign-in");
                outbox::queue(&mut tx, &templates::sign_up_attempt(&user.email, &sign_in)).await?;
            }
            SignUpOutcome::AlreadyRegistered
        }
    };
    tx.commit().await?;
    Ok(outcome)
}
