//! Verified addresses. A local account holds no role until its address is verified: by the
//! link mailed at sign-up (sent again on request, or to a corrected address), by an
//! administrator's approval when no mail is configured, by a password reset or an accepted
//! invitation (both mailed links). Verification is where `ALLOWED_EMAIL_DOMAINS` and the
//! default-role rule apply, never before.
//!
//! Opening the link is not enough on its own: the browser must be signed in to that account,
//! or give its password. Whoever reads the mailbox and whoever chose the password must be the
//! same person, or a stranger could sign up with someone's address and have them verify it.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    AccountsConfig, password,
    tokens::{self, NewToken, Purpose},
    users::{self, User},
};
use crate::{
    audit,
    limits::{BlockingPool, PoolError, TooMany},
    mail::{outbox, templates},
};

/// Why a verification did not happen.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("this link has expired or was used already")]
    Expired,
    #[error("that is not the account's password")]
    WrongPassword,
    #[error("addresses at {0} may not use this site")]
    DomainNotAllowed(String),
    #[error("the account is verified already")]
    AlreadyVerified,
    #[error("a link was sent less than a minute ago")]
    TooSoon,
    #[error("no mail can be sent from this server; an administrator approves new accounts")]
    NoMail,
    #[error(transparent)]
    Busy(#[from] TooMany),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<PoolError> for VerifyError {
    fn from(err: PoolError) -> Self {
        match err {
            PoolError::Busy(busy) => Self::Busy(busy),
            PoolError::Failed(err) => Self::Internal(anyhow::anyhow!("password hashing: {err}")),
        }
    }
}

/// The shortest time between two verification mails to one account.
const RESEND_EVERY: Duration = Duration::from_secs(60);

/// Mails `user` a new verification link (older ones stop working). Inside the caller's
/// transaction.
pub async fn send_link(
    conn: &mut PgConnection,
    config: &AccountsConfig,
    user: &User,
) -> sqlx::Result<()> {
    tokens::retire(&mut *conn, user.id, Purpose::VerifyEmail).await?;
    let secret = tokens::issue(
        &mut *conn,
        &NewToken {
            purpose: Purpose::VerifyEmail,
            user_id: Some(user.id),
            email: Some(&user.email),
            role_ids: &[],
            created_by: None,
            ttl: tokens::LINK_TTL,
        },
    )
    .await?;
    let link = tokens::link(&config.public_url, Purpose::VerifyEmail, &secret);
    outbox::queue(
        conn,
        &templates::verify_email(&user.email, &user.display_name, &link),
    )
    .await?;
    Ok(())
}

/// Marks `user_id`'s address verified inside `conn` and gives the account its roles:
/// `roles` when an invitation chose them, else (when it holds none) the default-role rule's.
/// Refused when the address's domain is not allowed. `how` goes to the audit log.
pub(super) async fn mark_verified(
    conn: &mut PgConnection,
    config: &AccountsConfig,
    user_id: Uuid,
    roles: Option<&[Uuid]>,
    how: &str,
    actor: Option<Uuid>,
) -> Result<User, VerifyError> {
    let user = sqlx::query_as!(
        User,
        r#"
        update users
        set is_email_verified = true, email_verified_at = coalesce(email_verified_at, now())
        where id = $1
        returning id, email, display_name, is_disabled, created_at
        "#,
        user_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(VerifyError::Expired)?;
    if !config.allowed_domains.allows(&user.email) {
        let domain = user.email.rsplit_once('@').map_or("", |(_, d)| d);
        return Err(VerifyError::DomainNotAllowed(domain.to_owned()));
    }
    match roles {
        Some(roles) => {
            sqlx::query!(
                r#"
                insert into user_roles (user_id, role_id)
                select $1, r.id from roles as r where r.id = any($2)
                on conflict do nothing
                "#,
                user_id,
                roles,
            )
            .execute(&mut *conn)
            .await?;
        }
        None => {
            let holds_any = sqlx::query_scalar!(
                r#"select exists (select 1 from user_roles where user_id = $1) as "any!""#,
                user_id,
            )
            .fetch_one(&mut *conn)
            .await?;
            if !holds_any {
                users::grant_role_by_name(
                    &mut *conn,
                    user_id,
                    config.role_rule.role_for(&user.email),
                )
                .await?;
            }
        }
    }
    let granted: Vec<String> = sqlx::query_scalar!(
        r#"
        select r.name
        from user_roles as ur join roles as r on r.id = ur.role_id
        where ur.user_id = $1
        order by r.name
        "#,
        user_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    audit::record(
        &mut *conn,
        audit::Event {
            actor_user_id: actor.or(Some(user_id)),
            action: "auth.email_verified",
            target_type: Some("user"),
            target_id: Some(user_id.to_string()),
            after: Some(serde_json::json!({ "how": how, "roles": granted })),
            ..audit::Event::default()
        },
    )
    .await?;
    Ok(user)
}

/// Makes the mailbox's owner the only way into `user_id`: every session ends and the provider
/// identities linked while its address was unverified are dropped. For verifications that
/// prove the mailbox but not who signed in before (a password reset, an invitation, the setup
/// link): whoever created the account with that address may still hold a session or an
/// identity on it.
pub(super) async fn hand_to_mailbox_owner(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query!("delete from user_identities where user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    super::sessions::revoke_all(&mut *conn, user_id).await?;
    Ok(())
}

/// Verifies the account a mailed link names. The browser must be signed in to that account
/// (`signed_in_as`) or give its `password`, checked in the bounded `hashing` pool.
pub async fn verify_with_link(
    pool: &PgPool,
    hashing: &BlockingPool,
    config: &AccountsConfig,
    secret: &str,
    signed_in_as: Option<Uuid>,
    password_attempt: Option<String>,
) -> Result<User, VerifyError> {
    let token = tokens::peek(pool, Purpose::VerifyEmail, secret)
        .await?
        .ok_or(VerifyError::Expired)?;
    let user_id = token.user_id.ok_or(VerifyError::Expired)?;
    if signed_in_as != Some(user_id) {
        let stored = sqlx::query_scalar!("select password_hash from users where id = $1", user_id)
            .fetch_optional(pool)
            .await?
            .flatten()
            .unwrap_or_else(|| password::decoy_hash().to_owned());
        let attempt = password_attempt.unwrap_or_default();
        if !password::verify_in(hashing, attempt, stored).await? {
            return Err(VerifyError::WrongPassword);
        }
    }
    let mut tx = pool.begin().await?;
    let token = tokens::consume(&mut tx, Purpose::VerifyEmail, secret)
        .await?
        .ok_or(VerifyError::Expired)?;
    // The link vouches for the address it was sent to, not one the account moved to since.
    let current = sqlx::query_scalar!("select email from users where id = $1", user_id)
        .fetch_optional(&mut *tx)
        .await?;
    if current.is_none() || current != token.email {
        return Err(VerifyError::Expired);
    }
    let user = mark_verified(&mut tx, config, user_id, None, "link", None).await?;
    tx.commit().await?;
    Ok(user)
}

/// Whether `user_id`'s address is verified.
pub async fn is_verified(pool: &PgPool, user_id: Uuid) -> sqlx::Result<bool> {
    Ok(
        sqlx::query_scalar!("select is_email_verified from users where id = $1", user_id)
            .fetch_optional(pool)
            .await?
            .unwrap_or(false),
    )
}

async fn unverified_user(conn: &mut PgConnection, user_id: Uuid) -> Result<User, VerifyError> {
    let row = sqlx::query!(
        r#"
        select id, email, display_name, is_disabled, created_at, is_email_verified
        from users
        where id = $1
        for update
        "#,
        user_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(VerifyError::Expired)?;
    if row.is_email_verified {
        return Err(VerifyError::AlreadyVerified);
    }
    Ok(User {
        id: row.id,
        email: row.email,
        display_name: row.display_name,
        is_disabled: row.is_disabled,
        created_at: row.created_at,
    })
}

/// Sends `user_id` a fresh verification link, at most one a minute.
pub async fn resend(
    pool: &PgPool,
    config: &AccountsConfig,
    user_id: Uuid,
) -> Result<(), VerifyError> {
    if !config.mail_enabled {
        return Err(VerifyError::NoMail);
    }
    let mut tx = pool.begin().await?;
    let user = unverified_user(&mut tx, user_id).await?;
    if outbox::sent_recently(&mut *tx, &user.email, "verify_email", RESEND_EVERY).await? {
        return Err(VerifyError::TooSoon);
    }
    send_link(&mut tx, config, &user).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves an unverified account to `new_email` (normalized already) and sends the link there.
/// When that address has an account, nothing moves and its owner is told someone tried, as
/// at sign-up; the caller answers the same either way.
pub async fn change_address(
    pool: &PgPool,
    config: &AccountsConfig,
    user_id: Uuid,
    new_email: &str,
) -> Result<(), VerifyError> {
    if !config.allowed_domains.allows(new_email) {
        let domain = new_email.rsplit_once('@').map_or("", |(_, d)| d);
        return Err(VerifyError::DomainNotAllowed(domain.to_owned()));
    }
    let mut tx = pool.begin().await?;
    let user = unverified_user(&mut tx, user_id).await?;
    // In a savepoint: a sign-up racing this one for the address aborts only the move.
    let mut attempt = sqlx::Acquire::begin(&mut *tx).await?;
    let moved = sqlx::query_as!(
        User,
        r#"
        update users
        set email = $2
        where id = $1 and not exists (select 1 from users where email = $2)
        returning id, email, display_name, is_disabled, created_at
        "#,
        user.id,
        new_email,
    )
    .fetch_optional(&mut *attempt)
    .await;
    let moved = match moved {
        Ok(moved) => {
            attempt.commit().await?;
            moved
        }
        // Taken meanwhile: treated like an address with an account.
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
            attempt.rollback().await?;
            None
        }
        Err(err) => return Err(err.into()),
    };
    match moved {
        Some(moved) => {
            tokens::retire(&mut *tx, user.id, Purpose::VerifyEmail).await?;
            audit::record(
                &mut *tx,
                audit::Event {
                    actor_user_id: Some(user.id),
                    action: "auth.email_changed",
                    target_type: Some("user"),
                    target_id: Some(user.id.to_string()),
                    before: Some(serde_json::json!({ "email": user.email })),
                    after: Some(serde_json::json!({ "email": moved.email })),
                    ..audit::Event::default()
                },
            )
            .await?;
            if config.mail_enabled {
                send_link(&mut tx, config, &moved).await?;
            }
        }
        None => {
            if !outbox::sent_recently(&mut *tx, new_email, "sign_up_attempt", RESEND_EVERY * 60)
                .await?
            {
                let sign_in = config.page_url("/sign-in");
                outbox::queue(&mut tx, &templates::sign_up_attempt(new_email, &sign_in)).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}
