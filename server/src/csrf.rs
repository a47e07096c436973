//! Cross-site request forgery guard: a request that can change state (anything but GET, HEAD
//! and OPTIONS) is refused unless the browser says it comes from our own origin.
//!
//! Browsers send `Origin` on every cross-origin and every non-GET request, and
//! `Sec-Fetch-Site` on all requests; neither can be set by a page's script. The session
//! cookie is also `SameSite=Lax`, so a forged cross-site POST carries no session anyway.

use axum::{
    extract::Request,
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

pub async fn same_origin_only(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || is_same_origin(request.headers()) {
        return next.run(request).await;
    }
    tracing::warn!(method = %request.method(), "refused a cross-site request");
    (StatusCode::FORBIDDEN, "cross-site request refused").into_response()
}

/// Whether the request's `Origin` names the host it was sent to, or (without `Origin`)
/// `Sec-Fetch-Site` says same-origin. A request with neither is refused.
fn is_same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let authority = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        return authority.is_some() && authority == host;
    }
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "same-origin")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn our_own_origin_is_accepted() {
        assert!(is_same_origin(&headers(&[
            ("host", "studio.example.org"),
            ("origin", "https://studio.example.org")
        ])));
        assert!(is_same_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ])));
        assert!(is_same_origin(&headers(&[
            ("host", "x"),
            ("sec-fetch-site", "same-origin")
        ])));
    }

    #[test]
    fn other_origins_and_anonymous_requests_are_refused() {
        assert!(!is_same_origin(&headers(&[
            ("host", "studio.example.org"),
            ("origin", "https://evil.example")
        ])));
        assert!(!is_same_origin(&headers(&[
            ("host", "studio.example.org"),
            ("origin", "null")
        ])));
        assert!(!is_same_origin(&headers(&[
            ("host", "studio.example.org"),
            ("origin", "https://studio.example.org.evil.example")
        ])));
        assert!(!is_same_origin(&headers(&[
            ("host", "x"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!is_same_origin(&headers(&[("host", "x")])));
    }
}
