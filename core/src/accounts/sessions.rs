//! Server-side sessions. The browser holds a random token in an HttpOnly cookie; the database
//! holds only its SHA-256, so a leaked table cannot be replayed. A session ends at the first
//! of: idle timeout, absolute lifetime, sign-out (revocation), or its user being disabled.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Ends after this long without a request.
    pub idle: Duration,
    /// Ends this long after sign-in, however active.
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(24 * 3600),
            absolute: Duration::from_secs(24 * 3600),
        }
    }
}

/// Requests closer together than this do not move `last_seen_at` (saves a write per request).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A session just created: the cookie value to send, once.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub token: String,
}

/// Who a valid session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    /// The provider id this session signed in through; `None` for a password.
    pub provider: Option<String>,
    /// Whether the account's address is verified (until it is, the account holds no role).
    pub is_verified: bool,
}

fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Where a session starts from: the client, and the provider if not a password.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub provider: Option<&'a str>,
}

/// Starts a session for `user_id` and returns its token; the user's last sign-in is now.
pub async fn create(
    executor: impl PgExecutor<'_>,
    user_id: Uuid,
    origin: Origin<'_>,
    policy: SessionPolicy,
) -> sqlx::Result<NewSession> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let user_agent = origin
        .user_agent
        .map(|ua| ua.chars().take(300).collect::<String>());
    let id = sqlx::query_scalar!(
        r#"
        with signed_in as (update users set last_sign_in_at = now() where id = $1)
        insert into sessions (
            user_id, token_hash, idle_expires_at, absolute_expires_at, ip, user_agent, provider
        )
        values (
            $1, $2,
            now() + make_interval(secs => $3),
            now() + make_interval(secs => $4),
            $5, $6, $7
        )
        returning id
        "#,
        user_id,
        hash_token(&token),
        policy.idle.min(policy.absolute).as_secs_f64(),
        policy.absolute.as_secs_f64(),
        origin.ip,
        user_agent,
        origin.provider,
    )
    .fetch_one(executor)
    .await?;
    Ok(NewSession { id, token })
}

/// The user behind `token` if its session is live and the user enabled; renews the idle
/// timeout (never past the absolute lifetime).
pub async fn authenticate(
    pool: &PgPool,
    token: &str,
    policy: SessionPolicy,
) -> sqlx::Result<Option<SessionUser>> {
    // Tokens we issue are 43 characters; anything else cannot match and skips the query.
    if token.len() != 43 {
        return Ok(None);
    }
    let found = sqlx::query_as!(
        SessionUser,
        r#"
        select s.id as session_id, u.id as user_id, u.email, u.display_name, s.provider,
            u.is_email_verified as is_verified
        from sessions as s
        join users as u on u.id = s.user_id
        where s.token_hash = $1
          and s.revoked_at is null
          and s.idle_expires_at > now()
          and s.absolute_expires_at > now()
          and not u.is_disabled
        "#,
        hash_token(token),
    )
    .fetch_optional(pool)
    .await?;
    if let Some(session) = &found {
        sqlx::query!(
            r#"
            update sessions
            set last_seen_at = now(),
                idle_expires_at = least(now() + make_interval(secs => $2), absolute_expires_at)
            where id = $1
              and last_seen_at < now() - make_interval(secs => $3)
            "#,
            session.session_id,
            policy.idle.as_secs_f64(),
            TOUCH_EVERY.as_secs_f64(),
        )
        .execute(pool)
        .await?;
    }
    Ok(found)
}

/// Ends the session behind `token` (sign-out). `false` if there was no live one.
pub async fn revoke(executor: impl PgExecutor<'_>, token: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        r#"
        update sessions
        set revoked_at = now()
        where token_hash = $1 and revoked_at is null
        "#,
        hash_token(token),
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of `user_id` (admin action, password change). Returns how many.
pub async fn revoke_all(executor: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        r#"
        update sessions
        set revoked_at = now()
        where user_id = $1 and revoked_at is null
        "#,
        user_id,
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hashed_to_32_bytes() {
        assert_eq!(hash_token("abc").len(), 32);
        assert_ne!(hash_token("abc"), hash_token("abd"));
    }
}
