//! Server-side plumbing shared by pages and server functions: the application state.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use studio_core::{
    accounts::{AccountsConfig, oidc::Oidc},
    chat::live::Generations,
    llm::registry::Registry,
};
use tokio_util::sync::CancellationToken;

/// What every request handler and server function can reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub accounts: AccountsConfig,
    /// The configured OpenID Connect providers (none in the embedded default).
    pub oidc: Arc<Oidc>,
    /// Clients for the catalogue's AI providers.
    pub llm: Arc<Registry>,
    /// Replies being written.
    pub generations: Arc<Generations>,
    /// Cancelled when the server shuts down: replies being written stop and are saved.
    pub shutdown: CancellationToken,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
