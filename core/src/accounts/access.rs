//! Roles and tools: what a user may use. Grants are read fresh on every request, so a role
//! change applies on the user's next request. They are read through the `granted_roles` view:
//! an account whose address is not verified, or that is disabled, holds no role at all.

use sqlx::PgExecutor;
use uuid::Uuid;

/// The names of the roles `user_id` holds, sorted.
pub async fn role_names(executor: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<Vec<String>> {
    Ok(grants(executor, user_id).await?.roles)
}

/// What a user holds: their role names and the tools those roles grant, both sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub roles: Vec<String>,
    pub tools: Vec<String>,
}

/// A user's roles and tools in one round trip (every signed-in request reads both). The tool
/// of a disabled assistant is granted to nobody (what it gates, a link to it among them, goes).
pub async fn grants(executor: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<Grants> {
    let row = sqlx::query!(
        r#"
        select
            array(
                select r.name
                from granted_roles as ur
                join roles as r on r.id = ur.role_id
                where ur.user_id = $1
                order by r.name
            ) as "roles!",
            array(
                select distinct t.slug
                from granted_roles as ur
                join role_tools as rt on rt.role_id = ur.role_id
                join tools as t on t.id = rt.tool_id
                where ur.user_id = $1
                    and not exists (
                        select 1 from assistants as a
                        where a.tool_id = t.id and a.disabled_at is not null
                    )
                order by t.slug
            ) as "tools!"
        "#,
        user_id,
    )
    .fetch_one(executor)
    .await?;
    Ok(Grants {
        roles: row.roles,
        tools: row.tools,
    })
}

/// The slugs of the tools any of `user_id`'s roles grants, sorted.
pub async fn tool_slugs(executor: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<Vec<String>> {
    Ok(grants(executor, user_id).await?.tools)
}

/// Whether any of `user_id`'s roles grants the tool `slug` (never a disabled assistant's).
pub async fn has_tool(
    executor: impl PgExecutor<'_>,
    user_id: Uuid,
    slug: &str,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"
        select exists (
            select 1
            from granted_roles as ur
            join role_tools as rt on rt.role_id = ur.role_id
            join tools as t on t.id = rt.tool_id
            where ur.user_id = $1 and t.slug = $2
                and not exists (
                    select 1 from assistants as a
                    where a.tool_id = t.id and a.disabled_at is not null
                )
        ) as "granted!"
        "#,
        user_id,
        slug,
    )
    .fetch_one(executor)
    .await
}
