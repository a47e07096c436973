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

/// Where cargo-leptos's live-reload socket listens, when the server runs under `cargo leptos watch`.
#[derive(Debug, Clone, Copy)]
pub struct ReloadPort(pub Option<u32>);

pub async fn page_policy(
    axum::extract::State(reload): axum::extract::State<ReloadPort>,
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
    if is_html
        && let Ok(value) =
            HeaderValue::from_str(&app::ssr::content_security_policy(&nonce, reload.0))
    {
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
