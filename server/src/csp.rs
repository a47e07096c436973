//! The Content-Security-Policy of pages: every HTML response gets a fresh nonce, which the
//! Leptos render uses for each inline script it writes (hydration, streamed resources).
//!
//! The nonce is made here, before the page renders, and handed to Leptos through the request
//! extensions; the header is set here too, from the same value, so the two cannot disagree.

use axum::{
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// This request's nonce, for the Leptos context (see `routes::router`).
#[derive(Debug, Clone)]
pub struct PageNonce(pub String);

/// What pages may connect to beyond their own origin.
#[derive(Debug, Clone, Default)]
pub struct PagePolicy {
    /// Where cargo-leptos's live-reload socket listens, when the server runs under
    /// `cargo leptos watch`.
    pub reload_port: Option<u32>,
    /// The bucket browsers upload knowledge files to directly (S3 storage).
    pub upload_origin: Option<std::sync::Arc<str>>,
}

pub async fn page_policy(
    axum::extract::State(policy): axum::extract::State<PagePolicy>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = URL_SAFE_NO_PAD.encode(rand_bytes());
    request.extensions_mut().insert(PageNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html && let Ok(value) = HeaderValue::from_str(&content_security_policy(&nonce, &policy)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn rand_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    bytes
}

/// The policy for a rendered page: scripts only from us or carrying this response's nonce,
/// WASM compilation allowed, no plugins, no framing, no foreign form targets.
/// Connections go to us, and to the upload bucket and the live-reload socket when there are.
pub fn content_security_policy(nonce: &str, policy: &PagePolicy) -> String {
    let upload = policy
        .upload_origin
        .as_deref()
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    // cargo-leptos's live reload talks to its own websocket in development only.
    let reload = policy
        .reload_port
        .map(|port| format!(" ws://127.0.0.1:{port} ws://localhost:{port}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data: blob:; font-src 'self'; \
         connect-src 'self'{upload}{reload}; worker-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_policy_allows_only_nonced_inline_scripts_and_wasm() {
        let policy = content_security_policy("abc123", &PagePolicy::default());
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("ws://"));
    }

    #[test]
    fn live_reload_socket_is_allowed_only_when_watching() {
        let policy = content_security_policy(
            "n",
            &PagePolicy {
                reload_port: Some(3001),
                ..PagePolicy::default()
            },
        );
        assert!(policy.contains("connect-src 'self' ws://127.0.0.1:3001 ws://localhost:3001;"));
    }

    #[test]
    fn pages_may_upload_to_the_bucket_only_when_there_is_one() {
        let policy = content_security_policy(
            "n",
            &PagePolicy {
                upload_origin: Some("https://files.s3.eu-west-1.amazonaws.com".into()),
                ..PagePolicy::default()
            },
        );
        assert!(policy.contains("connect-src 'self' https://files.s3.eu-west-1.amazonaws.com;"));
        let policy = content_security_policy("n", &PagePolicy::default());
        assert!(policy.contains("connect-src 'self';"));
    }
}
