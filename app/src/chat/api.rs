//! Server functions of the chat pages. Each starts with `require_tool("chat")` and passes the
//! user's id down: `studio_core::chat` only ever touches that user's conversations, and
//! `models::model_for_user` decides which models they may call.

use leptos::{prelude::*, server_fn::codec::Json};

use super::types::{ConversationDetail, ConversationPage, FolderView, ModelOption, Sent};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod support {
    use std::sync::Arc;

    use leptos::prelude::expect_context;
    use rust_decimal::Decimal;
    use studio_core::{
        chat::{self, ChatError, MessageUsage, Turn, live::Job},
        llm::{ChatRequest, Message, Part, Role},
        models::{self, ProviderKind},
    };
    use uuid::Uuid;

    use super::super::types::{Sent, UsageView};
    use crate::{auth::ssr::require_tool, error::AppError, ssr::AppState};

    pub fn id(raw: &str) -> Result<Uuid, AppError> {
        raw.parse().map_err(|_| AppError::NotFound)
    }

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

    /// Saves the turn and starts the reply on `model_id`, which the user must be allowed.
    /// `repositories`, when given, become the knowledge the conversation answers from.
    pub async fn begin(
        user_id: Uuid,
        model_id: &str,
        turn: Turn,
        repositories: Option<Vec<Uuid>>,
    ) -> Result<Sent, AppError> {
        let state = expect_context::<AppState>();
        let refused = || AppError::Invalid("You cannot use that model. Pick another one.".into());
        let model_id = model_id.parse().map_err(|_| refused())?;
        let model = models::model_for_user(&state.pool, user_id, model_id)
            .await?
            .ok_or_else(refused)?;
        if let Turn::Message { images, .. } = &turn
            && !images.is_empty()
            && !model.supports_vision
        {
            return Err(AppError::Invalid(format!(
                "{} cannot read images. Pick a model that can, or send text only.",
                model.display_name
            )));
        }
        let provider = state
            .llm
            .provider(&state.pool, model.provider_id)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, model.id = %model.id, "no client for the model's provider");
                let why = match &err {
                    studio_core::llm::registry::RegistryError::Client(err) => err.category(),
                    _ => "its provider is not set up correctly".to_owned(),
                };
                AppError::Invalid(format!("{} cannot be used now: {why}.", model.display_name))
            })?;
        let knowledge = check_knowledge(&state, user_id, repositories.as_deref()).await?;
        let guards = &state.guards;
        guards.ai_calls.check(&user_id).map_err(|refused| {
            AppError::too_many(
                "You are sending messages faster than this server allows",
                refused.retry_after,
            )
        })?;
        let slot = guards.generations.try_hold(user_id).ok_or_else(|| {
            AppError::too_many(
                &format!(
                    "You have {} replies being written already. Wait for one to finish, or stop one",
                    guards.generations.max()
                ),
                std::time::Duration::from_secs(5),
            )
        })?;
        let budget = chat::ImageBudget {
            turns: guards.config.chat_image_turns,
            max_bytes: guards.config.chat_image_bytes,
        };
        let mut started = chat::start_turn(&state.pool, user_id, model.id, turn, budget).await?;
        if knowledge {
            with_knowledge(&state, user_id, &mut started, repositories).await?;
        }
        if !model.supports_vision {
            // Images from earlier in the conversation: a model that cannot read them would
            // refuse the whole request. It is told one was there.
            for message in &mut started.history {
                for part in &mut message.parts {
                    if matches!(part, Part::Image { .. }) {
                        *part = Part::Text("(An image was attached here.)".into());
                    }
                }
            }
        }
        let max_output_tokens = model
            .max_output_tokens
            .and_then(|n| u32::try_from(n).ok())
            .or((model.provider_kind == ProviderKind::Local).then_some(512));
        state.generations.start(
            Job {
                pool: state.pool.clone(),
                provider: Arc::new(provider),
                request: ChatRequest {
                    model: model.model_key.clone(),
                    messages: started.history,
                    max_output_tokens,
                    temperature: None,
                },
                model,
                user_id,
                conversation_id: started.conversation_id,
                reply_id: started.reply_id,
                feature: "chat",
                slot: Some(slot),
            },
            &state.shutdown,
        );
        Ok(Sent {
            conversation_id: started.conversation_id.to_string(),
            reply_id: started.reply_id.to_string(),
        })
    }

    /// Whether the user may use knowledge in chat; refuses (before anything is saved)
    /// repositories they cannot use.
    async fn check_knowledge(
        state: &AppState,
        user_id: Uuid,
        repositories: Option<&[Uuid]>,
    ) -> Result<bool, AppError> {
        let tools = studio_core::accounts::access::tool_slugs(&state.pool, user_id).await?;
        let allowed = tools.iter().any(|t| t == crate::knowledge::api::TOOL);
        let chosen = repositories.unwrap_or_default();
        if chosen.is_empty() {
            return Ok(allowed);
        }
        if !allowed {
            return Err(AppError::Invalid(
                "You cannot use knowledge repositories; send the message without them.".into(),
            ));
        }
        if !studio_core::knowledge::repos::all_readable(&state.pool, user_id, chosen).await? {
            return Err(AppError::Invalid(
                "A repository chosen for this chat is not available to you any more.".into(),
            ));
        }
        Ok(true)
    }

    /// When the conversation answers from knowledge repositories (and the user may still use
    /// them): the question's best chunks go first in the history as numbered sources, and
    /// the reply keeps them as its citations. A search that fails leaves the reply without
    /// sources rather than without an answer.
    async fn with_knowledge(
        state: &AppState,
        user_id: Uuid,
        started: &mut chat::Started,
        repositories: Option<Vec<Uuid>>,
    ) -> Result<(), AppError> {
        use studio_core::knowledge::retrieval;
        if let Some(repositories) = repositories {
            retrieval::set_conversation_repositories(
                &state.pool,
                user_id,
                started.conversation_id,
                &repositories,
            )
            .await?;
        }
        let attached =
            retrieval::conversation_repositories(&state.pool, user_id, started.conversation_id)
                .await?;
        if attached.is_empty() {
            return Ok(());
        }
        let question: String = started
            .history
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| {
                m.parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::Text(text) => Some(text.as_str()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        let hits = match retrieval::retrieve(
            &state.pool,
            &state.knowledge.pipeline.embedder,
            user_id,
            &attached,
            &question,
        )
        .await
        {
            Ok(hits) => hits,
            Err(err) => {
                tracing::warn!(error = %err, "knowledge search for a chat reply failed");
                return Ok(());
            }
        };
        if hits.is_empty() {
            return Ok(());
        }
        retrieval::save_citations(&state.pool, started.reply_id, &hits).await?;
        started.history.insert(
            0,
            Message::text(Role::System, retrieval::instructions(&hits)),
        );
        Ok(())
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
    use super::types::{CitationView, MessageView};
    let user_id = support::user().await?;
    let state = expect_context::<crate::ssr::AppState>();
    let before = before.as_deref().map(support::id).transpose()?;
    let c =
        studio_core::chat::conversation(&state.pool, user_id, support::id(&id)?, before).await?;
    let replies: Vec<uuid::Uuid> = c
        .messages
        .iter()
        .filter(|m| m.role == "assistant")
        .map(|m| m.id)
        .collect();
    let mut citations = studio_core::knowledge::retrieval::citations(&state.pool, &replies).await?;
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
    let readable = if cited.is_empty() {
        Vec::new()
    } else {
        studio_core::knowledge::repos::readable_ids(&state.pool, user_id, &cited).await?
    };
    // Highlighting and typesetting take CPU: off the async workers.
    let messages = tokio::task::spawn_blocking(move || {
        c.messages
            .into_iter()
            .map(|m| {
                let finished = m.role == "assistant" && m.status != "streaming";
                let citations = citations
                    .remove(&m.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| CitationView {
                        number: c.number,
                        item_name: c.item_name,
                        location: c.location,
                        content: c.content,
                        repository_id: c
                            .repository_id
                            .filter(|r| readable.contains(r))
                            .map(|r| r.to_string()),
                    })
                    .collect();
                MessageView {
                    citations,
                    id: m.id.to_string(),
                    html: if finished {
                        super::markdown::to_rich_html(&m.content)
                    } else {
                        String::new()
                    },
                    reasoning_html: if finished {
                        super::markdown::to_rich_html(&m.reasoning)
                    } else {
                        String::new()
                    },
                    role: m.role,
                    content: m.content,
                    model_name: m.model_name,
                    status: m.status,
                    error: m.error,
                    siblings: m.siblings.iter().map(ToString::to_string).collect(),
                    usage: m.usage.map(support::usage),
                    image_ids: m.image_ids.iter().map(ToString::to_string).collect(),
                    document_names: m.document_names.clone(),
                }
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
        totals: support::usage(c.totals),
        messages,
        repository_ids: repository_ids.iter().map(ToString::to_string).collect(),
    })
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
