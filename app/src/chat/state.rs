//! What the parts of the chat page share: the page's signals, and the open conversation's
//! messages as they change turn by turn.

use leptos::prelude::*;

use super::types::{ConversationItem, MessageView, UsageView};
use crate::error::AppError;

/// What the parts of the page share.
#[derive(Clone, Copy)]
pub(super) struct Chat {
    /// Bumped to reload the conversation list.
    pub(super) list_version: RwSignal<u32>,
    /// Bumped to reload the open conversation.
    pub(super) version: RwSignal<u32>,
    /// The model the next message goes to.
    pub(super) model: RwSignal<String>,
    /// A failure to show above the composer.
    pub(super) problem: RwSignal<Option<String>>,
    /// The knowledge repositories the conversation answers from (ids).
    pub(super) repositories: RwSignal<Vec<String>>,
    /// The conversation that just had a turn: the list moves its entry to the top instead of
    /// reloading.
    pub(super) touched: RwSignal<Option<String>>,
    /// The conversation last scrolled to its end on opening: drawn again (a reply saved), it
    /// stays where the reader is.
    pub(super) opened: RwSignal<Option<String>>,
}

impl Chat {
    pub(super) fn new() -> Self {
        Self {
            list_version: RwSignal::new(0),
            version: RwSignal::new(0),
            model: RwSignal::new(String::new()),
            problem: RwSignal::new(None),
            repositories: RwSignal::new(Vec::new()),
            touched: RwSignal::new(None),
            opened: RwSignal::new(None),
        }
    }
}

/// The open conversation's messages as they change turn by turn: a send appends the user's
/// message and the reply being written, the reply's `done` event replaces it with the finished
/// one. Nothing is reloaded for a turn.
#[derive(Clone, Copy)]
pub(super) struct Turns {
    pub(super) messages: RwSignal<Vec<MessageView>>,
    pub(super) totals: RwSignal<UsageView>,
    /// The reply being written, if any: the composer offers Stop instead of Send.
    pub(super) streaming: RwSignal<Option<String>>,
}

#[cfg(feature = "hydrate")]
impl Turns {
    /// A reply ended: shows it finished, or reloads the conversation when it is not on the
    /// branch shown any more.
    pub(super) fn finish(self, chat: Chat, reply: &str, done: super::types::events::Done) {
        let mut shown = false;
        if let (Some(message), Some(totals)) = (done.message, done.totals) {
            self.messages.update(|messages| {
                if let Some(at) = messages.iter_mut().find(|m| m.id == reply) {
                    *at = message;
                    shown = true;
                }
            });
            if shown {
                self.totals.set(totals);
            }
        }
        if !shown {
            chat.version.update(|v| *v += 1);
        }
        if self.streaming.get_untracked().as_deref() == Some(reply) {
            self.streaming.set(None);
        }
    }
}

/// Moves the conversation `id` to the top of its group (pinned ones stay first), as the list
/// orders by last activity.
pub(super) fn move_to_top(items: &mut Vec<ConversationItem>, id: &str) {
    let Some(at) = items.iter().position(|item| item.id == id) else {
        return;
    };
    let item = items.remove(at);
    let to = if item.is_pinned {
        0
    } else {
        items.iter().take_while(|other| other.is_pinned).count()
    };
    items.insert(to, item);
}

pub(super) fn show_problem(chat: Chat, err: AppError) {
    chat.problem.set(Some(err.for_person()));
}
