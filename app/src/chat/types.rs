//! What the chat pages and their server functions exchange.

use serde::{Deserialize, Serialize};

/// A model the user may pick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOption {
    pub id: String,
    pub name: String,
    pub description: String,
    pub supports_vision: bool,
    /// The tiny model running inside the server.
    pub is_builtin: bool,
    /// The model of the user's latest turn: a new chat starts with it.
    pub last_used: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderView {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationItem {
    pub id: String,
    pub title: String,
    pub folder_id: Option<String>,
    pub is_pinned: bool,
    pub is_archived: bool,
    /// RFC 3339.
    pub last_activity: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationPage {
    pub items: Vec<ConversationItem>,
    pub has_more: bool,
}

/// Tokens and cost, for a reply or a whole conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageView {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    /// US dollars, formatted (`$0.0012`).
    pub cost: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: String,
    pub role: String,
    pub content: String,
    /// A finished reply as safe HTML, rendered on the server (highlighted code, typeset
    /// math); empty for the user's messages and while streaming.
    pub html: String,
    /// The model's reasoning, when it showed it, as safe HTML (finished replies only).
    pub reasoning_html: String,
    pub model_name: Option<String>,
    /// `streaming`, `complete`, `stopped` or `failed`.
    pub status: String,
    pub error: Option<String>,
    /// This message and its alternatives (edits or regenerations), oldest first.
    pub siblings: Vec<String>,
    pub usage: Option<UsageView>,
    /// Images sent with it, served at `/api/chat/images/{id}`.
    pub image_ids: Vec<String>,
    /// The names of the documents sent with it.
    pub document_names: Vec<String>,
    /// The knowledge sources a reply was given, as it cites them.
    pub citations: Vec<CitationView>,
}

/// A numbered source of a reply: where it came from and the text the model was shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CitationView {
    pub number: i32,
    /// Whether the reply names it (`[n]`); cited sources come first.
    pub cited: bool,
    pub item_name: String,
    pub location: Option<String>,
    pub content: String,
    /// The repository, while it exists and the viewer can still open it.
    pub repository_id: Option<String>,
}

/// An image (`POST /api/chat/images`) or a document (`POST /api/chat/documents`) uploaded,
/// waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uploaded {
    pub id: String,
    /// What the user should know about it (a document cut short, pages left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationDetail {
    pub id: String,
    pub title: String,
    pub model_id: Option<String>,
    pub is_pinned: bool,
    pub is_archived: bool,
    pub messages: Vec<MessageView>,
    /// The knowledge repositories the conversation answers from.
    pub repository_ids: Vec<String>,
    /// Earlier messages of the branch not sent yet (load with `before` = the first id here).
    pub has_earlier: bool,
    pub totals: UsageView,
}

impl MessageView {
    /// The user's message as just sent (shown before any reload).
    pub fn sent(id: String, content: String, image_ids: Vec<String>) -> Self {
        Self {
            siblings: vec![id.clone()],
            id,
            role: "user".into(),
            content,
            status: "complete".into(),
            image_ids,
            ..Self::default()
        }
    }

    /// The reply being written for a message just sent.
    pub fn writing(id: String, model_name: Option<String>) -> Self {
        Self {
            siblings: vec![id.clone()],
            id,
            role: "assistant".into(),
            model_name,
            status: "streaming".into(),
            ..Self::default()
        }
    }
}

/// A turn that was saved, with the reply now being written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub conversation_id: String,
    /// The user's message just saved.
    pub message_id: String,
    pub reply_id: String,
}

/// The events of `/api/chat/replies/{id}/events` (server-sent events, JSON data).
pub mod events {
    use serde::{Deserialize, Serialize};

    /// `snapshot`: everything so far (sent first, and again if the page fell behind).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Snapshot {
        pub content: String,
        pub reasoning: String,
    }

    /// `done`: how the reply ended, with the finished reply as the conversation shows it and
    /// the conversation's new totals (absent when the reply is no longer on the branch shown).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Done {
        pub status: String,
        pub error: Option<String>,
        #[serde(default)]
        pub message: Option<super::MessageView>,
        #[serde(default)]
        pub totals: Option<super::UsageView>,
    }

    pub const SNAPSHOT: &str = "snapshot";
    /// Data: the new text as a JSON string.
    pub const TEXT: &str = "text";
    pub const REASONING: &str = "reasoning";
    pub const DONE: &str = "done";
}
