//! Administration: users (with approvals and invitations), roles and their tools, AI
//! providers and models, the audit log, sign-up settings, outgoing mail, and the background
//! jobs.
//! Every server function here starts with `require_tool("admin")`.

pub(crate) mod api;
mod audit_page;
mod jobs_page;
mod mail_page;
mod models_api;
mod models_page;
mod roles_page;
mod types;
mod user_controls;
mod users_onboarding;
mod users_page;

pub use audit_page::AdminAuditPage;
pub use jobs_page::AdminJobsPage;
pub use mail_page::AdminMailPage;
pub use models_page::AdminModelsPage;
pub use roles_page::AdminRolesPage;
pub use users_page::AdminUsersPage;
