//! What administrators do to users and roles. Every change is audited with its before and
//! after state, and the rules that keep the instance administrable are enforced here:
//! at least one enabled administrator always remains, nobody disables or deletes themselves,
//! system roles keep their names, and the administrator role keeps the admin tool.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use super::sessions;
use crate::audit;

/// Why an administrative change was refused. The text is shown to the administrator.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Refused(String),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn refused(message: impl Into<String>) -> AdminError {
    AdminError::Refused(message.into())
}

/// Who is acting, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub user_id: Uuid,
    pub ip: Option<&'a str>,
}

/// A user in the admin list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSummary {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub is_disabled: bool,
    /// Until it is, the account holds no role: waiting for its link or for approval.
    pub is_verified: bool,
    pub roles: Vec<String>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One page of users matching `search` (in email or name), newest first, and the total;
/// only those whose address is not verified yet when `pending_only`.
pub async fn list_users(
    executor: impl PgExecutor<'_> + Copy,
    search: Option<&str>,
    pending_only: bool,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(Vec<UserSummary>, i64)> {
    let pattern = search.map(str::trim).filter(|s| !s.is_empty()).map(|s| {
        format!(
            "%{}%",
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let users = sqlx::query_as!(
        UserSummary,
        r#"
        select u.id, u.email, u.display_name, u.is_disabled, u.is_email_verified as is_verified,
            u.last_sign_in_at, u.created_at,
            coalesce(
                array_agg(r.name order by r.name) filter (where r.name is not null),
                '{}'
            ) as "roles!"
        from users as u
        left join user_roles as ur on ur.user_id = u.id
        left join roles as r on r.id = ur.role_id
        where ($1::text is null or u.email ilike $1 or u.display_name ilike $1)
          and (not $4 or not u.is_email_verified)
        group by u.id
        order by u.created_at desc, u.id
        offset $2
        limit $3
        "#,
        pattern,
        offset,
        limit,
        pending_only,
    )
    .fetch_all(executor)
    .await?;
    let total = sqlx::query_scalar!(
        r#"
        select count(*) as "count!"
        from users as u
        where ($1::text is null or u.email ilike $1 or u.display_name ilike $1)
          and (not $2 or not u.is_email_verified)
        "#,
        pattern,
        pending_only,
    )
    .fetch_one(executor)
    .await?;
    Ok((users, total))
}

async fn user_state(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<serde_json::Value, AdminError> {
    let row = sqlx::query!(
        r#"
        select u.email, u.is_disabled, u.is_email_verified,
            coalesce(array_agg(r.name order by r.name) filter (where r.name is not null), '{}') as "roles!"
        from users as u
        left join user_roles as ur on ur.user_id = u.id
        left join roles as r on r.id = ur.role_id
        where u.id = $1
        group by u.id
        "#,
        user_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AdminError::NotFound)?;
    Ok(serde_json::json!({
        "email": row.email,
        "disabled": row.is_disabled,
        "verified": row.is_email_verified,
        "roles": row.roles,
    }))
}

/// Whether a state from [`user_state`] holds the administrator role.
fn holds_admin(state: &serde_json::Value) -> bool {
    state["roles"]
        .as_array()
        .is_some_and(|roles| roles.iter().any(|role| role == "administrator"))
}

/// Refuses a change that would leave no enabled administrator besides `user_id`.
async fn ensure_another_admin(conn: &mut PgConnection, user_id: Uuid) -> Result<(), AdminError> {
    if other_admins(conn, user_id).await? == 0 {
        return Err(refused(
            "This is the last administrator. Make someone else administrator first.",
        ));
    }
    Ok(())
}

/// Enabled administrators other than `except`.
async fn other_admins(conn: &mut PgConnection, except: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"
        select count(distinct ur.user_id) as "count!"
        from granted_roles as ur
        join roles as r on r.id = ur.role_id
        where r.name = 'administrator' and ur.user_id <> $1
        "#,
        except,
    )
    .fetch_one(&mut *conn)
    .await
}

async fn audit_change(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    action: &str,
    target_type: &str,
    target_id: Uuid,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> sqlx::Result<()> {
    audit::record(
        &mut *conn,
        audit::Event {
            actor_user_id: Some(actor.user_id),
            action,
            target_type: Some(target_type),
            target_id: Some(target_id.to_string()),
            before,
            after,
            ip: actor.ip,
        },
    )
    .await
}

/// Serializes administrative changes that check "another administrator remains".
async fn lock_admin_changes(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!("select pg_advisory_xact_lock(hashtext('accounts.admin'))")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces a user's roles with `role_ids`.
pub async fn set_user_roles(
    pool: &PgPool,
    actor: Actor<'_>,
    user_id: Uuid,
    role_ids: &[Uuid],
) -> Result<(), AdminError> {
    let mut tx = pool.begin().await?;
    lock_admin_changes(&mut tx).await?;
    let before = user_state(&mut tx, user_id).await?;
    let known = sqlx::query_scalar!(
        r#"select count(*) as "count!" from roles where id = any($1)"#,
        role_ids,
    )
    .fetch_one(&mut *tx)
    .await?;
    if usize::try_from(known).unwrap_or(0) != role_ids.len() {
        return Err(refused(
            "One of those roles no longer exists. Reload and try again.",
        ));
    }
    sqlx::query!("delete from user_roles where user_id = $1", user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        r#"
        insert into user_roles (user_id, role_id)
        select $1, unnest($2::uuid[])
        on conflict do nothing
        "#,
        user_id,
        role_ids,
    )
    .execute(&mut *tx)
    .await?;
    let after = user_state(&mut tx, user_id).await?;
    if holds_admin(&before) && !holds_admin(&after) {
        ensure_another_admin(&mut tx, user_id).await?;
    }
    audit_change(
        &mut tx,
        actor,
        "admin.user.roles_changed",
        "user",
        user_id,
        Some(before),
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Disables (ending every session at once) or re-enables a user.
pub async fn set_user_disabled(
    pool: &PgPool,
    actor: Actor<'_>,
    user_id: Uuid,
    disabled: bool,
) -> Result<(), AdminError> {
    if disabled && user_id == actor.user_id {
        return Err(refused("You cannot disable your own account."));
    }
    let mut tx = pool.begin().await?;
    lock_admin_changes(&mut tx).await?;
    let before = user_state(&mut tx, user_id).await?;
    if disabled && holds_admin(&before) {
        ensure_another_admin(&mut tx, user_id).await?;
    }
    sqlx::query!(
        "update users set is_disabled = $2 where id = $1",
        user_id,
        disabled
    )
    .execute(&mut *tx)
    .await?;
    if disabled {
        sessions::revoke_all(&mut *tx, user_id).await?;
    }
    let after = user_state(&mut tx, user_id).await?;
    let action = if disabled {
        "admin.user.disabled"
    } else {
        "admin.user.enabled"
    };
    audit_change(
        &mut tx,
        actor,
        action,
        "user",
        user_id,
        Some(before),
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a user. Returns how many were live.
pub async fn revoke_user_sessions(
    pool: &PgPool,
    actor: Actor<'_>,
    user_id: Uuid,
) -> Result<u64, AdminError> {
    let mut tx = pool.begin().await?;
    user_state(&mut tx, user_id).await?;
    let revoked = sessions::revoke_all(&mut *tx, user_id).await?;
    audit_change(
        &mut tx,
        actor,
        "admin.user.sessions_revoked",
        "user",
        user_id,
        None,
        Some(serde_json::json!({ "sessions": revoked })),
    )
    .await?;
    tx.commit().await?;
    Ok(revoked)
}

/// Deletes a user and everything that belongs to them.
pub async fn delete_user(pool: &PgPool, actor: Actor<'_>, user_id: Uuid) -> Result<(), AdminError> {
    if user_id == actor.user_id {
        return Err(refused("You cannot delete your own account."));
    }
    let mut tx = pool.begin().await?;
    lock_admin_changes(&mut tx).await?;
    let before = user_state(&mut tx, user_id).await?;
    if holds_admin(&before) {
        ensure_another_admin(&mut tx, user_id).await?;
    }
    sqlx::query!("delete from users where id = $1", user_id)
        .execute(&mut *tx)
        .await?;
    audit_change(
        &mut tx,
        actor,
        "admin.user.deleted",
        "user",
        user_id,
        Some(before),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Approves an account waiting for verification: its address counts as verified and it gets
/// its role from the default-role rule (refused for a domain that is not allowed).
pub async fn approve_user(
    pool: &PgPool,
    config: &super::AccountsConfig,
    actor: Actor<'_>,
    user_id: Uuid,
) -> Result<(), AdminError> {
    use super::verification::{self, VerifyError};

    let mut tx = pool.begin().await?;
    let before = user_state(&mut tx, user_id).await?;
    if before["verified"] == true {
        return Err(refused("This account is verified already."));
    }
    match verification::mark_verified(
        &mut tx,
        config,
        user_id,
        None,
        "administrator",
        Some(actor.user_id),
    )
    .await
    {
        Ok(_) => {}
        Err(VerifyError::DomainNotAllowed(domain)) => {
            return Err(refused(format!(
                "Addresses at {domain} may not use this site (ALLOWED_EMAIL_DOMAINS)."
            )));
        }
        Err(VerifyError::Database(err)) => return Err(err.into()),
        Err(err) => return Err(refused(err.to_string())),
    }
    let after = user_state(&mut tx, user_id).await?;
    audit_change(
        &mut tx,
        actor,
        "admin.user.approved",
        "user",
        user_id,
        Some(before),
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Refuses an account waiting for verification: it is deleted. Verified accounts are deleted
/// with [`delete_user`] instead.
pub async fn refuse_user(pool: &PgPool, actor: Actor<'_>, user_id: Uuid) -> Result<(), AdminError> {
    let mut tx = pool.begin().await?;
    let before = user_state(&mut tx, user_id).await?;
    if before["verified"] == true {
        return Err(refused(
            "This account is verified; delete it from its row instead.",
        ));
    }
    sqlx::query!("delete from users where id = $1", user_id)
        .execute(&mut *tx)
        .await?;
    audit_change(
        &mut tx,
        actor,
        "admin.user.refused",
        "user",
        user_id,
        Some(before),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A role with its grants, for the roles page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleSummary {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub is_system: bool,
    pub tools: Vec<String>,
    pub user_count: i64,
}

/// Every role, system roles first.
pub async fn list_roles(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<RoleSummary>> {
    sqlx::query_as!(
        RoleSummary,
        r#"
        select r.id, r.name, r.description, r.is_system,
            coalesce(
                (select array_agg(t.slug order by t.slug)
                 from role_tools as rt join tools as t on t.id = rt.tool_id
                 where rt.role_id = r.id),
                '{}'
            ) as "tools!",
            (select count(*) from user_roles as ur where ur.role_id = r.id) as "user_count!"
        from roles as r
        order by r.is_system desc, lower(r.name)
        "#
    )
    .fetch_all(executor)
    .await
}

/// A tool roles can be granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tool {
    pub slug: String,
    pub name: String,
    pub description: String,
}

/// Every tool, by name.
pub async fn list_tools(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<Tool>> {
    sqlx::query_as!(
        Tool,
        "select slug, name, description from tools order by name"
    )
    .fetch_all(executor)
    .await
}

fn check_role_name(name: &str) -> Result<String, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(refused("A role name needs 1 to 60 characters."));
    }
    Ok(name.to_owned())
}

fn map_name_taken(err: sqlx::Error) -> AdminError {
    match &err {
        sqlx::Error::Database(db) if db.constraint() == Some("roles_name_key") => {
            refused("A role with that name exists already.")
        }
        _ => AdminError::Database(err),
    }
}

/// Creates a custom role with no tools.
pub async fn create_role(
    pool: &PgPool,
    actor: Actor<'_>,
    name: &str,
    description: &str,
) -> Result<Uuid, AdminError> {
    let name = check_role_name(name)?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into roles (name, description) values ($1, $2) returning id",
        name,
        description.trim(),
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(map_name_taken)?;
    audit_change(
        &mut tx,
        actor,
        "admin.role.created",
        "role",
        id,
        None,
        Some(serde_json::json!({ "name": name })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Renames a custom role.
pub async fn rename_role(
    pool: &PgPool,
    actor: Actor<'_>,
    role_id: Uuid,
    name: &str,
) -> Result<(), AdminError> {
    let name = check_role_name(name)?;
    let mut tx = pool.begin().await?;
    let role = sqlx::query!(
        "select name, is_system from roles where id = $1 for update",
        role_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AdminError::NotFound)?;
    if role.is_system {
        return Err(refused("System roles cannot be renamed."));
    }
    sqlx::query!("update roles set name = $2 where id = $1", role_id, name)
        .execute(&mut *tx)
        .await
        .map_err(map_name_taken)?;
    // Navigation items name the roles they are shown to: they follow the new name.
    sqlx::query!(
        "update navigation_items set roles = array_replace(roles, $1, $2) where $1 = any(roles)",
        role.name,
        name
    )
    .execute(&mut *tx)
    .await?;
    audit_change(
        &mut tx,
        actor,
        "admin.role.renamed",
        "role",
        role_id,
        Some(serde_json::json!({ "name": role.name })),
        Some(serde_json::json!({ "name": name })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a custom role; its holders lose it.
pub async fn delete_role(pool: &PgPool, actor: Actor<'_>, role_id: Uuid) -> Result<(), AdminError> {
    let mut tx = pool.begin().await?;
    let role = sqlx::query!(
        "select name, is_system from roles where id = $1 for update",
        role_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AdminError::NotFound)?;
    if role.is_system {
        return Err(refused("System roles cannot be deleted."));
    }
    sqlx::query!("delete from roles where id = $1", role_id)
        .execute(&mut *tx)
        .await?;
    audit_change(
        &mut tx,
        actor,
        "admin.role.deleted",
        "role",
        role_id,
        Some(serde_json::json!({ "name": role.name })),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces the tools a role grants.
pub async fn set_role_tools(
    pool: &PgPool,
    actor: Actor<'_>,
    role_id: Uuid,
    tools: &[String],
) -> Result<(), AdminError> {
    let mut tx = pool.begin().await?;
    let role = sqlx::query!("select name from roles where id = $1 for update", role_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AdminError::NotFound)?;
    if role.name == "administrator" && !tools.iter().any(|t| t == "admin") {
        return Err(refused(
            "The administrator role always keeps the admin tool.",
        ));
    }
    let before: Vec<String> = sqlx::query_scalar!(
        "select t.slug from role_tools rt join tools t on t.id = rt.tool_id where rt.role_id = $1 order by t.slug",
        role_id,
    )
    .fetch_all(&mut *tx)
    .await?;
    let known = sqlx::query_scalar!(
        r#"select count(*) as "count!" from tools where slug = any($1)"#,
        tools
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut wanted: Vec<String> = tools.to_vec();
    wanted.sort();
    wanted.dedup();
    if usize::try_from(known).unwrap_or(0) != wanted.len() {
        return Err(refused("One of those tools does not exist."));
    }
    sqlx::query!("delete from role_tools where role_id = $1", role_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into role_tools (role_id, tool_id) select $1, id from tools where slug = any($2)",
        role_id,
        &wanted,
    )
    .execute(&mut *tx)
    .await?;
    audit_change(
        &mut tx,
        actor,
        "admin.role.tools_changed",
        "role",
        role_id,
        Some(serde_json::json!({ "name": role.name, "tools": before })),
        Some(serde_json::json!({ "name": role.name, "tools": wanted })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Opens or closes local sign-up.
pub async fn set_local_sign_up(
    pool: &PgPool,
    actor: Actor<'_>,
    open: bool,
) -> Result<(), AdminError> {
    let mut tx = pool.begin().await?;
    let before = super::sign_up::is_local_sign_up_open(&mut *tx).await?;
    let id = sqlx::query_scalar!(
        r#"
        insert into settings (key, value) values ('accounts.local_sign_up', $1)
        on conflict (key) do update set value = excluded.value
        returning id
        "#,
        serde_json::Value::Bool(open),
    )
    .fetch_one(&mut *tx)
    .await?;
    audit_change(
        &mut tx,
        actor,
        "admin.settings.local_sign_up",
        "setting",
        id,
        Some(serde_json::json!({ "open": before })),
        Some(serde_json::json!({ "open": open })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
