//! What the admin pages receive from the server.

use serde::{Deserialize, Serialize};

/// A user row in the admin list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub is_disabled: bool,
    /// Until it is, the account holds no role (waiting for its link or for approval).
    pub is_verified: bool,
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
    /// Who did it: a name, or the address tried for a failed sign-in, or "Someone".
    pub actor: String,
    /// What was done, to what, in words: "changed the roles of Pat (pat@school.org)".
    pub summary: String,
    /// The action's code, the target's kind and id, and the values before and after.
    pub detail: String,
    pub ip: Option<String>,
}

/// A provider on the models page. Its key is never sent: only where one comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderView {
    pub id: String,
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub base_url: Option<String>,
    pub has_api_key: bool,
    /// Bedrock's AWS region, when set.
    pub region: Option<String>,
}

/// A provider type an admin may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderKindView {
    pub kind: String,
    pub label: String,
}

/// A model on the models page; prices are decimal strings (dollars per million tokens).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelForm {
    /// Empty for a new model.
    pub id: String,
    pub provider_id: String,
    pub model_key: String,
    pub display_name: String,
    pub description: String,
    pub supports_vision: bool,
    pub supports_tools: bool,
    pub supports_reasoning: bool,
    /// Empty when unknown.
    pub context_tokens: String,
    pub max_output_tokens: String,
    pub input_price: String,
    pub output_price: String,
    pub cached_input_price: String,
    pub is_active: bool,
    pub role_ids: Vec<String>,
}

/// A provider as edited: the key is write-only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderForm {
    /// Empty for a new provider.
    pub id: String,
    pub kind: String,
    pub name: String,
    pub base_url: String,
    /// Blank keeps the stored key.
    pub api_key: String,
    pub clear_api_key: bool,
    /// Bedrock only; blank uses the server's AWS region.
    #[serde(default)]
    pub region: String,
}

/// Everything the models page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub providers: Vec<ProviderView>,
    pub kinds: Vec<ProviderKindView>,
    pub models: Vec<ModelForm>,
    /// `(id, name)` of every role.
    pub roles: Vec<(String, String)>,
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRow {
    pub id: String,
    /// RFC 3339, for paging.
    pub at: String,
    pub when: String,
    pub to: String,
    pub kind: String,
    pub subject: String,
    /// The text body; empty once sent.
    pub body: String,
    /// queued, sent, held or failed.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}
