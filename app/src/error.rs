//! The error every server function returns.
//!
//! Variants say what the user can do about a failure. Causes stay on the server:
//! they are logged where they are converted into `Internal`, and never sent.

use leptos::server_fn::{
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
    /// What to tell the person whose action failed: the text itself when they can correct
    /// it, otherwise that it did not work and why.
    pub fn for_person(&self) -> String {
        match self {
            Self::Invalid(message) => message.clone(),
            other => format!("That did not work: {other}."),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(err: ServerFnErrorErr) -> Self {
        Self::Request(err.to_string())
    }
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
