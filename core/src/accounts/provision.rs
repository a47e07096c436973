//! Accounts for people who sign in through a provider: found by issuer + subject, else linked
//! by email, else created (with the default-role rule when the provider vouches for the
//! address, unverified and without a role when it does not).
//!
//! Linking by email needs both sides to vouch for the address: the provider, and us (the
//! account's address was verified here). An account whose address nobody verified may have
//! been created by a stranger with someone else's address, so the sign-in is refused and an
//! administrator decides. A linked account loses a password that was set before its address
//! was verified: nobody can say who chose it.

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
    #[error("an account with this email exists and its address was never verified here")]
    UnverifiedAccount,
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
    // The session started for it records the time (`sessions::create`).
    outcome
}

async fn provision_inner(
    pool: &PgPool,
    identity: &Identity,
    rule: &RoleRule,
    allowed: &AllowedDomains,
) -> Result<User, ProvisionError> {
    let mut tx = pool.begin().await?;

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

    let existing = sqlx::query!(
        r#"
        select id, email, display_name, is_disabled, created_at, is_email_verified,
            password_hash is not null and (password_set_at is null
                or email_verified_at is null
                or password_set_at < email_verified_at) as "password_unvouched!"
        from users
        where email = $1
        for update
        "#,
        email,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let user = match existing {
        // Linking by email is only safe when the provider vouches for the address...
        Some(_) if !identity.email_verified => return Err(ProvisionError::EmailInUse),
        // ...and so did we.
        Some(row) if !row.is_email_verified => return Err(ProvisionError::UnverifiedAccount),
        Some(row) if row.is_disabled => return Err(ProvisionError::Disabled),
        Some(row) => {
            if row.password_unvouched {
                sqlx::query!(
                    "update users set password_hash = null, password_set_at = null where id = $1",
                    row.id
                )
                .execute(&mut *tx)
                .await?;
                // Sessions opened with that password end with it.
                super::sessions::revoke_all(&mut *tx, row.id).await?;
            }
            audit::record(
                &mut *tx,
                audit::Event {
                    actor_user_id: Some(row.id),
                    action: "auth.identity_linked",
                    target_type: Some("user"),
                    target_id: Some(row.id.to_string()),
                    after: Some(serde_json::json!({
                        "provider": identity.provider,
                        "password_removed": row.password_unvouched,
                    })),
                    ..audit::Event::default()
                },
            )
            .await?;
            User {
                id: row.id,
                email: row.email,
                display_name: row.display_name,
                is_disabled: row.is_disabled,
                created_at: row.created_at,
            }
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
                verified: identity.email_verified,
                provider: Some(&identity.provider),
            };
            // Taken only by a sign-up racing this one.
            users::create_account(&mut tx, &account, rule)
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
