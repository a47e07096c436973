//! `POST /chat/send`: the composer's form as a browser sends it before the page's script has
//! started (a slow phone link), so a message sent that early is not lost. It starts the turn
//! like the `chat/send` server function and sends the browser to the conversation, where the
//! reply is shown as it is written. A refusal answers with its reason in words; the browser's
//! Back button returns to the form with the text still in it.

use axum::{
    Extension, Form,
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use studio_core::chat::{Turn, turn::Ask};

use super::api::support;
use crate::{
    auth::ssr::{Authenticated, route_user},
    error::{AppError, parse_id},
    ssr::AppState,
};

/// The composer's fields (see `composer.rs`).
#[derive(Deserialize)]
pub struct SendForm {
    text: String,
    model_id: String,
    /// Empty for a new conversation.
    #[serde(default)]
    conversation_id: String,
}

/// Said after a refusal the person can act on.
const GO_BACK: &str = "Go back to keep your message and try again.";

pub async fn send(
    State(state): State<AppState>,
    session: Option<Extension<Authenticated>>,
    Form(form): Form<SendForm>,
) -> Response {
    if session.is_none() {
        return Redirect::to("/sign-in?next=%2Fchat").into_response();
    }
    let user_id = match route_user(&state, session.as_deref(), "chat").await {
        Ok(user_id) => user_id,
        Err(refusal) => return refusal.into_response(),
    };
    let conversation_id = match form.conversation_id.as_str() {
        "" => None,
        id => match parse_id(id) {
            Ok(id) => Some(id),
            Err(err) => return err.route_answer(""),
        },
    };
    let model_id = match support::model(&form.model_id) {
        Ok(id) => id,
        Err(err) => return err.route_answer(GO_BACK),
    };
    let ask = Ask {
        user_id,
        model_id,
        turn: Turn::Message {
            conversation_id,
            replacing: None,
            text: form.text,
            images: Vec::new(),
            documents: Vec::new(),
        },
        repositories: None,
        feature: "chat",
    };
    match state.turns().begin(ask).await {
        Ok(begun) => Redirect::to(&format!("/chat/{}", begun.conversation_id)).into_response(),
        Err(err) => match AppError::from(err) {
            err @ AppError::NotFound => err.route_answer(""),
            err => err.route_answer(GO_BACK),
        },
    }
}
