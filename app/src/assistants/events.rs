//! `GET /api/assistants/runs/{id}/events`: a run as server-sent events, for the person who
//! started it. First `run` (the run now), then `step-started`, `step-knowledge` (the sources
//! a step was given: names and places, numbered as it cites them), `step-text` (more of a step's
//! text), `step-output` (a step's whole text so far, replacing what the page had),
//! `step-finished` (the step as saved: output, tokens, cost, time), and last `run-ended`.
//! A reload starts again from `run`. Leaving the page only closes this stream: the run goes
//! on (it is a job).

use std::convert::Infallible;

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response, sse::Event},
};
use futures::StreamExt;
use studio_core::assistants::{
    events::{self, RunEvent},
    run,
};
use uuid::Uuid;

use crate::{
    auth::ssr::Authenticated,
    ssr::{AppState, sse_event as event},
};

use super::types::run_events as names;

#[derive(serde::Serialize)]
struct StepText<'a> {
    step: Uuid,
    text: &'a str,
}

#[derive(serde::Serialize)]
struct StepStarted<'a> {
    step: Uuid,
    model: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct StepKnowledge<'a> {
    step: Uuid,
    sources: &'a [events::Source],
}

#[derive(serde::Serialize)]
struct RunEnded<'a> {
    status: run::State,
    error: Option<&'a str>,
}

fn sse(update: &RunEvent) -> Result<Event, Infallible> {
    match update {
        RunEvent::Snapshot(run) => event(names::RUN, run),
        RunEvent::StepStarted { step, model } => event(
            names::STEP_STARTED,
            &StepStarted {
                step: *step,
                model: model.as_deref(),
            },
        ),
        RunEvent::StepKnowledge { step, sources } => event(
            names::STEP_KNOWLEDGE,
            &StepKnowledge {
                step: *step,
                sources,
            },
        ),
        RunEvent::StepText { step, text } => {
            event(names::STEP_TEXT, &StepText { step: *step, text })
        }
        RunEvent::StepOutput { step, output } => event(
            names::STEP_OUTPUT,
            &StepText {
                step: *step,
                text: output,
            },
        ),
        RunEvent::StepFinished(step) => event(names::STEP_FINISHED, step),
        RunEvent::RunEnded { status, error } => event(
            names::RUN_ENDED,
            &RunEnded {
                status: *status,
                error: error.as_deref(),
            },
        ),
    }
}

pub async fn run_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session: Option<Extension<Authenticated>>,
) -> Response {
    let Some(session) = session else {
        return (StatusCode::UNAUTHORIZED, "Please sign in.").into_response();
    };
    let user_id = session.user.user_id;
    // A malformed id is a run nobody has.
    let Ok(run_id) = id.parse::<Uuid>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let updates = match events::follow(
        state.generations.clone(),
        state.pool.clone(),
        user_id,
        run_id,
    )
    .await
    {
        Ok(Some(updates)) => updates,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not read a run");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let events = updates.map(|update| sse(&update));
    crate::ssr::event_stream(&state, user_id, events)
}
