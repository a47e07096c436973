//! An approved assistant in the navigation: a link to its run form at the top of the sidebar
//! or in a section or landing page, shown only to the people its tool is granted to (the link
//! follows the grant: a role that loses the assistant loses the link).

use sqlx::PgPool;
use uuid::Uuid;

use super::store::AssistantError;
use crate::{
    accounts::admin::Actor,
    navigation::{
        self, Draft, Kind, MAX_DESCRIPTION_CHARS, MAX_LABEL_CHARS,
        store::{self as nav, NavigationError},
    },
};

/// Where an assistant's link can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// `None`: the top of the sidebar.
    pub parent: Option<Uuid>,
    /// "The sidebar", "Section Mathematics", "Page Year 7".
    pub name: String,
    /// Whether a link to the assistant is there already.
    pub holds_it: bool,
}

/// The address of assistant `id`'s run form.
pub fn href(id: Uuid) -> String {
    format!("/assistants/{id}")
}

/// `text` cut to `max` characters, an ellipsis marking the cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max - 1).collect();
        short.push('\u{2026}');
        short
    }
}

/// The places a link to assistant `id` can go: the top of the sidebar, then each section and
/// landing page at the top, in the navigation's order. None while it has no approved version
/// or is disabled.
pub async fn places(pool: &PgPool, id: Uuid) -> sqlx::Result<Vec<Place>> {
    let runs: bool = sqlx::query_scalar!(
        r#"
        select exists (
            select 1 from assistants
            where id = $1 and approved_version_id is not null and disabled_at is null
        ) as "runs!"
        "#,
        id
    )
    .fetch_one(pool)
    .await?;
    if !runs {
        return Ok(Vec::new());
    }
    let items = nav::all(pool).await?;
    let target = href(id);
    let mut places = vec![Place {
        parent: None,
        name: navigation::place_name(None),
        holds_it: navigation::holds_link(&items, None, &target),
    }];
    places.extend(
        items
            .iter()
            .filter(|i| i.parent_id.is_none() && i.kind.holds_items())
            .map(|i| Place {
                parent: Some(i.id),
                name: navigation::place_name(Some(i)),
                holds_it: navigation::holds_link(&items, Some(i.id), &target),
            }),
    );
    Ok(places)
}

/// Adds a link to approved assistant `id` in `parent` (`None`: the top of the sidebar), with
/// its name, icon and description, shown to the holders of its tool, unless `parent` links to
/// it already (two clicks at once add one link). Audited as any change of the navigation.
/// Returns the link's id.
pub async fn place(
    pool: &PgPool,
    actor: Actor<'_>,
    id: Uuid,
    parent: Option<Uuid>,
) -> Result<Uuid, AssistantError> {
    let approved = sqlx::query!(
        r#"
        select v.name, v.description, v.icon, t.slug
        from assistants as a
        join assistant_versions as v on v.id = a.approved_version_id
        join tools as t on t.id = a.tool_id
        where a.id = $1 and a.disabled_at is null
        "#,
        id
    )
    .fetch_optional(pool)
    .await?;
    let Some(approved) = approved else {
        let exists: bool = sqlx::query_scalar!(
            r#"select exists (select 1 from assistants where id = $1) as "exists!""#,
            id
        )
        .fetch_one(pool)
        .await?;
        return Err(if exists {
            AssistantError::State(
                "Only an approved assistant that is not disabled goes in the navigation.".into(),
            )
        } else {
            AssistantError::NotFound
        });
    };
    let icon = if navigation::ICONS.contains(&approved.icon.as_str()) {
        approved.icon
    } else {
        "sparkles".to_owned()
    };
    let draft = Draft {
        parent_id: parent,
        kind: Kind::Link,
        label: cut(approved.name.trim(), MAX_LABEL_CHARS),
        icon,
        href: Some(href(id)),
        description: cut(approved.description.trim(), MAX_DESCRIPTION_CHARS),
        tool: Some(approved.slug),
        roles: Vec::new(),
        hidden: false,
    };
    nav::create_once(pool, actor, &draft)
        .await
        .map_err(|err| match err {
            NavigationError::Invalid(problems) => AssistantError::Invalid(problems),
            NavigationError::NotFound => AssistantError::NotFound,
            NavigationError::AlreadyLinked(place) => {
                AssistantError::State(format!("{place} already links to it."))
            }
            NavigationError::Database(err) => AssistantError::Database(err),
        })
}
