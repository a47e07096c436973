//! Sign-in with email and password, rate-limited per account and per address.
//!
//! Every failure looks the same from outside ([`SignInError::InvalidCredentials`]): a wrong
//! password, an unknown email and an account without a password are indistinguishable, in
//! the message and (by verifying against a decoy hash) in timing.

use std::time::Duration;

use sqlx::{PgExecutor, PgPool};

use super::{
    password,
    users::{self, User},
};
use crate::audit;

/// How many failed attempts are allowed in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub window: Duration,
    /// Failures per email address within the window.
    pub per_account: i64,
    /// Failures per client IP within the window.
    pub per_ip: i64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            per_account: 5,
            per_ip: 30,
        }
    }
}

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the email or password is not right")]
    InvalidCredentials,
    #[error("too many attempts; try again later")]
    RateLimited,
    #[error("this account is disabled")]
    Disabled,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Whether the email or the IP has used up its failures for the window.
pub async fn is_rate_limited(
    executor: impl PgExecutor<'_>,
    email: &str,
    ip: Option<&str>,
    limits: RateLimits,
) -> sqlx::Result<bool> {
    let counts = sqlx::query!(
        r#"
        select
            count(*) filter (where email = $1) as "by_account!",
            count(*) filter (where $2::text is not null and ip = $2) as "by_ip!"
        from sign_in_attempts
        where not is_success
          and created_at > now() - make_interval(secs => $3)
          and (email = $1 or ip = $2)
        "#,
        email,
        ip,
        limits.window.as_secs_f64(),
    )
    .fetch_one(executor)
    .await?;
    Ok(counts.by_account >= limits.per_account || counts.by_ip >= limits.per_ip)
}

/// Records an attempt (never the password).
pub async fn record_attempt(
    executor: impl PgExecutor<'_>,
    email: &str,
    ip: Option<&str>,
    is_success: bool,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into sign_in_attempts (email, ip, is_success)
        values ($1, $2, $3)
        "#,
        email,
        ip,
        is_success,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Checks the credentials and returns the user. Records the attempt either way.
pub async fn with_password(
    pool: &PgPool,
    raw_email: &str,
    password_attempt: &str,
    ip: Option<&str>,
    limits: RateLimits,
) -> Result<User, SignInError> {
    // A malformed email cannot belong to anyone: same answer as a wrong password.
    let Ok(email) = users::normalize_email(raw_email) else {
        return Err(SignInError::InvalidCredentials);
    };
    if password_attempt.chars().count() > password::MAX_LEN {
        return Err(SignInError::InvalidCredentials);
    }
    if is_rate_limited(pool, &email, ip, limits).await? {
        record_outcome(
            pool,
            None,
            &email,
            ip,
            "auth.sign_in_failed",
            "rate limited",
        )
        .await?;
        return Err(SignInError::RateLimited);
    }
    let found = users::find_with_password(pool, &email).await?;
    let (user, stored) = match found {
        Some((user, Some(hash))) => (Some(user), hash),
        _ => (None, password::decoy_hash().to_owned()),
    };
    let attempt = password_attempt.to_owned();
    let matches = tokio::task::spawn_blocking(move || password::verify(&attempt, &stored))
        .await
        .map_err(|err| anyhow::anyhow!("password check did not finish: {err}"))?;
    let user = match user {
        Some(user) if matches => user,
        other => {
            record_attempt(pool, &email, ip, false).await?;
            record_outcome(
                pool,
                other.as_ref(),
                &email,
                ip,
                "auth.sign_in_failed",
                "wrong password or unknown email",
            )
            .await?;
            return Err(SignInError::InvalidCredentials);
        }
    };
    if user.is_disabled {
        record_attempt(pool, &email, ip, false).await?;
        record_outcome(
            pool,
            Some(&user),
            &email,
            ip,
            "auth.sign_in_failed",
            "account disabled",
        )
        .await?;
        return Err(SignInError::Disabled);
    }
    record_attempt(pool, &email, ip, true).await?;
    record_outcome(pool, Some(&user), &email, ip, "auth.sign_in", "password").await?;
    sqlx::query!(
        "update users set last_sign_in_at = now() where id = $1",
        user.id
    )
    .execute(pool)
    .await?;
    Ok(user)
}

/// Writes a sign-in outcome to the audit log: the email tried (never the password) and why.
async fn record_outcome(
    pool: &PgPool,
    user: Option<&User>,
    email: &str,
    ip: Option<&str>,
    action: &str,
    detail: &str,
) -> sqlx::Result<()> {
    audit::record(
        pool,
        audit::Event {
            actor_user_id: user.map(|u| u.id),
            action,
            target_type: Some("user"),
            target_id: user.map(|u| u.id.to_string()),
            after: Some(serde_json::json!({ "email": email, "detail": detail })),
            ip,
            ..audit::Event::default()
        },
    )
    .await
}
