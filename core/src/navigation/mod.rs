//! The navigation as data: the sidebar's links, sections and landing pages, in the order
//! administrators give them, each shown to everyone or only to some roles or one tool.
//!
//! - [`store`]: reading the items, what one person sees ([`menu`]), and the administrators'
//!   changes (checked whole, audited).
//!
//! Two levels: a section or a landing page at the top holds links and pages; a link at the
//! top stands alone. Hidden items and items whose role or tool the person lacks are left out,
//! and so is a section left with nothing to show.

pub mod store;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::access::Grants;

/// The icons an item can show (drawn by the app).
pub const ICONS: &[&str] = &[
    "home",
    "chat",
    "sparkles",
    "clock",
    "book",
    "folder",
    "pencil",
    "letter",
    "checklist",
    "calendar",
    "lightbulb",
    "globe",
    "calculator",
    "flask",
    "music",
    "people",
    "link",
];

/// The longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 60;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest link, in characters.
pub const MAX_HREF_CHARS: usize = 500;
/// The most items in the whole navigation.
pub const MAX_ITEMS: usize = 200;

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Goes to an address.
    Link,
    /// A heading over the links under it.
    Section,
    /// A page of its own (`/page/{id}`) showing the links under it as tiles.
    Page,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Section => "section",
            Self::Page => "page",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "link" => Some(Self::Link),
            "section" => Some(Self::Section),
            "page" => Some(Self::Page),
            _ => None,
        }
    }

    /// Whether items can be put under one of this kind.
    pub fn holds_items(self) -> bool {
        !matches!(self, Self::Link)
    }
}

/// Whether a link to `href` sits directly under `parent` (`None`: the top of the sidebar).
pub fn holds_link(items: &[Item], parent: Option<Uuid>, href: &str) -> bool {
    items
        .iter()
        .any(|i| i.parent_id == parent && i.kind == Kind::Link && i.href.as_deref() == Some(href))
}

/// How a place for links is named: "The sidebar" (`None`), "Section Mathematics",
/// "Page Year 7".
pub fn place_name(parent: Option<&Item>) -> String {
    match parent {
        None => "The sidebar".to_owned(),
        Some(item) if item.kind == Kind::Page => format!("Page {}", item.label),
        Some(item) => format!("Section {}", item.label),
    }
}

/// One item as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub kind: Kind,
    pub label: String,
    pub icon: String,
    /// A link's address.
    pub href: Option<String>,
    pub description: String,
    /// Shown only to people whose roles grant this tool.
    pub tool: Option<String>,
    /// Shown only to people with one of these roles, when not empty.
    pub roles: Vec<String>,
    pub position: i32,
    pub hidden: bool,
}

impl Item {
    /// Whether someone with `grants` sees it (signed out: `None`, only what everyone sees).
    pub fn visible_to(&self, grants: Option<&Grants>) -> bool {
        if self.hidden {
            return false;
        }
        let tool_ok = match (&self.tool, grants) {
            (None, _) => true,
            (Some(tool), Some(grants)) => grants.tools.iter().any(|t| t == tool),
            (Some(_), None) => false,
        };
        let role_ok = self.roles.is_empty()
            || grants.is_some_and(|grants| grants.roles.iter().any(|r| self.roles.contains(r)));
        tool_ok && role_ok
    }

    /// Where the item leads: a link's address, a page's own page; a section nowhere.
    pub fn target(&self) -> Option<String> {
        match self.kind {
            Kind::Link => self.href.clone(),
            Kind::Page => Some(page_path(self.id)),
            Kind::Section => None,
        }
    }
}

/// A landing page's address.
pub fn page_path(id: Uuid) -> String {
    format!("/page/{id}")
}

/// One entry of the navigation as a person sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: Uuid,
    pub kind: Kind,
    pub label: String,
    pub icon: String,
    /// Where it leads (none for a section).
    pub href: Option<String>,
    pub description: String,
    /// What a section or page holds, in order.
    pub children: Vec<Entry>,
}

/// What an administrator saves: a new item, or an item's new state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub parent_id: Option<Uuid>,
    pub kind: Kind,
    pub label: String,
    pub icon: String,
    pub href: Option<String>,
    pub description: String,
    pub tool: Option<String>,
    pub roles: Vec<String>,
    pub hidden: bool,
}

/// The tree of `items` (in position order) that someone with `grants` sees. What a hidden
/// or refused item holds is never reached, so it is left out with it.
pub fn menu(items: &[Item], grants: Option<&Grants>) -> Vec<Entry> {
    let visible: Vec<&Item> = items.iter().filter(|i| i.visible_to(grants)).collect();
    entries(&visible, None)
}

fn entries(visible: &[&Item], parent: Option<Uuid>) -> Vec<Entry> {
    let mut under: Vec<&&Item> = visible.iter().filter(|i| i.parent_id == parent).collect();
    under.sort_by_key(|i| (i.position, i.label.to_lowercase()));
    under
        .into_iter()
        .filter_map(|item| {
            let children = if item.kind.holds_items() {
                entries(visible, Some(item.id))
            } else {
                Vec::new()
            };
            // A heading over nothing is noise; an empty page still says what it is for.
            if item.kind == Kind::Section && children.is_empty() {
                return None;
            }
            Some(Entry {
                id: item.id,
                kind: item.kind,
                label: item.label.clone(),
                icon: item.icon.clone(),
                href: item.target(),
                description: item.description.clone(),
                children,
            })
        })
        .collect()
}

/// Checks an address: a path of this site (`/chat`) or an `https://` / `http://` address.
/// Anything else (`javascript:`, `//host`, a relative path) is refused with a reason.
pub fn check_href(raw: &str) -> Result<String, String> {
    let href = raw.trim();
    if href.is_empty() {
        return Err("Give the link an address.".into());
    }
    if href.chars().count() > MAX_HREF_CHARS {
        return Err(format!(
            "The address is longer than {MAX_HREF_CHARS} characters."
        ));
    }
    if href.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("An address has no spaces.".into());
    }
    let site_path = href.starts_with('/') && !href.starts_with("//") && !href.starts_with("/\\");
    let web = url::Url::parse(href)
        .ok()
        .is_some_and(|url| matches!(url.scheme(), "https" | "http") && url.host().is_some());
    if site_path || web {
        Ok(href.to_owned())
    } else {
        Err(format!(
            "\u{201c}{href}\u{201d} is not an address a link can have: use a path of this site such as /chat, or an https:// address."
        ))
    }
}
