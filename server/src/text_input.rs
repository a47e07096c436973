//! Bodies sent to server functions, checked before any function runs: every body is bounded
//! (small for visitors who are not signed in; the framework itself would read any size), and
//! form or JSON text containing the NUL character is refused with a message, since Postgres
//! cannot store it in `text` and nobody types it on purpose.
//!
//! One check here covers every server function, present and future, whatever field the NUL
//! is in (a title, a search, a name, a message).

use std::{collections::HashSet, sync::Arc};

use app::{auth::ssr::Authenticated, error::AppError};
use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The paths of every registered server function (uploads and streams under `/api/` are
/// plain routes with limits of their own, and are not touched here).
#[derive(Debug, Clone)]
pub struct ServerFunctions(Arc<HashSet<String>>);

impl ServerFunctions {
    pub fn registered() -> Self {
        Self(Arc::new(
            leptos::server_fn::axum::server_fn_paths()
                .map(|(path, _)| path.to_owned())
                .collect(),
        ))
    }
}

/// The largest server-function body from a signed-in user (a text item of a million
/// characters, URL-encoded, fits).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The largest from anyone else: sign-in and sign-up forms are a few hundred bytes.
pub const MAX_ANONYMOUS_BODY_BYTES: usize = 64 * 1024;

pub async fn check(
    State(functions): State<ServerFunctions>,
    request: Request,
    next: Next,
) -> Response {
    if !functions.0.contains(request.uri().path()) {
        return next.run(request).await;
    }
    let kind = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let encoding = match kind.as_deref() {
        Some("application/x-www-form-urlencoded") => Encoding::Form,
        Some("application/json") => Encoding::Json,
        // Still bounded: the framework reads any body whole, without a limit of its own.
        _ => Encoding::None,
    };
    if request
        .uri()
        .query()
        .is_some_and(|q| form_has_nul(q.as_bytes()))
    {
        return refuse();
    }
    let limit = if request.extensions().get::<Authenticated>().is_some() {
        MAX_BODY_BYTES
    } else {
        MAX_ANONYMOUS_BODY_BYTES
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, limit).await else {
        let size = if limit >= 1024 * 1024 {
            format!("{} MB", limit / (1024 * 1024))
        } else {
            format!("{} KB", limit / 1024)
        };
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(AppError::Invalid(format!(
                "That is more than {size} of text."
            ))),
        )
            .into_response();
    };
    let has_nul = match encoding {
        Encoding::Form => form_has_nul(&bytes),
        Encoding::Json => json_has_nul(&bytes),
        Encoding::None => false,
    };
    if has_nul {
        return refuse();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Form,
    Json,
    None,
}

fn refuse() -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(AppError::Invalid(
            "Text cannot contain the NUL character (U+0000). Remove it and try again.".into(),
        )),
    )
        .into_response()
}

/// Whether a URL-encoded form decodes to text holding a NUL. NUL can only arrive escaped
/// (`%00`) or raw.
fn form_has_nul(bytes: &[u8]) -> bool {
    if !bytes.contains(&0) && !contains_ignoring_case(bytes, b"%00") {
        return false;
    }
    url::form_urlencoded::parse(bytes).any(|(k, v)| k.contains('\0') || v.contains('\0'))
}

/// Whether a JSON document holds a string with a NUL. The quick scan looks for the escape
/// (`\u0000`); only then is the document parsed, so `"\\u0000"` (a backslash, then text)
/// is told apart from the real thing.
fn json_has_nul(bytes: &[u8]) -> bool {
    if !bytes.contains(&0) && !contains_ignoring_case(bytes, b"\\u0000") {
        return false;
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => value_has_nul(&value),
        // Unreadable JSON is refused by the function itself.
        Err(_) => false,
    }
}

fn value_has_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(value_has_nul),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains('\0') || value_has_nul(v)),
        _ => false,
    }
}

fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_in_forms_however_it_is_written() {
        assert!(form_has_nul(b"title=a%00b"));
        assert!(form_has_nul(b"a=1&name%00=x"));
        assert!(form_has_nul(b"title=a\0b"));
        assert!(!form_has_nul(b"title=a%2500b"), "a literal %00 is text");
        assert!(!form_has_nul(b"title=plain+text"));
    }

    #[test]
    fn nul_is_found_in_json_strings_and_keys_only() {
        assert!(json_has_nul(br#"{"title":"a\u0000b"}"#));
        assert!(
            !json_has_nul(br#"{"list":[{"x":"\U0000"}]}"#),
            "not JSON: the function refuses it"
        );
        assert!(json_has_nul(br#"{"a\u0000":1}"#));
        assert!(json_has_nul(br#"[["\u0000"]]"#));
        assert!(!json_has_nul(br#"{"code":"printf(\"\\u0000\")"}"#));
        assert!(!json_has_nul(br#"{"n":0}"#));
    }
}
