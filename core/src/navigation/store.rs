//! The navigation in the database: what a person sees, and the administrators' changes, each
//! checked whole (every problem named) and audited.

use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::{
    Draft, Entry, ICONS, Item, Kind, MAX_DESCRIPTION_CHARS, MAX_ITEMS, MAX_LABEL_CHARS, holds_link,
    menu, place_name,
};
use crate::{
    accounts::{access, admin::Actor},
    audit,
};

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum NavigationError {
    /// What to change, each problem in its own sentence.
    #[error("{}", .0.join(" "))]
    Invalid(Vec<String>),
    /// No such item.
    #[error("not found")]
    NotFound,
    /// The place (named as [`place_name`] names it) already links to that address.
    #[error("{0} already links there.")]
    AlreadyLinked(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Every item, hidden ones included, in order within each parent (for the editor).
pub async fn all(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<Item>> {
    let rows = sqlx::query!(
        r#"
        select id, parent_id, kind, label, icon, href, description, tool, roles, position, hidden
        from navigation_items
        order by parent_id nulls first, position, lower(label)
        "#
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Item {
            id: r.id,
            parent_id: r.parent_id,
            kind: Kind::parse(&r.kind).unwrap_or(Kind::Link),
            label: r.label,
            icon: r.icon,
            href: r.href,
            description: r.description,
            tool: r.tool,
            roles: r.roles,
            position: r.position,
            hidden: r.hidden,
        })
        .collect())
}

/// The navigation `user` sees (signed out: `None`, what everyone sees).
pub async fn menu_for(pool: &PgPool, user: Option<Uuid>) -> sqlx::Result<Vec<Entry>> {
    let grants = match user {
        Some(user) => Some(access::grants(pool, user).await?),
        None => None,
    };
    Ok(menu(&all(pool).await?, grants.as_ref()))
}

/// Landing page `id` with the links under it, when `user` may see it.
pub async fn page(pool: &PgPool, user: Option<Uuid>, id: Uuid) -> sqlx::Result<Option<Entry>> {
    let menu = menu_for(pool, user).await?;
    Ok(find(menu, id).filter(|entry| entry.kind == Kind::Page))
}

fn find(entries: Vec<Entry>, id: Uuid) -> Option<Entry> {
    entries.into_iter().find_map(|entry| {
        if entry.id == id {
            Some(entry)
        } else {
            find(entry.children, id)
        }
    })
}

/// Adds an item at the end of its parent's list. Returns its id.
pub async fn create(
    pool: &PgPool,
    actor: Actor<'_>,
    draft: &Draft,
) -> Result<Uuid, NavigationError> {
    insert(pool, actor, draft, false).await
}

/// Adds link `draft` like [`create`], unless its place already links to the same address
/// ([`NavigationError::AlreadyLinked`]). Two of these at once add one link.
pub async fn create_once(
    pool: &PgPool,
    actor: Actor<'_>,
    draft: &Draft,
) -> Result<Uuid, NavigationError> {
    insert(pool, actor, draft, true).await
}

/// Makes the other changes of the navigation wait until `tx` ends, so that what a change
/// checks against (the count, what a place holds) is still so when it writes. Reading goes on.
async fn lock(tx: &mut sqlx::PgConnection) -> sqlx::Result<()> {
    sqlx::query!("select pg_advisory_xact_lock(hashtext('navigation.change'))")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn insert(
    pool: &PgPool,
    actor: Actor<'_>,
    draft: &Draft,
    once: bool,
) -> Result<Uuid, NavigationError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let items = all(&mut *tx).await?;
    if once
        && draft.kind == Kind::Link
        && let Some(href) = draft.href.as_deref()
        && holds_link(&items, draft.parent_id, href.trim())
    {
        let parent = draft
            .parent_id
            .and_then(|parent| items.iter().find(|i| i.id == parent));
        return Err(NavigationError::AlreadyLinked(place_name(parent)));
    }
    if items.len() >= MAX_ITEMS {
        return Err(NavigationError::Invalid(vec![format!(
            "The navigation holds at most {MAX_ITEMS} items; remove one first."
        )]));
    }
    let draft = check(&mut tx, &items, None, draft).await?;
    let id = sqlx::query_scalar!(
        r#"
        insert into navigation_items
            (parent_id, kind, label, icon, href, description, tool, roles, hidden, position)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                coalesce((select max(position) from navigation_items
                          where parent_id is not distinct from $1), 0) + 10)
        returning id
        "#,
        draft.parent_id,
        draft.kind.as_str(),
        draft.label,
        draft.icon,
        draft.href,
        draft.description,
        draft.tool,
        &draft.roles,
        draft.hidden,
    )
    .fetch_one(&mut *tx)
    .await?;
    record(
        &mut tx,
        actor,
        "admin.navigation.created",
        Some(id),
        None,
        serde_json::to_value(&draft).ok(),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Replaces item `id` with `draft`; moved to another parent, it goes to that list's end.
pub async fn update(
    pool: &PgPool,
    actor: Actor<'_>,
    id: Uuid,
    draft: &Draft,
) -> Result<(), NavigationError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let items = all(&mut *tx).await?;
    let before = items
        .iter()
        .find(|i| i.id == id)
        .cloned()
        .ok_or(NavigationError::NotFound)?;
    let draft = check(&mut tx, &items, Some(&before), draft).await?;
    sqlx::query!(
        r#"
        update navigation_items
        set parent_id = $2, kind = $3, label = $4, icon = $5, href = $6, description = $7,
            tool = $8, roles = $9, hidden = $10, updated_at = now(),
            position = case when parent_id is not distinct from $2 then position
                            else coalesce((select max(position) from navigation_items
                                           where parent_id is not distinct from $2), 0) + 10
                       end
        where id = $1
        "#,
        id,
        draft.parent_id,
        draft.kind.as_str(),
        draft.label,
        draft.icon,
        draft.href,
        draft.description,
        draft.tool,
        &draft.roles,
        draft.hidden,
    )
    .execute(&mut *tx)
    .await?;
    record(
        &mut tx,
        actor,
        "admin.navigation.changed",
        Some(id),
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&draft).ok(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Puts the items under `parent` (the top level: `None`) in the order of `order`, which
/// names each of them once.
pub async fn reorder(
    pool: &PgPool,
    actor: Actor<'_>,
    parent: Option<Uuid>,
    order: &[Uuid],
) -> Result<(), NavigationError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let mut siblings: Vec<Uuid> = sqlx::query_scalar!(
        "select id from navigation_items where parent_id is not distinct from $1 for update",
        parent
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut given = order.to_vec();
    siblings.sort();
    given.sort();
    if siblings != given {
        return Err(NavigationError::Invalid(vec![
            "The navigation changed meanwhile; reload the page and order it again.".into(),
        ]));
    }
    sqlx::query!(
        r#"
        update navigation_items as n
        set position = o.at::int * 10, updated_at = now()
        from unnest($1::uuid[]) with ordinality as o(id, at)
        where n.id = o.id
        "#,
        order
    )
    .execute(&mut *tx)
    .await?;
    record(
        &mut tx,
        actor,
        "admin.navigation.reordered",
        parent,
        None,
        Some(serde_json::json!({ "order": order })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes item `id` and what it holds.
pub async fn delete(pool: &PgPool, actor: Actor<'_>, id: Uuid) -> Result<(), NavigationError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let before = item(&mut *tx, id).await?.ok_or(NavigationError::NotFound)?;
    sqlx::query!("delete from navigation_items where id = $1", id)
        .execute(&mut *tx)
        .await?;
    record(
        &mut tx,
        actor,
        "admin.navigation.deleted",
        Some(id),
        serde_json::to_value(&before).ok(),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Writes change `action` of item `id` to the audit log.
async fn record(
    tx: &mut sqlx::PgConnection,
    actor: Actor<'_>,
    action: &str,
    id: Option<Uuid>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> sqlx::Result<()> {
    audit::record(
        tx,
        audit::Event {
            actor_user_id: Some(actor.user_id),
            action,
            target_type: Some("navigation_item"),
            target_id: id.map(|id| id.to_string()),
            before,
            after,
            ip: actor.ip,
        },
    )
    .await
}

async fn item(executor: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Item>> {
    Ok(all(executor).await?.into_iter().find(|i| i.id == id))
}

/// The draft, trimmed, once everything in it is right (`current`: the item it replaces).
async fn check(
    tx: &mut sqlx::PgConnection,
    // Every item as it is now.
    items: &[Item],
    current: Option<&Item>,
    draft: &Draft,
) -> Result<Draft, NavigationError> {
    let mut problems = Vec::new();
    let label = draft.label.trim().to_owned();
    if label.is_empty() {
        problems.push("Give the item a label.".to_owned());
    } else if label.chars().count() > MAX_LABEL_CHARS {
        problems.push(format!("A label has at most {MAX_LABEL_CHARS} characters."));
    }
    if !ICONS.contains(&draft.icon.as_str()) {
        problems.push(format!(
            "\u{201c}{}\u{201d} is not one of the icons.",
            draft.icon
        ));
    }
    let description = draft.description.trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        problems.push(format!(
            "A description has at most {MAX_DESCRIPTION_CHARS} characters."
        ));
    }
    let href = match draft.kind {
        Kind::Link => match super::check_href(draft.href.as_deref().unwrap_or_default()) {
            Ok(href) => Some(href),
            Err(problem) => {
                problems.push(problem);
                None
            }
        },
        Kind::Section | Kind::Page => None,
    };

    // Two levels: a parent is a section or a page at the top, never the item itself.
    if let Some(parent) = draft.parent_id {
        match items.iter().find(|i| i.id == parent) {
            None => problems.push("The section or page to put it in no longer exists.".into()),
            Some(p) if !p.kind.holds_items() => {
                problems.push(format!("\u{201c}{}\u{201d} is a link; it cannot hold items.", p.label));
            }
            Some(p) if p.parent_id.is_some() => problems.push(format!(
                "\u{201c}{}\u{201d} is itself inside another; put the item at the top or in a top-level section or page.",
                p.label
            )),
            Some(_) if current.is_some_and(|c| c.id == parent) => {
                problems.push("An item cannot hold itself.".into());
            }
            Some(_) => {}
        }
    }
    if let Some(current) = current {
        let holds = items.iter().any(|i| i.parent_id == Some(current.id));
        if holds && draft.kind == Kind::Link {
            problems.push(format!(
                "\u{201c}{}\u{201d} holds items: move or remove them before making it a link.",
                current.label
            ));
        }
        if holds && draft.parent_id.is_some() {
            problems.push(format!(
                "\u{201c}{}\u{201d} holds items, so it stays at the top.",
                current.label
            ));
        }
    }

    let tool = draft
        .tool
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    if let Some(tool) = &tool {
        let known: bool = sqlx::query_scalar!(
            r#"select exists (select 1 from tools where slug = $1) as "known!""#,
            tool
        )
        .fetch_one(&mut *tx)
        .await?;
        if !known {
            problems.push(format!("\u{201c}{tool}\u{201d} is not a tool."));
        }
    }
    let mut roles: Vec<String> = draft.roles.iter().map(|r| r.trim().to_owned()).collect();
    roles.sort();
    roles.dedup();
    let known: Vec<String> =
        sqlx::query_scalar!("select name from roles where name = any($1)", &roles)
            .fetch_all(&mut *tx)
            .await?;
    for role in roles.iter().filter(|r| !known.contains(r)) {
        problems.push(format!("\u{201c}{role}\u{201d} is not a role."));
    }

    if problems.is_empty() {
        Ok(Draft {
            parent_id: draft.parent_id,
            kind: draft.kind,
            label,
            icon: draft.icon.clone(),
            href,
            description,
            tool,
            roles,
            hidden: draft.hidden,
        })
    } else {
        Err(NavigationError::Invalid(problems))
    }
}
