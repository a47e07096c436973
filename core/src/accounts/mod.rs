//! Accounts and access: users, passwords, server-side sessions, roles and the tools they grant,
//! sign-in rate limits, and the settings that govern sign-up.
//!
//! The one authorization question every page, server function and route asks is
//! [`access::has_tool`] (through the server's `require_tool`).

pub mod access;
pub mod admin;
mod config;
pub mod oidc;
pub mod password;
pub mod provision;
pub mod sessions;
pub mod sign_in;
pub mod users;

pub use config::AccountsConfig;

#[cfg(test)]
mod tests;
