//! Navigation server functions: the menu and landing pages for whoever asks (each sees only
//! what they may), the editor's for administrators only.

use leptos::{prelude::*, server_fn::codec::Json};

use super::types::{MenuEntry, NavEditor, NavItemForm};
use crate::error::AppError;

#[cfg(feature = "ssr")]
pub(crate) mod support {
    use studio_core::navigation::{Draft, Entry, Kind, store::NavigationError};

    use super::super::types::{MenuEntry, NavItemForm};
    use crate::error::{AppError, parse_id};

    impl From<NavigationError> for AppError {
        fn from(err: NavigationError) -> Self {
            match err {
                NavigationError::Invalid(problems) => AppError::Invalid(problems.join(" ")),
                NavigationError::NotFound => AppError::NotFound,
                err @ NavigationError::AlreadyLinked(_) => AppError::Invalid(err.to_string()),
                NavigationError::Database(err) => err.into(),
            }
        }
    }

    pub fn entry(item: Entry) -> MenuEntry {
        MenuEntry {
            id: item.id.to_string(),
            kind: item.kind.as_str().to_owned(),
            label: item.label,
            icon: item.icon,
            href: item.href,
            description: item.description,
            children: item.children.into_iter().map(entry).collect(),
        }
    }

    /// The form as core reads it; an unknown kind or a malformed id is a problem to fix.
    pub fn draft(form: NavItemForm) -> Result<Draft, AppError> {
        let kind = Kind::parse(&form.kind).ok_or_else(|| {
            AppError::Invalid(format!(
                "\u{201c}{}\u{201d} is not a kind of item.",
                form.kind
            ))
        })?;
        let parent_id = match form.parent_id.trim() {
            "" => None,
            raw => Some(parse_id(raw)?),
        };
        let optional = |raw: String| {
            let raw = raw.trim().to_owned();
            (!raw.is_empty()).then_some(raw)
        };
        Ok(Draft {
            parent_id,
            kind,
            label: form.label,
            icon: form.icon,
            href: (kind == Kind::Link).then_some(form.href),
            description: form.description,
            tool: optional(form.tool),
            roles: form.roles,
            hidden: form.hidden,
        })
    }
}

/// The navigation the person sees (signed out: what everyone sees).
#[server(endpoint = "navigation/menu", input = Json)]
pub async fn menu_entries() -> Result<Vec<MenuEntry>, AppError> {
    use studio_core::navigation::store;
    let user = crate::auth::ssr::authenticated().map(|session| session.user.user_id);
    let state = expect_context::<crate::ssr::AppState>();
    Ok(store::menu_for(&state.pool, user)
        .await?
        .into_iter()
        .map(support::entry)
        .collect())
}

/// Landing page `id` with its links, when the person may see it.
#[server(endpoint = "navigation/page", input = Json)]
pub async fn open_landing_page(id: String) -> Result<MenuEntry, AppError> {
    use studio_core::navigation::store;
    let user = crate::auth::ssr::require_user_id()?;
    let state = expect_context::<crate::ssr::AppState>();
    let id = crate::error::parse_id(&id)?;
    store::page(&state.pool, Some(user), id)
        .await?
        .map(support::entry)
        .ok_or(AppError::NotFound)
}

/// Every item with the editor's choices.
#[server(endpoint = "admin/navigation/list", input = Json)]
pub async fn navigation_editor() -> Result<NavEditor, AppError> {
    use studio_core::{accounts::admin, navigation};

    use super::types::{Named, NavItemRow};
    crate::admin::api::support::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let items = navigation::store::all(&state.pool).await?;
    // Each top-level item followed by what it holds, as the editor shows them.
    let mut ordered = Vec::with_capacity(items.len());
    for top in items.iter().filter(|i| i.parent_id.is_none()) {
        ordered.push(top);
        ordered.extend(items.iter().filter(|i| i.parent_id == Some(top.id)));
    }
    let row = |item: &navigation::Item| NavItemRow {
        id: item.id.to_string(),
        parent_id: item.parent_id.map(|p| p.to_string()),
        form: NavItemForm {
            parent_id: item.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            kind: item.kind.as_str().to_owned(),
            label: item.label.clone(),
            icon: item.icon.clone(),
            href: item.href.clone().unwrap_or_default(),
            description: item.description.clone(),
            tool: item.tool.clone().unwrap_or_default(),
            roles: item.roles.clone(),
            hidden: item.hidden,
        },
    };
    Ok(NavEditor {
        items: ordered.into_iter().map(row).collect(),
        icons: navigation::ICONS.iter().map(|&i| i.to_owned()).collect(),
        tools: admin::list_tools(&state.pool)
            .await?
            .into_iter()
            .map(|t| Named {
                value: t.slug,
                label: t.name,
            })
            .collect(),
        roles: admin::list_roles(&state.pool)
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect(),
    })
}

/// Saves item `id` (a new one with `None`); answers its id.
#[server(endpoint = "admin/navigation/save", input = Json)]
pub async fn save_navigation_item(
    id: Option<String>,
    item: NavItemForm,
) -> Result<String, AppError> {
    use studio_core::navigation::store;

    use crate::admin::api::support as admin;
    let by = admin::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let draft = support::draft(item)?;
    match id {
        Some(raw) => {
            let id = crate::error::parse_id(&raw)?;
            store::update(&state.pool, admin::actor(&by), id, &draft).await?;
            Ok(id.to_string())
        }
        None => Ok(store::create(&state.pool, admin::actor(&by), &draft)
            .await?
            .to_string()),
    }
}

/// Puts the items under `parent` (the top level: `None`) in the order of `order`.
#[server(endpoint = "admin/navigation/reorder", input = Json)]
pub async fn reorder_navigation(
    parent: Option<String>,
    order: Vec<String>,
) -> Result<(), AppError> {
    use studio_core::navigation::store;

    use crate::{admin::api::support as admin, error::parse_id};
    let by = admin::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let parent = parent.as_deref().map(parse_id).transpose()?;
    let order = order
        .iter()
        .map(|raw| parse_id(raw))
        .collect::<Result<Vec<_>, _>>()?;
    store::reorder(&state.pool, admin::actor(&by), parent, &order).await?;
    Ok(())
}

/// Removes item `id` and what it holds.
#[server(endpoint = "admin/navigation/delete", input = Json)]
pub async fn delete_navigation_item(id: String) -> Result<(), AppError> {
    use studio_core::navigation::store;

    use crate::admin::api::support as admin;
    let by = admin::admin().await?;
    let state = expect_context::<crate::ssr::AppState>();
    store::delete(&state.pool, admin::actor(&by), crate::error::parse_id(&id)?).await?;
    Ok(())
}
