//! Images for chat messages: `POST /api/chat/images` keeps one (the body is the file, its
//! name in `X-File-Name`, URL-encoded) and answers its id; `GET /api/chat/images/{id}` serves
//! it back to the user who uploaded it, and to nobody else.

use axum::{
    Extension, Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use studio_core::chat::{self, ChatError};
use uuid::Uuid;

use super::types::Uploaded;
use crate::{
    auth::ssr::{Authenticated, route_user},
    ssr::AppState,
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
    let _uploading = match crate::ssr::upload_slot(&state, user_id) {
        Ok(slot) => slot,
        Err(refused) => return refused.into_response(),
    };
    // Read only once the user is known: a stranger's 20 MB is never held.
    let Ok(body) = axum::body::to_bytes(body, chat::MAX_IMAGE_BYTES + 1).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The image is larger than 20 MB.",
        )
            .into_response();
    };
    let name = crate::ssr::uploaded_file_name(&headers);
    if let Err(full) = crate::ssr::route_quota(&state, user_id, body.len() as u64).await {
        return full.into_response();
    }
    match chat::upload_image(&state.pool, user_id, &name, &body).await {
        Ok(id) => Json(Uploaded {
            id: id.to_string(),
            note: None,
        })
        .into_response(),
        Err(ChatError::Invalid(message)) => (StatusCode::BAD_REQUEST, message).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not keep an image");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub async fn serve(
    State(state): State<AppState>,
    session: Option<Extension<Authenticated>>,
    Path(id): Path<String>,
) -> Response {
    let user_id = match route_user(&state, session.as_deref(), "chat").await {
        Ok(user_id) => user_id,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match chat::image(&state.pool, user_id, id).await {
        Ok(Some((media_type, data))) => (
            [
                (header::CONTENT_TYPE, media_type),
                (
                    header::CACHE_CONTROL,
                    "private, max-age=86400, immutable".to_owned(),
                ),
            ],
            data,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not read an image");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
