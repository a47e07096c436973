//! What the admin pages receive from the server.

use serde::{Deserialize, Serialize};

/// A user row in the admin list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub is_disabled: bool,
    pub roles: Vec<String>,
    /// Formatted for display, e.g. `2026-11-25 21:17 UTC`.
    pub last_sign_in: Option<String>,
    pub created: String,
}

/// One page of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<UserRow>,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

/// A role with the tools it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub is_system: bool,
    pub tools: Vec<String>,
    pub user_count: i64,
}

/// A tool that roles can be granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRow {
    pub slug: String,
    pub name: String,
}

/// Everything the roles page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolesOverview {
    pub roles: Vec<RoleRow>,
    pub tools: Vec<ToolRow>,
    pub local_sign_up: bool,
}

/// An audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: String,
    /// RFC 3339, for paging.
    pub at: String,
    pub when: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub ip: Option<String>,
}
