//! The server-only backend of AI Studio: configuration shared by the binaries, the database
//! pool and migrations, the job queue every pipeline runs on, accounts, and the adapters to
//! AI providers.
//!
//! Nothing here is compiled into the browser bundle; `app` reaches it only with `ssr`.

pub mod accounts;
pub mod assistants;
pub mod audit;
pub mod chat;
pub mod db;
pub mod job_admin;
pub mod knowledge;
pub mod limits;
pub mod llm;
pub mod mail;
pub mod models;
pub mod navigation;
pub mod notifications;
pub mod quota;
pub mod schedules;
pub mod secrets;
pub mod shutdown;
pub mod telemetry;
#[cfg(test)]
mod test_support;
pub mod usage;

/// The schema migrations in `core/migrations`, applied by the server at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
