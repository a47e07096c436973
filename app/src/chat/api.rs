//! Server functions of the chat pages. Each starts with `require_tool("chat")` and passes the
//! user's id down: `studio_core::chat` only ever touches that user's conversations, and
//! `models::model_for_user` decides which models they may call.

use leptos::{prelude::*, server_fn::codec::Json};

use super::types::{ConversationDetail, ConversationPage, FolderView, ModelOption, Sent};
use crate::error::AppError;

#[cfg(feature = "ssr")]
pub(super) mod support {
    use leptos::prelude::expect_context;
    use rust_decimal::Decimal;
    use studio_core::chat::{
        ChatError, MessageUsage, Turn,
        turn::{Ask, TurnError},
    };
    use uuid::Uuid;

    use super::super::types::{ConversationDetail, Sent, UsageView};
    use crate::{auth::ssr::require_tool, error::AppError, ssr::AppState};

    pub use crate::error::parse_id as id;

    /// The signed-in user allowed to chat.
    pub async fn user() -> Result<Uuid, AppError> {
        let user = require_tool("chat").await?;
        id(&user.id)
    }

    impl From<ChatError> for AppError {
        fn from(err: ChatError) -> Self {
            match err {
                ChatError::Invalid(message) => AppError::Invalid(message),
                ChatError::NotFound => AppError::NotFound,
                ChatError::Database(err) => err.into(),
            }
        }
    }

    /// Dollars with enough digits for fractions of a cent.
    pub fn dollars(cost: Decimal) -> String {
        let cost = cost.round_dp(6).normalize();
        if cost.is_zero() {
            "$0".to_owned()
        } else {
            format!("${cost}")
        }
    }

    pub fn usage(usage: MessageUsage) -> UsageView {
        UsageView {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_input_tokens: usage.cached_input_tokens,
            cost: dollars(usage.cost),
        }
    }

    impl From<TurnError> for AppError {
        fn from(err: TurnError) -> Self {
            match err {
                TurnError::Invalid(message) => AppError::Invalid(message),
                TurnError::NotFound => AppError::NotFound,
                TurnError::TooMany { what, retry_after } => AppError::too_many(&what, retry_after),
                TurnError::Database(err) => err.into(),
            }
        }
    }

    /// A model id from the wire: one that is not an id is a model the user cannot use.
    pub fn model(raw: &str) -> Result<Uuid, AppError> {
        raw.parse()
            .map_err(|_| AppError::Invalid("You cannot use that model. Pick another one.".into()))
    }

    /// Starts a chat turn on `model_id` (see `studio_core::chat::turn`). `repositories`, when
    /// given, become the knowledge the conversation answers from.
    pub async fn begin(
        user_id: Uuid,
        model_id: &str,
        turn: Turn,
        repositories: Option<Vec<Uuid>>,
    ) -> Result<Sent, AppError> {
        let state = expect_context::<AppState>();
        let model_id = model(model_id)?;
        let begun = state
            .turns()
            .begin(Ask {
                user_id,
                model_id,
                turn,
                repositories,
                feature: "chat",
            })
            .await?;
        Ok(Sent {
            conversation_id: begun.conversation_id.to_string(),
            message_id: begun.message_id.to_string(),
            reply_id: begun.reply_id.to_string(),
        })
    }

    /// A conversation with the latest messages of the branch shown (or those before `before`),
    /// finished replies rendered.
    pub async fn conversation_detail(
        state: &AppState,
        user_id: Uuid,
        id: Uuid,
        before: Option<Uuid>,
    ) -> Result<ConversationDetail, AppError> {
        let c = studio_core::chat::conversation(&state.pool, user_id, id, before).await?;
        let replies: Vec<uuid::Uuid> = c
            .messages
            .iter()
            .filter(|m| m.role == "assistant")
            .map(|m| m.id)
            .collect();
        let mut citations =
            studio_core::knowledge::retrieval::citations(&state.pool, &replies).await?;
        let repository_ids = studio_core::knowledge::retrieval::conversation_repositories(
            &state.pool,
            user_id,
            c.summary.id,
        )
        .await?;
        // Which cited repositories the user can still open (none asked when nothing is cited).
        let cited: Vec<uuid::Uuid> = citations
            .values()
            .flatten()
            .filter_map(|c| c.repository_id)
            .collect();
        let readable = readable(state, user_id, cited).await?;
        // Highlighting and typesetting take CPU: off the async workers.
        let messages = tokio::task::spawn_blocking(move || {
            c.messages
                .into_iter()
                .map(|m| {
                    let cited = citations.remove(&m.id).unwrap_or_default();
                    message_view(m, cited, &readable)
                })
                .collect()
        })
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "rendering a conversation failed");
            AppError::Internal
        })?;
        Ok(ConversationDetail {
            id: c.summary.id.to_string(),
            title: c.summary.title,
            model_id: c.summary.model_id.map(|id| id.to_string()),
            is_pinned: c.summary.is_pinned,
            is_archived: c.summary.is_archived,
            has_earlier: c.has_earlier,
            totals: usage(c.totals),
            messages,
            repository_ids: repository_ids.iter().map(ToString::to_string).collect(),
        })
    }

    /// The repositories among `cited` that the user can open (none asked when none is cited).
    async fn readable(
        state: &AppState,
        user_id: Uuid,
        cited: Vec<Uuid>,
    ) -> Result<Vec<Uuid>, AppError> {
        if cited.is_empty() {
            return Ok(Vec::new());
        }
        Ok(studio_core::knowledge::repos::readable_ids(&state.pool, user_id, &cited).await?)
    }

    /// A message as the page shows it: a finished reply rendered, its citations linking to the
    /// repositories in `readable` only.
    fn message_view(
        m: studio_core::chat::MessageRow,
        citations: Vec<studio_core::knowledge::retrieval::Citation>,
        readable: &[Uuid],
    ) -> super::super::types::MessageView {
        use super::super::{
            markdown::{to_rich_html, to_rich_html_citing},
            types::{CitationView, MessageView},
        };
        let finished = m.role == "assistant" && m.status != "streaming";
        let numbers: Vec<i32> = citations.iter().map(|c| c.number).collect();
        let reply = m.id.to_string();
        let rendered = |text: &str, cite: bool| {
            if !finished {
                String::new()
            } else if cite && !numbers.is_empty() {
                to_rich_html_citing(text, &reply, &numbers)
            } else {
                to_rich_html(text)
            }
        };
        // The sources the reply cites come first; the others were given but not used.
        let cited = studio_core::knowledge::retrieval::cited_numbers(&m.content);
        let mut citations = citations;
        citations.sort_by_key(|c| (!cited.contains(&c.number), c.number));
        MessageView {
            citations: citations
                .into_iter()
                .map(|c| CitationView {
                    cited: cited.contains(&c.number),
                    number: c.number,
                    item_name: c.item_name,
                    location: c.location,
                    content: c.content,
                    repository_id: c
                        .repository_id
                        .filter(|r| readable.contains(r))
                        .map(|r| r.to_string()),
                })
                .collect(),
            id: m.id.to_string(),
            html: rendered(&m.content, true),
            reasoning_html: rendered(&m.reasoning, false),
            role: m.role,
            content: m.content,
            model_name: m.model_name,
            status: m.status,
            error: m.error,
            siblings: m.siblings.iter().map(ToString::to_string).collect(),
            usage: m.usage.map(usage),
            image_ids: m.image_ids.iter().map(ToString::to_string).collect(),
            document_names: m.document_names,
        }
    }

    /// `user_id`'s finished reply `id` as the page shows it, and its conversation's totals;
    /// `None` if it is not theirs or still being written. Only this reply is rendered.
    pub async fn finished_reply(
        state: &AppState,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<Option<(super::super::types::MessageView, UsageView)>, AppError> {
        let Some((conversation, reply)) =
            studio_core::chat::finished_reply(&state.pool, user_id, id).await?
        else {
            return Ok(None);
        };
        let ids = [id];
        let (citations, totals) = tokio::join!(
            studio_core::knowledge::retrieval::citations(&state.pool, &ids),
            studio_core::chat::totals(&state.pool, conversation),
        );
        let citations = citations?.remove(&id).unwrap_or_default();
        let cited = citations.iter().filter_map(|c| c.repository_id).collect();
        let readable = readable(state, user_id, cited).await?;
        let view = tokio::task::spawn_blocking(move || message_view(reply, citations, &readable))
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "rendering a reply failed");
                AppError::Internal
            })?;
        Ok(Some((view, usage(totals?))))
    }
}

/// The models the user's roles allow, for the picker.
#[server(endpoint = "chat/models", input = Json)]
pub async fn chat_models() -> Result<Vec<ModelOption>, AppError> {
    use studio_core::models::{self, ProviderKind};
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let last_used = studio_core::chat::last_used_model(&state.pool, user_id).await?;
    Ok(models::models_for_user(&state.pool, user_id)
        .await?
        .into_iter()
        .map(|m| ModelOption {
            last_used: Some(m.id) == last_used,
            id: m.id.to_string(),
            name: m.display_name,
            description: m.description,
            supports_vision: m.supports_vision,
            is_builtin: m.provider_kind == ProviderKind::Local,
        })
        .collect())
}

/// One page of the user's conversations, pinned first, then by last activity.
#[server(endpoint = "chat/conversations", input = Json)]
pub async fn list_conversations(
    search: String,
    archived: bool,
    folder_id: Option<String>,
    offset: i64,
) -> Result<ConversationPage, AppError> {
    use studio_core::chat::{self, ListQuery, PAGE_SIZE};

    use super::types::ConversationItem;
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let search = search.trim();
    let items = chat::list(
        &state.pool,
        user_id,
        &ListQuery {
            search: (!search.is_empty()).then(|| search.to_owned()),
            archived,
            folder_id: folder_id.as_deref().map(support::id).transpose()?,
            offset,
        },
    )
    .await?;
    Ok(ConversationPage {
        has_more: items.len() as i64 == PAGE_SIZE,
        items: items
            .into_iter()
            .map(|c| ConversationItem {
                id: c.id.to_string(),
                title: c.title,
                folder_id: c.folder_id.map(|id| id.to_string()),
                is_pinned: c.is_pinned,
                is_archived: c.is_archived,
                last_activity: c.last_activity_at.to_rfc3339(),
            })
            .collect(),
    })
}

/// A conversation with the latest messages of the branch shown (or those before `before`).
#[server(endpoint = "chat/conversation", input = Json)]
pub async fn get_conversation(
    id: String,
    before: Option<String>,
) -> Result<ConversationDetail, AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let before = before.as_deref().map(support::id).transpose()?;
    support::conversation_detail(&state, user_id, support::id(&id)?, before).await
}

/// Sends a message: in a new conversation (`conversation_id` empty), after the shown branch,
/// or as an edit of the user message `replacing` (a new branch), with images uploaded to
/// `POST /api/chat/images` and documents to `POST /api/chat/documents`.
#[server(endpoint = "chat/send", input = Json)]
pub async fn send_message(
    conversation_id: Option<String>,
    replacing: Option<String>,
    model_id: String,
    text: String,
    images: Vec<String>,
    #[server(default)] documents: Vec<String>,
    repositories: Vec<String>,
) -> Result<Sent, AppError> {
    use studio_core::chat::Turn;
    let user_id = support::user().await?;
    let turn = Turn::Message {
        conversation_id: conversation_id.as_deref().map(support::id).transpose()?,
        replacing: replacing.as_deref().map(support::id).transpose()?,
        text,
        images: images
            .iter()
            .map(|id| {
                support::id(id).map_err(|_| {
                    AppError::Invalid("An attached image is gone: attach it again.".into())
                })
            })
            .collect::<Result<_, _>>()?,
        documents: documents
            .iter()
            .map(|id| {
                support::id(id).map_err(|_| {
                    AppError::Invalid("An attached document is gone: attach it again.".into())
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let repositories = repositories
        .iter()
        .map(|id| support::id(id))
        .collect::<Result<Vec<_>, _>>()?;
    support::begin(user_id, &model_id, turn, Some(repositories)).await
}

/// Another reply to the question `reply_id` answered, as a new branch.
#[server(endpoint = "chat/regenerate", input = Json)]
pub async fn regenerate(reply_id: String, model_id: String) -> Result<Sent, AppError> {
    use studio_core::chat::Turn;
    let user_id = support::user().await?;
    let reply = support::id(&reply_id)?;
    support::begin(user_id, &model_id, Turn::Regenerate { reply }, None).await
}

/// Stops a reply being written; what came so far is kept.
#[server(endpoint = "chat/stop", input = Json)]
pub async fn stop_reply(reply_id: String) -> Result<(), AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let reply = support::id(&reply_id)?;
    if !state.generations.stop(user_id, reply)
        && !studio_core::chat::owns_reply(&state.pool, user_id, reply).await?
    {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Shows the branch through `message_id`.
#[server(endpoint = "chat/branch", input = Json)]
pub async fn select_branch(message_id: String) -> Result<(), AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::chat::select_branch(&state.pool, user_id, support::id(&message_id)?).await?;
    Ok(())
}

#[server(endpoint = "chat/rename", input = Json)]
pub async fn rename_conversation(id: String, title: String) -> Result<(), AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::chat::rename(&state.pool, user_id, support::id(&id)?, &title).await?;
    Ok(())
}

#[server(endpoint = "chat/pin", input = Json)]
pub async fn pin_conversation(id: String, pinned: bool) -> Result<(), AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::chat::set_pinned(&state.pool, user_id, support::id(&id)?, pinned).await?;
    Ok(())
}

#[server(endpoint = "chat/archive", input = Json)]
pub async fn archive_conversation(id: String, archived: bool) -> Result<(), AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::chat::set_archived(&state.pool, user_id, support::id(&id)?, archived).await?;
    Ok(())
}

#[server(endpoint = "chat/delete", input = Json)]
pub async fn delete_conversation(id: String) -> Result<(), AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::chat::delete(&state.pool, user_id, support::id(&id)?).await?;
    Ok(())
}

/// The user's folders, by name.
#[server(endpoint = "chat/folders", input = Json)]
pub async fn list_folders() -> Result<Vec<FolderView>, AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    Ok(studio_core::chat::folders(&state.pool, user_id)
        .await?
        .into_iter()
        .map(|f| FolderView {
            id: f.id.to_string(),
            name: f.name,
        })
        .collect())
}

#[server(endpoint = "chat/folder/create", input = Json)]
pub async fn create_folder(name: String) -> Result<FolderView, AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let id = studio_core::chat::create_folder(&state.pool, user_id, &name).await?;
    Ok(FolderView {
        id: id.to_string(),
        name: name.trim().to_owned(),
    })
}

/// Deletes a folder; its conversations stay, outside any folder.
#[server(endpoint = "chat/folder/delete", input = Json)]
pub async fn delete_folder(id: String) -> Result<(), AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    studio_core::chat::delete_folder(&state.pool, user_id, support::id(&id)?).await?;
    Ok(())
}

/// Puts a conversation in one of the user's folders, or none.
#[server(endpoint = "chat/move", input = Json)]
pub async fn move_conversation(id: String, folder_id: Option<String>) -> Result<(), AppError> {
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let folder = folder_id.as_deref().map(support::id).transpose()?;
    studio_core::chat::move_to_folder(&state.pool, user_id, support::id(&id)?, folder).await?;
    Ok(())
}
