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
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
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
        select a.id, a.created_at, u.email as "actor_email?", a.action, a.target_type,
            a.target_id, a.before, a.after, a.ip
        from audit_log as a
        left join users as u on u.id = a.actor_user_id
        where ($1::text is null or a.action like $1 || '%')
          and ($2::timestamptz is null or a.created_at < $2)
        order by a.created_at desc, a.id desc
        limit $3
        "#,
        action_prefix,
        before,
        limit,
    )
    .fetch_all(executor)
    .await
}
