//! `GET /api/chat/replies/{id}/events`: a reply as server-sent events. A reply being written
//! sends what it has, then each piece as it comes; a finished one sends its saved text and
//! `done`. Leaving the page only closes this stream: the reply goes on (see
//! `studio_core::chat::live`).

use std::convert::Infallible;

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::{Stream, StreamExt, stream};
use studio_core::chat::{
    self,
    live::{Delta, Snapshot},
};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::types::events;
use crate::{
    auth::ssr::{Authenticated, route_user},
    ssr::AppState,
};

fn event(name: &str, data: &impl serde::Serialize) -> Result<Event, Infallible> {
    Ok(Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event(name)))
}

fn snapshot(s: Snapshot) -> Result<Event, Infallible> {
    event(
        events::SNAPSHOT,
        &events::Snapshot {
            content: s.content,
            reasoning: s.reasoning,
        },
    )
}

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
    let events = match state.generations.attach(user_id, reply) {
        Some((now, deltas)) => live(now, deltas).boxed(),
        None => match chat::owns_reply(&state.pool, user_id, reply).await {
            Ok(true) => finished(&state, reply).await.boxed(),
            Ok(false) => return StatusCode::NOT_FOUND.into_response(),
            Err(err) => {
                tracing::error!(error = %err, "could not read a reply");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        },
    };
    let events = match crate::ssr::limit_streams(&state, user_id, events) {
        Ok(events) => events,
        Err(refused) => return refused.into_response(),
    };
    (
        // Proxies must not hold the stream back.
        [("x-accel-buffering", "no"), ("cache-control", "no-store")],
        Sse::new(events).keep_alive(KeepAlive::default()),
    )
        .into_response()
}

/// The saved reply, then `done` (or the error that prevented reading it).
async fn finished(
    state: &AppState,
    reply: Uuid,
) -> impl Stream<Item = Result<Event, Infallible>> + use<> {
    let saved = chat::saved_reply(&state.pool, reply).await;
    let items = match saved {
        Ok(Some(saved)) => vec![
            snapshot(Snapshot {
                content: saved.content,
                reasoning: saved.reasoning,
            }),
            event(
                events::DONE,
                &events::Done {
                    status: saved.status,
                    error: saved.error,
                },
            ),
        ],
        Ok(None) | Err(_) => vec![event(
            events::DONE,
            &events::Done {
                status: "failed".into(),
                error: Some("The reply could not be read.".into()),
            },
        )],
    };
    stream::iter(items)
}

/// What the reply has, then each delta until it is done. A page that falls more than the
/// channel's capacity behind is cut off: its `EventSource` reconnects and starts again from a
/// fresh snapshot.
fn live(
    now: Snapshot,
    deltas: tokio::sync::broadcast::Receiver<Delta>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let first = stream::once(async move { snapshot(now) });
    let rest = stream::unfold((deltas, false), |(mut deltas, ended)| async move {
        if ended {
            return None;
        }
        match deltas.recv().await {
            Ok(Delta::Text(text)) => Some((event(events::TEXT, &text), (deltas, false))),
            Ok(Delta::Reasoning(text)) => Some((event(events::REASONING, &text), (deltas, false))),
            Ok(Delta::Done(outcome)) => {
                let done = events::Done {
                    status: outcome.status.to_owned(),
                    error: outcome.error,
                };
                Some((event(events::DONE, &done), (deltas, true)))
            }
            Err(RecvError::Lagged(_) | RecvError::Closed) => None,
        }
    });
    first.chain(rest)
}
