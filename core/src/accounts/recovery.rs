//! Password reset by mail. Asking answers the same whether or not the address has an
//! account; the link works once for a day; using it sets the password, verifies the address
//! (the mailbox's owner chose this password) and signs out every session of the account.

use std::time::Duration;

use sqlx::PgPool;

use super::{
    AccountsConfig, password, sessions,
    tokens::{self, NewToken, Purpose},
    users::{self, User},
    verification::{self, VerifyError},
};
use crate::{
    audit,
    limits::BlockingPool,
    mail::{outbox, templates},
};

/// The shortest time between two reset mails to one address.
const RESET_EVERY: Duration = Duration::from_secs(60);

/// Mails a reset link to `raw_email` if an enabled account has it. Says nothing about
/// whether one does.
pub async fn request_reset(
    pool: &PgPool,
    config: &AccountsConfig,
    raw_email: &str,
) -> sqlx::Result<()> {
    let Ok(email) = users::normalize_email(raw_email) else {
        return Ok(());
    };
    let mut tx = pool.begin().await?;
    let Some((user, _)) = users::find_with_password(&mut *tx, &email).await? else {
        return Ok(());
    };
    if user.is_disabled
        || outbox::sent_recently(&mut *tx, &user.email, "reset_password", RESET_EVERY).await?
    {
        return Ok(());
    }
    let secret = tokens::issue(
        &mut *tx,
        &NewToken {
            purpose: Purpose::ResetPassword,
            user_id: Some(user.id),
            email: Some(&user.email),
            role_ids: &[],
            created_by: None,
            ttl: tokens::LINK_TTL,
        },
    )
    .await?;
    let link = tokens::link(&config.public_url, Purpose::ResetPassword, &secret);
    outbox::queue(
        &mut tx,
        &templates::reset_password(&user.email, &user.display_name, &link),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether `secret` is a live reset link (for the page, before the form is filled in).
pub async fn is_live(pool: &PgPool, secret: &str) -> sqlx::Result<bool> {
    Ok(tokens::peek(pool, Purpose::ResetPassword, secret)
        .await?
        .is_some())
}

/// Sets a new password through a reset link: `new_password` is checked already and hashed
/// here in the bounded pool. Every session of the account ends; the caller starts a new one.
pub async fn reset_password(
    pool: &PgPool,
    hashing: &BlockingPool,
    config: &AccountsConfig,
    secret: &str,
    new_password: String,
) -> Result<User, VerifyError> {
    if tokens::peek(pool, Purpose::ResetPassword, secret)
        .await?
        .is_none()
    {
        return Err(VerifyError::Expired);
    }
    let hash = password::hash_in(hashing, new_password).await?;
    let mut tx = pool.begin().await?;
    let token = tokens::consume(&mut tx, Purpose::ResetPassword, secret)
        .await?
        .ok_or(VerifyError::Expired)?;
    let user_id = token.user_id.ok_or(VerifyError::Expired)?;
    let row = sqlx::query!(
        r#"
        update users
        set password_hash = $2, password_set_at = now()
        where id = $1 and email = $3
        returning is_email_verified
        "#,
        user_id,
        hash,
        token.email,
    )
    .fetch_optional(&mut *tx)
    .await?
    // The account moved to another address since the link was sent.
    .ok_or(VerifyError::Expired)?;
    if !row.is_email_verified {
        verification::hand_to_mailbox_owner(&mut tx, user_id).await?;
        verification::mark_verified(&mut tx, config, user_id, None, "password reset", None).await?;
    }
    tokens::retire(&mut *tx, user_id, Purpose::ResetPassword).await?;
    let ended = sessions::revoke_all(&mut *tx, user_id).await?;
    audit::record(
        &mut *tx,
        audit::Event {
            actor_user_id: Some(user_id),
            action: "auth.password_reset",
            target_type: Some("user"),
            target_id: Some(user_id.to_string()),
            after: Some(serde_json::json!({ "sessions_ended": ended })),
            ..audit::Event::default()
        },
    )
    .await?;
    let user = sqlx::query_as!(
        User,
        "select id, email, display_name, is_disabled, created_at from users where id = $1",
        user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(user)
}
