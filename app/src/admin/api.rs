//! Admin server functions: thin wrappers that check the `admin` tool, call
//! `studio_core::accounts::admin`, and shape the answer for the pages.

use leptos::{prelude::*, server_fn::codec::Json};

use super::types::{AuditRow, RolesOverview, UsersPage};
use crate::error::AppError;

/// Users per page in the admin list.
#[cfg(feature = "ssr")]
const PAGE_SIZE: i64 = 25;

#[cfg(feature = "ssr")]
pub(crate) mod support {
    use chrono::{DateTime, Utc};
    use studio_core::accounts::admin::{Actor, AdminError};
    use uuid::Uuid;

    use crate::{auth::ssr as auth, error::AppError};

    pub use crate::ssr::when;

    /// A paging cursor (RFC 3339).
    pub fn parse_time(raw: Option<String>) -> Result<Option<DateTime<Utc>>, AppError> {
        raw.map(|raw| {
            DateTime::parse_from_rfc3339(&raw)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| AppError::Invalid("That is not a valid time.".into()))
        })
        .transpose()
    }

    pub use crate::error::parse_id as id;

    /// The signed-in administrator, as the actor of a change.
    pub async fn admin() -> Result<(Uuid, Option<String>), AppError> {
        let user = auth::require_tool("admin").await?;
        Ok((id(&user.id)?, auth::client_ip()))
    }

    pub fn actor(admin: &(Uuid, Option<String>)) -> Actor<'_> {
        Actor {
            user_id: admin.0,
            ip: admin.1.as_deref(),
        }
    }

    impl From<AdminError> for AppError {
        fn from(err: AdminError) -> Self {
            match err {
                AdminError::Refused(message) => AppError::Invalid(message),
                AdminError::NotFound => AppError::NotFound,
                AdminError::Database(err) => err.into(),
            }
        }
    }
}

/// One page of users, optionally filtered by a search in email or name; with `pending_only`
/// only the accounts whose address is not verified yet.
#[server(endpoint = "admin/users", input = Json)]
pub async fn list_users(
    search: String,
    offset: i64,
    pending_only: bool,
) -> Result<UsersPage, AppError> {
    use studio_core::accounts::admin;

    use super::types::UserRow;
    support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let offset = offset.max(0);
    let search = search.trim();
    let search = (!search.is_empty()).then_some(search);
    let (users, total) =
        admin::list_users(&state.pool, search, pending_only, offset, PAGE_SIZE).await?;
    Ok(UsersPage {
        users: users
            .into_iter()
            .map(|u| UserRow {
                id: u.id.to_string(),
                email: u.email,
                display_name: u.display_name,
                is_disabled: u.is_disabled,
                is_verified: u.is_verified,
                roles: u.roles,
                last_sign_in: u.last_sign_in_at.map(support::when),
                created: support::when(u.created_at),
            })
            .collect(),
        total,
        offset,
        limit: PAGE_SIZE,
    })
}

/// Replaces a user's roles.
#[server(endpoint = "admin/users/roles", input = Json)]
pub async fn set_user_roles(user_id: String, role_ids: Vec<String>) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let role_ids = role_ids
        .iter()
        .map(|raw| support::id(raw))
        .collect::<Result<Vec<_>, _>>()?;
    studio_core::accounts::admin::set_user_roles(
        &state.pool,
        support::actor(&admin),
        support::id(&user_id)?,
        &role_ids,
    )
    .await?;
    Ok(())
}

/// Disables (signing the user out everywhere) or re-enables a user.
#[server(endpoint = "admin/users/disabled", input = Json)]
pub async fn set_user_disabled(user_id: String, disabled: bool) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::accounts::admin::set_user_disabled(
        &state.pool,
        support::actor(&admin),
        support::id(&user_id)?,
        disabled,
    )
    .await?;
    Ok(())
}

/// Signs a user out everywhere. Returns how many sessions ended.
#[server(endpoint = "admin/users/revoke-sessions", input = Json)]
pub async fn revoke_user_sessions(user_id: String) -> Result<u64, AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    Ok(studio_core::accounts::admin::revoke_user_sessions(
        &state.pool,
        support::actor(&admin),
        support::id(&user_id)?,
    )
    .await?)
}

/// Deletes a user and their data.
#[server(endpoint = "admin/users/delete", input = Json)]
pub async fn delete_user(user_id: String) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::accounts::admin::delete_user(
        &state.pool,
        support::actor(&admin),
        support::id(&user_id)?,
    )
    .await?;
    Ok(())
}

/// Approves an account waiting for verification (it gets the default-role rule's role).
#[server(endpoint = "admin/users/approve", input = Json)]
pub async fn approve_user(user_id: String) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::accounts::admin::approve_user(
        &state.pool,
        &state.accounts,
        support::actor(&admin),
        support::id(&user_id)?,
    )
    .await?;
    Ok(())
}

/// Refuses (deletes) an account waiting for verification.
#[server(endpoint = "admin/users/refuse", input = Json)]
pub async fn refuse_user(user_id: String) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::accounts::admin::refuse_user(
        &state.pool,
        support::actor(&admin),
        support::id(&user_id)?,
    )
    .await?;
    Ok(())
}

/// Invites someone by email with the roles they will hold.
#[server(endpoint = "admin/users/invite", input = Json)]
pub async fn invite_user(email: String, role_ids: Vec<String>) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let role_ids = role_ids
        .iter()
        .map(|raw| support::id(raw))
        .collect::<Result<Vec<_>, _>>()?;
    studio_core::accounts::invitations::invite(
        &state.pool,
        &state.accounts,
        support::actor(&admin),
        &email,
        &role_ids,
    )
    .await?;
    Ok(())
}

/// Messages the server sent or holds, newest first, 50 at a time; `before` (RFC 3339) pages
/// further back.
#[server(endpoint = "admin/mail", input = Json)]
pub async fn list_outbox(before: Option<String>) -> Result<Vec<super::types::MailRow>, AppError> {
    support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let before = support::parse_time(before)?;
    let entries = studio_core::mail::outbox::list(&state.pool, before, 50).await?;
    Ok(entries
        .into_iter()
        .map(|m| super::types::MailRow {
            id: m.id.to_string(),
            at: m
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            when: support::when(m.created_at),
            to: m.to_address,
            kind: m.kind,
            subject: m.subject,
            body: m.text_body,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
        })
        .collect())
}

/// Roles with their tools, every tool, and whether local sign-up is open.
#[server(endpoint = "admin/roles", input = Json)]
pub async fn get_roles_overview() -> Result<RolesOverview, AppError> {
    use studio_core::accounts::admin;

    use super::types::{RoleRow, ToolRow};
    support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let roles = admin::list_roles(&state.pool).await?;
    let tools = admin::list_tools(&state.pool).await?;
    Ok(RolesOverview {
        roles: roles
            .into_iter()
            .map(|r| RoleRow {
                id: r.id.to_string(),
                name: r.name,
                description: r.description,
                is_system: r.is_system,
                tools: r.tools,
                user_count: r.user_count,
            })
            .collect(),
        tools: tools
            .into_iter()
            .map(|t| ToolRow {
                slug: t.slug,
                name: t.name,
            })
            .collect(),
        local_sign_up: studio_core::accounts::sign_up::is_local_sign_up_open(&state.pool).await?,
    })
}

/// Creates a custom role.
#[server(endpoint = "admin/roles/create", input = Json)]
pub async fn create_role(name: String, description: String) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    if description.chars().count() > 500 {
        return Err(AppError::Invalid(
            "Use at most 500 characters for the description.".into(),
        ));
    }
    studio_core::accounts::admin::create_role(
        &state.pool,
        support::actor(&admin),
        &name,
        &description,
    )
    .await?;
    Ok(())
}

/// Renames a custom role.
#[server(endpoint = "admin/roles/rename", input = Json)]
pub async fn rename_role(role_id: String, name: String) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::accounts::admin::rename_role(
        &state.pool,
        support::actor(&admin),
        support::id(&role_id)?,
        &name,
    )
    .await?;
    Ok(())
}

/// Deletes a custom role.
#[server(endpoint = "admin/roles/delete", input = Json)]
pub async fn delete_role(role_id: String) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::accounts::admin::delete_role(
        &state.pool,
        support::actor(&admin),
        support::id(&role_id)?,
    )
    .await?;
    Ok(())
}

/// Replaces the tools a role grants.
#[server(endpoint = "admin/roles/tools", input = Json)]
pub async fn set_role_tools(role_id: String, tools: Vec<String>) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::accounts::admin::set_role_tools(
        &state.pool,
        support::actor(&admin),
        support::id(&role_id)?,
        &tools,
    )
    .await?;
    Ok(())
}

/// Opens or closes sign-up with a password.
#[server(endpoint = "admin/settings/local-sign-up", input = Json)]
pub async fn set_local_sign_up(open: bool) -> Result<(), AppError> {
    let admin = support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::accounts::admin::set_local_sign_up(&state.pool, support::actor(&admin), open)
        .await?;
    Ok(())
}

/// Audit entries, newest first, 50 at a time; `before` (RFC 3339) pages further back.
#[server(endpoint = "admin/audit", input = Json)]
pub async fn list_audit(kind: String, before: Option<String>) -> Result<Vec<AuditRow>, AppError> {
    support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let prefix = match kind.as_str() {
        "sign-ins" => Some("auth."),
        "admin" => Some("admin."),
        _ => None,
    };
    let before = support::parse_time(before)?;
    let entries = studio_core::audit::list(&state.pool, prefix, before, 50).await?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let target = e.target_name.clone().or_else(|| {
                e.target_type
                    .as_ref()
                    .map(|t| format!("{t} {}", e.target_id.clone().unwrap_or_default()))
            });
            let mut detail = e.action.clone();
            if let (Some(kind), Some(id)) = (&e.target_type, &e.target_id) {
                detail.push_str(&format!("\n{kind} {id}"));
            }
            if let Some(before) = &e.before {
                detail.push_str(&format!("\nbefore: {before}"));
            }
            if let Some(after) = &e.after {
                detail.push_str(&format!("\nafter: {after}"));
            }
            AuditRow {
                id: e.id.to_string(),
                at: e
                    .created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                when: e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                actor: e.actor_name.clone().unwrap_or_else(|| "Someone".to_owned()),
                summary: studio_core::audit::summary(&e.action, target.as_deref()),
                detail,
                ip: e.ip,
            }
        })
        .collect())
}
