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
    #[error("something went wrong on our side")]
    Internal,
    /// The call itself failed: network, argument decoding, or an unreadable response.
    #[error("request failed: {0}")]
    Request(String),
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
impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        tracing::error!(error = ?err, "unexpected failure");
        Self::Internal
    }
}
