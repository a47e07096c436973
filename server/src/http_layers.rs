//! Cross-cutting HTTP behaviour: request ids, tracing, panics, security headers, caching and
//! compression, applied to every route.

use axum::{
    Router,
    extract::Request,
    http::{HeaderName, HeaderValue, header},
    middleware::{self, Next},
    response::Response,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

/// The request id header, read from trusted proxies and always returned.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The policy for responses that do not set their own (pages set a nonce-based one).
const DEFAULT_CSP: &str = "default-src 'self'; object-src 'none'; base-uri 'self'; \
                           form-action 'self'; frame-ancestors 'none'";

/// Wraps `router` in the shared layers. The first layer listed sees the request first.
pub fn apply(router: Router) -> Router {
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    router.layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(drop_bad_request_id))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(request_span))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(CatchPanicLayer::custom(|_| internal_error()))
            .layer(middleware::from_fn(crate::metrics::track))
            .layer(header(header::CONTENT_SECURITY_POLICY, DEFAULT_CSP))
            .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(header(header::X_FRAME_OPTIONS, "DENY"))
            .layer(header(
                header::REFERRER_POLICY,
                "strict-origin-when-cross-origin",
            ))
            .layer(header(
                HeaderName::from_static("permissions-policy"),
                "camera=(), geolocation=(), payment=(), usb=(), microphone=(self)",
            ))
            .layer(header(
                HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin",
            ))
            .layer(middleware::from_fn(cache_control))
            .layer(CompressionLayer::new()),
    )
}

/// A client-sent request id is kept only if it is short and printable; otherwise we mint one.
async fn drop_bad_request_id(mut request: Request, next: Next) -> Response {
    let acceptable = request.headers().get(&REQUEST_ID).is_none_or(|id| {
        id.len() <= 128
            && id
                .as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if !acceptable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    next.run(request).await
}

fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("", |path| path.as_str());
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id,
    )
}

/// Content-hashed bundles are cached for a year; anything else is revalidated on every use.
async fn cache_control(request: Request, next: Next) -> Response {
    let hashed_bundle = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    let is_success = response.status().is_success();
    let headers = response.headers_mut();
    if hashed_bundle && is_success {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    } else if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

fn internal_error() -> Response {
    let mut response = Response::new(axum::body::Body::from("something went wrong on our side"));
    *response.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
