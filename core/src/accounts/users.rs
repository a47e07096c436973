//! Users: email rules, the default-role rule, and local sign-up.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

/// A user as the rest of the backend sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub is_disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// Lower-cases and trims an email address and checks its shape. The error is for the form.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    let Some((local, domain)) = email.split_once('@') else {
        return Err("Enter an email address like name@example.org.".to_owned());
    };
    let well_formed = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !well_formed {
        return Err("Enter an email address like name@example.org.".to_owned());
    }
    if email.len() > 254 {
        return Err("That email address is too long.".to_owned());
    }
    Ok(email)
}

/// Which role a newly provisioned user gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRule {
    /// For addresses whose local part is all digits (student numbers).
    pub digits_role: String,
    /// For every other address.
    pub other_role: String,
}

impl Default for RoleRule {
    fn default() -> Self {
        Self {
            digits_role: "student".to_owned(),
            other_role: "staff".to_owned(),
        }
    }
}

impl RoleRule {
    /// The role for a normalized email address.
    pub fn role_for(&self, email: &str) -> &str {
        let local = email.split('@').next().unwrap_or_default();
        if !local.is_empty() && local.chars().all(|c| c.is_ascii_digit()) {
            &self.digits_role
        } else {
            &self.other_role
        }
    }
}

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
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
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

/// Creates a local account. The first account of an empty database becomes administrator
/// (and may sign up even when sign-up is closed); later ones get the role `rule` names.
pub async fn sign_up_local(
    pool: &PgPool,
    user: &NewLocalUser,
    rule: &RoleRule,
) -> Result<User, SignUpError> {
    let mut tx = pool.begin().await?;
    let is_first = lock_account_creation(&mut tx).await?;
    if !is_first && !is_local_sign_up_open(&mut *tx).await? {
        return Err(SignUpError::SignUpClosed);
    }
    let account = NewAccount {
        email: &user.email,
        display_name: &user.display_name,
        password_hash: Some(&user.password_hash),
        email_verified: false,
        provider: None,
    };
    let created = create_account(&mut tx, &account, is_first, rule)
        .await?
        .ok_or(SignUpError::EmailTaken)?;
    tx.commit().await?;
    Ok(created)
}

/// Serializes account creation, so that two people racing on an empty database cannot both
/// be first. Returns whether the database has no account yet.
pub(super) async fn lock_account_creation(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query!("select pg_advisory_xact_lock(hashtext('accounts.sign_up'))")
        .execute(&mut *conn)
        .await?;
    let any = sqlx::query_scalar!(r#"select exists (select 1 from users) as "exists!""#)
        .fetch_one(&mut *conn)
        .await?;
    Ok(!any)
}

/// An account about to be created, by password sign-up or a provider's first sign-in.
pub(super) struct NewAccount<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub email_verified: bool,
    /// The provider id, for the audit log.
    pub provider: Option<&'a str>,
}

/// Creates the account with its first role (administrator for the first account, else the
/// rule's) and audits it. `None` if the email is taken. Call under
/// [`lock_account_creation`], which says whether this is the first account.
pub(super) async fn create_account(
    conn: &mut PgConnection,
    account: &NewAccount<'_>,
    is_first: bool,
    rule: &RoleRule,
) -> sqlx::Result<Option<User>> {
    let Some(created) = sqlx::query_as!(
        User,
        r#"
        insert into users (email, display_name, password_hash, is_email_verified)
        values ($1, $2, $3, $4)
        on conflict (email) do nothing
        returning id, email, display_name, is_disabled, created_at
        "#,
        account.email,
        account.display_name,
        account.password_hash,
        account.email_verified,
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let role = if is_first {
        "administrator"
    } else {
        rule.role_for(&created.email)
    };
    grant_role_by_name(&mut *conn, created.id, role).await?;
    let mut after = serde_json::json!({ "email": created.email, "roles": [role] });
    if let Some(provider) = account.provider {
        after["provider"] = provider.into();
    }
    crate::audit::record(
        &mut *conn,
        crate::audit::Event {
            actor_user_id: Some(created.id),
            action: "auth.sign_up",
            target_type: Some("user"),
            target_id: Some(created.id.to_string()),
            after: Some(after),
            ..crate::audit::Event::default()
        },
    )
    .await?;
    Ok(Some(created))
}

/// Gives `user_id` the role called `role` (no-op if held already or if no such role).
pub async fn grant_role_by_name(
    executor: impl PgExecutor<'_>,
    user_id: Uuid,
    role: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into user_roles (user_id, role_id)
        select $1, id
        from roles
        where lower(name) = lower($2)
        on conflict do nothing
        "#,
        user_id,
        role,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Finds a user by normalized email, with the stored password hash if any.
pub async fn find_with_password(
    executor: impl PgExecutor<'_>,
    email: &str,
) -> sqlx::Result<Option<(User, Option<String>)>> {
    let row = sqlx::query!(
        r#"
        select id, email, display_name, is_disabled, created_at, password_hash
        from users
        where email = $1
        "#,
        email,
    )
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|row| {
        (
            User {
                id: row.id,
                email: row.email,
                display_name: row.display_name,
                is_disabled: row.is_disabled,
                created_at: row.created_at,
            },
            row.password_hash,
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.ORG ").unwrap(),
            "ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a da@example.org",
            "ada@.org",
            "a@b@c.org",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn all_digit_local_parts_are_students_by_default() {
        let rule = RoleRule::default();
        assert_eq!(rule.role_for("20231234@school.org"), "student");
        assert_eq!(rule.role_for("j.smith@school.org"), "staff");
        assert_eq!(rule.role_for("123a@school.org"), "staff");
    }
}
