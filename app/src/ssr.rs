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

/// How a moment reads in lists and tables: "2026-12-07 09:30 UTC".
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

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
    /// Abuse limits: account requests, the password-hashing pool, AI calls, live replies and
    /// event streams per user.
    pub guards: Arc<studio_core::limits::Guards>,
    /// Whose notifications changed, for the pages showing their unread count.
    pub bell: Arc<studio_core::notifications::Bell>,
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

impl AppState {
    /// Taking in knowledge items and chat documents, with this server's limits and quota.
    pub fn intake(&self) -> studio_core::knowledge::intake::Intake<'_> {
        studio_core::knowledge::intake::Intake {
            pipeline: &self.knowledge.pipeline,
            max_upload_bytes: self.knowledge.max_upload_bytes,
            quota_bytes: self.guards.config.storage_quota_bytes,
            upload_queue: &self.knowledge.upload_queue,
        }
    }

    /// The turn engine over this server's provider clients, limits and live replies.
    pub fn turns(&self) -> studio_core::chat::turn::Engine {
        studio_core::chat::turn::Engine {
            pool: self.pool.clone(),
            llm: self.llm.clone(),
            generations: self.generations.clone(),
            guards: self.guards.clone(),
            embedder: self.knowledge.pipeline.embedder.clone(),
            shutdown: self.shutdown.clone(),
        }
    }
}

impl Knowledge {
    pub fn new(pipeline: Pipeline) -> Self {
        Self {
            pipeline,
            events: ItemEvents::default(),
            max_upload_bytes: studio_core::knowledge::config::DEFAULT_MAX_UPLOAD_BYTES,
            upload_queue: UploadQueue::Jobs,
            upload_origin: None,
        }
    }
}

/// The client's address as the edge worked it out (through trusted proxies only), put into
/// the request extensions before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

impl ClientIp {
    /// The address of the request whose parts these are.
    pub fn of(parts: &http::request::Parts) -> Option<String> {
        parts
            .extensions
            .get::<ClientIp>()
            .map(|ClientIp(ip)| ip.to_string())
    }
}

/// Refuses `incoming` more bytes from `user_id` when they would go over the storage quota,
/// with the message that says how full it is.
pub async fn check_quota(
    state: &AppState,
    user_id: uuid::Uuid,
    incoming: u64,
) -> Result<(), crate::error::AppError> {
    use studio_core::quota::{self, QuotaError};
    match quota::check(
        &state.pool,
        user_id,
        incoming,
        state.guards.config.storage_quota_bytes,
    )
    .await
    {
        Ok(()) => Ok(()),
        Err(QuotaError::Full(full)) => Err(crate::error::AppError::Invalid(full.to_string())),
        Err(QuotaError::Database(err)) => Err(err.into()),
    }
}

/// A route's refusal: the status and the text to show.
pub type Refusal = (http::StatusCode, String);

/// [`check_quota`] for routes: 413 with the message.
pub async fn route_quota(
    state: &AppState,
    user_id: uuid::Uuid,
    incoming: u64,
) -> Result<(), Refusal> {
    match check_quota(state, user_id, incoming).await {
        Ok(()) => Ok(()),
        Err(crate::error::AppError::Invalid(message)) => {
            Err((http::StatusCode::PAYLOAD_TOO_LARGE, message))
        }
        Err(_) => Err((
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong.".to_owned(),
        )),
    }
}

/// A place among `user_id`'s uploads in flight (held while the body arrives and is read), or
/// 429 when they have as many going as allowed.
pub fn upload_slot(
    state: &AppState,
    user_id: uuid::Uuid,
) -> Result<studio_core::limits::Held, Refusal> {
    state.guards.uploads.try_hold(user_id).ok_or_else(|| {
        (
            http::StatusCode::TOO_MANY_REQUESTS,
            format!(
                "You have {} uploads going already. Wait for one to finish.",
                state.guards.uploads.max()
            ),
        )
    })
}

/// An event `name` whose data is `data` as JSON (the name alone if it cannot be written).
pub fn sse_event(
    name: &str,
    data: &impl serde::Serialize,
) -> Result<axum::response::sse::Event, std::convert::Infallible> {
    use axum::response::sse::Event;
    Ok(Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event(name)))
}

/// `events` as `user_id`'s server-sent event stream, kept alive and not held back by
/// proxies, within the streams they may hold open (else 429). Every event-stream route
/// answers with this.
pub fn event_stream<S>(state: &AppState, user_id: uuid::Uuid, events: S) -> axum::response::Response
where
    S: futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>
        + Send
        + 'static,
{
    use axum::response::{
        IntoResponse,
        sse::{KeepAlive, Sse},
    };
    match limit_streams(state, user_id, events) {
        Ok(events) => (
            [("x-accel-buffering", "no"), ("cache-control", "no-store")],
            Sse::new(events).keep_alive(KeepAlive::default()),
        )
            .into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// Holds a place among `user_id`'s open event streams for as long as `events` runs, or
/// answers 429 when they hold as many as allowed.
fn limit_streams<S>(
    state: &AppState,
    user_id: uuid::Uuid,
    events: S,
) -> Result<impl futures::Stream<Item = S::Item> + Send + 'static, Refusal>
where
    S: futures::Stream + Send + 'static,
{
    use futures::StreamExt;

    let Some(slot) = state.guards.streams.try_hold(user_id) else {
        return Err((
            http::StatusCode::TOO_MANY_REQUESTS,
            format!(
                "You have {} live pages open already. Close some tabs and reload.",
                state.guards.streams.max()
            ),
        ));
    };
    // The place is given back when the stream is dropped (the page went away).
    Ok(events.map(move |event| {
        let _held = &slot;
        event
    }))
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
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
