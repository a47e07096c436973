//! The first administrator. On a database with no administrator the server issues a one-time
//! setup link at start and writes it to its log (`make run` shows it); only that link creates
//! an administrator on such a database. Nothing else does: not being the first to sign up, not
//! the first provider sign-in.

use sqlx::PgPool;

use super::{
    AccountsConfig, password,
    tokens::{self, NewToken, Purpose},
    users::{self, User},
    verification::VerifyError,
};
use crate::{audit, limits::BlockingPool};

/// Whether no enabled account holds the administrator role.
pub async fn needs_setup(executor: impl sqlx::PgExecutor<'_>) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"
        select not exists (
            select 1
            from user_roles as ur
            join roles as r on r.id = ur.role_id
            join users as u on u.id = ur.user_id
            where r.name = 'administrator' and not u.is_disabled and u.is_email_verified
        ) as "needed!"
        "#
    )
    .fetch_one(executor)
    .await
}

/// A fresh setup link when the database has no administrator, else `None`. Earlier links
/// keep working until one is used (each server replica prints its own).
pub async fn issue_link(pool: &PgPool, config: &AccountsConfig) -> sqlx::Result<Option<String>> {
    if !needs_setup(pool).await? {
        return Ok(None);
    }
    let secret = tokens::issue(
        pool,
        &NewToken {
            purpose: Purpose::Setup,
            user_id: None,
            email: None,
            role_ids: &[],
            created_by: None,
            ttl: tokens::LINK_TTL,
        },
    )
    .await?;
    Ok(Some(tokens::link(
        &config.public_url,
        Purpose::Setup,
        &secret,
    )))
}

/// Whether `secret` is a live setup link and an administrator is still needed.
pub async fn is_live(pool: &PgPool, secret: &str) -> sqlx::Result<bool> {
    Ok(needs_setup(pool).await? && tokens::peek(pool, Purpose::Setup, secret).await?.is_some())
}

/// Creates the first administrator through a setup link: `email` (normalized), `display_name`
/// and `new_password` are checked already; the password is hashed in the bounded pool. An
/// account that already has the address (an unverified sign-up, say) is taken over: its
/// password replaced, its address verified, the role granted.
pub async fn create_first_admin(
    pool: &PgPool,
    hashing: &BlockingPool,
    secret: &str,
    email: &str,
    display_name: &str,
    new_password: String,
) -> Result<User, VerifyError> {
    if !is_live(pool, secret).await? {
        return Err(VerifyError::Expired);
    }
    let hash = password::hash_in(hashing, new_password).await?;
    let mut tx = pool.begin().await?;
    // Two links used at once make one administrator.
    sqlx::query!("select pg_advisory_xact_lock(hashtext('accounts.setup'))")
        .execute(&mut *tx)
        .await?;
    if !needs_setup(&mut *tx).await? {
        return Err(VerifyError::Expired);
    }
    tokens::consume(&mut tx, Purpose::Setup, secret)
        .await?
        .ok_or(VerifyError::Expired)?;
    let user = sqlx::query_as!(
        User,
        r#"
        insert into users (
            email, display_name, password_hash, password_set_at, is_email_verified,
            email_verified_at
        )
        values ($1, $2, $3, now(), true, now())
        on conflict (email) do update
        set display_name = excluded.display_name,
            password_hash = excluded.password_hash,
            password_set_at = now(),
            is_email_verified = true,
            email_verified_at = now(),
            is_disabled = false
        returning id, email, display_name, is_disabled, created_at
        "#,
        email,
        display_name,
        hash,
    )
    .fetch_one(&mut *tx)
    .await?;
    // Whoever signed up with this address before holds nothing of the administrator.
    super::verification::hand_to_mailbox_owner(&mut tx, user.id).await?;
    users::grant_role_by_name(&mut *tx, user.id, "administrator").await?;
    // Every other setup link dies with this one.
    sqlx::query!(
        "update account_tokens set used_at = now() where purpose = 'setup' and used_at is null"
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        audit::Event {
            actor_user_id: Some(user.id),
            action: "auth.first_administrator",
            target_type: Some("user"),
            target_id: Some(user.id.to_string()),
            after: Some(serde_json::json!({ "email": user.email, "roles": ["administrator"] })),
            ..audit::Event::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}
