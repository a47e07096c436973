//! The error every server function returns.
//!
//! Variants say what the user can do about a failure. Causes stay on the server:
//! they are logged where they are converted into `Internal`, and never sent.

use leptos::server_fn::{
    Encodes,
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("please sign in")]
    Unauthenticated,
    #[error("you don't have access to this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// Input the user can correct. The text is shown next to the form.
    #[error("{0}")]
    Invalid(String),
    /// Too many requests, or the server is busy: the text says when to try again, and the
    /// response carries `Retry-After`.
    #[error("{message}")]
    TooMany {
        message: String,
        retry_after_secs: u64,
    },
    #[error("something went wrong on our side")]
    Internal,
    /// The call itself failed: network, argument decoding, or an unreadable response.
    #[error("request failed: {0}")]
    Request(String),
}

impl AppError {
    /// What to tell the person whose action failed: a sentence about what happened and what
    /// to do, never a library's text.
    pub fn for_person(&self) -> String {
        match self {
            Self::Invalid(message) | Self::TooMany { message, .. } => message.clone(),
            Self::Unauthenticated => "You are signed out. Sign in again and retry.".into(),
            Self::Forbidden => "You do not have access to this.".into(),
            Self::NotFound => "That is no longer there. Reload the page to see what is.".into(),
            Self::Internal => "Something went wrong on our side. Try again in a moment.".into(),
            Self::Request(_) => {
                "The server could not be reached. Check the connection and try again.".into()
            }
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(err: ServerFnErrorErr) -> Self {
        Self::Request(err.to_string())
    }

    /// The error as the body of the server function's answer, and, on the server, the status
    /// it means (and `Retry-After` when it says to wait): a bad form is a client error to logs,
    /// metrics and clients, not an outage.
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(self.status());
            if let Self::TooMany {
                retry_after_secs, ..
            } = self
            {
                response.insert_header(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from(*retry_after_secs),
                );
            }
        }
        <Self::Encoder as Encodes<Self>>::encode(self).unwrap_or_else(|err| {
            let failed =
                Self::from_server_fn_error(ServerFnErrorErr::Serialization(err.to_string()));
            <Self::Encoder as Encodes<Self>>::encode(&failed)
                .expect("a request error always serializes")
        })
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// The HTTP status this error means.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Invalid(_) | Self::Request(_) => StatusCode::BAD_REQUEST,
            Self::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// The error as a route's plain-text answer: its status, `Retry-After` when it says to
    /// wait, and what to tell the person followed by `then` (what they can do next).
    pub fn route_answer(&self, then: &str) -> axum::response::Response {
        use axum::response::IntoResponse;
        let text = match then {
            "" => self.for_person(),
            then => format!("{} {then}", self.for_person()),
        };
        let mut response = (self.status(), text).into_response();
        if let Self::TooMany {
            retry_after_secs, ..
        } = self
        {
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(*retry_after_secs),
            );
        }
        response
    }
}

/// An id from the wire. One that is not an id names nothing, so it is answered as an unknown
/// one is: not found, in every server function and route alike.
#[cfg(feature = "ssr")]
pub fn parse_id(raw: &str) -> Result<uuid::Uuid, AppError> {
    raw.trim().parse().map_err(|_| AppError::NotFound)
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => Self::NotFound,
            err => {
                tracing::error!(error = %err, "database query failed");
                Self::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<studio_core::limits::TooMany> for AppError {
    fn from(refusal: studio_core::limits::TooMany) -> Self {
        Self::too_many("Too many requests", refusal.retry_after)
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// `what` ("Too many sign-up attempts from your network") and when to try again.
    pub fn too_many(what: &str, retry_after: std::time::Duration) -> Self {
        let secs = retry_after.as_secs().max(1) + u64::from(retry_after.subsec_nanos() > 0);
        let when = if secs < 90 {
            format!("{secs} seconds")
        } else {
            format!("{} minutes", secs.div_ceil(60))
        };
        Self::TooMany {
            message: format!("{what}. Try again in {when}."),
            retry_after_secs: secs,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        tracing::error!(error = ?err, "unexpected failure");
        Self::Internal
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use http::StatusCode;

    use super::AppError;

    #[test]
    fn the_callers_mistakes_are_client_errors() {
        let cases = [
            (AppError::Invalid("x".into()), StatusCode::BAD_REQUEST),
            (AppError::Request("x".into()), StatusCode::BAD_REQUEST),
            (AppError::Unauthenticated, StatusCode::UNAUTHORIZED),
            (AppError::Forbidden, StatusCode::FORBIDDEN),
            (AppError::NotFound, StatusCode::NOT_FOUND),
            (
                AppError::too_many("Slow down", std::time::Duration::from_secs(3)),
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (AppError::Internal, StatusCode::INTERNAL_SERVER_ERROR),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error:?}");
        }
    }
}

#[cfg(test)]
mod person_tests {
    use super::*;

    #[test]
    fn every_failure_reads_as_a_sentence_without_a_librarys_words() {
        let failures = [
            AppError::Unauthenticated,
            AppError::Forbidden,
            AppError::NotFound,
            AppError::Invalid("The name is too long.".into()),
            AppError::TooMany {
                message: "Too many requests. Try again in 5 seconds.".into(),
                retry_after_secs: 5,
            },
            AppError::Internal,
            AppError::Request(
                "error reaching server to call server function: TypeError: Failed to fetch".into(),
            ),
        ];
        for failure in failures {
            let text = failure.for_person();
            assert!(text.ends_with('.'), "{text}");
            assert!(text.starts_with(char::is_uppercase), "{text}");
            for jargon in ["request failed", "TypeError", "server function", "fetch"] {
                assert!(!text.contains(jargon), "{text}");
            }
        }
    }
}
