//! The knowledge routes that are not server functions:
//!
//! - `POST /api/knowledge/repositories/{id}/files`: the body is the file (its name in
//!   `X-File-Name`, URL-encoded), streamed to storage up to the upload limit; its first bytes
//!   are checked for a document type before the item is queued. Answers the item's id.
//! - `GET /api/knowledge/repositories/{id}/items/{item}/original`: the original, as a download.
//! - `GET /api/knowledge/repositories/{id}/events`: server-sent events, each the repository's
//!   items as they are after a change (at most a few a second).

use std::{convert::Infallible, time::Duration};

use axum::{
    Extension, Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response, sse::Event},
};
use futures::{Stream, StreamExt};
use studio_core::knowledge::{
    intake::IntakeError,
    objects::StorageError,
    repos::{self, KnowledgeError},
};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::{
    api::{TOOL, support},
    types::{ITEMS_EVENT, UploadedItem},
};
use crate::{
    auth::ssr::{Authenticated, route_user},
    ssr::AppState,
};

/// Changes closer together than this are sent as one.
const EVENT_GAP: Duration = Duration::from_millis(250);

fn refusal(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

fn knowledge_refusal(err: KnowledgeError) -> Response {
    match err {
        KnowledgeError::Invalid(message) => refusal(StatusCode::BAD_REQUEST, message),
        KnowledgeError::NotFound => refusal(StatusCode::NOT_FOUND, "No such repository."),
        KnowledgeError::Forbidden => refusal(
            StatusCode::FORBIDDEN,
            "Only the repository's owner can add to it.",
        ),
        KnowledgeError::Database(err) => {
            tracing::error!(error = %err, "knowledge route failed");
            refusal(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
        }
    }
}

/// A refused intake as a route answers it: the status says which kind of refusal, the body
/// what to do about it.
pub(crate) fn intake_refusal(err: IntakeError) -> Response {
    match err {
        IntakeError::Knowledge(err) => knowledge_refusal(err),
        err @ (IntakeError::TooLarge { .. } | IntakeError::QuotaFull(_)) => {
            refusal(StatusCode::PAYLOAD_TOO_LARGE, err.to_string())
        }
        IntakeError::Unsupported(message) => refusal(StatusCode::UNSUPPORTED_MEDIA_TYPE, message),
        err @ (IntakeError::Invalid(_) | IntakeError::Interrupted) => {
            refusal(StatusCode::BAD_REQUEST, err.to_string())
        }
        IntakeError::Failed(err) => {
            tracing::error!(error = %format!("{err:#}"), "could not take in an upload");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Could not store the file.",
            )
        }
    }
}

/// The length the sender announced, if it did.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

pub async fn upload(
    State(state): State<AppState>,
    session: Option<Extension<Authenticated>>,
    Path(repository): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let user = match route_user(&state, session.as_deref(), TOOL).await {
        Ok(user) => user,
        Err(refused) => return refused.into_response(),
    };
    let Ok(repository) = repository.parse::<Uuid>() else {
        return refusal(StatusCode::NOT_FOUND, "No such repository.");
    };
    let _uploading = match crate::ssr::upload_slot(&state, user) {
        Ok(slot) => slot,
        Err(refused) => return refused.into_response(),
    };
    let name = crate::ssr::uploaded_file_name(&headers);
    let added = state
        .intake()
        .upload(
            user,
            repository,
            &name,
            declared_length(&headers),
            body.into_data_stream(),
        )
        .await;
    match added {
        Ok(item) => (
            StatusCode::CREATED,
            Json(UploadedItem {
                id: item.to_string(),
            }),
        )
            .into_response(),
        Err(err) => intake_refusal(err),
    }
}

/// `filename*=` as RFC 6266 / 5987 write it, with a plain ASCII `filename=` for old clients.
fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

pub async fn download(
    State(state): State<AppState>,
    session: Option<Extension<Authenticated>>,
    Path((repository, item)): Path<(String, String)>,
) -> Response {
    let user = match route_user(&state, session.as_deref(), TOOL).await {
        Ok(user) => user,
        Err(refused) => return refused.into_response(),
    };
    let (Ok(repository), Ok(item)) = (repository.parse::<Uuid>(), item.parse::<Uuid>()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (name, key) = match repos::original(&state.pool, user, repository, item).await {
        Ok(found) => found,
        Err(err) => return knowledge_refusal(err),
    };
    match state.knowledge.pipeline.storage.open(&key).await {
        Ok((size, stream)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (header::CONTENT_LENGTH, HeaderValue::from(size)),
                (header::CONTENT_DISPOSITION, content_disposition(&name)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-store"),
                ),
            ],
            Body::from_stream(stream),
        )
            .into_response(),
        Err(StorageError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not read an original");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub async fn events(
    State(state): State<AppState>,
    session: Option<Extension<Authenticated>>,
    Path(repository): Path<String>,
) -> Response {
    let user = match route_user(&state, session.as_deref(), TOOL).await {
        Ok(user) => user,
        Err(refused) => return refused.into_response(),
    };
    let Ok(repository) = repository.parse::<Uuid>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Subscribed before the first read, so no change slips between them.
    let changes = state.knowledge.events.subscribe();
    let first = match support::items(&state, user, repository).await {
        Ok(items) => items,
        Err(crate::error::AppError::NotFound) => return StatusCode::NOT_FOUND.into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let events = follow(state.clone(), user, repository, first, changes);
    crate::ssr::event_stream(&state, user, events)
}

fn items_event(items: &[super::types::ItemView]) -> Result<Event, Infallible> {
    crate::ssr::sse_event(ITEMS_EVENT, &items)
}

/// The items now, then again after every change to the repository's items, changes within
/// [`EVENT_GAP`] of each other sent once. Ends when access is lost or the repository is gone.
fn follow(
    state: AppState,
    user: Uuid,
    repository: Uuid,
    first: Vec<super::types::ItemView>,
    changes: tokio::sync::broadcast::Receiver<Uuid>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = futures::stream::once(async move { items_event(&first) });
    let rest = futures::stream::unfold((state, changes), move |(state, mut changes)| async move {
        loop {
            match changes.recv().await {
                Ok(changed) if changed != repository => continue,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
            tokio::time::sleep(EVENT_GAP).await;
            // Whatever else arrived meanwhile is in the read below.
            while let Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) =
                changes.try_recv()
            {}
            return match support::items(&state, user, repository).await {
                Ok(items) => Some((items_event(&items), (state, changes))),
                Err(_) => None,
            };
        }
    });
    start.chain(rest)
}
