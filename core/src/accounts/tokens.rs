//! Single-use account links: verify an address, reset a password, accept an invitation, set
//! up the first administrator. The link carries a random token; the database keeps only its
//! SHA-256, so a leaked table opens nothing. A token is used at most once and expires.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// Verification and password-reset links live a day.
pub const LINK_TTL: Duration = Duration::from_secs(24 * 3600);
/// Invitations a week: the invited person may be away.
pub const INVITATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    Invitation,
    Setup,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::Invitation => "invitation",
            Self::Setup => "setup",
        }
    }

    /// The page the link opens.
    pub fn path(self) -> &'static str {
        match self {
            Self::VerifyEmail => "/verify-email",
            Self::ResetPassword => "/reset-password",
            Self::Invitation => "/invitation",
            Self::Setup => "/setup",
        }
    }
}

/// A link about to be issued.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub purpose: Purpose,
    pub user_id: Option<Uuid>,
    pub email: Option<&'a str>,
    pub role_ids: &'a [Uuid],
    pub created_by: Option<Uuid>,
    pub ttl: Duration,
}

/// A live token, found by its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub email: Option<String>,
    pub role_ids: Vec<Uuid>,
    pub created_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Stores a new token and returns its secret (for the link, never stored).
pub async fn issue(executor: impl PgExecutor<'_>, new: &NewToken<'_>) -> sqlx::Result<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    sqlx::query!(
        r#"
        insert into account_tokens (token_hash, purpose, user_id, email, role_ids, created_by, expires_at)
        values ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
        "#,
        hash(&secret),
        new.purpose.as_str(),
        new.user_id,
        new.email,
        new.role_ids,
        new.created_by,
        new.ttl.as_secs_f64(),
    )
    .execute(executor)
    .await?;
    Ok(secret)
}

/// The live token behind `secret` for `purpose`, without using it (to show a page).
pub async fn peek(
    executor: impl PgExecutor<'_>,
    purpose: Purpose,
    secret: &str,
) -> sqlx::Result<Option<Token>> {
    // Our secrets are 43 characters; anything else cannot match and skips the query.
    if secret.len() != 43 {
        return Ok(None);
    }
    sqlx::query_as!(
        Token,
        r#"
        select id, user_id, email, role_ids, created_by, expires_at
        from account_tokens
        where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
        "#,
        hash(secret),
        purpose.as_str(),
    )
    .fetch_optional(executor)
    .await
}

/// Uses the live token behind `secret`: marks it used and returns it, or `None` when there is
/// no such live token. Call inside the transaction that does what the link allows, so a
/// failure leaves the link usable and two clicks cannot both succeed.
pub async fn consume(
    conn: &mut PgConnection,
    purpose: Purpose,
    secret: &str,
) -> sqlx::Result<Option<Token>> {
    if secret.len() != 43 {
        return Ok(None);
    }
    sqlx::query_as!(
        Token,
        r#"
        update account_tokens
        set used_at = now()
        where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
        returning id, user_id, email, role_ids, created_by, expires_at
        "#,
        hash(secret),
        purpose.as_str(),
    )
    .fetch_optional(conn)
    .await
}

/// Retires every unused token of `purpose` for `user_id` (a newer link replaces them; a
/// password reset ends all reset links).
pub async fn retire(
    executor: impl PgExecutor<'_>,
    user_id: Uuid,
    purpose: Purpose,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        r#"
        update account_tokens
        set used_at = now()
        where user_id = $1 and purpose = $2 and used_at is null
        "#,
        user_id,
        purpose.as_str(),
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}

/// The link for a token: `public_url` + the purpose's page + `?token=`.
pub fn link(public_url: &url::Url, purpose: Purpose, secret: &str) -> String {
    let mut url = public_url
        .join(purpose.path())
        .unwrap_or_else(|_| public_url.clone());
    url.query_pairs_mut().clear().append_pair("token", secret);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_built_on_the_public_address() {
        let base = url::Url::parse("https://studio.school.org/").unwrap();
        assert_eq!(
            link(&base, Purpose::VerifyEmail, "abc"),
            "https://studio.school.org/verify-email?token=abc"
        );
        let sub = url::Url::parse("https://school.org/studio/").unwrap();
        assert_eq!(
            link(&sub, Purpose::Setup, "x-y_z"),
            "https://school.org/setup?token=x-y_z"
        );
    }
}
