//! Administration: users, roles and their tools, the audit log, and sign-up settings.
//! Every server function here starts with `require_tool("admin")`.

mod api;
mod audit_page;
mod roles_page;
mod types;
mod users_page;

pub use audit_page::AdminAuditPage;
pub use roles_page::AdminRolesPage;
pub use users_page::AdminUsersPage;
