//! Users: email rules, the default-role rule, creating an account, and granting roles.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
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

/// An account about to be created, by password sign-up or a provider's first sign-in.
pub(super) struct NewAccount<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    /// The address is verified already (a provider vouches for it): the account gets its
    /// role from the rule now.
    pub verified: bool,
    /// The provider id, for the audit log.
    pub provider: Option<&'a str>,
}

/// Creates the account and audits it. A verified one gets the role `rule` names; an
/// unverified one holds none until verification. `None` if the email is taken.
pub(super) async fn create_account(
    conn: &mut PgConnection,
    account: &NewAccount<'_>,
    rule: &RoleRule,
) -> sqlx::Result<Option<User>> {
    let Some(created) = sqlx::query_as!(
        User,
        r#"
        insert into users (
            email, display_name, password_hash, is_email_verified, email_verified_at,
            password_set_at
        )
        values (
            $1, $2, $3, $4, case when $4 then now() end,
            case when $3::text is not null then now() end
        )
        on conflict (email) do nothing
        returning id, email, display_name, is_disabled, created_at
        "#,
        account.email,
        account.display_name,
        account.password_hash,
        account.verified,
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let roles: Vec<&str> = if account.verified {
        let role = rule.role_for(&created.email);
        grant_role_by_name(&mut *conn, created.id, role).await?;
        vec![role]
    } else {
        Vec::new()
    };
    let mut after = serde_json::json!({
        "email": created.email,
        "roles": roles,
        "verified": account.verified,
    });
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
