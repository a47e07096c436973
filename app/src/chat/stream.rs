//! `GET /api/chat/replies/{id}/events`: a reply as server-sent events. A reply being written
//! sends what it has, then each piece as it comes (a page that falls behind gets a fresh
//! snapshot), then `done`; a finished one sends its saved text and `done`. Leaving the page
//! only closes this stream: the reply goes on (see `studio_core::chat::live`).

use std::convert::Infallible;

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response, sse::Event},
};
use futures::StreamExt;
use studio_core::chat::live::Update;
use uuid::Uuid;

use super::{
    api::support,
    types::{MessageView, UsageView, events},
};
use crate::{
    auth::ssr::{Authenticated, route_user},
    ssr::{AppState, sse_event as event},
};

pub async fn reply_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session: Option<Extension<Authenticated>>,
) -> Response {
    let user_id = match route_user(&state, session.as_deref(), "chat").await {
        Ok(user_id) => user_id,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(reply) = id.parse::<Uuid>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let events = match state.turns().follow(user_id, reply).await {
        Ok(Some(updates)) => {
            let state = state.clone();
            updates.then(move |update| sse(state.clone(), user_id, reply, update))
        }
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not read a reply");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    crate::ssr::event_stream(&state, user_id, events)
}

/// The finished reply as the conversation shows it, and the conversation's totals, so the page
/// needs no reload when a reply ends (it reloads when the reply is not among the messages it
/// shows, or when this is `None`: the reply could not be read).
async fn finished_reply(
    state: &AppState,
    user_id: Uuid,
    reply: Uuid,
) -> (Option<MessageView>, Option<UsageView>) {
    match support::finished_reply(state, user_id, reply).await {
        Ok(Some((message, totals))) => (Some(message), Some(totals)),
        Ok(None) => (None, None),
        Err(err) => {
            tracing::warn!(error = ?err, "could not render a finished reply");
            (None, None)
        }
    }
}

/// One update as its event; `done` brings the finished reply (see [`finished_reply`]).
async fn sse(
    state: AppState,
    user_id: Uuid,
    reply: Uuid,
    update: Update,
) -> Result<Event, Infallible> {
    match update {
        Update::Snapshot(now) => event(
            events::SNAPSHOT,
            &events::Snapshot {
                content: now.content,
                reasoning: now.reasoning,
            },
        ),
        Update::Text(text) => event(events::TEXT, &text),
        Update::Reasoning(text) => event(events::REASONING, &text),
        Update::Done { status, error } => {
            let (message, totals) = finished_reply(&state, user_id, reply).await;
            event(
                events::DONE,
                &events::Done {
                    status,
                    error,
                    message,
                    totals,
                },
            )
        }
    }
}
