//! Server-side plumbing shared by pages and server functions: the application state and the
//! Content-Security-Policy of rendered pages.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use studio_core::accounts::AccountsConfig;

/// What every request handler and server function can reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub accounts: AccountsConfig,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The policy for a rendered page: scripts only from us or carrying this response's nonce,
/// WASM compilation allowed, no plugins, no framing, no foreign form targets.
pub fn content_security_policy(nonce: &str, reload_port: Option<u32>) -> String {
    // cargo-leptos's live reload talks to its own websocket in development only.
    let reload = reload_port
        .map(|port| format!(" ws://127.0.0.1:{port} ws://localhost:{port}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data: blob:; font-src 'self'; \
         connect-src 'self'{reload}; worker-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_policy_allows_only_nonced_inline_scripts_and_wasm() {
        let policy = content_security_policy("abc123", None);
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("ws://"));
    }

    #[test]
    fn live_reload_socket_is_allowed_only_when_watching() {
        let policy = content_security_policy("n", Some(3001));
        assert!(policy.contains("connect-src 'self' ws://127.0.0.1:3001 ws://localhost:3001;"));
    }
}
