//! Documents for chat messages: `POST /api/chat/documents` (the body is the file, its name in
//! `X-File-Name`, URL-encoded) reads it as the knowledge pipeline reads an item (extraction,
//! OCR for scans) and keeps its text for the user's next message; it answers the id, with a
//! note when not all of it will reach the model.

use axum::{
    Extension, Json,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use studio_core::{
    chat::{
        ChatError,
        documents::{self, MAX_DOCUMENT_CHARS, NewDocument},
    },
    knowledge::{extract::Extracted, intake::clean_file_name, pipeline::IngestError},
};

use super::types::Uploaded;
use crate::{
    auth::ssr::{Authenticated, route_user},
    knowledge::routes::{declared_length, intake_refusal},
    ssr::{AppState, uploaded_file_name},
};

pub async fn upload(
    State(state): State<AppState>,
    session: Option<Extension<Authenticated>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let user_id = match route_user(&state, session.as_deref(), "chat").await {
        Ok(user_id) => user_id,
        Err(refusal) => return refusal.into_response(),
    };
    let (name, size_bytes, extracted) = match read_upload(&state, user_id, &headers, body).await {
        Ok(read) => read,
        Err(refused) => return *refused,
    };
    let unread = extracted.pages_without_text.len();
    let document = NewDocument {
        file_name: name.clone(),
        content_kind: extracted.kind.id().to_owned(),
        size_bytes,
        text: extracted.text(),
    };
    match documents::keep_document(&state.pool, user_id, document).await {
        Ok(kept) => {
            let mut notes = Vec::new();
            if kept.truncated {
                notes.push(format!(
                    "only its first {MAX_DOCUMENT_CHARS} characters are sent"
                ));
            }
            if unread > 0 {
                notes.push(format!("{unread} page(s) without readable text left out"));
            }
            Json(Uploaded {
                id: kept.id.to_string(),
                note: (!notes.is_empty()).then(|| notes.join("; ")),
            })
            .into_response()
        }
        Err(ChatError::Invalid(message)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, message).into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "could not keep a chat document");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Reads an uploaded document (the body is the file, its name in `X-File-Name`) as the
/// knowledge pipeline reads an item: its cleaned name, its size and what was extracted, or the
/// answer that refuses it (too large, unreadable, too many uploads at once).
pub async fn read_upload(
    state: &AppState,
    user_id: uuid::Uuid,
    headers: &HeaderMap,
    body: Body,
) -> Result<(String, i64, Extracted), Box<Response>> {
    let name = clean_file_name(&uploaded_file_name(headers));
    let _uploading =
        crate::ssr::upload_slot(state, user_id).map_err(IntoResponse::into_response)?;
    // To a temporary file, not memory: the document is read once a reading slot is free.
    let received = state
        .intake()
        .document(
            user_id,
            &name,
            declared_length(headers),
            body.into_data_stream(),
        )
        .await;
    let (file, stored) = received.map_err(|r| Box::new(intake_refusal(r)))?;
    let size_bytes = i64::try_from(stored.size).unwrap_or(i64::MAX);
    let read = state
        .knowledge
        .pipeline
        .read_document(file.to_path_buf(), name.clone())
        .await;
    drop(file);
    let extracted = match read {
        Ok(extracted) => extracted,
        Err(IngestError::Permanent(reason)) => {
            return Err(Box::new(
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("{name} could not be read: {reason}"),
                )
                    .into_response(),
            ));
        }
        Err(IngestError::Transient(err)) => {
            tracing::error!(error = %format!("{err:#}"), "could not read a chat document");
            return Err(Box::new(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("{name} could not be read just now; try again."),
                )
                    .into_response(),
            ));
        }
    };
    Ok((name, size_bytes, extracted))
}
