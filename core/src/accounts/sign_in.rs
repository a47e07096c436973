//! Sign-in with email and password, throttled per (account, client address) with growing
//! delays and capped per address.
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
use crate::{
    audit,
    limits::{BlockingPool, PoolError},
};

/// How sign-in failures slow down further attempts. Failures for one account from one
/// client address earn that pair growing delays (nobody else is slowed, so a stranger cannot
/// lock the owner out); failures from one address across accounts are capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// How far back failures count.
    pub window: Duration,
    /// Failures for one (account, address) pair before delays start.
    pub free_failures: i64,
    /// The longest delay one pair waits between attempts.
    pub max_delay: Duration,
    /// Failures per client address within the window, whatever the account.
    pub per_ip: i64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            free_failures: 3,
            max_delay: Duration::from_secs(5 * 60),
            per_ip: 30,
        }
    }
}

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the email or password is not right")]
    InvalidCredentials,
    /// Too many failures from here: wait this long.
    #[error("too many attempts; try again in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
    /// Too many password checks at once on the server.
    #[error(transparent)]
    Busy(#[from] crate::limits::TooMany),
    #[error("this account is disabled")]
    Disabled,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// How long this (email, address) must wait before trying again, if at all: a growing delay
/// after `free_failures` failures since the pair's last success, and the address's cap.
pub async fn throttle(
    executor: impl PgExecutor<'_>,
    email: &str,
    ip: Option<&str>,
    limits: RateLimits,
) -> sqlx::Result<Option<Duration>> {
    let row = sqlx::query!(
        r#"
        with recent as (
            select email, ip, is_success, created_at
            from sign_in_attempts
            where created_at > now() - make_interval(secs => $3)
              and (email = $1 or ($2::text is not null and ip = $2))
        ),
        pair as (
            select * from recent
            where email = $1 and ip is not distinct from $2
              and created_at > coalesce(
                  (select max(created_at) from recent
                   where email = $1 and ip is not distinct from $2 and is_success),
                  '-infinity')
        )
        select
            (select count(*) from pair where not is_success) as "pair_failures!",
            (select extract(epoch from now() - max(created_at))::float8 from pair where not is_success) as pair_since_last,
            (select count(*) from recent where $2::text is not null and ip = $2 and not is_success) as "ip_failures!",
            (select extract(epoch from now() - min(created_at))::float8 from recent where $2::text is not null and ip = $2 and not is_success) as ip_since_oldest
        "#,
        email,
        ip,
        limits.window.as_secs_f64(),
    )
    .fetch_one(executor)
    .await?;
    let mut wait = Duration::ZERO;
    if row.pair_failures >= limits.free_failures {
        let doublings = u32::try_from(row.pair_failures - limits.free_failures).unwrap_or(u32::MAX);
        let delay =
            Duration::from_secs(2u64.saturating_pow(doublings.min(20))).min(limits.max_delay);
        let since = Duration::from_secs_f64(row.pair_since_last.unwrap_or(0.0).max(0.0));
        wait = wait.max(delay.saturating_sub(since));
    }
    if row.ip_failures >= limits.per_ip {
        let since = Duration::from_secs_f64(row.ip_since_oldest.unwrap_or(0.0).max(0.0));
        wait = wait.max(limits.window.saturating_sub(since));
    }
    Ok((!wait.is_zero()).then_some(wait))
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

/// Checks the credentials and returns the user. Records the attempt either way. The password
/// check runs in `hashing`, the bounded pool, after the cheap checks.
pub async fn with_password(
    pool: &PgPool,
    hashing: &BlockingPool,
    raw_email: &str,
    password_attempt: &str,
    ip: Option<&str>,
    limits: RateLimits,
) -> Result<User, SignInError> {
    // A malformed email cannot belong to anyone: same answer as a wrong password.
    let Ok(email) = users::normalize_email(raw_email) else {
        return Err(SignInError::InvalidCredentials);
    };
    // Throttled per client, and an IPv6 client per /64 (one machine often has a whole /64 to
    // rotate through); the audit log keeps the address itself.
    let client = ip.map(|ip| {
        ip.parse::<std::net::IpAddr>().map_or_else(
            |_| ip.to_owned(),
            |addr| crate::limits::client_key(Some(addr)).to_string(),
        )
    });
    if password_attempt.chars().count() > password::MAX_LEN {
        return Err(SignInError::InvalidCredentials);
    }
    if let Some(wait) = throttle(pool, &email, client.as_deref(), limits).await? {
        record_outcome(pool, None, &email, ip, "auth.sign_in_failed", "throttled").await?;
        return Err(SignInError::Throttled(wait));
    }
    let found = users::find_with_password(pool, &email).await?;
    let (user, stored) = match found {
        Some((user, Some(hash))) => (Some(user), hash),
        _ => (None, password::decoy_hash().to_owned()),
    };
    let matches = match password::verify_in(hashing, password_attempt.to_owned(), stored).await {
        Ok(matches) => matches,
        Err(PoolError::Busy(busy)) => return Err(SignInError::Busy(busy)),
        Err(PoolError::Failed(err)) => {
            return Err(anyhow::anyhow!("password check did not finish: {err}").into());
        }
    };
    let user = match user {
        Some(user) if matches => user,
        other => {
            record_attempt(pool, &email, client.as_deref(), false).await?;
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
        record_attempt(pool, &email, client.as_deref(), false).await?;
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
    record_attempt(pool, &email, client.as_deref(), true).await?;
    record_outcome(pool, Some(&user), &email, ip, "auth.sign_in", "password").await?;
    // The session started for it records the time (`sessions::create`).
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
