//! `GET /api/notifications/events`: the signed-in person's unread notifications as
//! server-sent events: `unread` (`{"count": n}`) at once, then again whenever it changes
//! (their notifications changed on any server: the database announces it, the [`Bell`]
//! forwards it).
//!
//! [`Bell`]: studio_core::notifications::Bell

use std::{convert::Infallible, time::Duration};

use axum::{
    Extension,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response, sse::Event},
};
use studio_core::notifications;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::types::Unread;
use crate::{auth::ssr::Authenticated, ssr::AppState};

pub use super::types::UNREAD;

/// Changes this close together are told once.
const GAP: Duration = Duration::from_millis(250);

fn unread_event(count: i64) -> Result<Event, Infallible> {
    crate::ssr::sse_event(UNREAD, &Unread { count })
}

pub async fn unread_events(
    State(state): State<AppState>,
    session: Option<Extension<Authenticated>>,
) -> Response {
    let Some(session) = session else {
        return (StatusCode::UNAUTHORIZED, "Please sign in.").into_response();
    };
    let user = session.user.user_id;
    // Subscribed before the first count, so no change slips between them.
    let rings = state.bell.subscribe();
    let first = match notifications::unread(&state.pool, user).await {
        Ok(count) => count,
        Err(err) => {
            tracing::error!(error = %err, "could not count notifications");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let events = follow(state.clone(), user, first, rings);
    crate::ssr::event_stream(&state, user, events)
}

/// The count now, then again each time it changes.
fn follow(
    state: AppState,
    user: Uuid,
    first: i64,
    rings: tokio::sync::broadcast::Receiver<Uuid>,
) -> impl futures::Stream<Item = Result<Event, Infallible>> {
    let start = futures::stream::once(async move { unread_event(first) });
    let rest = futures::stream::unfold(
        (state, rings, first),
        move |(state, mut rings, last)| async move {
            loop {
                match rings.recv().await {
                    Ok(rung) if rung != user => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
                tokio::time::sleep(GAP).await;
                let count = notifications::unread(&state.pool, user).await.ok()?;
                if count != last {
                    return Some((unread_event(count), (state, rings, count)));
                }
            }
        },
    );
    futures::stream::StreamExt::chain(start, rest)
}
