//! Invitations: an administrator names an address and the roles it will hold; the person
//! gets a link (a week) where they choose their name and password. Accepting verifies the
//! address and grants exactly the chosen roles, not the default-role rule's.

use sqlx::PgPool;
use uuid::Uuid;

use super::{
    AccountsConfig,
    admin::{Actor, AdminError},
    password,
    tokens::{self, NewToken, Purpose},
    users::{self, User},
    verification::{self, VerifyError},
};
use crate::{
    audit,
    limits::BlockingPool,
    mail::{outbox, templates},
};

/// Invites `raw_email` with `role_ids`; sends the link again (with these roles) to an address
/// invited before and not yet accepted. Returns the account's id.
pub async fn invite(
    pool: &PgPool,
    config: &AccountsConfig,
    actor: Actor<'_>,
    raw_email: &str,
    role_ids: &[Uuid],
) -> Result<Uuid, AdminError> {
    let email = users::normalize_email(raw_email).map_err(AdminError::Refused)?;
    if !config.allowed_domains.allows(&email) {
        return Err(AdminError::Refused(format!(
            "Only addresses at {} may use this site.",
            config.allowed_domains.domains().join(", ")
        )));
    }
    let mut tx = pool.begin().await?;
    let known_roles: i64 = sqlx::query_scalar!(
        r#"select count(*) as "count!" from roles where id = any($1)"#,
        role_ids
    )
    .fetch_one(&mut *tx)
    .await?;
    if usize::try_from(known_roles).ok() != Some(role_ids.len()) {
        return Err(AdminError::Refused(
            "One of the roles no longer exists; reload the page.".into(),
        ));
    }
    let display_name: String = email
        .split('@')
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    let user_id = sqlx::query_scalar!(
        r#"
        insert into users (email, display_name)
        values ($1, $2)
        on conflict (email) do nothing
        returning id
        "#,
        email,
        display_name,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let user_id = match user_id {
        Some(id) => id,
        None => {
            let existing = sqlx::query!(
                "select id, is_email_verified, password_hash is not null as \"has_password!\" from users where email = $1",
                email
            )
            .fetch_one(&mut *tx)
            .await?;
            if existing.is_email_verified || existing.has_password {
                return Err(AdminError::Refused(
                    "An account with this address exists already; change its roles on the users page."
                        .into(),
                ));
            }
            tokens::retire(&mut *tx, existing.id, Purpose::Invitation).await?;
            existing.id
        }
    };
    let secret = tokens::issue(
        &mut *tx,
        &NewToken {
            purpose: Purpose::Invitation,
            user_id: Some(user_id),
            email: Some(&email),
            role_ids,
            created_by: Some(actor.user_id),
            ttl: tokens::INVITATION_TTL,
        },
    )
    .await?;
    let inviter = sqlx::query_scalar!(
        "select display_name from users where id = $1",
        actor.user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or_else(|| "An administrator".to_owned());
    let link = tokens::link(&config.public_url, Purpose::Invitation, &secret);
    outbox::queue(&mut tx, &templates::invitation(&email, &inviter, &link)).await?;
    audit::record(
        &mut *tx,
        audit::Event {
            actor_user_id: Some(actor.user_id),
            action: "admin.user.invited",
            target_type: Some("user"),
            target_id: Some(user_id.to_string()),
            after: Some(serde_json::json!({ "email": email, "role_ids": role_ids })),
            ip: actor.ip,
            ..audit::Event::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(user_id)
}

/// The address a live invitation is for (the page shows it).
pub async fn invited_address(pool: &PgPool, secret: &str) -> sqlx::Result<Option<String>> {
    Ok(tokens::peek(pool, Purpose::Invitation, secret)
        .await?
        .and_then(|token| token.email))
}

/// Accepts an invitation: the account gets `display_name` (checked already) and the
/// password (checked already, hashed here in the bounded pool), its address is verified and
/// it holds the invitation's roles.
pub async fn accept(
    pool: &PgPool,
    hashing: &BlockingPool,
    config: &AccountsConfig,
    secret: &str,
    display_name: &str,
    new_password: String,
) -> Result<User, VerifyError> {
    if tokens::peek(pool, Purpose::Invitation, secret)
        .await?
        .is_none()
    {
        return Err(VerifyError::Expired);
    }
    let hash = password::hash_in(hashing, new_password).await?;
    let mut tx = pool.begin().await?;
    let token = tokens::consume(&mut tx, Purpose::Invitation, secret)
        .await?
        .ok_or(VerifyError::Expired)?;
    let user_id = token.user_id.ok_or(VerifyError::Expired)?;
    let updated = sqlx::query!(
        r#"
        update users
        set display_name = $2, password_hash = $3, password_set_at = now()
        where id = $1 and email = $4
        "#,
        user_id,
        display_name,
        hash,
        token.email,
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(VerifyError::Expired);
    }
    verification::hand_to_mailbox_owner(&mut tx, user_id).await?;
    let user = verification::mark_verified(
        &mut tx,
        config,
        user_id,
        Some(&token.role_ids),
        "invitation",
        token.created_by,
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}
