//! Chat: conversations, their messages as a tree (an edit or a regeneration is a sibling; the
//! conversation remembers which branch is shown), and the turns that add to them. Every
//! function takes the user and touches only that user's conversations.
//!
//! - [`turn`]: the turn engine, from "this user asks this model" to a reply being written;
//!   chat, compare, assistants and schedules start turns through it.
//! - `turns`: a turn saved and the history the model is sent ([`start_turn`]).
//! - [`live`]: replies being written, followed as they grow, saved with their usage.
//! - `replies`: replies as saved ([`saved_reply`], [`recover_interrupted`]).
//! - `conversations`: the list, one conversation's shown branch, the choice of branch.
//! - `folders`, `images`, [`documents`]: what conversations are filed in and carry.
//! - [`titles`]: a conversation's title, written by its model after the first reply.

mod conversations;
pub mod documents;
mod folders;
mod images;
pub mod live;
mod replies;
#[cfg(test)]
mod tests;
pub mod titles;
pub mod turn;
mod turns;

pub use conversations::{
    Conversation, ListQuery, MessageRow, MessageUsage, Summary, auto_title, conversation, delete,
    finished_reply, list, rename, select_branch, set_archived, set_pinned, totals,
};
pub use folders::{Folder, create_folder, delete_folder, folders, move_to_folder};
pub use images::{MAX_IMAGE_BYTES, MAX_IMAGES, image, upload_image};
pub use replies::{SavedReply, last_used_model, owns_reply, recover_interrupted, saved_reply};
pub use turns::{IMAGE_LEFT_OUT, ImageBudget, Started, Turn, start_turn};
#[cfg(test)]
use {crate::llm, conversations::ts_query};

/// Conversations per page of the list.
pub const PAGE_SIZE: i64 = 50;
/// Messages of the shown branch sent at once; earlier ones come on request.
pub const MESSAGES_PAGE: usize = 100;
/// The longest message a user may send, in characters.
pub const MAX_MESSAGE_CHARS: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Input the user can correct; the text says how.
    #[error("{0}")]
    Invalid(String),
    /// No such conversation or message for this user.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn invalid(message: impl Into<String>) -> ChatError {
    ChatError::Invalid(message.into())
}

fn found(rows: u64) -> Result<(), ChatError> {
    if rows == 0 {
        Err(ChatError::NotFound)
    } else {
        Ok(())
    }
}
