//! Accounts and access: users, passwords, server-side sessions, roles and the tools they grant,
//! sign-in throttling, the settings that govern sign-up, verified addresses and the links
//! that verify them (sign-up, password reset, invitations, the first administrator's setup).
//!
//! The one authorization question every page, server function and route asks is
//! [`access::has_tool`] (through the server's `require_tool`).

pub mod access;
pub mod admin;
mod config;
pub mod invitations;
pub mod oidc;
pub mod password;
pub mod provision;
pub mod recovery;
pub mod sessions;
pub mod setup;
pub mod sign_in;
pub mod sign_up;
pub mod tokens;
pub mod users;
pub mod verification;

pub use config::{AccountsConfig, Verification};

#[cfg(test)]
mod tests;
