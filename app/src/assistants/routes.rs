//! The assistant routes that are not server functions: a file field's text
//! (`POST /api/assistants/files`), a run as a Markdown download
//! (`GET /api/assistants/runs/{id}/markdown`), and for administrators the export
//! (`GET /api/admin/assistants/export?ids=..`) and import (`POST /api/admin/assistants/import`)
//! of assistants as versioned JSON.

use axum::{
    Extension, Json,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use studio_core::assistants::{
    events, plan::MAX_INPUT_BYTES, results, store::AssistantError, transfer,
};
use uuid::Uuid;

use super::types::FileText;
use crate::{
    auth::ssr::{Authenticated, route_user},
    ssr::AppState,
};

/// The largest import file read.
const MAX_IMPORT_BYTES: usize = 1024 * 1024;

fn signed_out() -> Response {
    (StatusCode::UNAUTHORIZED, "Please sign in.").into_response()
}

/// The first `limit` bytes of `text`, cut at a character's edge.
fn cut(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Reads an uploaded file for a file field: its text, at most what a run takes.
pub async fn file_text(
    State(state): State<AppState>,
    session: Option<Extension<Authenticated>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(user) = session.map(|s| s.user.clone()) else {
        return signed_out();
    };
    // An account whose address is not verified holds no role and runs nothing.
    if !user.is_verified {
        return (StatusCode::FORBIDDEN, "You don't have access to this.").into_response();
    }
    let user_id = user.user_id;
    let (name, _, extracted) =
        match crate::chat::documents::read_upload(&state, user_id, &headers, body).await {
            Ok(read) => read,
            Err(refused) => return *refused,
        };
    let whole = extracted.text();
    if whole.trim().is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{name} holds no readable text."),
        )
            .into_response();
    }
    let text = cut(&whole, MAX_INPUT_BYTES);
    let mut notes = Vec::new();
    if text.len() < whole.len() {
        notes.push(format!(
            "only its first {} KB are used",
            MAX_INPUT_BYTES / 1024
        ));
    }
    let unread = extracted.pages_without_text.len();
    if unread > 0 {
        notes.push(format!("{unread} page(s) without readable text left out"));
    }
    Json(FileText {
        text: text.to_owned(),
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    })
    .into_response()
}

fn attachment(content_type: &'static str, file_name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The person's run `id` as a Markdown document.
pub async fn run_markdown(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session: Option<Extension<Authenticated>>,
) -> Response {
    let Some(user_id) = session.map(|s| s.user.user_id) else {
        return signed_out();
    };
    let Ok(run_id) = id.parse::<Uuid>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match events::read(&state.pool, user_id, run_id).await {
        Ok(Some(run)) => attachment(
            "text/markdown; charset=utf-8",
            &results::file_name(&run),
            results::markdown(&run),
        ),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not read a run");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(serde::Deserialize)]
pub struct Chosen {
    #[serde(default)]
    ids: String,
}

/// The chosen assistants as a versioned JSON file.
pub async fn export(
    State(state): State<AppState>,
    session: Option<Extension<Authenticated>>,
    Query(chosen): Query<Chosen>,
) -> Response {
    if let Err(refusal) = route_user(&state, session.as_deref(), "admin").await {
        return refusal.into_response();
    }
    // Ids that are not ids name no assistant: left out, as unknown ones are.
    let ids: Vec<Uuid> = chosen
        .ids
        .split(',')
        .filter_map(|raw| raw.trim().parse().ok())
        .collect();
    if ids.is_empty() {
        return (StatusCode::BAD_REQUEST, "Choose the assistants to export.").into_response();
    }
    match transfer::export(&state.pool, &ids).await {
        Ok(file) => match serde_json::to_string_pretty(&file) {
            Ok(json) => attachment("application/json", "assistants.json", json),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Err(err) => {
            tracing::error!(error = %err, "could not export assistants");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Imports a file of exported assistants as the administrator's own; answers what each became.
pub async fn import(
    State(state): State<AppState>,
    session: Option<Extension<Authenticated>>,
    body: Body,
) -> Response {
    let importer = match route_user(&state, session.as_deref(), "admin").await {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_IMPORT_BYTES).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The file is larger than {} KB; import fewer assistants at a time.",
                MAX_IMPORT_BYTES / 1024
            ),
        )
            .into_response();
    };
    let Ok(file) = serde_json::from_slice::<transfer::Export>(&bytes) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "This is not a file of exported assistants.",
        )
            .into_response();
    };
    match transfer::import(&state.pool, importer, &file).await {
        Ok(imported) => Json(
            imported
                .into_iter()
                .map(|i| {
                    if i.notes.is_empty() {
                        format!("{}: {}", i.name, i.status.as_str())
                    } else {
                        format!("{}: {} ({})", i.name, i.status.as_str(), i.notes.join(" "))
                    }
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(AssistantError::Invalid(problems)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, problems.join(" ")).into_response()
        }
        Err(AssistantError::State(why) | AssistantError::Busy(why)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, why).into_response()
        }
        Err(AssistantError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(AssistantError::Database(err)) => {
            tracing::error!(error = %err, "could not import assistants");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
