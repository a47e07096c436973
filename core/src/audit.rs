//! The audit log: sign-ins (successful or not) and every administrative change, with who,
//! what, when, and the before/after state. Never secrets: no passwords, tokens or cookies.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgExecutor;
use uuid::Uuid;

/// One thing that happened, about to be recorded.
#[derive(Debug, Clone, Default)]
pub struct Event<'a> {
    pub actor_user_id: Option<Uuid>,
    /// Dotted verb, e.g. `auth.sign_in`, `auth.sign_in_failed`, `admin.user.roles_changed`.
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<&'a str>,
}

/// Appends an event to the log.
pub async fn record(executor: impl PgExecutor<'_>, event: Event<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into audit_log (actor_user_id, action, target_type, target_id, before, after, ip)
        values ($1, $2, $3, $4, $5, $6, $7)
        "#,
        event.actor_user_id,
        event.action,
        event.target_type,
        event.target_id,
        event.before,
        event.after,
        event.ip,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// An event as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub actor_email: Option<String>,
    /// The actor's name, or for a failed sign-in the address that was tried.
    pub actor_name: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// The target's name as it is now (a user's name and address, a role's, a model's or a
    /// provider's name), else as the entry kept it; `None` when neither has one.
    pub target_name: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
}

/// The newest events first, `limit` at a time, older than `before` when paging on.
pub async fn list(
    executor: impl PgExecutor<'_>,
    action_prefix: Option<&str>,
    before: Option<DateTime<Utc>>,
    limit: i64,
) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as!(
        Entry,
        r#"
        with page as (
            select a.*,
                case when a.target_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                    then a.target_id::uuid end as target_uuid
            from audit_log as a
            where ($1::text is null or a.action like $1 || '%')
              and ($2::timestamptz is null or a.created_at < $2)
            order by a.created_at desc, a.id desc
            limit $3
        )
        select a.id as "id!", a.created_at as "created_at!", u.email as "actor_email?",
            coalesce(u.display_name, a.after->>'email') as "actor_name?",
            a.action as "action!", a.target_type, a.target_id,
            coalesce(case a.target_type
                when 'user' then (
                    select t.display_name || ' (' || t.email || ')' from users as t
                    where t.id = a.target_uuid
                )
                when 'role' then (select t.name from roles as t where t.id = a.target_uuid)
                when 'ai_model' then (
                    select t.display_name from ai_models as t where t.id = a.target_uuid
                )
                when 'ai_provider' then (
                    select t.name from ai_providers as t where t.id = a.target_uuid
                )
            end,
            a.after->>'display_name', a.before->>'display_name',
            a.after->>'name', a.before->>'name') as "target_name?",
            a.before, a.after, a.ip
        from page as a
        left join users as u on u.id = a.actor_user_id
        order by a.created_at desc, a.id desc
        "#,
        action_prefix,
        before,
        limit,
    )
    .fetch_all(executor)
    .await
}

/// What an audit entry's action did, to `target` (its name now, or its kind and id), in words.
pub fn summary(action: &str, target: Option<&str>) -> String {
    let target = target.unwrap_or("something no longer there");
    let (verb, names_target) = match action {
        "auth.sign_in" => ("signed in", false),
        "auth.sign_in_failed" => ("failed to sign in", false),
        "auth.sign_up" => ("signed up", false),
        "auth.email_verified" => ("verified their email address", false),
        "auth.email_changed" => ("changed their email address", false),
        "auth.password_reset" => ("reset their password", false),
        "auth.identity_linked" => ("linked a sign-in provider", false),
        "auth.first_administrator" => ("became the first administrator", false),
        "admin.user.invited" => ("invited", true),
        "admin.user.approved" => ("approved", true),
        "admin.user.refused" => ("refused the sign-up of", true),
        "admin.user.enabled" => ("enabled", true),
        "admin.user.disabled" => ("disabled", true),
        "admin.user.deleted" => ("deleted the account of", true),
        "admin.user.roles_changed" => ("changed the roles of", true),
        "admin.user.sessions_revoked" => ("signed out everywhere", true),
        "admin.settings.local_sign_up" => {
            ("changed whether people can sign up with a password", false)
        }
        "admin.role.created" => ("created the role", true),
        "admin.role.renamed" => ("renamed the role", true),
        "admin.role.deleted" => ("deleted the role", true),
        "admin.role.tools_changed" => ("changed the tools of the role", true),
        "admin.provider.created" => ("added the provider", true),
        "admin.provider.updated" => ("changed the provider", true),
        "admin.provider.deleted" => ("removed the provider", true),
        "admin.model.created" => ("added the model", true),
        "admin.model.updated" => ("changed the model", true),
        "admin.model.deleted" => ("removed the model", true),
        "admin.job.retried" => ("retried the job", true),
        "admin.job.discarded" => ("discarded the job", true),
        other => return format!("{other}: {target}"),
    };
    if names_target {
        format!("{verb} {target}")
    } else {
        verb.to_owned()
    }
}

#[cfg(test)]
mod sentence_tests {
    use super::summary;

    #[test]
    fn actions_read_as_sentences() {
        assert_eq!(
            summary("admin.user.roles_changed", Some("Pat (pat@school.org)")),
            "changed the roles of Pat (pat@school.org)"
        );
        assert_eq!(
            summary("auth.sign_in", Some("Pat (pat@school.org)")),
            "signed in"
        );
        assert_eq!(
            summary("admin.role.deleted", None),
            "deleted the role something no longer there"
        );
        assert_eq!(summary("admin.new.thing", Some("X")), "admin.new.thing: X");
    }
}
