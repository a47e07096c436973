//! What the navigation's server functions send and receive.

use serde::{Deserialize, Serialize};

/// One entry of the navigation as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuEntry {
    pub id: String,
    /// `link`, `section` or `page`.
    pub kind: String,
    pub label: String,
    pub icon: String,
    /// Where it leads (none for a section).
    pub href: Option<String>,
    pub description: String,
    pub children: Vec<MenuEntry>,
}

impl MenuEntry {
    pub fn is_section(&self) -> bool {
        self.kind == "section"
    }
}

/// One item in the editor, hidden or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavItemRow {
    pub id: String,
    pub parent_id: Option<String>,
    pub form: NavItemForm,
}

/// An item as the editor's form holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavItemForm {
    /// The section or page it is in; empty at the top.
    pub parent_id: String,
    /// `link`, `section` or `page`.
    pub kind: String,
    pub label: String,
    pub icon: String,
    /// A link's address.
    pub href: String,
    pub description: String,
    /// The tool it needs (a slug); empty for none.
    pub tool: String,
    /// The roles it is shown to; empty for everyone.
    pub roles: Vec<String>,
    pub hidden: bool,
}

/// A choice with a value and what it reads as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub value: String,
    pub label: String,
}

/// The editor: every item (each parent followed by what it holds, in order) and the choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavEditor {
    pub items: Vec<NavItemRow>,
    pub icons: Vec<String>,
    pub tools: Vec<Named>,
    pub roles: Vec<String>,
}
