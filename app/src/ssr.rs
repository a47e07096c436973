//! Server-side plumbing shared by pages and server functions: the application state.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use studio_core::{
    accounts::{AccountsConfig, oidc::Oidc},
    chat::live::Generations,
    knowledge::{live::ItemEvents, pipeline::Pipeline, queue::UploadQueue},
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
    pub knowledge: Arc<Knowledge>,
}

/// Knowledge repositories: where originals are kept, the embedding model searches use, and
/// item changes for the pages following them.
#[derive(Debug)]
pub struct Knowledge {
    pub pipeline: Pipeline,
    pub events: ItemEvents,
    /// The largest file an upload may be (`KNOWLEDGE_MAX_UPLOAD_MB`, default 100).
    pub max_upload_bytes: u64,
    /// What starts the processing of an upload (a job, or the storage's event).
    pub upload_queue: UploadQueue,
    /// Where browsers upload files directly (the bucket's origin), if they do.
    pub upload_origin: Option<String>,
}

impl Knowledge {
    pub fn new(pipeline: Pipeline) -> Self {
        Self {
            pipeline,
            events: ItemEvents::default(),
            max_upload_bytes: studio_core::knowledge::storage::DEFAULT_MAX_UPLOAD_BYTES,
            upload_queue: UploadQueue::Jobs,
            upload_origin: None,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Bytes of an upload looked at before it is accepted.
pub const SNIFF_BYTES: usize = 8192;

/// A file name as the browser gave it, made safe to keep and show: only the last part of a
/// path, no control characters, at most 255 characters; `upload` when nothing is left.
pub fn clean_file_name(given: &str) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    if clean.trim().is_empty() {
        "upload".to_owned()
    } else {
        clean.trim().to_owned()
    }
}

/// The file name an upload sends in `X-File-Name` (URL-encoded, as the browser code writes
/// it), decoded; empty when missing.
pub fn uploaded_file_name(headers: &http::HeaderMap) -> String {
    headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            url::form_urlencoded::parse(format!("n={v}").as_bytes())
                .next()
                .map(|(_, name)| name.into_owned())
        })
        .unwrap_or_default()
}
