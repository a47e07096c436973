//! Accounts for people who sign in through a provider: found by issuer + subject, else linked
//! by verified email, else created with the default-role rule.

use sqlx::PgPool;

use super::{
    oidc::Identity,
    users::{self, RoleRule, User},
};
use crate::audit;

/// Email domains allowed to sign in (`ALLOWED_EMAIL_DOMAINS`); empty allows every domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedDomains(Vec<String>);

impl AllowedDomains {
    /// From a comma- or space-separated list such as `school.org, students.school.org`.
    pub fn parse(raw: &str) -> Self {
        Self(
            raw.split([',', ' '])
                .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        )
    }

    /// Whether a normalized address may sign in. Exact domains only: `a.school.org` is not
    /// `school.org`.
    pub fn allows(&self, email: &str) -> bool {
        self.0.is_empty()
            || email
                .rsplit_once('@')
                .is_some_and(|(_, domain)| self.0.iter().any(|d| d == domain))
    }

    pub fn domains(&self) -> &[String] {
        &self.0
    }
}

/// Why a provider sign-in did not give an account.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("the provider did not share an email address")]
    MissingEmail,
    #[error("accounts at {0} may not sign in here")]
    DomainNotAllowed(String),
    #[error("this account is disabled")]
    Disabled,
    #[error("an account with this email exists and the provider has not verified the address")]
    EmailInUse,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The account for `identity`, created or linked on first sign-in. Records the outcome in the
/// audit log and marks the sign-in time.
pub async fn provision(
    pool: &PgPool,
    identity: &Identity,
    rule: &RoleRule,
    allowed: &AllowedDomains,
    ip: Option<&str>,
) -> Result<User, ProvisionError> {
    let outcome = provision_inner(pool, identity, rule, allowed).await;
    let (actor, action, detail) = match &outcome {
        Ok(user) => (Some(user.id), "auth.sign_in", "signed in".to_owned()),
        Err(ProvisionError::Database(_)) => return outcome,
        Err(err) => (None, "auth.sign_in_failed", err.to_string()),
    };
    audit::record(
        pool,
        audit::Event {
            actor_user_id: actor,
            action,
            target_type: Some("user"),
            target_id: actor.map(|id| id.to_string()),
            after: Some(serde_json::json!({
                "email": identity.email,
                "provider": identity.provider,
                "detail": detail,
            })),
            ip,
            ..audit::Event::default()
        },
    )
    .await?;
    if let Ok(user) = &outcome {
        sqlx::query!(
            "update users set last_sign_in_at = now() where id = $1",
            user.id
        )
        .execute(pool)
        .await?;
    }
    outcome
}

async fn provision_inner(
    pool: &PgPool,
    identity: &Identity,
    rule: &RoleRule,
    allowed: &AllowedDomains,
) -> Result<User, ProvisionError> {
    let mut tx = pool.begin().await?;
    let is_first = users::lock_account_creation(&mut tx).await?;

    let linked = sqlx::query_as!(
        User,
        r#"
        select u.id, u.email, u.display_name, u.is_disabled, u.created_at
        from user_identities as i
        join users as u on u.id = i.user_id
        where i.issuer = $1 and i.subject = $2
        "#,
        identity.issuer,
        identity.subject,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(user) = linked {
        check_domain(allowed, &user.email)?;
        if user.is_disabled {
            return Err(ProvisionError::Disabled);
        }
        tx.commit().await?;
        return Ok(user);
    }

    let email = identity
        .email
        .as_deref()
        .and_then(|raw| users::normalize_email(raw).ok())
        .ok_or(ProvisionError::MissingEmail)?;
    check_domain(allowed, &email)?;

    let existing = sqlx::query_as!(
        User,
        r#"
        select id, email, display_name, is_disabled, created_at
        from users
        where email = $1
        "#,
        email,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let user = match existing {
        // Linking by email is only safe when the provider vouches for the address.
        Some(_) if !identity.email_verified => return Err(ProvisionError::EmailInUse),
        Some(user) if user.is_disabled => return Err(ProvisionError::Disabled),
        Some(user) => {
            sqlx::query!(
                "update users set is_email_verified = true where id = $1",
                user.id
            )
            .execute(&mut *tx)
            .await?;
            user
        }
        None => {
            let display_name = identity
                .name
                .as_deref()
                .map(|n| n.chars().take(200).collect::<String>())
                .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
            let account = users::NewAccount {
                email: &email,
                display_name: &display_name,
                password_hash: None,
                email_verified: identity.email_verified,
                provider: Some(&identity.provider),
            };
            // Cannot be taken: the address was looked up above under the same lock.
            users::create_account(&mut tx, &account, is_first, rule)
                .await?
                .ok_or(ProvisionError::EmailInUse)?
        }
    };
    sqlx::query!(
        r#"
        insert into user_identities (user_id, issuer, subject)
        values ($1, $2, $3)
        "#,
        user.id,
        identity.issuer,
        identity.subject,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(user)
}

fn check_domain(allowed: &AllowedDomains, email: &str) -> Result<(), ProvisionError> {
    if allowed.allows(email) {
        Ok(())
    } else {
        let domain = email.rsplit_once('@').map_or(email, |(_, d)| d);
        Err(ProvisionError::DomainNotAllowed(domain.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_domains_match_exactly() {
        let allowed = AllowedDomains::parse(" School.org, @students.school.org ");
        assert_eq!(allowed.domains(), ["school.org", "students.school.org"]);
        assert!(allowed.allows("a@school.org"));
        assert!(allowed.allows("1234@students.school.org"));
        assert!(!allowed.allows("a@evil-school.org"));
        assert!(!allowed.allows("a@sub.school.org"));
        assert!(!allowed.allows("no-at-sign"));
        assert!(AllowedDomains::parse("").allows("anyone@anywhere.example"));
    }
}
