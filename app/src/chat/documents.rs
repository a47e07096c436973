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
    knowledge::{intake::clean_file_name, pipeline::IngestError},
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
    let name = clean_file_name(&uploaded_file_name(&headers));
    let _uploading = match crate::ssr::upload_slot(&state, user_id) {
        Ok(slot) => slot,
        Err(refused) => return refused.into_response(),
    };
    // To a temporary file, not memory: the document is read once a reading slot is free.
    let received = state
        .intake()
        .document(
            user_id,
            &name,
            declared_length(&headers),
            body.into_data_stream(),
        )
        .await;
    let (file, stored) = match received {
        Ok(received) => received,
        Err(refused) => return intake_refusal(refused),
    };
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
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{name} could not be read: {reason}"),
            )
                .into_response();
        }
        Err(IngestError::Transient(err)) => {
            tracing::error!(error = %format!("{err:#}"), "could not read a chat document");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{name} could not be read just now; try again."),
            )
                .into_response();
        }
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
